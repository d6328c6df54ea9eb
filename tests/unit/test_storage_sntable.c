/*
 * Snapshot tables, well formed and malformed, made by a small generator on
 * top of a fresh image of ours (layout: header, refcount table, refcount
 * block, L1 table; 64 KiB clusters): a good table lists field by field, and
 * every bad offset, overlap, count, size or string is refused at open with
 * a message naming it, never a crash.
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
#include "storage/snapshot.h"
#include "tap.h"

#define CS	65536ULL
#define L1_AT	(3 * CS)	/* the active L1 table of a fresh image */
#define TAB_AT	(4 * CS)	/* where the generator puts the table */

static char dir[] = "/tmp/vms-sntable.XXXXXX";

/* One generated entry; 0/NULL fields take the defaults below. */
struct ent {
	uint64_t	 l1_off;	/* default: cluster 5 + index */
	uint32_t	 l1_size;	/* default: 1 */
	const char	*id;		/* default: index + 1 */
	const char	*name;		/* default: "sn<index>" */
	int		 extra;		/* default (0): 24; -1: none */
	uint64_t	 disk;		/* default: 64 MiB */
	int		 name_len;	/* default: strlen(name) (NUL bytes allowed) */
	int		 id_len;
};

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

/* The table bytes for n entries (the caller frees), *len their size. */
static uint8_t *
encode(const struct ent *e, int n, size_t *len)
{
	size_t cap = 0, pos = 0;
	uint8_t *b = NULL;

	for (int i = 0; i < n; i++) {
		char idbuf[16], namebuf[16];
		const char *id = e[i].id, *name = e[i].name;
		uint32_t extra = e[i].extra < 0 ? 0 : e[i].extra ? (uint32_t)e[i].extra : 24;
		size_t il, nl, need;
		uint8_t *h;

		if (!id) {
			snprintf(idbuf, sizeof(idbuf), "%d", i + 1);
			id = idbuf;
		}
		if (!name) {
			snprintf(namebuf, sizeof(namebuf), "sn%d", i);
			name = namebuf;
		}
		il = e[i].id_len ? (size_t)e[i].id_len : strlen(id);
		nl = e[i].name_len ? (size_t)e[i].name_len : strlen(name);
		need = pos + ((40 + extra + il + nl + 7) & ~(size_t)7);
		if (need > cap) {
			b = xrealloc(b, need);
			memset(b + cap, 0, need - cap);
			cap = need;
		}
		h = b + pos;
		qcow2_put64(h, e[i].l1_off ? e[i].l1_off : (5 + (uint64_t)i) * CS);
		qcow2_put32(h + 8, e[i].l1_size ? e[i].l1_size : 1);
		h[12] = (uint8_t)(il >> 8);
		h[13] = (uint8_t)il;
		h[14] = (uint8_t)(nl >> 8);
		h[15] = (uint8_t)nl;
		qcow2_put32(h + 16, 1700000000 + (uint32_t)i);
		qcow2_put32(h + 20, 5000);
		qcow2_put64(h + 24, 3723004000000ULL);	/* 1:02:03.004 */
		qcow2_put32(h + 32, 0);
		qcow2_put32(h + 36, extra);
		if (extra >= 16) {
			qcow2_put64(h + 40, 123456);
			qcow2_put64(h + 48, e[i].disk ? e[i].disk : 64ULL << 20);
		}
		if (extra >= 24)
			qcow2_put64(h + 56, 42);
		memcpy(h + 40 + extra, id, il < strlen(id) ? il : strlen(id));
		memcpy(h + 40 + extra + il, name, nl < strlen(name) ? nl : strlen(name));
		pos = need;
	}
	*len = pos;
	return b;
}

/*
 * A fresh 64 MiB image with n entries at TAB_AT, zeroed clusters for
 * their L1 tables after it, and the header pointing at them.
 */
static char *
build(const char *name, const struct ent *e, int n, int version)
{
	struct img_create_opts co = { .co_fmt = IMG_FMT_QCOW2, .co_size = 64 << 20,
	    .co_compat = version };
	char *p = xasprintf("%s/%s", dir, name), err[IMG_ERRLEN];
	static const uint8_t zero[8];
	size_t len;
	uint8_t *t;

	unlink(p);
	co.co_path = p;
	if (img_create_opts(&co, err, sizeof(err)) < 0)
		printf("# create %s: %s\n", p, err);
	t = encode(e, n, &len);
	poke(p, TAB_AT, t, len);
	free(t);
	if (TAB_AT + len < (5 + (uint64_t)n + 2) * CS)
		poke(p, (5 + (uint64_t)n + 2) * CS - 8, zero, 8);
	poke32(p, 60, (uint32_t)n);
	poke64(p, 64, TAB_AT);
	return p;
}

static int
try_open(const char *p, struct img **im, char *err, size_t len)
{
	*im = NULL;
	err[0] = '\0';
	return img_open(p, IMG_FMT_QCOW2, 0, im, err, len);
}

static void
refused(char *p, const char *needle, const char *what)
{
	char err[IMG_ERRLEN];
	struct img *im;
	int r = try_open(p, &im, err, sizeof(err));

	OK(r < 0 && strstr(err, needle), "%s: refused, naming '%s'", what, needle);
	if (r == 0 || !strstr(err, needle))
		printf("#   got r=%d err=%s\n", r, err);
	img_close(im);
	unlink(p);
	free(p);
}

static void
test_good(void)
{
	struct ent e[3] = { { .name = "first" }, { .id = "7", .name = "" },
	    { .name = "third" } };
	char *p = build("good.qcow2", e, 3, 3), err[IMG_ERRLEN];
	struct img_snapshot *v = NULL;
	struct img *im;
	size_t n = 0;
	int r = try_open(p, &im, err, sizeof(err));

	OK(r == 0, "a well-formed table of 3 opens (%s)", err);
	if (r == 0 && img_snapshot_list(im, &v, &n) == 0 && n == 3) {
		OK_STREQ(v[0].is_id, "1", "entry 0: ID");
		OK_STREQ(v[0].is_name, "first", "entry 0: name");
		OK_STREQ(v[1].is_id, "7", "entry 1: ID as stored");
		OK_STREQ(v[1].is_name, "", "entry 1: an empty name is fine");
		OK(v[2].is_date_sec == 1700000002 && v[2].is_date_nsec == 5000,
		    "entry 2: date");
		OK(v[0].is_vm_clock_nsec == 3723004000000ULL, "entry 0: VM clock");
		OK(v[0].is_vm_state_size == 123456, "entry 0: 64-bit VM state size "
		    "from the extra data");
		OK(v[0].is_disk_size == 64ULL << 20, "entry 0: disk size");
		OK(v[0].is_icount == 42, "entry 0: icount");
	} else {
		OK(0, "listing the 3 entries (n=%zu)", n);
	}
	free(v);
	img_close(im);
	unlink(p);
	free(p);

	/* Version 2 entries may carry no extra data at all. */
	{
		struct ent e2[1] = { { .extra = -1 } };

		p = build("v2.qcow2", e2, 1, 2);
		r = try_open(p, &im, err, sizeof(err));
		OK(r == 0, "version 2: an entry without extra data opens (%s)", err);
		v = NULL;
		if (r == 0 && img_snapshot_list(im, &v, &n) == 0 && n == 1)
			OK(v[0].is_icount == UINT64_MAX && v[0].is_disk_size ==
			    64ULL << 20 && v[0].is_vm_state_size == 0,
			    "... no icount, the image's size, the 32-bit VM state size");
		else
			OK(0, "listing it");
		free(v);
		img_close(im);
		unlink(p);
		free(p);
	}
}

static void
test_bad(void)
{
	char *p;

	{
		struct ent e[1] = { { 0 } };

		p = build("off0.qcow2", e, 1, 3);
		poke64(p, 64, 0);
		refused(p, "snapshots_offset 0 overlaps the header", "table at offset 0");
		p = build("offeof.qcow2", e, 1, 3);
		poke64(p, 64, 1ULL << 40);
		refused(p, "lies past the end of the file", "table past the end of the file");
		p = build("offl1.qcow2", e, 1, 3);
		poke64(p, 40, TAB_AT);
		refused(p, "the snapshot table overlaps the active L1 table",
		    "table and active L1 table in one cluster");
		p = build("offrt.qcow2", e, 1, 3);
		poke64(p, 48, TAB_AT);
		refused(p, "the snapshot table overlaps the refcount table",
		    "table and refcount table in one cluster");
	}
	{
		struct ent e[1] = { { .l1_off = 5 * CS + 512 } };

		refused(build("l1unal.qcow2", e, 1, 3), "not cluster aligned",
		    "a snapshot L1 table not cluster aligned");
	}
	{
		struct ent e[1] = { { .l1_off = 1ULL << 40 } };

		refused(build("l1eof.qcow2", e, 1, 3), "lies past the end of the file",
		    "a snapshot L1 table past the end of the file");
	}
	{
		struct ent e[1] = { { .l1_size = 1U << 30 } };

		refused(build("l1huge.qcow2", e, 1, 3), "exceeds the 32 MiB limit",
		    "a snapshot L1 table of 2^30 entries");
	}
	{
		struct ent e[1] = { { .l1_off = CS } };

		refused(build("l1rt.qcow2", e, 1, 3), "overlaps the L1 table of snapshot 0",
		    "a snapshot L1 table on the refcount table");
	}
	{
		struct ent e[1] = { { .l1_off = L1_AT } };

		refused(build("l1act.qcow2", e, 1, 3), "the active L1 table overlaps the "
		    "L1 table of snapshot 0", "a snapshot L1 table on the active one");
	}
	{
		struct ent e[2] = { { .l1_off = 5 * CS }, { .l1_off = 5 * CS } };

		refused(build("l1twice.qcow2", e, 2, 3), "the L1 table of snapshot 0 "
		    "(ID '1') overlaps the L1 table of snapshot 1 (ID '2')",
		    "two snapshots sharing one L1 table");
	}
	{
		struct ent e[1] = { { .l1_off = TAB_AT } };

		refused(build("l1tab.qcow2", e, 1, 3), "the snapshot table overlaps the "
		    "L1 table of snapshot 0",
		    "a snapshot L1 table inside the snapshot table");
	}
	{
		struct ent e[1] = { { .extra = 5000 } };

		refused(build("extra.qcow2", e, 1, 3), "extra_data_size 5000 exceeds 1024",
		    "extra_data_size 5000");
	}
	{
		struct ent e[1] = { { .extra = 8 } };

		refused(build("extra8.qcow2", e, 1, 3), "extra_data_size 8 is below the 16",
		    "extra_data_size 8 in a version 3 image");
	}
	{
		struct ent e[2] = { { .id = "3" }, { .id = "3" } };

		refused(build("dupid.qcow2", e, 2, 3), "ID '3' appears more than once",
		    "duplicate IDs");
	}
	{
		struct ent e[1] = { { .name = "ab", .name_len = 4 } };

		refused(build("nul.qcow2", e, 1, 3), "contains a NUL byte",
		    "a NUL byte in a name");
	}
	{
		struct ent e[1] = { { .disk = 1ULL << 63 } };

		refused(build("disk.qcow2", e, 1, 3), "disk size 9223372036854775808 is "
		    "too large", "a disk size of 2^63");
	}
	{
		/* The entry's name runs 60000 bytes past the end of the file. */
		struct ent e[1] = { { .name = "x", .name_len = 60000 } };

		p = build("nameeof.qcow2", e, 1, 3);
		if (truncate(p, (off_t)(TAB_AT + 2000)) < 0)
			printf("# truncate failed\n");
		refused(p, "runs past the end of the file", "a name past the end of the file");
	}
	{
		/* 65536 snapshots claimed, one present: no huge walk, a clear error. */
		struct ent e[1] = { { .l1_off = 2 * CS } };

		p = build("count.qcow2", e, 1, 3);
		poke32(p, 60, 65536);
		if (truncate(p, (off_t)(TAB_AT + 72)) < 0)
			printf("# truncate failed\n");
		refused(p, "entry 1 (at 0x40048) lies past the end of the file",
		    "nb_snapshots 65536 with one entry");
	}
	{
		/* 520 entries of 128 KiB each: more than QEMU's 64 MiB table limit. */
		struct ent e[520];
		char *ids[520];

		memset(e, 0, sizeof(e));
		for (int i = 0; i < 520; i++) {
			ids[i] = xmalloc(65536);
			memset(ids[i], 'a' + i % 26, 65535);
			ids[i][65535] = '\0';
			e[i].id = ids[i];
			e[i].name = ids[i];
			e[i].l1_off = 5 * CS;
		}
		p = build("big.qcow2", e, 520, 3);
		refused(p, "exceed 64 MiB", "a snapshot table over 64 MiB");
		for (int i = 0; i < 520; i++)
			free(ids[i]);
	}
}

int
main(void)
{
	if (!mkdtemp(dir)) {
		printf("not ok - mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	test_good();
	test_bad();
	rmdir(dir);
	return TAP_DONE();
}
