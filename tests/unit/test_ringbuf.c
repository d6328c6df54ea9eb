/* Unit tests for the scrollback ring, against a straightforward model. */
#include <stdlib.h>
#include <string.h>

#include "lib/ringbuf.h"
#include "tap.h"

/* What a late client should get: the last cap bytes of hist, cut after the
 * first newline when older bytes were lost. */
static size_t
model(const uint8_t *hist, size_t total, size_t cap, const uint8_t **out)
{
	size_t len = total < cap ? total : cap, i;
	const uint8_t *p = hist + total - len;

	if (total > len) {
		for (i = 0; i < len; i++)
			if (p[i] == '\n') {
				p += i + 1;
				len -= i + 1;
				break;
			}
	}
	*out = p;
	return len;
}

static size_t
flatten(const struct ringbuf *rb, uint8_t *buf)
{
	struct iovec iov[2];
	int n = ringbuf_spans(rb, iov), i;
	size_t o = 0;

	for (i = 0; i < n; i++) {
		memcpy(buf + o, iov[i].iov_base, iov[i].iov_len);
		o += iov[i].iov_len;
	}
	return o;
}

static void
test_basic(void)
{
	struct ringbuf rb;
	uint8_t buf[64];
	size_t n;

	ringbuf_init(&rb, 16);
	OK(flatten(&rb, buf) == 0, "empty ring hands out nothing");
	ringbuf_write(&rb, "boot\n", 5);
	n = flatten(&rb, buf);
	OK(n == 5 && memcmp(buf, "boot\n", 5) == 0, "unwrapped ring hands out everything");
	ringbuf_write(&rb, "line two\nready\n", 15);
	n = flatten(&rb, buf);
	/* "boot\nline two\nready\n" is 20 bytes; the last 16 start at "\nline". */
	OK(n == 15 && memcmp(buf, "line two\nready\n", 15) == 0,
	    "wrapped ring starts after the first newline (got %zu)", n);
	ringbuf_write(&rb, "0123456789abcdefXYZ", 19);
	n = flatten(&rb, buf);
	OK(n == 16 && memcmp(buf, "3456789abcdefXYZ", 16) == 0,
	    "a write larger than the ring keeps its tail; no newline: all of it");
	ringbuf_free(&rb);

	ringbuf_init(&rb, 0);
	ringbuf_write(&rb, "x", 1);
	OK(flatten(&rb, buf) == 0 && rb.rb_total == 1, "size 0 keeps nothing, counts bytes");
	ringbuf_free(&rb);
}

static void
test_random(void)
{
	enum { HIST = 1 << 20 };
	static uint8_t hist[HIST], got[RINGBUF_DEFAULT_SIZE], chunk[9000];
	const uint8_t *want;
	size_t caps[] = { 1, 7, 100, 4096, RINGBUF_DEFAULT_SIZE }, c, total, n, wn, i;
	unsigned seed = 42, bad = 0, checks = 0;
	struct ringbuf rb;

	for (c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		ringbuf_init(&rb, caps[c]);
		total = 0;
		while (total < HIST - sizeof(chunk)) {
			seed = seed * 1103515245 + 12345;
			n = (seed >> 8) % ((seed >> 20) % 2 ? sizeof(chunk) : 80);
			for (i = 0; i < n; i++) {
				seed = seed * 1103515245 + 12345;
				chunk[i] = (seed >> 16) % 50 == 0 ? '\n' : 'a' + (seed >> 16) % 26;
			}
			ringbuf_write(&rb, chunk, n);
			memcpy(hist + total, chunk, n);
			total += n;
			wn = model(hist, total, caps[c], &want);
			n = flatten(&rb, got);
			checks++;
			if (n != wn || memcmp(got, want, n) != 0)
				bad++;
		}
		ringbuf_free(&rb);
	}
	OK(bad == 0, "%u random writes over 5 ring sizes match the model (%u differ)",
	    checks, bad);
}

/* Storage only while there is output to keep (issue 20). */
static void
test_lazy(void)
{
	struct ringbuf rb;
	uint8_t buf[64];
	size_t n;

	ringbuf_init(&rb, 32);
	OK(rb.rb_buf == NULL && ringbuf_mem(&rb) == 0, "a new ring holds no storage");
	ringbuf_write(&rb, "", 0);
	OK(ringbuf_mem(&rb) == 0, "an empty write allocates nothing");
	ringbuf_write(&rb, "first run\n", 10);
	n = flatten(&rb, buf);
	OK(ringbuf_mem(&rb) == 32 && n == 10 && memcmp(buf, "first run\n", 10) == 0,
	    "the first write allocates the capacity and keeps the bytes");
	ringbuf_release(&rb);
	OK(rb.rb_buf == NULL && ringbuf_mem(&rb) == 0 && rb.rb_cap == 32 &&
	    flatten(&rb, buf) == 0, "release frees the storage, keeps the capacity, empties it");
	ringbuf_release(&rb);
	OK(ringbuf_mem(&rb) == 0, "releasing a released ring is harmless");
	ringbuf_write(&rb, "second run: a longer line than the ring\nok\n", 43);
	n = flatten(&rb, buf);
	OK(ringbuf_mem(&rb) == 32 && n == 3 && memcmp(buf, "ok\n", 3) == 0,
	    "after release the ring is reused: allocated again, wraps as before (got %zu)", n);
	ringbuf_free(&rb);

	ringbuf_init(&rb, 0);
	ringbuf_write(&rb, "x", 1);
	OK(ringbuf_mem(&rb) == 0 && rb.rb_buf == NULL, "a size-0 ring never allocates");
	ringbuf_free(&rb);
}

int
main(void)
{
	test_basic();
	test_random();
	test_lazy();
	return TAP_DONE();
}
