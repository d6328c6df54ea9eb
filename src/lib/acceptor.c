/* accept(2) with a pause instead of a busy loop when out of fds. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "lib/log.h"
#include "lib/util.h"
#include "lib/acceptor.h"
#include "lib/loop.h"

void
acc_init(struct acceptor *a, struct loop *lp, int fd, const char *what)
{
	memset(a, 0, sizeof(*a));
	a->acc_lp = lp;
	a->acc_fd = fd;
	snprintf(a->acc_what, sizeof(a->acc_what), "%s", what);
}

static void
resume(struct loop *lp, void *arg)
{
	struct acceptor *a = arg;
	int e;

	a->acc_timer = 0;
	e = loop_mod_fd(lp, a->acc_fd, EPOLLIN);
	if (e)
		log_err("%s: cannot watch the listener again: %s", a->acc_what, strerror(-e));
}

static void
pause_listener(struct acceptor *a, int err)
{
	if (!a->acc_since) {
		a->acc_since = now_ms();
		a->acc_pauses = 0;
		log_warn("%s: accept: %s: not accepting for %d ms at a time until "
		    "descriptors are free", a->acc_what, strerror(err), ACC_PAUSE_MS);
	}
	a->acc_pauses++;
	if (loop_mod_fd(a->acc_lp, a->acc_fd, 0) == 0)
		a->acc_timer = loop_add_timer(a->acc_lp, ACC_PAUSE_MS, resume, a);
}

static void
episode_over(struct acceptor *a)
{
	if (!a->acc_since)
		return;
	log_info("%s: accepting again after %llu ms out of descriptors (%u pauses)",
	    a->acc_what, (unsigned long long)(now_ms() - a->acc_since), a->acc_pauses);
	a->acc_since = 0;
}

int
acc_accept(struct acceptor *a)
{
	int fd;

	if (a->acc_timer)
		return -1;
	for (;;) {
		fd = accept4(a->acc_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd != -1) {
			episode_over(a);
			return fd;
		}
		switch (errno) {
		case EINTR:
		case ECONNABORTED:
		case EPROTO:
		case EPERM:	/* a firewall refused that one */
			continue;	/* it is gone; the next may be fine */
		case EAGAIN:
			episode_over(a);
			return -1;
		default:
			/*
			 * EMFILE, ENFILE, ENOBUFS, ENOMEM, or anything else
			 * that would fail the same way on the next wake-up.
			 */
			pause_listener(a, errno);
			return -1;
		}
	}
}

void
acc_stop(struct acceptor *a)
{
	if (a->acc_timer)
		loop_cancel_timer(a->acc_lp, a->acc_timer);
	a->acc_timer = 0;
}
