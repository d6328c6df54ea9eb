/*
 * An output queue for a non-blocking socket: bytes appended by the
 * protocol, written as far as the peer reads, the rest kept for EPOLLOUT.
 * One per console client, console upstream, control client and QMP
 * connection.
 *
 * The queue is bounded: what happens when a peer does not read (skip
 * output, drop the input, close the client, refuse the command) is the
 * caller's policy, so outbuf only says "over the cap" and stores nothing.
 */
#ifndef VMS_OUTBUF_H
#define VMS_OUTBUF_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct outbuf {
	char		*ob_buf;
	size_t		 ob_off, ob_len;	/* pending: [ob_off, ob_len) */
	size_t		 ob_size;	/* allocated */
	size_t		 ob_max;	/* most bytes pending at once */
	uint64_t	 ob_sent;	/* written ever: progress, for stall checks */
};

/* An empty queue holding at most max bytes (0: refuses every byte). */
void outbuf_init(struct outbuf *ob, size_t max);
/* Drop what is pending and the memory; the queue stays usable, same cap. */
void outbuf_free(struct outbuf *ob);

size_t outbuf_len(const struct outbuf *ob);
bool outbuf_empty(const struct outbuf *ob);

/*
 * Append n bytes; outbuf_add_line appends s and a newline, both or
 * neither. 0, or -ENOBUFS when the pending bytes would pass the cap
 * (nothing appended).
 */
int outbuf_add(struct outbuf *ob, const void *p, size_t n);
int outbuf_add_line(struct outbuf *ob, const char *s, size_t n);

/*
 * Send what fd takes now (MSG_DONTWAIT | MSG_NOSIGNAL: fd must be a
 * socket; a peer gone is EPIPE, never SIGPIPE). Returns the bytes written
 * by this call (0: the socket is full, or nothing was pending), or -errno
 * when the connection failed (the pending bytes stay queued).
 */
ssize_t outbuf_flush(struct outbuf *ob, int fd);

/* For a caller that writes by itself (tests, fuzzers): the pending bytes, and n of them done. */
const char *outbuf_data(const struct outbuf *ob, size_t *len);
void outbuf_consume(struct outbuf *ob, size_t n);
#endif
