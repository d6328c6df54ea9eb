/* A protocol client's unix stream connection, driven by the loop. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/loop.h"
#include "lib/outbuf.h"
#include "lib/uconn.h"
#include "lib/usock.h"
#include "lib/util.h"

void
uconn_init(struct uconn *uc, const char *what, const char *name, struct outbuf *out,
    const struct uconn_cb *cb, void *arg)
{
	*uc = (struct uconn){ .uc_what = what, .uc_name = name, .uc_out = out, .uc_cb = cb,
	    .uc_arg = arg, .uc_fd = -1 };
}

void
uconn_close(struct uconn *uc)
{
	usock_retry_stop(&uc->uc_retry);
	if (uc->uc_fd != -1) {
		loop_del_fd(uc->uc_lp, uc->uc_fd);
		close(uc->uc_fd);
		uc->uc_fd = -1;
	}
}

void
uconn_free(struct uconn *uc)
{
	uconn_close(uc);
	free(uc->uc_path);
	uc->uc_path = NULL;
}

bool
uconn_is_open(const struct uconn *uc)
{
	return uc->uc_fd != -1;
}

ssize_t
uconn_send_fd(struct uconn *uc, const char *buf, size_t len, int fd)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { (void *)buf, len };
	struct msghdr msg = { 0 };
	struct cmsghdr *c;
	ssize_t n;

	if (uc->uc_fd == -1)
		return -ENOTCONN;
	if (!outbuf_empty(uc->uc_out))
		return -EBUSY;
	memset(&ctl, 0, sizeof(ctl));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof(ctl.buf);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	do
		n = sendmsg(uc->uc_fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return n;
}

static void
fail(struct uconn *uc, const char *why)
{
	uconn_close(uc);
	uc->uc_cb->failed(uc->uc_arg, why);
}

static void
watch(struct uconn *uc, bool out, bool paused)
{
	if (uc->uc_fd == -1 || (out == uc->uc_watching_out && paused == uc->uc_in_paused))
		return;
	if (loop_mod_fd(uc->uc_lp, uc->uc_fd, (paused ? 0 : EPOLLIN) | (out ? EPOLLOUT : 0)) == 0) {
		uc->uc_watching_out = out;
		uc->uc_in_paused = paused;
	}
}

void
uconn_want_out(struct uconn *uc)
{
	watch(uc, !outbuf_empty(uc->uc_out), uc->uc_in_paused);
}

void
uconn_pause_in(struct uconn *uc, bool pause)
{
	watch(uc, uc->uc_watching_out, pause);
}

static void
on_io(struct loop *lp, int fd, uint32_t events, void *arg)
{
	struct uconn *uc = arg;
	char buf[65536], why[300];
	ssize_t n = 0;
	bool wrote = false;

	if (events & EPOLLOUT) {
		n = outbuf_flush(uc->uc_out, fd);
		if (n < 0) {
			snprintf(why, sizeof(why), "%s write: %s", uc->uc_what, strerror((int)-n));
			fail(uc, why);
			return;
		}
		wrote = n > 0;
		uconn_want_out(uc);
		n = 0;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			n = 0;
		} else if (n <= 0) {
			snprintf(why, sizeof(why), "%s connection %s", uc->uc_what,
			    n == 0 ? "closed by QEMU" : strerror(errno));
			fail(uc, why);
			return;
		}
	}
	if (n > 0 || wrote)
		uc->uc_cb->io(uc->uc_arg, buf, (size_t)n);
}

static void
connected(void *arg, int fd, int e, const char *err)
{
	struct uconn *uc = arg;
	char why[300];

	if (fd < 0) {
		if (USOCK_REFUSED(e))
			log_vm(LOG_ERR, uc->uc_name, "%s: %s", uc->uc_what, err);
		uc->uc_cb->failed(uc->uc_arg, err);
		return;
	}
	uc->uc_fd = fd;
	uc->uc_watching_out = false;
	uc->uc_in_paused = false;
	e = loop_add_fd(uc->uc_lp, fd, EPOLLIN, on_io, uc);
	if (e) {
		close(fd);
		uc->uc_fd = -1;
		snprintf(why, sizeof(why), "cannot watch the %s socket: %s", uc->uc_what,
		    strerror(-e));
		uc->uc_cb->failed(uc->uc_arg, why);
		return;
	}
	uconn_want_out(uc);
	log_vm(LOG_DEBUG, uc->uc_name, "%s connected to %s", uc->uc_what, uc->uc_path);
	if (uc->uc_cb->connected)
		uc->uc_cb->connected(uc->uc_arg);
}

void
uconn_connect(struct uconn *uc, struct loop *lp, const char *path, pid_t peer,
    unsigned attempts, unsigned interval_ms)
{
	uconn_close(uc);
	uc->uc_lp = lp;
	free(uc->uc_path);
	uc->uc_path = xstrdup(path);
	/*
	 * Issue 12: never through a link, only to this VM's QEMU. The first
	 * try from the loop, so callbacks never run inside our caller.
	 */
	usock_retry_start(&uc->uc_retry, lp, uc->uc_path, peer, attempts, 0, interval_ms,
	    connected, uc);
}

int
uconn_adopt(struct uconn *uc, struct loop *lp, const char *path, int fd)
{
	int e;

	uconn_close(uc);
	uc->uc_lp = lp;
	free(uc->uc_path);
	uc->uc_path = xstrdup(path);
	e = loop_add_fd(lp, fd, EPOLLIN, on_io, uc);
	if (e) {
		close(fd);
		return e;
	}
	uc->uc_fd = fd;
	uc->uc_watching_out = false;
	uc->uc_in_paused = false;
	uconn_want_out(uc);
	return 0;
}
