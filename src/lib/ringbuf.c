/* Scrollback ring buffer. */
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "lib/ringbuf.h"

void
ringbuf_init(struct ringbuf *rb, size_t cap)
{
	memset(rb, 0, sizeof(*rb));
	rb->rb_cap = cap;
}

void
ringbuf_free(struct ringbuf *rb)
{
	free(rb->rb_buf);
	memset(rb, 0, sizeof(*rb));
}

void
ringbuf_release(struct ringbuf *rb)
{
	free(rb->rb_buf);
	rb->rb_buf = NULL;
	rb->rb_head = rb->rb_len = 0;
	rb->rb_total = 0;
}

size_t
ringbuf_mem(const struct ringbuf *rb)
{
	return rb->rb_buf ? rb->rb_cap : 0;
}

void
ringbuf_clear(struct ringbuf *rb)
{
	rb->rb_head = rb->rb_len = 0;
	rb->rb_total = 0;
}

void
ringbuf_write(struct ringbuf *rb, const void *p, size_t n)
{
	const uint8_t *s = p;
	size_t chunk;

	rb->rb_total += n;
	if (rb->rb_cap == 0 || n == 0)
		return;
	if (!rb->rb_buf)
		rb->rb_buf = xmalloc(rb->rb_cap);
	if (n >= rb->rb_cap) {
		/* Only the last rb_cap bytes survive. */
		memcpy(rb->rb_buf, s + n - rb->rb_cap, rb->rb_cap);
		rb->rb_head = 0;
		rb->rb_len = rb->rb_cap;
		return;
	}
	while (n) {
		chunk = rb->rb_cap - rb->rb_head;
		if (chunk > n)
			chunk = n;
		memcpy(rb->rb_buf + rb->rb_head, s, chunk);
		rb->rb_head = (rb->rb_head + chunk) % rb->rb_cap;
		rb->rb_len += chunk;
		s += chunk;
		n -= chunk;
	}
	if (rb->rb_len > rb->rb_cap)
		rb->rb_len = rb->rb_cap;
}

int
ringbuf_spans(const struct ringbuf *rb, struct iovec iov[2])
{
	size_t start, first, skip = 0, i;
	int n = 0;

	if (rb->rb_len == 0)
		return 0;
	start = (rb->rb_head + rb->rb_cap - rb->rb_len) % rb->rb_cap;
	if (rb->rb_total > rb->rb_len) {
		/* Wrapped: drop up to and including the first newline, if any. */
		for (i = 0; i < rb->rb_len; i++) {
			if (rb->rb_buf[(start + i) % rb->rb_cap] == '\n') {
				skip = i + 1;
				break;
			}
		}
		start = (start + skip) % rb->rb_cap;
	}
	if (skip == rb->rb_len)
		return 0;
	first = rb->rb_cap - start;
	if (first >= rb->rb_len - skip) {
		iov[n].iov_base = rb->rb_buf + start;
		iov[n++].iov_len = rb->rb_len - skip;
	} else {
		iov[n].iov_base = rb->rb_buf + start;
		iov[n++].iov_len = first;
		iov[n].iov_base = rb->rb_buf;
		iov[n++].iov_len = rb->rb_len - skip - first;
	}
	return n;
}
