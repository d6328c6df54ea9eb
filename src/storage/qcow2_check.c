/*
 * qcow2 consistency check and repair (vmimg check), in the manner of
 * qemu-img check: count the references every table makes to each host
 * cluster, compare with the stored refcounts (fewer stored: corruption,
 * more: a leak), then check the COPIED flags against the refcounts.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util.h"
#include "storage/io.h"
#include "storage/ops.h"
#include "storage/qcow2.h"

#define MAX_CHECK_CLUSTERS	(1ULL << 28)	/* 1 GiB of counters */
#define MAX_SNAP_TABLE		(64u << 20)
#define MAX_SNAP_L1_WALK	(64ULL << 20)	/* L1 entries, all snapshots */

struct ck {
	struct qcow2		*q;
	struct img_check_result	*res;
	FILE			*log;
	int			 fix;
	uint32_t		*refs;
	uint64_t		 ncl;
	uint8_t			*l2;	/* one L2 table */
	uint64_t		 fsize;		/* file size when the check began */
	uint64_t		 l2_budget;	/* L2 table reads left */
	uint64_t		 rb_rti;	/* the refcount block last looked at */
	uint8_t			*rb_blk;	/* (valid until the next rc change) */
};

static void
say(struct ck *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
say(struct ck *k, const char *fmt, ...)
{
	va_list ap;

	if (!k->log)
		return;
	va_start(ap, fmt);
	vfprintf(k->log, fmt, ap);
	va_end(ap);
	fputc('\n', k->log);
}

/* Tables are read whole: their size is bounded by the file's first. */
static int
in_file(const struct ck *k, uint64_t off, uint64_t len)
{
	return off <= k->fsize && len <= k->fsize - off;
}

/* One reference from what to each cluster of [off, off+len). */
static void
ref(struct ck *k, uint64_t off, uint64_t len, const char *what)
{
	uint64_t cb = k->q->q_cluster_bits, first = off >> cb, last;

	if (len == 0)
		return;
	last = (off + len - 1) >> cb;
	for (uint64_t c = first; c <= last; c++) {
		if (c >= k->ncl) {
			say(k, "ERROR %s at offset 0x%llx is past the end of the image "
			    "file", what, ULL(off));
			k->res->cr_corruptions++;
			return;
		}
		if (k->refs[c] != UINT32_MAX)
			k->refs[c]++;
	}
}

static int
read_l2(struct ck *k, uint64_t off)
{
	int r;

	/* Many L1 entries naming one table would make a small hostile file
	 * cost a huge amount of reading: tables are read at most about as
	 * often as a sane image (snapshots included) would need. */
	if (k->l2_budget == 0) {
		if (k->res->cr_check_errors++ == 0)
			say(k, "ERROR too many L2 table references; giving up on "
			    "the rest");
		return -E2BIG;
	}
	k->l2_budget--;
	r = io_pread(k->q->q_fd, k->l2, k->q->q_cs, off);

	if (r < 0) {
		say(k, "ERROR reading L2 table at 0x%llx: %s", ULL(off),
		    r == -ENODATA ? "past the end of the file" : strerror(-r));
		k->res->cr_check_errors++;
	}
	return r;
}

/* References from one L1 table (the active one, or a snapshot's). */
static void
walk_l1(struct ck *k, const uint64_t *l1, uint32_t l1_size, int active)
{
	struct qcow2 *q = k->q;
	uint64_t prev = 0, cs = q->q_cs;

	for (uint32_t i = 0; i < l1_size; i++) {
		uint64_t l2o = l1[i] & QCOW2_OFFSET_MASK;

		if (!l2o)
			continue;
		if (l2o & (cs - 1)) {
			say(k, "ERROR l2_offset=%llx: Table is not cluster aligned; "
			    "L1 entry corrupted", ULL(l2o));
			k->res->cr_corruptions++;
			continue;
		}
		ref(k, l2o, cs, "L2 table");
		if ((l2o >> q->q_cluster_bits) >= k->ncl || read_l2(k, l2o) < 0)
			continue;
		for (uint64_t j = 0; j < (1ULL << q->q_l2_bits); j++) {
			uint64_t e = qcow2_be64(k->l2 + (j << (3 + q->q_extl2))), host;

			if (e & QCOW2_OFLAG_COMPRESSED) {
				uint64_t co = e & q->q_coff_mask;
				uint64_t ns = ((e >> q->q_csize_shift) & q->q_csize_mask) + 1;

				if (e & QCOW2_OFLAG_COPIED) {
					say(k, "ERROR: compressed cluster %llu has the "
					    "COPIED flag", ULL(j));
					k->res->cr_corruptions++;
				}
				ref(k, co & ~511ULL, ns * 512, "compressed cluster");
				if (active) {
					k->res->cr_allocated_clusters++;
					k->res->cr_compressed_clusters++;
				}
				continue;
			}
			host = e & QCOW2_OFFSET_MASK;
			if (!host && !(q->q_datafile && (e & QCOW2_OFLAG_COPIED)))
				continue;
			if (host & (cs - 1)) {
				say(k, "ERROR offset=%llx: Cluster is not properly "
				    "aligned; L2 entry corrupted", ULL(host));
				k->res->cr_corruptions++;
				continue;
			}
			/* (clusters of an external data file have no refcounts) */
			if (!q->q_datafile)
				ref(k, host, cs, "data cluster");
			if (active && !(q->q_version >= 3 && (e & QCOW2_OFLAG_ZERO))) {
				k->res->cr_allocated_clusters++;
				if (prev && host != prev + cs)
					k->res->cr_fragmented_clusters++;
				prev = host;
			}
		}
	}
}

/* Snapshot table: its clusters, and each snapshot's L1 and what it maps. */
static int
walk_snapshots(struct ck *k)
{
	struct qcow2 *q = k->q;
	uint64_t pos = q->q_snapshots_off, walked = 0;
	uint8_t h[40];
	int r;

	for (uint32_t s = 0; s < q->q_nb_snapshots; s++) {
		uint64_t l1o, len;
		uint32_t l1n, extra;
		uint64_t *l1;
		uint8_t *raw;

		if ((r = io_pread(q->q_fd, h, sizeof(h), pos)) < 0 ||
		    pos - q->q_snapshots_off > MAX_SNAP_TABLE) {
			say(k, "ERROR snapshot %u: table entry at 0x%llx unreadable",
			    s, ULL(pos));
			k->res->cr_check_errors++;
			return -EIO;
		}
		l1o = qcow2_be64(h);
		l1n = qcow2_be32(h + 8);
		extra = qcow2_be32(h + 36);
		len = 40 + (uint64_t)extra + (h[12] << 8 | h[13]) + (h[14] << 8 | h[15]);
		pos += (len + 7) & ~7ULL;
		if ((uint64_t)l1n * 8 > QCOW2_MAX_L1_BYTES || (l1o & (q->q_cs - 1)) ||
		    extra > MAX_SNAP_TABLE || !in_file(k, l1o, (uint64_t)l1n * 8)) {
			say(k, "ERROR snapshot %u: bad L1 table (offset 0x%llx, %u "
			    "entries)", s, ULL(l1o), l1n);
			k->res->cr_corruptions++;
			continue;
		}
		/* Snapshots may all name one huge L1 table: bound the walk. */
		if ((walked += l1n) > MAX_SNAP_L1_WALK) {
			say(k, "ERROR snapshot L1 tables too large to check");
			k->res->cr_check_errors++;
			return -E2BIG;
		}
		ref(k, l1o, (uint64_t)l1n * 8, "snapshot L1 table");
		l1 = xcalloc(l1n ? l1n : 1, sizeof(*l1));
		raw = (uint8_t *)l1;
		if (l1n && io_pread(q->q_fd, raw, (uint64_t)l1n * 8, l1o) < 0) {
			say(k, "ERROR snapshot %u: L1 table unreadable", s);
			k->res->cr_check_errors++;
			free(l1);
			continue;
		}
		for (uint32_t i = 0; i < l1n; i++)
			l1[i] = qcow2_be64(raw + i * 8);
		walk_l1(k, l1, l1n, 0);
		free(l1);
	}
	ref(k, q->q_snapshots_off, pos - q->q_snapshots_off, "snapshot table");
	return 0;
}

/*
 * Persistent dirty bitmaps (spec: "Bitmaps"): the directory, each bitmap
 * table and its data clusters are referenced too, while autoclear bit 0
 * says the extension is valid. Without this they would look leaked.
 */
static void
walk_bitmaps(struct ck *k)
{
	struct qcow2 *q = k->q;
	const struct qcow2_ext *e = NULL;
	uint64_t dsize, doff, pos;
	uint8_t *dir;

	for (size_t i = 0; i < q->q_nexts; i++)
		if (q->q_exts[i].qe_type == QCOW2_EXT_BITMAPS && q->q_exts[i].qe_len >= 24)
			e = &q->q_exts[i];
	if (!e || !(q->q_autoclear & 1))
		return;
	dsize = qcow2_be64(e->qe_data + 8);
	doff = qcow2_be64(e->qe_data + 16);
	if (dsize > MAX_SNAP_TABLE || (doff & (q->q_cs - 1)) || !in_file(k, doff, dsize)) {
		say(k, "ERROR bitmap directory (offset 0x%llx, %llu bytes) is invalid",
		    ULL(doff), ULL(dsize));
		k->res->cr_corruptions++;
		return;
	}
	ref(k, doff, dsize, "bitmap directory");
	dir = xmalloc(dsize ? dsize : 1);
	if (dsize && io_pread(q->q_fd, dir, dsize, doff) < 0) {
		say(k, "ERROR bitmap directory unreadable");
		k->res->cr_check_errors++;
		free(dir);
		return;
	}
	for (pos = 0; pos + 24 <= dsize;) {
		uint64_t toff = qcow2_be64(dir + pos), n = qcow2_be32(dir + pos + 8);
		uint64_t len = 24 + (uint64_t)qcow2_be32(dir + pos + 20) +
		    (dir[pos + 18] << 8 | dir[pos + 19]);
		uint8_t *t;

		pos += (len + 7) & ~7ULL;
		if ((toff & (q->q_cs - 1)) || n * 8 > QCOW2_MAX_L1_BYTES ||
		    !in_file(k, toff, n * 8)) {
			say(k, "ERROR bitmap table at 0x%llx (%llu entries) is invalid",
			    ULL(toff), ULL(n));
			k->res->cr_corruptions++;
			continue;
		}
		ref(k, toff, n * 8, "bitmap table");
		t = xmalloc(n ? n * 8 : 1);
		if (n && io_pread(q->q_fd, t, n * 8, toff) < 0) {
			say(k, "ERROR bitmap table at 0x%llx unreadable", ULL(toff));
			k->res->cr_check_errors++;
		} else {
			for (uint64_t i = 0; i < n; i++) {
				uint64_t d = qcow2_be64(t + i * 8) & QCOW2_OFFSET_MASK;

				if (d)
					ref(k, d, q->q_cs, "bitmap data cluster");
			}
		}
		free(t);
	}
	free(dir);
}

/* The stored refcount, treating a missing or broken block as zeros. */
static int
stored(struct ck *k, uint64_t c, uint64_t *v)
{
	struct qcow2 *q = k->q;
	uint64_t rti = c >> q->q_rb_bits, rbo;
	uint8_t *blk;
	int r;

	*v = 0;
	if (rti >= q->q_rt_entries)
		return 0;
	rbo = q->q_rt[rti] & QCOW2_RT_OFFSET_MASK;
	/* Blocks made by a repair lie past the end the check started with. */
	if (!rbo || (rbo & (q->q_cs - 1)) || ((rbo >> q->q_cluster_bits) >= k->ncl &&
	    rbo + q->q_cs > q->q_next_free))
		return 0;
	if (k->rb_blk && k->rb_rti == rti) {
		blk = k->rb_blk;
	} else {
		if ((r = qcow2_cache_get(q, &q->q_rbc, rbo, 0, &blk)) < 0)
			return r;
		k->rb_rti = rti;
		k->rb_blk = blk;
	}
	*v = qcow2_rb_read(blk, c & ((1ULL << q->q_rb_bits) - 1), q->q_refcount_order);
	return 0;
}

static void
walk_rt(struct ck *k)
{
	struct qcow2 *q = k->q;

	ref(k, q->q_rt_off, (uint64_t)q->q_rt_clusters << q->q_cluster_bits,
	    "refcount table");
	for (uint64_t i = 0; i < q->q_rt_entries; i++) {
		uint64_t rbo = q->q_rt[i] & QCOW2_RT_OFFSET_MASK;

		if (!rbo)
			continue;
		if ((rbo & (q->q_cs - 1)) || (rbo >> q->q_cluster_bits) >= k->ncl) {
			say(k, "ERROR refcount block %llu at 0x%llx is %s", ULL(i),
			    ULL(rbo), (rbo & (q->q_cs - 1)) ? "not cluster aligned" :
			    "past the end of the file");
			k->res->cr_corruptions++;
			if (k->fix & IMG_FIX_ERRORS) {
				q->q_rt[i] = 0;	/* rebuilt below as needed */
				q->q_rt_dirty = 1;
				k->res->cr_corruptions_fixed++;
			}
			continue;
		}
		ref(k, rbo, q->q_cs, "refcount block");
	}
}

static int
compare(struct ck *k)
{
	struct qcow2 *q = k->q;
	uint64_t end = k->ncl, v, last_used = 0;
	int r;

	/* Like qemu-img, counts past the end of the file are not looked at. */
	for (uint64_t c = 0; c < end; c++) {
		uint64_t want = k->refs[c];

		if ((r = stored(k, c, &v)) < 0) {
			k->res->cr_check_errors++;
			return r;
		}
		if (want)
			last_used = c + 1;
		if (v == want)
			continue;
		if (v < want) {
			say(k, "ERROR cluster %llu refcount=%llu reference=%llu",
			    ULL(c), ULL(v), ULL(want));
			k->res->cr_corruptions++;
			if (!(k->fix & IMG_FIX_ERRORS))
				continue;
			say(k, "Repairing cluster %llu refcount=%llu reference=%llu",
			    ULL(c), ULL(v), ULL(want));
			k->res->cr_corruptions_fixed++;
		} else {
			say(k, "Leaked cluster %llu refcount=%llu reference=%llu",
			    ULL(c), ULL(v), ULL(want));
			k->res->cr_leaks++;
			if (!(k->fix & IMG_FIX_LEAKS))
				continue;
			k->res->cr_leaks_fixed++;
		}
		k->rb_blk = NULL;	/* the cache may move blocks */
		if ((r = qcow2_rc_set(q, c << q->q_cluster_bits, want)) < 0) {
			k->res->cr_check_errors++;
			return r;
		}
	}
	k->res->cr_image_end_offset = last_used << q->q_cluster_bits;
	return 0;
}

/* COPIED must be set exactly when the refcount is 1 (active tables only). */
static int
check_copied(struct ck *k)
{
	struct qcow2 *q = k->q;
	uint8_t be[8];
	uint64_t v;
	int r;

	for (uint32_t i = 0; i < q->q_l1_size; i++) {
		uint64_t l2o = q->q_l1[i] & QCOW2_OFFSET_MASK, dirty = 0;

		if (!l2o || (l2o & (q->q_cs - 1)) || (l2o >> q->q_cluster_bits) >= k->ncl)
			continue;
		if ((r = stored(k, l2o >> q->q_cluster_bits, &v)) < 0)
			return r;
		if (!!(q->q_l1[i] & QCOW2_OFLAG_COPIED) != (v == 1)) {
			say(k, "ERROR OFLAG_COPIED L2 cluster: l1_index=%u l1_entry=%llx "
			    "refcount=%llu", i, ULL(q->q_l1[i]), ULL(v));
			k->res->cr_corruptions++;
			if (k->fix & IMG_FIX_ERRORS) {
				q->q_l1[i] ^= QCOW2_OFLAG_COPIED;
				qcow2_put64(be, q->q_l1[i]);
				if ((r = io_pwrite(q->q_fd, be, 8, q->q_l1_off + i * 8)) < 0)
					return r;
				k->res->cr_corruptions_fixed++;
			}
		}
		if (read_l2(k, l2o) < 0)
			continue;
		for (uint64_t j = 0; j < (1ULL << q->q_l2_bits); j++) {
			uint64_t e = qcow2_be64(k->l2 + (j << (3 + q->q_extl2)));
			uint64_t host = e & QCOW2_OFFSET_MASK;

			if ((e & QCOW2_OFLAG_COMPRESSED) || !host || q->q_datafile ||
			    (host & (q->q_cs - 1)) || (host >> q->q_cluster_bits) >= k->ncl)
				continue;
			if ((r = stored(k, host >> q->q_cluster_bits, &v)) < 0)
				return r;
			if (!!(e & QCOW2_OFLAG_COPIED) == (v == 1))
				continue;
			say(k, "ERROR OFLAG_COPIED data cluster: l2_entry=%llx "
			    "refcount=%llu", ULL(e), ULL(v));
			k->res->cr_corruptions++;
			if (k->fix & IMG_FIX_ERRORS) {
				qcow2_put64(k->l2 + (j << (3 + q->q_extl2)),
				    e ^ QCOW2_OFLAG_COPIED);
				dirty = 1;
				k->res->cr_corruptions_fixed++;
			}
		}
		if (dirty) {
			qcow2_cache_drop(&q->q_l2c, l2o);
			if ((r = io_pwrite(q->q_fd, k->l2, q->q_cs, l2o)) < 0)
				return r;
		}
	}
	return 0;
}

static int
check_once(struct qcow2 *q, int fix, struct img_check_result *res, FILE *log,
    char *err, size_t errlen)
{
	struct ck k = { .q = q, .res = res, .log = log, .fix = fix };
	off_t end;
	int r;

	memset(res, 0, sizeof(*res));
	if ((end = lseek(q->q_fd, 0, SEEK_END)) < 0) {
		xsnprintf(err, errlen, "%s: lseek: %s", q->q_img->im_path,
		    strerror(errno));
		return -errno;
	}
	k.fsize = (uint64_t)end;
	k.ncl = ((uint64_t)end + q->q_cs - 1) >> q->q_cluster_bits;
	if (q->q_next_free >> q->q_cluster_bits > k.ncl)
		k.ncl = q->q_next_free >> q->q_cluster_bits;
	if (k.ncl > MAX_CHECK_CLUSTERS) {
		xsnprintf(err, errlen, "%s: %llu clusters: too many to check",
		    q->q_img->im_path, ULL(k.ncl));
		return -EFBIG;
	}
	k.refs = xcalloc(k.ncl ? k.ncl : 1, sizeof(*k.refs));
	k.l2_budget = 2 * (k.ncl + 1024) * ((q->q_nb_snapshots < 64 ?
	    q->q_nb_snapshots : 64) + 1);
	k.l2 = xmalloc(q->q_cs);
	res->cr_total_clusters = (q->q_size + q->q_cs - 1) >> q->q_cluster_bits;
	ref(&k, 0, q->q_cs, "header");
	ref(&k, q->q_l1_off, (uint64_t)q->q_l1_size * 8, "L1 table");
	walk_l1(&k, q->q_l1, q->q_l1_size, 1);
	if (q->q_nb_snapshots)
		(void)walk_snapshots(&k);
	walk_bitmaps(&k);
	walk_rt(&k);
	r = compare(&k);
	if (r == 0)
		r = check_copied(&k);
	if (r < 0)
		xsnprintf(err, errlen, "%s", img_errmsg(q->q_img));
	free(k.refs);
	free(k.l2);
	return r;
}

int
img_check(struct img *im, int fix, struct img_check_result *res, FILE *log,
    char *err, size_t errlen)
{
	struct img_check_result first;
	struct qcow2 *q;
	int r;

	if (im->im_fmt != IMG_FMT_QCOW2) {
		xsnprintf(err, errlen, "%s: format %s does not support checks",
		    im->im_path, img_fmt_name(im->im_fmt));
		return -ENOTSUP;
	}
	q = qcow2_of(im);
	if (fix && !q->q_rw) {
		xsnprintf(err, errlen, "%s: repair needs the image open read-write",
		    im->im_path);
		return -EROFS;
	}
	if ((r = qcow2_flush_all(q)) < 0) {
		xsnprintf(err, errlen, "%s", img_errmsg(im));
		return r;
	}
	if ((r = check_once(q, fix, res, log, err, errlen)) < 0 || !fix)
		return r;
	if (!res->cr_leaks_fixed && !res->cr_corruptions_fixed &&
	    !(q->q_incompat & (QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT)))
		return 0;
	first = *res;
	if ((r = qcow2_flush_all(q)) < 0) {
		xsnprintf(err, errlen, "%s", img_errmsg(im));
		return r;
	}
	if ((r = check_once(q, 0, res, NULL, err, errlen)) < 0)
		return r;
	res->cr_leaks_fixed = first.cr_leaks_fixed;
	res->cr_corruptions_fixed = first.cr_corruptions_fixed;
	if (!res->cr_corruptions && (q->q_incompat &
	    (QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT))) {
		q->q_incompat &= ~(QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT);
		if ((r = qcow2_write_header(q)) < 0 || (r = qcow2_flush_all(q)) < 0) {
			xsnprintf(err, errlen, "%s", img_errmsg(im));
			return r;
		}
	}
	return 0;
}
