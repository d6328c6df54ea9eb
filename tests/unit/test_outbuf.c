/*
 * Unit tests for src/lib/outbuf.c over real sockets: a socketpair with a
 * small send buffer fills up, so writes are partial and then EAGAIN; the
 * cap refuses whole appends; a closed peer is EPIPE (no SIGPIPE: the test
 * would die of it); the queue keeps every byte in order across
 * compactions.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/outbuf.h"
#include "tap.h"

/* A pair whose [0] end takes only a few KiB before EAGAIN. */
static int
small_pair(int sv[2])
{
	int small = 4096;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		return -1;
	if (setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)) == -1 ||
	    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)) == -1 ||
	    fcntl(sv[1], F_SETFL, O_NONBLOCK) == -1)
		return -1;
	return 0;
}

/* Read what is there into buf at *got (non-blocking). */
static void
drain(int fd, unsigned char *buf, size_t cap, size_t *got)
{
	ssize_t r;

	while (*got < cap && (r = read(fd, buf + *got, cap - *got)) > 0)
		*got += (size_t)r;
}

int
main(void)
{
	enum { TOTAL = 1 << 20 };
	unsigned char *src = malloc(TOTAL), *dst = malloc(TOTAL);
	struct outbuf ob;
	const char *d;
	size_t added = 0, got = 0, len, rounds = 0;
	bool partial = false, full = false;
	ssize_t w;
	int sv[2], e;

	/* SIGPIPE left at its default: a send without MSG_NOSIGNAL kills us. */
	signal(SIGPIPE, SIG_DFL);
	for (size_t i = 0; i < TOTAL; i++)
		src[i] = (unsigned char)(i * 131 + (i >> 9));
	OK(src && dst && small_pair(sv) == 0, "socketpair with a 4 KiB send buffer");

	/* Empty and capped. */
	outbuf_init(&ob, 10);
	OK(outbuf_empty(&ob) && outbuf_len(&ob) == 0, "a new queue is empty");
	OK(outbuf_flush(&ob, sv[0]) == 0, "flushing nothing writes nothing");
	OK(outbuf_add(&ob, "0123456789", 10) == 0 && outbuf_len(&ob) == 10, "fill to the cap");
	e = outbuf_add(&ob, "x", 1);
	OK(e == -ENOBUFS && outbuf_len(&ob) == 10, "one byte over the cap: ENOBUFS, nothing added");
	outbuf_consume(&ob, 4);
	OK(outbuf_add(&ob, "abcdefg", 7) == -ENOBUFS && outbuf_add(&ob, "abcd", 4) == 0,
	    "the cap counts pending bytes, not bytes ever added");
	d = outbuf_data(&ob, &len);
	OK(len == 10 && memcmp(d, "456789abcd", 10) == 0, "pending bytes in order after compacting");
	OK(outbuf_add_line(&ob, "", 0) == -ENOBUFS, "a newline over the cap: refused too");
	outbuf_consume(&ob, 10);
	OK(outbuf_add_line(&ob, "123456789", 9) == 0 &&
	    memcmp(outbuf_data(&ob, &len), "123456789\n", 10) == 0 && len == 10,
	    "a line and its newline fill the cap exactly");
	OK(outbuf_add_line(&ob, "0123456789", 10) == -ENOBUFS && outbuf_len(&ob) == 10,
	    "line plus newline over the cap: neither added");
	outbuf_free(&ob);
	OK(outbuf_empty(&ob) && outbuf_add(&ob, "0123456789", 10) == 0,
	    "outbuf_free empties it and keeps the cap");
	outbuf_free(&ob);
	outbuf_init(&ob, 0);
	OK(outbuf_add(&ob, "x", 1) == -ENOBUFS && outbuf_add(&ob, "", 0) == 0,
	    "cap 0 refuses every byte");

	/*
	 * A megabyte through a 4 KiB pipe: appends of odd sizes, flushes that
	 * stop at EAGAIN, reads in between; every byte arrives once, in order.
	 */
	outbuf_init(&ob, 64 * 1024);
	while (got < TOTAL) {
		size_t n = 1 + (rounds * 7919) % 9000;

		if (n > TOTAL - added)
			n = TOTAL - added;
		if (n && outbuf_add(&ob, src + added, n) == 0)
			added += n;
		else if (n)
			full = true;	/* the reader is slower: the cap holds */
		len = outbuf_len(&ob);
		w = outbuf_flush(&ob, sv[0]);
		if (w < 0)
			break;
		if (w > 0 && (size_t)w < len)
			partial = true;
		if (rounds++ % 3 == 0)
			drain(sv[1], dst, TOTAL, &got);
		if (rounds > 10 * 1000 * 1000)
			break;
	}
	OK(got == TOTAL && added == TOTAL && memcmp(src, dst, TOTAL) == 0,
	    "1 MiB arrives whole and in order (%zu of %d bytes)", got, TOTAL);
	OK(partial, "the socket took only part of a flush (partial write, then EAGAIN)");
	OK(full, "appends were refused at the 64 KiB cap while the reader lagged");
	OK(ob.ob_sent == TOTAL, "ob_sent counts every byte written (%llu)",
	    (unsigned long long)ob.ob_sent);
	OK(ob.ob_size <= 64 * 1024 + 9000, "memory stays near the cap (%zu bytes)", ob.ob_size);

	/* A full socket: flush writes nothing and keeps the bytes. */
	while (outbuf_add(&ob, src, 4096) == 0)
		;
	while (outbuf_flush(&ob, sv[0]) > 0)
		;
	len = outbuf_len(&ob);
	OK(len > 0 && outbuf_flush(&ob, sv[0]) == 0 && outbuf_len(&ob) == len,
	    "socket full: flush returns 0 (EAGAIN), %zu bytes stay queued", len);

	/* The peer closes: EPIPE, not SIGPIPE; the queue is left as it was. */
	close(sv[1]);
	w = outbuf_flush(&ob, sv[0]);
	OK(w == -EPIPE || w == -ECONNRESET, "peer gone: -EPIPE (%zd), and we are alive", w);
	OK(outbuf_len(&ob) == len, "... the pending bytes are still there for the caller");
	close(sv[0]);

	/* Not a socket: an error the caller sees, not a silent success. */
	int p[2];
	OK(pipe(p) == 0 && outbuf_flush(&ob, p[1]) == -ENOTSOCK, "a pipe fd: -ENOTSOCK");
	close(p[0]);
	close(p[1]);

	/* A drained queue gives back a burst's memory. */
	outbuf_free(&ob);
	outbuf_init(&ob, TOTAL);
	OK(outbuf_add(&ob, src, 60000) == 0 && outbuf_add(&ob, src, 10000) == 0, "70 kB queued");
	OK(small_pair(sv) == 0, "a fresh pair");
	outbuf_consume(&ob, 70000);
	OK(ob.ob_buf == NULL && ob.ob_size == 0 && outbuf_empty(&ob),
	    "drained: a buffer over 64 KiB is released");
	OK(outbuf_add(&ob, "hi", 2) == 0 && outbuf_flush(&ob, sv[0]) == 2 && ob.ob_buf != NULL,
	    "a small one is kept for the next reply");
	got = 0;
	drain(sv[1], dst, TOTAL, &got);
	OK(got == 2 && memcmp(dst, "hi", 2) == 0, "... and its bytes arrived");
	close(sv[0]);
	close(sv[1]);
	outbuf_free(&ob);
	free(src);
	free(dst);
	return TAP_DONE();
}
