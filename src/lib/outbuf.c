/* Bounded output queue for a non-blocking socket. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/outbuf.h"
#include "lib/util.h"

/* A drained queue gives back more than this: idle peers do not pin a burst. */
#define OUTBUF_KEEP	65536

void
outbuf_init(struct outbuf *ob, size_t max)
{
	memset(ob, 0, sizeof(*ob));
	ob->ob_max = max;
}

void
outbuf_free(struct outbuf *ob)
{
	free(ob->ob_buf);
	ob->ob_buf = NULL;
	ob->ob_off = ob->ob_len = ob->ob_size = 0;
}

size_t
outbuf_len(const struct outbuf *ob)
{
	return ob->ob_len - ob->ob_off;
}

bool
outbuf_empty(const struct outbuf *ob)
{
	return ob->ob_len == ob->ob_off;
}

/* Room for n more bytes at ob_len, moving the pending ones down rather than growing. */
static int
reserve(struct outbuf *ob, size_t n)
{
	size_t pend = outbuf_len(ob);

	if (n > ob->ob_max || pend > ob->ob_max - n)
		return -ENOBUFS;
	if (ob->ob_len + n > ob->ob_size && ob->ob_off) {
		memmove(ob->ob_buf, ob->ob_buf + ob->ob_off, pend);
		ob->ob_len = pend;
		ob->ob_off = 0;
	}
	xgrow(&ob->ob_buf, &ob->ob_size, ob->ob_len + n, 1);
	return 0;
}

int
outbuf_add(struct outbuf *ob, const void *p, size_t n)
{
	if (reserve(ob, n))
		return -ENOBUFS;
	if (n)
		memcpy(ob->ob_buf + ob->ob_len, p, n);
	ob->ob_len += n;
	return 0;
}

int
outbuf_add_line(struct outbuf *ob, const char *s, size_t n)
{
	if (n == (size_t)-1 || reserve(ob, n + 1))
		return -ENOBUFS;
	memcpy(ob->ob_buf + ob->ob_len, s, n);
	ob->ob_buf[ob->ob_len + n] = '\n';
	ob->ob_len += n + 1;
	return 0;
}

const char *
outbuf_data(const struct outbuf *ob, size_t *len)
{
	*len = outbuf_len(ob);
	return ob->ob_buf ? ob->ob_buf + ob->ob_off : "";
}

void
outbuf_consume(struct outbuf *ob, size_t n)
{
	if (n > outbuf_len(ob))
		n = outbuf_len(ob);
	ob->ob_off += n;
	ob->ob_sent += n;
	if (ob->ob_off < ob->ob_len)
		return;
	ob->ob_off = ob->ob_len = 0;
	if (ob->ob_size > OUTBUF_KEEP)
		outbuf_free(ob);
}

ssize_t
outbuf_flush(struct outbuf *ob, int fd)
{
	ssize_t w, done = 0;

	while (!outbuf_empty(ob)) {
		w = send(fd, ob->ob_buf + ob->ob_off, outbuf_len(ob), MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -errno;
		}
		outbuf_consume(ob, (size_t)w);
		done += w;
	}
	return done;
}
