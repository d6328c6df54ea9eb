/*
 * A fixed-size scrollback ring: the newest rb_cap bytes of a stream, handed
 * to a client that connects late so it sees the boot messages and the
 * prompt it missed.
 */
#ifndef VMS_RINGBUF_H
#define VMS_RINGBUF_H
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define RINGBUF_DEFAULT_SIZE	(64 * 1024)

struct ringbuf {
	uint8_t		*rb_buf;
	size_t		 rb_cap;
	size_t		 rb_head;	/* where the next byte goes */
	size_t		 rb_len;	/* bytes held, <= rb_cap */
	uint64_t	 rb_total;	/* bytes ever written */
};

/* cap 0 keeps nothing (scrollback disabled). */
void ringbuf_init(struct ringbuf *rb, size_t cap);
void ringbuf_free(struct ringbuf *rb);
/* Append, overwriting the oldest bytes once full. */
void ringbuf_write(struct ringbuf *rb, const void *p, size_t n);
void ringbuf_clear(struct ringbuf *rb);

/*
 * The contents, oldest first, as up to two spans (returns how many). Once
 * the ring has wrapped, the partial oldest line is skipped when a newline
 * follows it, so a late client does not start mid-line or mid escape
 * sequence.
 */
int ringbuf_spans(const struct ringbuf *rb, struct iovec iov[2]);
#endif
