/*
 * Extended L2 entries, zstd and external data files, differentially (as test_storage_scribble.c
 * for plain images): the same random writes, zero writes and compressed
 * clusters (fixed seed) go to a qcow2 image of the variant and to a raw
 * image, which must read the same; then our check and qemu-img check and
 * compare. Variants with a backing file start both from the same random
 * content: the qcow2 is an overlay on a raw copy, so subclusters not
 * written must keep reading from the backing file. Data file names are
 * absolute: qemu-img 7.2 resolves relative ones against its working
 * directory (we resolve them against the image's).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/util.h"
#include "storage/img.h"
#include "storage/ops.h"
#include "tap.h"

#define SIZE	(16ULL << 20)

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;

static uint64_t
rnd(void)
{
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
same_content(struct img *a, struct img *b)
{
	size_t chunk = 1 << 20;
	uint8_t *x = xmalloc(chunk), *y = xmalloc(chunk);
	int same = 1;

	for (uint64_t off = 0; off < a->im_size && same; off += chunk)
		if (img_pread(a, x, chunk, off) < 0 || img_pread(b, y, chunk, off) < 0 ||
		    memcmp(x, y, chunk) != 0)
			same = 0;
	free(x);
	free(y);
	return same;
}

/* SIZE bytes of random data in a raw image at path, every 3rd MiB zero. */
static int
random_raw(const char *path)
{
	char err[IMG_ERRLEN];
	uint8_t *b = xmalloc(1 << 20);
	struct img *im;
	int r;

	if ((r = img_create(path, IMG_FMT_RAW, SIZE, NULL, 0, err, sizeof(err))) < 0 ||
	    (r = img_open(path, IMG_FMT_RAW, IMG_RDWR, &im, err, sizeof(err))) < 0) {
		free(b);
		return r;
	}
	for (uint64_t m = 0; m < SIZE >> 20 && r == 0; m++) {
		if (m % 3 == 2)
			continue;
		for (size_t j = 0; j < (1 << 20); j++)
			b[j] = (uint8_t)rnd();
		r = img_pwrite(im, b, 1 << 20, m << 20);
	}
	img_close(im);
	free(b);
	return r;
}

static int
copy_file(const char *from, const char *to)
{
	char *argv[] = { "cp", "--sparse=always", (char *)from, (char *)to, NULL };

	return run(argv) == 0 ? 0 : -1;
}

struct variant {
	const char	*v_name;
	uint32_t	 v_cs;
	int		 v_extl2, v_zstd, v_backing;
	int		 v_writes;
	int		 v_data;	/* 1: data_file, 2: data_file_raw */
};

static void
scribble(const char *dir, const struct variant *v)
{
	char *qp = xasprintf("%s/%s.qcow2", dir, v->v_name);
	char *rp = xasprintf("%s/%s.raw", dir, v->v_name);
	char *bp = xasprintf("%s/%s.base", dir, v->v_name);
	char *dp = xasprintf("%s/%s.data", dir, v->v_name);
	struct img_create_opts co = { .co_path = qp, .co_fmt = IMG_FMT_QCOW2,
	    .co_size = SIZE, .co_cluster_size = v->v_cs, .co_extl2 = v->v_extl2,
	    .co_zstd = v->v_zstd, .co_data_file = v->v_data ? dp : NULL,
	    .co_data_raw = v->v_data == 2 };
	struct img *q = NULL, *r = NULL;
	struct img_check_result cr;
	char err[IMG_ERRLEN] = "";
	uint8_t *buf = xmalloc(v->v_cs > (256u << 10) ? v->v_cs : 256u << 10);
	int ok = 1;

	if (v->v_backing) {
		OK(random_raw(bp) == 0 && copy_file(bp, rp) == 0,
		    "%s: random raw backing file and its copy", v->v_name);
		co.co_backing = bp;
		co.co_backing_fmt = IMG_FMT_RAW;
	} else {
		OK(img_create(rp, IMG_FMT_RAW, SIZE, NULL, 0, err, sizeof(err)) == 0,
		    "%s: raw reference", v->v_name);
	}
	OK(img_create_opts(&co, err, sizeof(err)) == 0, "%s: create qcow2 %s", v->v_name,
	    err);
	OK(img_open(qp, IMG_FMT_AUTO, IMG_RDWR, &q, err, sizeof(err)) == 0 &&
	    img_open(rp, IMG_FMT_RAW, IMG_RDWR, &r, err, sizeof(err)) == 0,
	    "%s: open both read-write %s", v->v_name, err);
	if (!q || !r)
		goto out;
	OK(same_content(q, r), "%s: equal before writing", v->v_name);
	for (int i = 0; i < v->v_writes && ok; i++) {
		uint64_t kind = rnd() % 10, len = rnd() % 4 ? rnd() % 5000 + 1 :
		    rnd() % (256 << 10) + 1;
		uint64_t off = rnd() % SIZE;

		if (off + len > SIZE)
			len = SIZE - off;
		if (kind < 6) {		/* random bytes, unaligned, mostly small */
			for (uint64_t j = 0; j < len; j++)
				buf[j] = (uint8_t)rnd();
			ok = img_pwrite(q, buf, len, off) == 0 &&
			    img_pwrite(r, buf, len, off) == 0;
		} else if (kind < 8) {	/* zeroes */
			ok = img_pwrite_zeroes(q, off, len) == 0 &&
			    img_pwrite_zeroes(r, off, len) == 0;
		} else {		/* one compressed cluster */
			off &= ~(uint64_t)(v->v_cs - 1);
			len = SIZE - off < v->v_cs ? SIZE - off : v->v_cs;
			memset(buf, (int)(rnd() & 0xff), len);
			for (uint64_t j = 0; j < len; j += 97)
				buf[j] = (uint8_t)i;
			/* (a data file holds no compressed clusters) */
			ok = (v->v_data ? img_pwrite(q, buf, len, off) :
			    q->im_ops->pwrite_compressed(q, buf, len, off)) == 0 &&
			    img_pwrite(r, buf, len, off) == 0;
		}
		if (!ok)
			printf("# write %d failed: %s / %s\n", i, img_errmsg(q),
			    img_errmsg(r));
	}
	if (ok) {
		/* At the end, so no later write hides it: data, then zeros
		 * over whole clusters of it (a raw data file must hold them). */
		uint64_t off = SIZE / 2 + 4096, len = 3 * (uint64_t)v->v_cs;

		for (uint64_t j = 0; j < len && j < (256u << 10); j++)
			buf[j] = (uint8_t)rnd();
		if (len > (256u << 10))
			len = 256u << 10;
		ok = img_pwrite(q, buf, len, off) == 0 && img_pwrite(r, buf, len, off) == 0 &&
		    img_pwrite_zeroes(q, off, len) == 0 &&
		    img_pwrite_zeroes(r, off, len) == 0;
	}
	OK(ok, "%s: %d random writes, zeroes and compressed clusters", v->v_name,
	    v->v_writes);
	OK(same_content(q, r), "%s: qcow2 reads back what raw holds", v->v_name);
	img_close(q);
	q = NULL;
	OK(img_open(qp, IMG_FMT_AUTO, 0, &q, err, sizeof(err)) == 0, "%s: reopen",
	    v->v_name);
	if (q) {
		OK(same_content(q, r), "%s: same after reopening", v->v_name);
		OK(img_check(q, 0, &cr, stdout, err, sizeof(err)) == 0 &&
		    cr.cr_corruptions == 0 && cr.cr_leaks == 0,
		    "%s: our check: no corruptions or leaks", v->v_name);
	}
	{
		char *chk[] = { "qemu-img", "check", qp, NULL };
		char *cmp[] = { "qemu-img", "compare", "-f", "qcow2", "-F", "raw", qp,
		    rp, NULL };

		OK(run(chk) == 0, "%s: qemu-img check passes", v->v_name);
		OK(run(cmp) == 0, "%s: qemu-img compare: qcow2 equals raw", v->v_name);
	}
	if (v->v_data == 2) {
		char *cmp[] = { "cmp", dp, rp, NULL };

		OK(run(cmp) == 0, "%s: the raw data file equals the raw image", v->v_name);
	}
out:
	img_close(q);
	img_close(r);
	unlink(qp);
	unlink(rp);
	unlink(bp);
	unlink(dp);
	free(dp);
	free(qp);
	free(rp);
	free(bp);
	free(buf);
}

static const struct variant variants[] = {
	{ "extl2-64k",		65536,		1, 0, 0, 400, 0 },
	{ "extl2-64k-backing",	65536,		1, 0, 1, 400, 0 },
	{ "extl2-16k-backing",	16384,		1, 0, 1, 300, 0 },
	{ "extl2-2m-backing",	2u << 20,	1, 0, 1, 80, 0 },
	{ "zstd-64k",		65536,		0, 1, 0, 300, 0 },
	{ "zstd-4k-backing",	4096,		0, 1, 1, 200, 0 },
	{ "extl2-zstd-32k-backing", 32768,	1, 1, 1, 300, 0 },
	{ "datafile-64k",	65536,		0, 0, 0, 300, 1 },
	{ "datafile-4k-backing", 4096,		0, 0, 1, 200, 1 },
	{ "datafile-raw-64k",	65536,		0, 0, 0, 300, 2 },
	{ "datafile-raw-extl2-32k", 32768,	1, 0, 0, 300, 2 },
	{ "datafile-extl2-64k-backing", 65536,	1, 0, 1, 300, 1 },
};

int
main(void)
{
	char dir[] = "/tmp/vms-extl2.XXXXXX";
	char *ver[] = { "qemu-img", "--version", NULL };

	if (run(ver) != 0) {
		printf("ok - extended L2 and zstd scribble # SKIP qemu-img not installed\n");
		return 0;
	}
	if (!mkdtemp(dir)) {
		printf("not ok - mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++)
		scribble(dir, &variants[i]);
	rmdir(dir);
	return TAP_DONE();
}
