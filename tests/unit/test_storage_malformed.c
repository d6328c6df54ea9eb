/*
 * Malformed qcow2 images: each bad header field or table entry must be
 * refused with a message naming it, never a crash; backing chain loops and
 * over-deep chains are refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util.h"
#include "storage/img.h"
#include "storage/qcow2.h"
#include "tap.h"

static char dir[] = "/tmp/vms-malformed.XXXXXX";

static char *
path(const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

static void
fresh(const char *p, uint64_t size)
{
	char err[IMG_ERRLEN];

	unlink(p);
	if (img_create(p, IMG_FMT_QCOW2, size, NULL, 0, err, sizeof(err)) < 0)
		printf("# create %s: %s\n", p, err);
}

static void
poke(const char *p, uint64_t off, const void *b, size_t n)
{
	int fd = open(p, O_WRONLY);

	if (fd < 0 || pwrite(fd, b, n, (off_t)off) != (ssize_t)n)
		printf("# poke %s failed\n", p);
	if (fd >= 0)
		close(fd);
}

static void
poke32(const char *p, uint64_t off, uint32_t v)
{
	uint8_t b[4];

	qcow2_put32(b, v);
	poke(p, off, b, 4);
}

static void
poke64(const char *p, uint64_t off, uint64_t v)
{
	uint8_t b[8];

	qcow2_put64(b, v);
	poke(p, off, b, 8);
}

/* Open must fail with -want (0: any error) and a message containing needle. */
static void
refused(const char *p, const char *needle, const char *what)
{
	char err[IMG_ERRLEN] = "";
	struct img *im = NULL;
	int r = img_open(p, IMG_FMT_QCOW2, 0, &im, err, sizeof(err));

	OK(r < 0 && strstr(err, needle), "%s refused, naming '%s'", what, needle);
	if (r == 0 || !strstr(err, needle))
		printf("#   got r=%d err=%s\n", r, err);
	img_close(im);
}

/* Open succeeds but reading the first cluster fails naming needle. */
static void
read_refused(const char *p, const char *needle, const char *what)
{
	char err[IMG_ERRLEN] = "";
	struct img *im = NULL;
	uint8_t buf[4096];
	int r = img_open(p, IMG_FMT_QCOW2, 0, &im, err, sizeof(err));

	if (r == 0) {
		r = img_pread(im, buf, sizeof(buf), 0);
		snprintf(err, sizeof(err), "%s", img_errmsg(im));
	}
	OK(r < 0 && strstr(err, needle), "%s: read refused, naming '%s'", what, needle);
	if (r == 0 || !strstr(err, needle))
		printf("#   got r=%d err=%s\n", r, err);
	img_close(im);
}

static const struct field_case {
	const char	*what;
	uint64_t	 off;
	int		 width;	/* 4 or 8 */
	uint64_t	 val;
	const char	*needle;
} fields[] = {
	{ "bad magic",			0,   4, 0x12345678, "magic" },
	{ "version 4",			4,   4, 4, "version 4" },
	{ "cluster_bits 30",		20,  4, 30, "cluster_bits" },
	{ "cluster_bits 8",		20,  4, 8, "cluster_bits" },
	{ "crypt_method 1",		32,  4, 1, "crypt_method" },
	{ "l1_size 2^31",		36,  4, 0x80000000U, "l1_size" },
	{ "l1_size 0 for 64M",		36,  4, 0, "l1_size" },
	{ "l1_table_offset unaligned",	40,  8, 0x30001, "l1_table offset" },
	{ "l1_table_offset past EOF",	40,  8, 1ULL << 40, "l1_table" },
	{ "refcount_table_offset 0",	48,  8, 0, "refcount_table offset 0" },
	{ "refcount_table_clusters 0",	56,  4, 0, "refcount_table_clusters" },
	{ "refcount_table_clusters huge", 56, 4, 0xffffffffU, "refcount_table_clusters" },
	{ "nb_snapshots huge",		60,  4, 0x7fffffffU, "nb_snapshots" },
	{ "snapshots_offset unaligned",	64,  8, 7, "snapshots_offset" },
	{ "unknown incompatible bit",	72,  8, 1ULL << 40, "incompatible_features" },
	{ "external data file bit",	72,  8, 1ULL << 2, "external data" },
	/* The extended L2 bit is read now (tests/storage/test_qcow2_extl2.sh
	 * has its malformed cases). */
	{ "refcount_order 7",		96,  4, 7, "refcount_order" },
	{ "header_length 50",		100, 4, 50, "header_length" },
	{ "header_length huge",		100, 4, 0x10000000U, "header_length" },
	{ "backing_file_size 5000",	16,  4, 5000, "backing_file_size" },
	{ "size 2^63",			24,  8, 1ULL << 63, "size" },
};

static void
test_fields(void)
{
	char *p = path("f.qcow2");

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const struct field_case *f = &fields[i];

		fresh(p, 64 << 20);
		if (f->off == 16)	/* a name must exist for its size to matter */
			poke64(p, 8, 200);
		if (f->off == 64)	/* the offset matters with snapshots */
			poke32(p, 60, 1);
		if (f->width == 4)
			poke32(p, f->off, (uint32_t)f->val);
		else
			poke64(p, f->off, f->val);
		refused(p, f->needle, f->what);
	}
	free(p);
}

static void
test_extensions(void)
{
	char *p = path("e.qcow2");

	fresh(p, 1 << 20);
	/* An extension claiming more bytes than the cluster holds. */
	poke32(p, 112, 0x12345678);
	poke32(p, 116, 0x7fffffff);
	refused(p, "header extension 0x12345678", "oversized header extension");
	fresh(p, 1 << 20);
	poke32(p, 112, QCOW2_EXT_BACKING_FMT);
	poke32(p, 116, 5);
	poke(p, 120, "vmdk\0\0\0\0", 8);
	poke64(p, 8, 200);
	poke32(p, 16, 4);
	poke(p, 200, "base", 4);
	refused(p, "backing format", "unknown backing format");
	/* A backing name longer than the (512-byte) first cluster. */
	{
		struct img_create_opts co = { .co_path = p, .co_fmt = IMG_FMT_QCOW2,
		    .co_size = 1 << 20, .co_cluster_size = 512 };
		char err[IMG_ERRLEN];

		unlink(p);
		if (img_create_opts(&co, err, sizeof(err)) < 0)
			printf("# %s\n", err);
		poke64(p, 8, 120);
		poke32(p, 16, 1000);
		refused(p, "backing_file_offset", "backing name past a 512-byte cluster");
	}
	/* A file shorter than the backing name it claims: read past the
	 * header buffer before the bound was checked (found in review). */
	fresh(p, 1 << 20);
	poke64(p, 8, 120);
	poke32(p, 16, 1000);
	{
		char name[480];

		memset(name, 'A', sizeof(name));	/* no NUL to stop a scan */
		poke(p, 120, name, sizeof(name));
	}
	if (truncate(p, 600) < 0)
		printf("# truncate failed\n");
	refused(p, "backing_file_offset", "backing name past the end of a short file");
	free(p);
}

static void
test_tables(void)
{
	char *p = path("t.qcow2");
	uint64_t l1 = 3 * 65536;	/* our layout: header, reftable, refblock, L1 */

	fresh(p, 1 << 20);
	poke64(p, l1, 0x10200 | QCOW2_OFLAG_COPIED);
	read_refused(p, "L1 entry 0", "unaligned L2 table offset");
	fresh(p, 1 << 20);
	poke64(p, l1, (1ULL << 50) | QCOW2_OFLAG_COPIED);
	read_refused(p, "past the end", "L2 table past end of file");
	/* A real L2 table at cluster 4 with a bad data entry. */
	fresh(p, 1 << 20);
	poke64(p, l1, 4 * 65536 | QCOW2_OFLAG_COPIED);
	poke64(p, 5 * 65536 - 8, 0);	/* make the file cover cluster 4 */
	poke64(p, 4 * 65536, 0x12345600 | QCOW2_OFLAG_COPIED);
	read_refused(p, "not cluster aligned", "unaligned data cluster");
	/* A compressed entry pointing at garbage. */
	poke64(p, 4 * 65536, QCOW2_OFLAG_COMPRESSED | 65536);
	poke(p, 65536, "\xff\xff\xff\xff\xff\xff\xff\xff", 8);
	read_refused(p, "bad deflate data", "garbage compressed cluster");
	/* Refcount table entry pointing past the end: writes must refuse. */
	{
		char err[IMG_ERRLEN];
		struct img *im = NULL;
		uint8_t b[512] = { 1 };
		int r;

		fresh(p, 1 << 20);
		poke64(p, 65536, 1ULL << 45);
		r = img_open(p, IMG_FMT_QCOW2, IMG_RDWR, &im, err, sizeof(err));
		if (r == 0)
			r = img_pwrite(im, b, sizeof(b), 0);
		OK(r < 0 && im && strstr(img_errmsg(im), "refcount table entry 0"),
		    "write with a broken refcount table refused, naming the entry");
		img_close(im);
	}
	free(p);
}

static void
test_chains(void)
{
	char *a = path("a.qcow2"), *b = path("b.qcow2"), err[IMG_ERRLEN];
	char *names[IMG_MAX_CHAIN + 2];
	struct img *im = NULL;
	int r;

	/* a -> b -> a: make both, then point b's header at a. */
	fresh(a, 1 << 20);
	unlink(b);
	OK(img_create(b, IMG_FMT_QCOW2, 0, "a.qcow2", IMG_FMT_QCOW2, err,
	    sizeof(err)) == 0, "overlay b on a");
	r = img_open(a, IMG_FMT_QCOW2, IMG_RDWR, &im, err, sizeof(err));
	OK(r == 0 && im->im_ops->set_backing(im, "b.qcow2", IMG_FMT_QCOW2) == 0,
	    "point a's header at b");
	img_close(im);
	im = NULL;
	r = img_open(a, IMG_FMT_AUTO, 0, &im, err, sizeof(err));
	OK(r == -ELOOP && strstr(err, "loop"), "backing loop refused: %s", err);
	img_close(im);
	im = NULL;
	/* A chain one deeper than allowed. */
	for (int i = 0; i <= IMG_MAX_CHAIN; i++)
		names[i] = xasprintf("%s/c%d.qcow2", dir, i);
	fresh(names[0], 1 << 20);
	for (int i = 1; i <= IMG_MAX_CHAIN; i++) {
		char rel[32];
		struct img_create_opts co = { .co_path = names[i],
		    .co_fmt = IMG_FMT_QCOW2, .co_backing = rel,
		    .co_backing_fmt = IMG_FMT_QCOW2 };

		snprintf(rel, sizeof(rel), "c%d.qcow2", i - 1);
		if (img_create_opts(&co, err, sizeof(err)) < 0)
			printf("# creating %s: %s\n", names[i], err);
	}
	r = img_open(names[IMG_MAX_CHAIN - 1], IMG_FMT_AUTO, 0, &im, err, sizeof(err));
	OK(r == 0, "a chain of %d images opens", IMG_MAX_CHAIN);
	img_close(im);
	im = NULL;
	r = img_open(names[IMG_MAX_CHAIN], IMG_FMT_AUTO, 0, &im, err, sizeof(err));
	OK(r == -ELOOP && strstr(err, "deeper than"), "a chain of %d refused: %s",
	    IMG_MAX_CHAIN + 1, err);
	img_close(im);
	for (int i = 0; i <= IMG_MAX_CHAIN; i++) {
		unlink(names[i]);
		free(names[i]);
	}
	unlink(a);
	unlink(b);
	free(a);
	free(b);
}

int
main(void)
{
	char cmd[64];

	if (!mkdtemp(dir)) {
		printf("not ok - mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	test_fields();
	test_extensions();
	test_tables();
	test_chains();
	snprintf(cmd, sizeof(cmd), "%s/f.qcow2", dir);
	unlink(cmd);
	snprintf(cmd, sizeof(cmd), "%s/e.qcow2", dir);
	unlink(cmd);
	snprintf(cmd, sizeof(cmd), "%s/t.qcow2", dir);
	unlink(cmd);
	rmdir(dir);
	return TAP_DONE();
}
