/*
 * libFuzzer harness for the whole control connection (src/control/control.c)
 * of a real daemon struct with no VMs: the input is what one client sends
 * before shutting down its side; the daemon's loop runs until it has
 * answered and hung up. Framing, pipelining, over-long input, permission
 * and handler argument checks are all on the path. A connection the daemon
 * never closes within 2 s counts as a hang (a crash to libFuzzer).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/log.h"
#include "control/control.h"
#include "vmd/daemon.h"
#include "lib/loop.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct daemon d;
static struct ctl *ctl;
static struct sockaddr_un sa = { .sun_family = AF_UNIX };

struct conn {
	int	 fd;
	bool	 done, hung;
	size_t	 got;
};

static void
idle(struct loop *lp, void *arg)
{
	struct conn *c = arg;
	char buf[65536];
	ssize_t n;

	daemon_idle(lp, &d);
	while ((n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		c->got += (size_t)n;
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		c->done = true;
		loop_stop(lp);
	}
}

static void
watch_cb(struct loop *lp, int fd, uint32_t events, void *arg)
{
	/* Wakes the loop when the daemon answers; idle() reads. */
}

static void
hang_cb(struct loop *lp, void *arg)
{
	((struct conn *)arg)->hung = true;
	loop_stop(lp);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *t = getenv("TMPDIR");
	char dir[128], err[256];

	log_init("fuzz_control", LOG_TO_STDERR, LOG_CRIT);
	/* Under the test's scratch directory, which is removed afterwards. */
	snprintf(dir, sizeof(dir), "%s/fuzz_control.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(dir))
		abort();
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/vmservice.sock", dir) >=
	    sizeof(sa.sun_path)) {
		fprintf(stderr, "fuzz_control: TMPDIR too long for a socket path\n");
		abort();
	}
	d.lp = loop_new();
	d.pid_fd = d.sig_fd = d.ready_fd = -1;
	ctl = ctl_new(&d, sa.sun_path, err, sizeof(err));
	if (!d.lp || !ctl) {
		fprintf(stderr, "fuzz_control: %s\n", err);
		abort();
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conn c = { .fd = -1 };
	uint64_t t;
	size_t off = 0;

	c.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c.fd == -1 || connect(c.fd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		abort();
	/* Small inputs fit the socket buffer: written before the loop runs. */
	while (off < size) {
		ssize_t n = send(c.fd, data + off, size - off, MSG_NOSIGNAL);
		if (n <= 0)
			break;	/* the daemon hung up early (over-long request) */
		off += (size_t)n;
	}
	shutdown(c.fd, SHUT_WR);
	loop_add_fd(d.lp, c.fd, EPOLLIN, watch_cb, &c);
	loop_set_idle(d.lp, idle, &c);
	t = loop_add_timer(d.lp, 2000, hang_cb, &c);
	loop_run(d.lp);
	loop_cancel_timer(d.lp, t);
	loop_del_fd(d.lp, c.fd);
	close(c.fd);
	if (c.hung) {
		fprintf(stderr, "fuzz_control: the daemon kept the connection open\n");
		abort();
	}
	return 0;
}
