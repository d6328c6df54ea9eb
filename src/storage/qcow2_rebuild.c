/*
 * qcow2: commit a new active L1 table and snapshot table out of place.
 *
 * Why not in place: taking or dropping a snapshot changes refcounts (in
 * refcount blocks) and the COPIED flags of the active L1 and L2 entries (in
 * other clusters), and qemu-img check calls any disagreement between the two
 * a corruption. No order of in-place writes avoids one after a crash. So
 * everything that changes is written anew past the end of what the old
 * header reaches: the L2 tables whose flags change (copies), the active L1
 * table, the snapshot table, and a refcount table with blocks holding the
 * counts of the new state, computed from its references. Then one write of
 * the header's bytes 24..71 switches size, L1, refcount table and snapshot
 * table together. Killed before that write, the image is the old one (the
 * new clusters lie past its refcount table's view: not even leaks); after
 * it, the new one. Old clusters nothing references any more are then
 * punched out of the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util.h"
#include "storage/io.h"
#include "storage/qcow2_snapshot.h"

#define ERR(q, ...)	img_seterr((q)->q_img, __VA_ARGS__)

struct rb {
	struct qcow2	*q;
	uint32_t	*refs;		/* references per cluster, saturating */
	uint64_t	 cap;
	uint64_t	 limit;		/* clusters a reference may name: the file */
	uint64_t	 cur;		/* next cluster for a new table */
	uint64_t	*l2v;		/* every L1 entry's L2 table, then sorted */
	size_t		 l2n, l2cap;
	uint8_t		*buf;		/* one cluster */
	uint64_t	*copy_to;	/* per active L1 entry: new L2 place, or 0 */
};

static void
ref_add(struct rb *b, uint64_t c, uint64_t m)
{
	uint64_t v;

	if (c >= b->cap) {
		uint64_t n = b->cap * 2 > c + 1024 ? b->cap * 2 : c + 1024;

		b->refs = xrealloc(b->refs, n * sizeof(*b->refs));
		memset(b->refs + b->cap, 0, (n - b->cap) * sizeof(*b->refs));
		b->cap = n;
	}
	v = b->refs[c] + m;
	b->refs[c] = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static uint32_t
refs_of(const struct rb *b, uint64_t c)
{
	return c < b->cap ? b->refs[c] : 0;
}

/* n new clusters for a table, each referenced once. */
static uint64_t
alloc(struct rb *b, uint64_t n)
{
	uint64_t c = b->cur;

	for (uint64_t i = 0; i < n; i++)
		ref_add(b, c + i, 1);
	b->cur += n;
	return c << b->q->q_cluster_bits;
}

static uint64_t
clusters(const struct qcow2 *q, uint64_t bytes)
{
	return (bytes + q->q_cs - 1) >> q->q_cluster_bits;
}

/* A table's clusters, once more. */
static void
ref_table(struct rb *b, uint64_t off, uint64_t bytes)
{
	for (uint64_t i = 0; i < clusters(b->q, bytes); i++)
		ref_add(b, (off >> b->q->q_cluster_bits) + i, 1);
}

/* Check a host offset a table names; what says which table for the message. */
static int
host_ok(struct rb *b, uint64_t off, const char *what, uint64_t idx, const char *kind)
{
	struct qcow2 *q = b->q;
	const char *why = NULL;

	if (off & (q->q_cs - 1))
		why = "not cluster aligned";
	else if (off >> q->q_cluster_bits == 0)
		why = "the header";
	else if (off >> q->q_cluster_bits >= b->limit)
		why = "past the end of the file";
	if (!why)
		return 0;
	ERR(q, "%s, entry %llu: %s offset 0x%llx is %s; run vmimg check", what,
	    ULL(idx), kind, ULL(off), why);
	return -EIO;
}

/* The L2 tables an L1 table names go on the list. */
static int
walk_l1(struct rb *b, const uint64_t *l1, uint32_t n, const char *what)
{
	int r;

	for (uint32_t i = 0; i < n; i++) {
		uint64_t l2o = l1[i] & QCOW2_OFFSET_MASK;

		if (!l2o)
			continue;
		if ((r = host_ok(b, l2o, what, i, "L2 table")) < 0)
			return r;
		xgrow(&b->l2v, &b->l2cap, b->l2n + 1, sizeof(*b->l2v));
		b->l2v[b->l2n++] = l2o;
	}
	return 0;
}

static int
read_l1(struct qcow2 *q, uint64_t off, uint32_t n, uint64_t **out)
{
	uint64_t *t = xcalloc(n ? n : 1, sizeof(*t));
	int r;

	if (n && (r = io_pread(q->q_fd, t, (size_t)n * 8, off)) < 0) {
		ERR(q, "reading the L1 table at 0x%llx: %s", ULL(off), strerror(-r));
		free(t);
		return r;
	}
	for (uint32_t i = 0; i < n; i++)
		t[i] = qcow2_be64((uint8_t *)&t[i]);
	*out = t;
	return 0;
}

static int
read_l2(struct rb *b, uint64_t off)
{
	int r = io_pread(b->q->q_fd, b->buf, b->q->q_cs, off);

	if (r < 0)
		ERR(b->q, "reading the L2 table at 0x%llx: %s", ULL(off), strerror(-r));
	return r;
}

/* Data references of one L2 table, m times (it is named m times). */
static int
walk_l2(struct rb *b, uint64_t l2o, uint64_t m)
{
	struct qcow2 *q = b->q;
	char what[64];
	int r;

	if ((r = read_l2(b, l2o)) < 0)
		return r;
	snprintf(what, sizeof(what), "L2 table 0x%llx", ULL(l2o));
	for (uint64_t j = 0; j < (1ULL << q->q_l2_bits); j++) {
		uint64_t e = qcow2_be64(b->buf + j * 8), host, first, last;

		if (e & QCOW2_OFLAG_COMPRESSED) {
			host = (e & q->q_coff_mask) & ~511ULL;
			first = host >> q->q_cluster_bits;
			last = (host + (((e >> q->q_csize_shift) & q->q_csize_mask) + 1) *
			    512 - 1) >> q->q_cluster_bits;
			/* QEMU may count the last sector past the end of the file. */
			if (first == 0 || last > b->limit) {
				ERR(q, "%s, entry %llu: compressed data at 0x%llx lies "
				    "outside the file; run vmimg check", what, ULL(j),
				    ULL(host));
				return -EIO;
			}
			for (uint64_t c = first; c <= last; c++)
				ref_add(b, c, m);
			continue;
		}
		host = e & QCOW2_OFFSET_MASK;
		if (!host)
			continue;
		if ((r = host_ok(b, host, what, j, "data")) < 0)
			return r;
		ref_add(b, host >> q->q_cluster_bits, m);
	}
	return 0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Every reference the new state makes, but those of its new tables. */
static int
count(struct rb *b, const struct qcow2_plan *pl)
{
	struct qcow2 *q = b->q;
	char what[320];
	int r;

	ref_add(b, 0, 1);	/* the header */
	for (uint32_t i = 0; i < pl->pl_nsnaps; i++) {
		const struct qcow2_snap *s = &pl->pl_snaps[i];
		uint64_t *l1;

		ref_table(b, s->sn_l1_off, (uint64_t)s->sn_l1_size * 8);
		if ((r = read_l1(q, s->sn_l1_off, s->sn_l1_size, &l1)) < 0)
			return r;
		snprintf(what, sizeof(what), "the L1 table of snapshot '%s' (ID %s)",
		    s->sn_name, s->sn_id);
		r = walk_l1(b, l1, s->sn_l1_size, what);
		free(l1);
		if (r < 0)
			return r;
	}
	if ((r = walk_l1(b, pl->pl_l1, pl->pl_l1_size, "the active L1 table")) < 0)
		return r;
	/* Each L2 table is read once however many L1 entries name it. */
	if (b->l2n)
		qsort(b->l2v, b->l2n, sizeof(*b->l2v), cmp_u64);
	for (size_t i = 0, j; i < b->l2n; i = j) {
		for (j = i + 1; j < b->l2n && b->l2v[j] == b->l2v[i]; j++)
			;
		ref_add(b, b->l2v[i] >> q->q_cluster_bits, j - i);
		if ((r = walk_l2(b, b->l2v[i], j - i)) < 0)
			return r;
	}
	return 0;
}

/*
 * COPIED as the spec wants it in active tables: set exactly when the
 * refcount is 1, never on compressed entries. Returns whether buf changed.
 */
static int
fix_flags(struct rb *b, uint8_t *buf)
{
	struct qcow2 *q = b->q;
	int changed = 0;

	for (uint64_t j = 0; j < (1ULL << q->q_l2_bits); j++) {
		uint64_t e = qcow2_be64(buf + j * 8), want;

		if (e & QCOW2_OFLAG_COMPRESSED)
			want = e & ~QCOW2_OFLAG_COPIED;
		else if (e & QCOW2_OFFSET_MASK)
			want = refs_of(b, (e & QCOW2_OFFSET_MASK) >> q->q_cluster_bits) == 1 ?
			    e | QCOW2_OFLAG_COPIED : e & ~QCOW2_OFLAG_COPIED;
		else
			continue;
		if (want != e) {
			qcow2_put64(buf + j * 8, want);
			changed = 1;
		}
	}
	return changed;
}

/*
 * An active L2 table whose flags must change is not touched (the old state
 * still uses it): it gets a copy, and the new L1 entry points there.
 */
static int
plan_copies(struct rb *b, uint64_t *l1, uint32_t n)
{
	struct qcow2 *q = b->q;
	int r;

	b->copy_to = xcalloc(n ? n : 1, sizeof(*b->copy_to));
	for (uint32_t i = 0; i < n; i++) {
		uint64_t l2o = l1[i] & QCOW2_OFFSET_MASK;

		if (!l2o)
			continue;
		if ((r = read_l2(b, l2o)) < 0)
			return r;
		if (!fix_flags(b, b->buf))
			continue;
		b->refs[l2o >> q->q_cluster_bits]--;
		b->copy_to[i] = alloc(b, 1);
	}
	for (uint32_t i = 0; i < n; i++) {
		uint64_t l2o = b->copy_to[i] ? b->copy_to[i] : l1[i] & QCOW2_OFFSET_MASK;

		l1[i] = !l2o ? 0 : refs_of(b, l2o >> q->q_cluster_bits) == 1 ?
		    l2o | QCOW2_OFLAG_COPIED : l2o;
	}
	return 0;
}

/* Blocks and table for every cluster below b->cur and themselves. */
static void
size_refcounts(struct rb *b, uint64_t *nblk, uint64_t *nrt)
{
	struct qcow2 *q = b->q;
	uint64_t per = 1ULL << q->q_rb_bits, k = 0, t = 0, k2, t2;

	for (;;) {
		k2 = (b->cur + t + k + per - 1) / per;
		t2 = clusters(q, k2 * 8);
		if (k2 == k && t2 == t)
			break;
		k = k2;
		t = t2;
	}
	*nblk = k;
	*nrt = t;
}

static int
wr(struct qcow2 *q, const void *p, size_t len, uint64_t off, const char *what)
{
	int r = io_pwrite(q->q_fd, p, len, off);

	if (r < 0)
		ERR(q, "writing the new %s at 0x%llx: %s", what, ULL(off), strerror(-r));
	return r;
}

static int
write_l1(struct qcow2 *q, const uint64_t *l1, uint32_t n, uint64_t off)
{
	size_t len = (size_t)clusters(q, (uint64_t)n * 8) << q->q_cluster_bits;
	uint8_t *raw = xcalloc(len ? len : 1, 1);
	int r;

	for (uint32_t i = 0; i < n; i++)
		qcow2_put64(raw + (size_t)i * 8, l1[i]);
	r = wr(q, raw, len, off, "L1 table");
	free(raw);
	return r;
}

static int
write_refcounts(struct rb *b, uint64_t rt_off, uint64_t nrt, uint64_t nblk,
    uint64_t **rt_out)
{
	struct qcow2 *q = b->q;
	uint64_t per = 1ULL << q->q_rb_bits, rt_n = (nrt << q->q_cluster_bits) / 8;
	uint64_t *rt = xcalloc(rt_n, sizeof(*rt));
	uint8_t *raw;
	int r = 0;

	for (uint64_t k = 0; k < nblk && r == 0; k++) {
		uint64_t off = rt_off + ((nrt + k) << q->q_cluster_bits);

		memset(b->buf, 0, q->q_cs);
		for (uint64_t i = 0; i < per; i++)
			qcow2_rb_write(b->buf, i, q->q_refcount_order,
			    refs_of(b, k * per + i));
		rt[k] = off;
		r = wr(q, b->buf, q->q_cs, off, "refcount block");
	}
	raw = xcalloc(rt_n, 8);
	for (uint64_t i = 0; i < rt_n; i++)
		qcow2_put64(raw + i * 8, rt[i]);
	if (r == 0)
		r = wr(q, raw, rt_n * 8, rt_off, "refcount table");
	free(raw);
	if (r < 0) {
		free(rt);
		return r;
	}
	*rt_out = rt;
	return 0;
}

/* Everything past the old end, in order; the header switch is the caller's. */
static int
write_new(struct rb *b, const struct qcow2_plan *pl, const uint64_t *old_l1,
    uint64_t l1_off, const uint8_t *tab, uint64_t tab_len, uint64_t tab_off,
    uint64_t rt_off, uint64_t nrt, uint64_t nblk, uint64_t **rt)
{
	struct qcow2 *q = b->q;
	int r;

	for (uint32_t i = 0; i < pl->pl_l1_size; i++) {
		if (!b->copy_to[i])
			continue;
		if ((r = read_l2(b, old_l1[i] & QCOW2_OFFSET_MASK)) < 0)
			return r;
		fix_flags(b, b->buf);
		if ((r = wr(q, b->buf, q->q_cs, b->copy_to[i], "L2 table")) < 0)
			return r;
	}
	if (l1_off != pl->pl_l1_off &&
	    (r = write_l1(q, pl->pl_l1, pl->pl_l1_size, l1_off)) < 0)
		return r;
	if (tab_len && (r = wr(q, tab, tab_len, tab_off, "snapshot table")) < 0)
		return r;
	return write_refcounts(b, rt_off, nrt, nblk, rt);
}

/* Sizes, L1, refcount table and snapshot table: bytes 24..71, one write. */
static int
switch_header(struct qcow2 *q, const struct qcow2_plan *pl, uint64_t l1_off,
    uint64_t rt_off, uint64_t nrt, uint64_t tab_off)
{
	uint8_t h[48];
	int r;

	if (fdatasync(q->q_fd) < 0) {
		ERR(q, "fdatasync: %s", strerror(errno));
		return -errno;
	}
	qcow2_put64(h, pl->pl_size);
	qcow2_put32(h + 8, 0);
	qcow2_put32(h + 12, pl->pl_l1_size);
	qcow2_put64(h + 16, l1_off);
	qcow2_put64(h + 24, rt_off);
	qcow2_put32(h + 32, (uint32_t)nrt);
	qcow2_put32(h + 36, pl->pl_nsnaps);
	qcow2_put64(h + 40, tab_off);
	if ((r = io_pwrite(q->q_fd, h, sizeof(h), 24)) < 0) {
		ERR(q, "writing the header: %s", strerror(-r));
		return r;
	}
	if (fdatasync(q->q_fd) < 0) {
		ERR(q, "fdatasync: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* Give the file system back what nothing references any more. */
static void
punch_freed(struct rb *b, uint64_t old_end)
{
	struct qcow2 *q = b->q;

	for (uint64_t c = 1, run; c < old_end; c += run ? run : 1) {
		for (run = 0; c + run < old_end && refs_of(b, c + run) == 0; run++)
			;
		/* Not supported or failed: the clusters are free all the same. */
		if (run)
			(void)fallocate(q->q_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			    (off_t)(c << q->q_cluster_bits), (off_t)(run << q->q_cluster_bits));
	}
}

/* q as the new header describes it. */
static void
adopt(struct rb *b, struct qcow2_plan *pl, uint64_t l1_off, uint64_t rt_off,
    uint64_t nrt, uint64_t *rt, uint64_t tab_off, uint64_t tab_len)
{
	struct qcow2 *q = b->q;
	struct qcow2_cache *caches[] = { &q->q_l2c, &q->q_rbc };

	free(q->q_l1);
	q->q_l1 = xcalloc(pl->pl_l1_size ? pl->pl_l1_size : 1, sizeof(*q->q_l1));
	memcpy(q->q_l1, pl->pl_l1, (size_t)pl->pl_l1_size * 8);
	q->q_l1_size = pl->pl_l1_size;
	q->q_l1_off = l1_off;
	free(q->q_rt);
	q->q_rt = rt;
	q->q_rt_off = rt_off;
	q->q_rt_clusters = (uint32_t)nrt;
	q->q_rt_entries = (nrt << q->q_cluster_bits) / 8;
	q->q_rt_dirty = 0;
	qcow2_sn_free(q->q_snaps, q->q_nb_snapshots);
	q->q_snaps = pl->pl_snaps;
	q->q_nb_snapshots = pl->pl_nsnaps;
	q->q_snapshots_off = tab_off;
	q->q_snaps_len = tab_len;
	pl->pl_snaps = NULL;
	q->q_size = pl->pl_size;
	q->q_img->im_size = pl->pl_size;
	/* The caches were flushed before; their tables may now be free. */
	for (size_t c = 0; c < 2; c++)
		for (size_t i = 0; i < caches[c]->c_n; i++)
			caches[c]->c_ent[i].ce_off = 0;
	q->q_next_free = b->cur << q->q_cluster_bits;
	q->q_file_size = q->q_next_free;
	q->q_cfree = 0;
	q->q_dbuf_entry = 0;
}

int
qcow2_rebuild(struct qcow2 *q, struct qcow2_plan *pl)
{
	struct rb b = { .q = q };
	uint64_t old_end, l1_off, tab_off = 0, tab_len = 0, rt_off, nrt, nblk, bad;
	uint64_t *old_l1 = NULL, *rt = NULL;
	uint8_t *tab = NULL;
	int r;

	if (!q->q_rw) {
		ERR(q, "image is open read-only");
		return -EROFS;
	}
	/*
	 * The rebuild walks 8-byte L2 entries and counts every cluster in the
	 * image file: extended L2 entries (16 bytes) and clusters in an
	 * external data file are not its to count. Refused, not misread.
	 */
	if (q->q_extl2 || q->q_datafile) {
		ERR(q, "internal snapshots of images with %s are not supported",
		    q->q_extl2 ? "extended L2 entries" : "an external data file");
		return -ENOTSUP;
	}
	if (pl->pl_l1_size < qcow2_l1_needed(q, pl->pl_size)) {
		ERR(q, "L1 table of %u entries too small for %llu bytes",
		    pl->pl_l1_size, ULL(pl->pl_size));
		return -EINVAL;
	}
	if ((r = qcow2_flush_all(q)) < 0)
		return r;
	b.limit = clusters(q, q->q_file_size);
	old_end = q->q_next_free >> q->q_cluster_bits;
	if (old_end < b.limit + 1)
		old_end = b.limit + 1;	/* compressed data may end past the file */
	b.buf = xmalloc(q->q_cs);
	if ((r = count(&b, pl)) < 0)
		goto out;
	b.cur = old_end;
	old_l1 = xcalloc(pl->pl_l1_size ? pl->pl_l1_size : 1, sizeof(*old_l1));
	memcpy(old_l1, pl->pl_l1, (size_t)pl->pl_l1_size * 8);
	if ((r = plan_copies(&b, pl->pl_l1, pl->pl_l1_size)) < 0)
		goto out;
	/* The active L1 table stays where it is only if no entry changed. */
	l1_off = pl->pl_l1_off;
	if (!l1_off || memcmp(old_l1, pl->pl_l1, (size_t)pl->pl_l1_size * 8))
		l1_off = pl->pl_l1_size ? alloc(&b, clusters(q, (uint64_t)pl->pl_l1_size * 8)) : 0;
	else
		ref_table(&b, l1_off, (uint64_t)pl->pl_l1_size * 8);
	if (pl->pl_nsnaps) {
		tab = qcow2_sn_encode(pl->pl_snaps, pl->pl_nsnaps, &tab_len);
		tab_off = alloc(&b, clusters(q, tab_len));
	}
	size_refcounts(&b, &nblk, &nrt);
	if (nrt << q->q_cluster_bits > QCOW2_MAX_RT_BYTES) {
		ERR(q, "the refcount table would exceed %u MiB", QCOW2_MAX_RT_BYTES >> 20);
		r = -EFBIG;
		goto out;
	}
	rt_off = alloc(&b, nrt + nblk);
	for (bad = 0; bad < b.cur && refs_of(&b, bad) <= qcow2_rc_max(q); bad++)
		;
	if (bad < b.cur) {
		ERR(q, "cluster %llu would have %u references, more than "
		    "refcount_bits=%d can count", ULL(bad), refs_of(&b, bad),
		    1 << q->q_refcount_order);
		r = -ERANGE;
		goto out;
	}
	r = write_new(&b, pl, old_l1, l1_off, tab, tab_len, tab_off, rt_off, nrt,
	    nblk, &rt);
	if (r == 0)
		r = switch_header(q, pl, l1_off, rt_off, nrt, tab_off);
	if (r < 0) {
		/*
		 * Nothing the old header reaches was touched: drop the rest.
		 * A failed truncate only wastes space (a bare (void) cast does
		 * not silence _FORTIFY_SOURCE's warn_unused_result).
		 */
		int t = ftruncate(q->q_fd, (off_t)q->q_file_size);

		(void)t;
		free(rt);
		goto out;
	}
	adopt(&b, pl, l1_off, rt_off, nrt, rt, tab_off, tab_len);
	punch_freed(&b, old_end);
out:
	free(b.refs);
	free(b.l2v);
	free(b.buf);
	free(b.copy_to);
	free(old_l1);
	free(tab);
	return r;
}
