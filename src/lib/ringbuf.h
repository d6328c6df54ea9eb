/*
 * A fixed-size scrollback ring: the newest rb_cap bytes of a stream, handed
 * to a client that connects late so it sees the boot messages and the
 * prompt it missed.
 *
 * The storage is allocated on the first write and can be released while
 * the stream is quiet (a stopped VM): a thousand declared VMs that never
 * print cost no scrollback memory (issue 20).
 */
#ifndef VMS_RINGBUF_H
#define VMS_RINGBUF_H
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define RINGBUF_DEFAULT_SIZE	(64 * 1024)

struct ringbuf {
	uint8_t		*rb_buf;	/* NULL until the first write, and after release */
	size_t		 rb_cap;
	size_t		 rb_head;	/* where the next byte goes */
	size_t		 rb_len;	/* bytes held, <= rb_cap */
	uint64_t	 rb_total;	/* bytes ever written */
};

/* Records the capacity only; cap 0 keeps nothing (scrollback disabled). */
void ringbuf_init(struct ringbuf *rb, size_t cap);
void ringbuf_free(struct ringbuf *rb);
/*
 * Drop the contents and give the storage back, keeping the capacity: the
 * next write allocates again. O(1) (one free()).
 */
void ringbuf_release(struct ringbuf *rb);
/* Bytes of storage held now: 0 or rb_cap. */
size_t ringbuf_mem(const struct ringbuf *rb);
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
