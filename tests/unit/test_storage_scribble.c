/*
 * Differential test in the manner of OpenBSD vmd's vioscribble: the same
 * random writes (fixed seed) go to a qcow2 image and to a raw image, and
 * both must read back the same. Then qemu-img checks the qcow2 image and
 * compares it with the raw one, when qemu-img is installed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/util.h"
#include "storage/img.h"
#include "storage/ops.h"
#include "tap.h"

#define SIZE	(24ULL << 20)

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{
	/* xorshift64*: reproducible across libcs, unlike random(). */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static int
run(char *const argv[])
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int
have_qemu_img(void)
{
	char *argv[] = { "qemu-img", "--version", NULL };

	return run(argv) == 0;
}

/* Compare the whole guest content of two images. */
static int
same_content(struct img *a, struct img *b)
{
	size_t chunk = 1 << 20;
	uint8_t *x = xmalloc(chunk), *y = xmalloc(chunk);
	int same = 1;

	for (uint64_t off = 0; off < a->im_size && same; off += chunk) {
		if (img_pread(a, x, chunk, off) < 0 || img_pread(b, y, chunk, off) < 0 ||
		    memcmp(x, y, chunk) != 0)
			same = 0;
	}
	free(x);
	free(y);
	return same;
}

static void
scribble(const char *dir, uint32_t cs, int compat, int rbits, int nwrites)
{
	char *qp = xasprintf("%s/s%u.qcow2", dir, cs), *rp = xasprintf("%s/s%u.raw", dir, cs);
	struct img_create_opts co = { .co_path = qp, .co_fmt = IMG_FMT_QCOW2,
	    .co_size = SIZE, .co_cluster_size = cs, .co_compat = compat,
	    .co_refcount_bits = rbits };
	struct img *q = NULL, *r = NULL;
	struct img_check_result cr;
	char err[IMG_ERRLEN];
	uint8_t *buf = xmalloc(cs > (256u << 10) ? cs : 256u << 10);
	int ok = 1;

	OK(img_create_opts(&co, err, sizeof(err)) == 0,
	    "create qcow2 cs=%u v%d refcount_bits=%d", cs, compat, rbits);
	OK(img_create(rp, IMG_FMT_RAW, SIZE, NULL, 0, err, sizeof(err)) == 0,
	    "create raw");
	OK(img_open(qp, IMG_FMT_AUTO, IMG_RDWR, &q, err, sizeof(err)) == 0 &&
	    img_open(rp, IMG_FMT_AUTO, IMG_RDWR, &r, err, sizeof(err)) == 0,
	    "open both read-write");
	if (!q || !r)
		goto out;
	for (int i = 0; i < nwrites && ok; i++) {
		uint64_t kind = rnd() % 10, len = rnd() % (256 << 10) + 1;
		uint64_t off = rnd() % SIZE;

		if (off + len > SIZE)
			len = SIZE - off;
		if (kind < 6) {		/* random bytes, unaligned */
			for (uint64_t j = 0; j < len; j++)
				buf[j] = (uint8_t)rnd();
			ok = img_pwrite(q, buf, len, off) == 0 &&
			    img_pwrite(r, buf, len, off) == 0;
		} else if (kind < 8) {	/* zeroes */
			ok = img_pwrite_zeroes(q, off, len) == 0 &&
			    img_pwrite_zeroes(r, off, len) == 0;
		} else {		/* one compressed cluster */
			off &= ~(uint64_t)(cs - 1);
			len = SIZE - off < cs ? SIZE - off : cs;
			memset(buf, (int)(rnd() & 0xff), len);
			for (uint64_t j = 0; j < len; j += 97)
				buf[j] = (uint8_t)i;
			ok = q->im_ops->pwrite_compressed(q, buf, len, off) == 0 &&
			    img_pwrite(r, buf, len, off) == 0;
		}
		if (!ok)
			printf("# write %d failed: %s / %s\n", i, img_errmsg(q), img_errmsg(r));
	}
	OK(ok, "%d random writes, zeroes and compressed clusters (cs=%u)", nwrites, cs);
	OK(same_content(q, r), "qcow2 reads back what raw holds (cs=%u)", cs);
	img_close(q);
	q = NULL;
	OK(img_open(qp, IMG_FMT_AUTO, 0, &q, err, sizeof(err)) == 0, "reopen");
	if (q) {
		OK(same_content(q, r), "same after reopening (cs=%u)", cs);
		OK(img_check(q, 0, &cr, stdout, err, sizeof(err)) == 0 &&
		    cr.cr_corruptions == 0 && cr.cr_leaks == 0,
		    "our check: no corruptions or leaks (cs=%u)", cs);
	}
	if (have_qemu_img()) {
		char *chk[] = { "qemu-img", "check", qp, NULL };
		char *cmp[] = { "qemu-img", "compare", "-f", "qcow2", "-F", "raw", qp, rp,
		    NULL };

		OK(run(chk) == 0, "qemu-img check passes (cs=%u)", cs);
		OK(run(cmp) == 0, "qemu-img compare: qcow2 equals raw (cs=%u)", cs);
	} else {
		printf("ok - qemu-img checks # SKIP qemu-img not installed\n");
	}
out:
	img_close(q);
	img_close(r);
	unlink(qp);
	unlink(rp);
	free(qp);
	free(rp);
	free(buf);
}

int
main(void)
{
	char dir[] = "/tmp/vms-scribble.XXXXXX";

	if (!mkdtemp(dir)) {
		printf("not ok - mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	scribble(dir, 65536, 3, 16, 300);
	scribble(dir, 512, 3, 16, 150);	/* many refcount blocks, table growth */
	scribble(dir, 4096, 2, 16, 200);	/* version 2: no zero flag */
	scribble(dir, 2u << 20, 3, 16, 60);
	scribble(dir, 4096, 3, 1, 150);	/* 1-bit counts: no sharing */
	scribble(dir, 8192, 3, 4, 150);	/* sub-byte counts */
	scribble(dir, 1024, 3, 64, 100);
	rmdir(dir);
	return TAP_DONE();
}
