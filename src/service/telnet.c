/*
 * TCP (telnet) <-> unix socket proxy for VM consoles and monitors.
 * Telnet (RFC 854/857/858): we announce WILL ECHO and WILL SUPPRESS-GO-AHEAD
 * so clients switch to character mode, as QEMU's own telnet server does;
 * the client's negotiation replies are filtered out before the guest sees
 * them, and 0xff from the guest is sent as IAC IAC.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "service/loop.h"
#include "service/supervisor.h"
#include "service/telnet.h"

#define IAC	255
#define DONT	254
#define DO	253
#define WONT	252
#define WILL	251
#define SB	250
#define SE	240
#define OPT_ECHO	1
#define OPT_SGA		3

#define TN_BUF	(64 * 1024)

/* Filter states. */
enum { TS_DATA, TS_IAC, TS_OPT, TS_SB, TS_SB_IAC, TS_CR };

struct pipe_buf {
	uint8_t	 b[2 * TN_BUF];	/* room for IAC doubling */
	size_t	 n;
};

struct telnet {
	struct loop	*lp;
	struct vm	*vm;
	char		*what;
	char		*path;
	int		 port;
	int		 lfd;		/* listening TCP socket */
	int		 cfd;		/* the client, or -1 */
	int		 ufd;		/* QEMU's unix socket, or -1 */
	int		 state;		/* telnet_filter state */
	struct pipe_buf	 to_u, to_c;
	uint32_t	 cev, uev;	/* events watched */
};

size_t
telnet_filter(int *state, const uint8_t *in, size_t n, uint8_t *out)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		uint8_t c = in[i];
		switch (*state) {
		case TS_CR:
			*state = TS_DATA;
			/* CR NUL is a bare CR on the wire (RFC 854). */
			if (c == 0)
				break;
			/* FALLTHROUGH */
		case TS_DATA:
			if (c == IAC)
				*state = TS_IAC;
			else {
				out[o++] = c;
				if (c == '\r')
					*state = TS_CR;
			}
			break;
		case TS_IAC:
			if (c == IAC) {
				out[o++] = IAC;
				*state = TS_DATA;
			} else if (c == WILL || c == WONT || c == DO || c == DONT) {
				*state = TS_OPT;
			} else if (c == SB) {
				*state = TS_SB;
			} else {
				*state = TS_DATA;	/* NOP, GA, AYT...: dropped */
			}
			break;
		case TS_OPT:
			*state = TS_DATA;
			break;
		case TS_SB:
			if (c == IAC)
				*state = TS_SB_IAC;
			break;
		case TS_SB_IAC:
			*state = c == SE ? TS_DATA : TS_SB;
			break;
		}
	}
	return o;
}

static void set_events(struct telnet *t);

static void
drop_client(struct telnet *t, const char *msg)
{
	if (t->cfd != -1) {
		if (msg && send(t->cfd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			log_vm(LOG_DEBUG, t->vm->vm_name, "%s: goodbye not sent", t->what);
		loop_del_fd(t->lp, t->cfd);
		close(t->cfd);
		t->cfd = -1;
		log_vm(LOG_INFO, t->vm->vm_name, "%s client on port %d disconnected", t->what,
		    t->port);
	}
	if (t->ufd != -1) {
		loop_del_fd(t->lp, t->ufd);
		close(t->ufd);
		t->ufd = -1;
	}
	t->to_u.n = t->to_c.n = 0;
	t->cev = t->uev = 0;
}

void
telnet_hangup(struct telnet *t, const char *why)
{
	char msg[256];

	if (t->cfd == -1)
		return;
	snprintf(msg, sizeof(msg), "\r\nvmservice: %s\r\n", why);
	drop_client(t, msg);
}

/* Write what we can of b to fd. Returns false on a dead peer. */
static bool
flush(int fd, struct pipe_buf *b)
{
	ssize_t n;

	while (b->n) {
		n = send(fd, b->b, b->n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1)
			return errno == EAGAIN || errno == EINTR;
		memmove(b->b, b->b + n, b->n - (size_t)n);
		b->n -= (size_t)n;
	}
	return true;
}

/*
 * Backpressure: read a side only while the buffer towards the other side
 * has room for a full read.
 */
static void
set_events(struct telnet *t)
{
	uint32_t c = 0, u = 0;

	if (t->cfd == -1)
		return;
	if (t->to_u.n + TN_BUF / 4 <= TN_BUF)
		c |= EPOLLIN;
	if (t->to_c.n)
		c |= EPOLLOUT;
	if (t->ufd != -1) {
		if (t->to_c.n + TN_BUF / 2 <= TN_BUF)
			u |= EPOLLIN;
		if (t->to_u.n)
			u |= EPOLLOUT;
		if (u != t->uev && loop_mod_fd(t->lp, t->ufd, u) == 0)
			t->uev = u;
	}
	if (c != t->cev && loop_mod_fd(t->lp, t->cfd, c) == 0)
		t->cev = c;
}

static void
client_io(struct loop *lp, int fd, uint32_t ev, void *arg)
{
	struct telnet *t = arg;
	uint8_t in[TN_BUF / 4];
	ssize_t n;

	if (ev & EPOLLOUT) {
		if (!flush(t->cfd, &t->to_c)) {
			drop_client(t, NULL);
			return;
		}
	}
	if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		n = recv(t->cfd, in, sizeof(in), MSG_DONTWAIT);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			goto out;
		if (n <= 0) {
			drop_client(t, NULL);
			return;
		}
		t->to_u.n += telnet_filter(&t->state, in, (size_t)n, t->to_u.b + t->to_u.n);
		if (t->ufd != -1 && !flush(t->ufd, &t->to_u)) {
			telnet_hangup(t, "connection to QEMU lost");
			return;
		}
	}
out:
	set_events(t);
}

static void
qemu_io(struct loop *lp, int fd, uint32_t ev, void *arg)
{
	struct telnet *t = arg;
	uint8_t in[TN_BUF / 2];
	ssize_t n, i;

	if (ev & EPOLLOUT) {
		if (!flush(t->ufd, &t->to_u)) {
			telnet_hangup(t, "connection to QEMU lost");
			return;
		}
	}
	if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		n = recv(t->ufd, in, sizeof(in), MSG_DONTWAIT);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			goto out;
		if (n <= 0) {
			telnet_hangup(t, "the VM's QEMU went away");
			return;
		}
		for (i = 0; i < n; i++) {
			if (in[i] == IAC)
				t->to_c.b[t->to_c.n++] = IAC;
			t->to_c.b[t->to_c.n++] = in[i];
		}
		if (!flush(t->cfd, &t->to_c)) {
			drop_client(t, NULL);
			return;
		}
	}
out:
	set_events(t);
}

static int
connect_qemu(struct telnet *t)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(t->path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", t->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static void
accept_cb(struct loop *lp, int fd, uint32_t ev, void *arg)
{
	static const uint8_t hello[] = { IAC, WILL, OPT_ECHO, IAC, WILL, OPT_SGA };
	struct telnet *t = arg;
	char msg[256];
	int c, u;

	c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (c == -1)
		return;
	if (t->cfd != -1) {
		snprintf(msg, sizeof(msg), "vmservice: the %s of %s is in use by another client\r\n",
		    t->what, t->vm->vm_name);
		goto refuse;
	}
	if (!sup_has_process(t->vm)) {
		snprintf(msg, sizeof(msg), "vmservice: vm %s is %s\r\n", t->vm->vm_name,
		    sup_state_name(t->vm->vm_state));
		goto refuse;
	}
	u = connect_qemu(t);
	if (u < 0) {
		snprintf(msg, sizeof(msg), "vmservice: cannot reach the %s of %s: %s\r\n",
		    t->what, t->vm->vm_name, strerror(-u));
		goto refuse;
	}
	if (loop_add_fd(lp, c, EPOLLIN, client_io, t) || loop_add_fd(lp, u, EPOLLIN, qemu_io, t)) {
		loop_del_fd(lp, c);
		close(u);
		snprintf(msg, sizeof(msg), "vmservice: internal error\r\n");
		goto refuse;
	}
	t->cfd = c;
	t->ufd = u;
	t->cev = t->uev = EPOLLIN;
	t->state = TS_DATA;
	memcpy(t->to_c.b, hello, sizeof(hello));
	t->to_c.n = sizeof(hello);
	flush(c, &t->to_c);
	set_events(t);
	log_vm(LOG_INFO, t->vm->vm_name, "%s client connected on port %d", t->what, t->port);
	return;
refuse:
	if (send(c, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("telnet: refusal not sent");
	close(c);
}

struct telnet *
telnet_new(struct loop *lp, const char *addr, int port, struct vm *vm,
    const char *what, const char *path, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE };
	struct addrinfo *res;
	struct telnet *t;
	char serv[16];
	int fd, one = 1, r;

	snprintf(serv, sizeof(serv), "%d", port);
	r = getaddrinfo(addr, serv, &hints, &res);
	if (r) {
		snprintf(err, errlen, "bad listen address %s: %s", addr ? addr : "*",
		    gai_strerror(r));
		return NULL;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) == -1 || listen(fd, 4) == -1) {
		snprintf(err, errlen, "cannot listen on %s port %d: %s", addr ? addr : "*",
		    port, strerror(errno));
		if (fd != -1)
			close(fd);
		freeaddrinfo(res);
		return NULL;
	}
	freeaddrinfo(res);
	t = xcalloc(1, sizeof(*t));
	t->lp = lp;
	t->vm = vm;
	t->what = xstrdup(what);
	t->path = xstrdup(path);
	t->port = port;
	t->lfd = fd;
	t->cfd = t->ufd = -1;
	if (loop_add_fd(lp, fd, EPOLLIN, accept_cb, t)) {
		snprintf(err, errlen, "cannot watch port %d", port);
		telnet_free(t);
		return NULL;
	}
	return t;
}

void
telnet_free(struct telnet *t)
{
	if (!t)
		return;
	drop_client(t, NULL);
	loop_del_fd(t->lp, t->lfd);
	close(t->lfd);
	free(t->what);
	free(t->path);
	free(t);
}
