/* Readiness probes: probe.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/loop.h"
#include "lib/util.h"
#include "vmd/daemon.h"
#include "vmd/probe.h"

struct vm_probe {
	struct daemon	*pr_d;
	struct vm	*pr_vm;
	enum hw_ready	 pr_kind;
	regex_t		 pr_re;
	bool		 pr_re_ok;
	char		 pr_line[PROBE_LINE_MAX];
	size_t		 pr_len;
	struct sockaddr_storage pr_addr;
	socklen_t	 pr_addrlen;
	int		 pr_fd;		/* the TCP connect under way, or -1 */
	uint64_t	 pr_timer;	/* next TCP attempt or its deadline */
	unsigned	 pr_tries;
};

int
probe_wanted(const struct vm *vm)
{
	return vm->vm_state == VS_BOOTING || vm->vm_state == VS_NOT_READY;
}

/* The probe's last act: it may be freed by the table's change hook. */
static void
ready(struct vm_probe *pr, const char *what)
{
	struct daemon *d = pr->pr_d;
	struct vm *vm = pr->pr_vm;

	log_vm(LOG_INFO, vm->vm_name, "ready: %s", what);
	sup_event(&d->sup, vm, VE_GUEST_READY, 0);
}

/* ---- serial:REGEX ---- */

void
probe_output(void *arg, const uint8_t *p, size_t n)
{
	struct vm *vm = arg;
	struct vm_probe *pr = vm->vm_probe;

	if (!pr || pr->pr_kind != HW_READY_SERIAL || !pr->pr_re_ok)
		return;
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '\n') {
			/* A NUL would end the line for regexec: keep the bytes after it. */
			if (pr->pr_len < sizeof(pr->pr_line) - 1)
				pr->pr_line[pr->pr_len++] = p[i] ? (char)p[i] : ' ';
			continue;
		}
		if (pr->pr_len && pr->pr_line[pr->pr_len - 1] == '\r')
			pr->pr_len--;
		pr->pr_line[pr->pr_len] = 0;
		pr->pr_len = 0;
		if (regexec(&pr->pr_re, pr->pr_line, 0, NULL, 0) == 0) {
			ready(pr, "a serial console line matched");
			return;
		}
	}
}

/* ---- tcp:HOST:PORT ---- */

static void tcp_try(struct loop *lp, void *arg);

static void
tcp_close(struct vm_probe *pr)
{
	if (pr->pr_fd < 0)
		return;
	loop_del_fd(pr->pr_d->lp, pr->pr_fd);
	close(pr->pr_fd);
	pr->pr_fd = -1;
}

static void
tcp_again(struct vm_probe *pr)
{
	tcp_close(pr);
	if (pr->pr_timer)
		loop_cancel_timer(pr->pr_d->lp, pr->pr_timer);
	pr->pr_timer = loop_add_timer(pr->pr_d->lp, PROBE_TCP_INTERVAL_MS, tcp_try, pr);
}

static void
tcp_io(struct loop *lp, int fd, uint32_t events, void *arg)
{
	struct vm_probe *pr = arg;
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		soerr = errno;
	if (soerr) {
		log_vm(LOG_DEBUG, pr->pr_vm->vm_name, "ready probe: tcp:%s: %s",
		    pr->pr_vm->vm_hw->vm_policy.po_ready_arg, strerror(soerr));
		tcp_again(pr);
		return;
	}
	tcp_close(pr);
	if (pr->pr_timer)
		loop_cancel_timer(lp, pr->pr_timer);
	pr->pr_timer = 0;
	ready(pr, "a TCP connect succeeded");
}

/* A timer: the next attempt is due, or the one under way took too long. */
static void
tcp_try(struct loop *lp, void *arg)
{
	struct vm_probe *pr = arg;
	int fd, e;

	pr->pr_timer = 0;
	if (pr->pr_fd >= 0) {
		tcp_again(pr);
		return;
	}
	pr->pr_tries++;
	fd = socket(pr->pr_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_vm(LOG_WARNING, pr->pr_vm->vm_name, "ready probe: socket: %s", strerror(errno));
		tcp_again(pr);
		return;
	}
	if (connect(fd, (struct sockaddr *)&pr->pr_addr, pr->pr_addrlen) == 0) {
		close(fd);
		ready(pr, "a TCP connect succeeded");
		return;
	}
	if (errno != EINPROGRESS) {
		close(fd);
		tcp_again(pr);
		return;
	}
	e = loop_add_fd(lp, fd, EPOLLOUT, tcp_io, pr);
	if (e) {
		close(fd);
		tcp_again(pr);
		return;
	}
	pr->pr_fd = fd;
	pr->pr_timer = loop_add_timer(lp, PROBE_TCP_INTERVAL_MS, tcp_try, pr);
}

static int
tcp_setup(struct vm_probe *pr, const char *arg)
{
	char host[64], why[160];
	int port;

	if (hw_ready_tcp_parse(arg, host, sizeof(host), &port, why, sizeof(why))) {
		log_vm(LOG_ERR, pr->pr_vm->vm_name, "ready probe: %s", why);
		return -EINVAL;
	}
	memset(&pr->pr_addr, 0, sizeof(pr->pr_addr));
	if (strchr(host, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&pr->pr_addr;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, host, &s6->sin6_addr);
		pr->pr_addrlen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&pr->pr_addr;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, host, &s4->sin_addr);
		pr->pr_addrlen = sizeof(*s4);
	}
	return 0;
}

/* ---- life ---- */

void
probe_start(struct daemon *d, struct vm *vm)
{
	const struct vm_policy *po = &vm->vm_hw->vm_policy;
	struct vm_probe *pr;

	probe_stop(d, vm);
	pr = xcalloc(1, sizeof(*pr));
	pr->pr_d = d;
	pr->pr_vm = vm;
	pr->pr_kind = po->po_ready;
	pr->pr_fd = -1;
	vm->vm_probe = pr;
	switch (po->po_ready) {
	case HW_READY_SERIAL:
		/* The inventory compiled it already; this cannot fail but is checked. */
		pr->pr_re_ok = po->po_ready_arg &&
		    regcomp(&pr->pr_re, po->po_ready_arg, REG_EXTENDED | REG_NOSUB) == 0;
		if (!pr->pr_re_ok)
			log_vm(LOG_ERR, vm->vm_name, "ready probe: bad regular expression");
		break;
	case HW_READY_TCP:
		if (po->po_ready_arg && tcp_setup(pr, po->po_ready_arg) == 0)
			tcp_try(d->lp, pr);
		break;
	case HW_READY_AGENT:
		/* agent.c reports the first answer to guest-ping. */
		break;
	case HW_READY_QMP:
		break;
	}
}

void
probe_stop(struct daemon *d, struct vm *vm)
{
	struct vm_probe *pr = vm->vm_probe;

	if (!pr)
		return;
	tcp_close(pr);
	if (pr->pr_timer)
		loop_cancel_timer(d->lp, pr->pr_timer);
	if (pr->pr_re_ok)
		regfree(&pr->pr_re);
	free(pr);
	vm->vm_probe = NULL;
}

void
probe_agent_up(struct daemon *d, struct vm *vm)
{
	if (vm->vm_probe && vm->vm_probe->pr_kind == HW_READY_AGENT)
		ready(vm->vm_probe, "the guest agent answered");
}
