/*
 * qcow2 refcounts and cluster allocation.
 *
 * Allocation appends at the end of the file (q_next_free). Refcount blocks
 * are created on demand at the allocation cursor, where they usually count
 * themselves; the refcount table is grown by copying it to a larger place
 * and pointing the header at it before the old copy is freed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "storage/io.h"
#include "storage/qcow2.h"

#define ERR(q, ...)	img_seterr((q)->q_img, __VA_ARGS__)

uint64_t
qcow2_rb_read(const uint8_t *b, uint64_t i, uint32_t order)
{
	uint32_t w = 1U << order;

	switch (order) {
	case 3: return b[i];
	case 4: return (uint64_t)b[2 * i] << 8 | b[2 * i + 1];
	case 5: return qcow2_be32(b + 4 * i);
	case 6: return qcow2_be64(b + 8 * i);
	default:	/* sub-byte widths: bit 0 is the least significant */
		return (b[i * w / 8] >> (i * w % 8)) & ((1U << w) - 1);
	}
}

void
qcow2_rb_write(uint8_t *b, uint64_t i, uint32_t order, uint64_t v)
{
	uint32_t w = 1U << order;

	switch (order) {
	case 3: b[i] = (uint8_t)v; break;
	case 4: b[2 * i] = (uint8_t)(v >> 8); b[2 * i + 1] = (uint8_t)v; break;
	case 5: qcow2_put32(b + 4 * i, (uint32_t)v); break;
	case 6: qcow2_put64(b + 8 * i, v); break;
	default: {
		uint8_t *p = &b[i * w / 8];
		uint32_t sh = i * w % 8, m = ((1U << w) - 1) << sh;

		*p = (uint8_t)((*p & ~m) | ((v << sh) & m));
	}
	}
}

uint64_t
qcow2_rc_max(const struct qcow2 *q)
{
	return q->q_refcount_order == 6 ? UINT64_MAX :
	    (1ULL << (1U << q->q_refcount_order)) - 1;
}

int
qcow2_flush_rt(struct qcow2 *q)
{
	uint8_t *raw;
	int r;

	if (!q->q_rt_dirty)
		return 0;
	raw = xmalloc(q->q_rt_entries * 8);
	for (uint64_t i = 0; i < q->q_rt_entries; i++)
		qcow2_put64(raw + i * 8, q->q_rt[i]);
	r = io_pwrite(q->q_fd, raw, q->q_rt_entries * 8, q->q_rt_off);
	free(raw);
	if (r < 0) {
		ERR(q, "writing the refcount table: %s", strerror(-r));
		return r;
	}
	q->q_rt_dirty = 0;
	return 0;
}

static int grow_rt(struct qcow2 *q, uint64_t need);
static int install_rb(struct qcow2 *q, uint64_t rti);

/* The refcount block holding off's count; NULL (count 0) if none and !create. */
static int
rb_lookup(struct qcow2 *q, uint64_t off, int create, uint8_t **blk, uint64_t *idx)
{
	uint64_t ci = off >> q->q_cluster_bits, rti = ci >> q->q_rb_bits, rbo;
	int r;

	*idx = ci & ((1ULL << q->q_rb_bits) - 1);
	*blk = NULL;
	if (rti >= q->q_rt_entries) {
		if (!create)
			return 0;
		if ((r = grow_rt(q, rti)) < 0)
			return r;
	}
	rbo = q->q_rt[rti] & QCOW2_RT_OFFSET_MASK;
	if (!rbo) {
		if (!create)
			return 0;
		if ((r = install_rb(q, rti)) < 0)
			return r;
		rbo = q->q_rt[rti] & QCOW2_RT_OFFSET_MASK;
	}
	if ((rbo & (q->q_cs - 1)) || rbo + q->q_cs > q->q_next_free) {
		ERR(q, "refcount table entry %llu: block offset 0x%llx is %s",
		    (unsigned long long)rti, (unsigned long long)rbo,
		    (rbo & (q->q_cs - 1)) ? "not cluster aligned" :
		    "past the end of the file");
		return -EIO;
	}
	return qcow2_cache_get(q, &q->q_rbc, rbo, 0, blk);
}

int
qcow2_rc_get(struct qcow2 *q, uint64_t off, uint64_t *rc)
{
	uint8_t *blk;
	uint64_t idx;
	int r;

	if ((r = rb_lookup(q, off, 0, &blk, &idx)) < 0)
		return r;
	*rc = blk ? qcow2_rb_read(blk, idx, q->q_refcount_order) : 0;
	return 0;
}

int
qcow2_rc_set(struct qcow2 *q, uint64_t off, uint64_t rc)
{
	uint8_t *blk;
	uint64_t idx;
	int r;

	if (rc > qcow2_rc_max(q)) {
		ERR(q, "refcount %llu of cluster 0x%llx exceeds %d bits",
		    (unsigned long long)rc, (unsigned long long)off,
		    1 << q->q_refcount_order);
		return -ERANGE;
	}
	if ((r = rb_lookup(q, off, rc != 0, &blk, &idx)) < 0)
		return r;
	if (!blk)
		return 0;
	qcow2_rb_write(blk, idx, q->q_refcount_order, rc);
	qcow2_cache_dirty(&q->q_rbc, blk);
	if (rc == 0 && q->q_cfree && (q->q_cfree >> q->q_cluster_bits) ==
	    (off >> q->q_cluster_bits))
		q->q_cfree = 0;
	return 0;
}

int
qcow2_rc_update(struct qcow2 *q, uint64_t off, int64_t delta)
{
	uint64_t rc;
	int r;

	if ((r = qcow2_rc_get(q, off, &rc)) < 0)
		return r;
	if ((delta < 0 && rc < (uint64_t)-delta) ||
	    (delta > 0 && qcow2_rc_max(q) - rc < (uint64_t)delta)) {
		ERR(q, "refcount of cluster 0x%llx would %s (is %llu)",
		    (unsigned long long)off, delta < 0 ? "drop below 0" :
		    "overflow", (unsigned long long)rc);
		return -EIO;
	}
	return qcow2_rc_set(q, off, rc + (uint64_t)delta);
}

/* A zeroed refcount block for table index rti, at the allocation cursor. */
static int
install_rb(struct qcow2 *q, uint64_t rti)
{
	uint64_t blk = q->q_next_free;
	uint8_t *buf;
	int r;

	if (++q->q_rc_depth > 8) {
		ERR(q, "refcount block allocation does not converge");
		q->q_rc_depth--;
		return -EIO;
	}
	q->q_next_free += q->q_cs;
	q->q_rt[rti] = blk;
	q->q_rt_dirty = 1;
	if ((r = qcow2_cache_get(q, &q->q_rbc, blk, 1, &buf)) == 0)
		r = qcow2_rc_update(q, blk, 1);
	q->q_rc_depth--;
	return r;
}

/* Refcount blocks for [off, off + n clusters) all exist. */
static int
rbs_ready(struct qcow2 *q, uint64_t off, uint64_t n, uint64_t *missing)
{
	uint64_t first = (off >> q->q_cluster_bits) >> q->q_rb_bits;
	uint64_t last = ((off >> q->q_cluster_bits) + n - 1) >> q->q_rb_bits;

	for (uint64_t rti = first; rti <= last; rti++) {
		if (rti >= q->q_rt_entries || !(q->q_rt[rti] & QCOW2_RT_OFFSET_MASK)) {
			*missing = rti;
			return 0;
		}
	}
	return 1;
}

int
qcow2_alloc_clusters(struct qcow2 *q, uint64_t n, uint64_t *off)
{
	uint64_t start, rti;
	int r;

	if (n == 0 || n > (1ULL << 40)) {
		ERR(q, "bad cluster allocation count %llu", (unsigned long long)n);
		return -EINVAL;
	}
	for (uint64_t tries = 0;; tries++) {
		uint64_t busy = 0, rc = 0;

		if (tries > (1u << 20)) {
			ERR(q, "cluster allocation does not converge (refcounts past "
			    "the end of the file?)");
			return -EIO;
		}
		if (!rbs_ready(q, q->q_next_free, n, &rti)) {
			r = rti >= q->q_rt_entries ? grow_rt(q, rti) : install_rb(q, rti);
			if (r < 0)
				return r;
			continue;
		}
		/* Clusters past the end of the file may still be counted (QEMU
		 * preallocation, leaks): never hand one out twice. */
		for (uint64_t i = 0; i < n && !rc; i++) {
			busy = q->q_next_free + (i << q->q_cluster_bits);
			if ((r = qcow2_rc_get(q, busy, &rc)) < 0)
				return r;
		}
		if (!rc)
			break;
		q->q_next_free = busy + q->q_cs;
	}
	start = q->q_next_free;
	if (start > (1ULL << 56) - (n << q->q_cluster_bits)) {
		ERR(q, "image file would exceed 64 PiB");
		return -EFBIG;
	}
	q->q_next_free = start + (n << q->q_cluster_bits);
	for (uint64_t i = 0; i < n; i++)
		if ((r = qcow2_rc_update(q, start + (i << q->q_cluster_bits), 1)) < 0)
			return r;
	*off = start;
	return 0;
}

/*
 * A larger refcount table: sized so that its own clusters and the blocks
 * counting them fit, copied, written, pointed at by the header; then the
 * old table is freed.
 */
static int
grow_rt(struct qcow2 *q, uint64_t need)
{
	uint64_t per_cl = q->q_cs / 8, entries, ncl, end, old_off, toff;
	uint32_t old_cl = q->q_rt_clusters;
	uint64_t *nrt;
	uint8_t hdr[12];
	int r;

	if (q->q_rt_growing) {
		ERR(q, "refcount table growth does not converge");
		return -EIO;
	}
	entries = q->q_rt_entries * 2 > need + 1 ? q->q_rt_entries * 2 : need + 1;
	for (;;) {
		entries = (entries + per_cl - 1) / per_cl * per_cl;
		ncl = entries / per_cl;
		/* The table, plus blocks for it, plus slack, at the cursor. */
		end = (q->q_next_free >> q->q_cluster_bits) + ncl +
		    ncl / (1ULL << q->q_rb_bits) + 4;
		if ((end >> q->q_rb_bits) < entries)
			break;
		entries = (end >> q->q_rb_bits) + 1;
	}
	if (entries * 8 > QCOW2_MAX_RT_BYTES) {
		ERR(q, "refcount table would exceed the %u MiB limit",
		    QCOW2_MAX_RT_BYTES >> 20);
		return -EFBIG;
	}
	nrt = xcalloc(entries, sizeof(*nrt));
	memcpy(nrt, q->q_rt, q->q_rt_entries * sizeof(*nrt));
	free(q->q_rt);
	q->q_rt = nrt;
	q->q_rt_entries = entries;
	q->q_rt_growing = 1;
	r = qcow2_alloc_clusters(q, ncl, &toff);
	q->q_rt_growing = 0;
	if (r < 0)
		return r;
	old_off = q->q_rt_off;
	q->q_rt_off = toff;
	q->q_rt_clusters = (uint32_t)ncl;
	q->q_rt_dirty = 1;
	if ((r = qcow2_cache_flush(q, &q->q_rbc)) < 0 || (r = qcow2_flush_rt(q)) < 0)
		return r;
	qcow2_put64(hdr, toff);
	qcow2_put32(hdr + 8, (uint32_t)ncl);
	if ((r = io_pwrite(q->q_fd, hdr, sizeof(hdr), 48)) < 0) {
		ERR(q, "writing the header: %s", strerror(-r));
		return r;
	}
	for (uint32_t i = 0; i < old_cl; i++)
		if ((r = qcow2_rc_update(q, old_off + ((uint64_t)i << q->q_cluster_bits),
		    -1)) < 0)
			return r;
	return 0;
}

/*
 * Bytes for one compressed cluster. Like QEMU, compressed clusters are
 * packed back to back and may run into the next host cluster when that one
 * is the next to be allocated; each host cluster touched gains a reference.
 */
int
qcow2_alloc_bytes(struct qcow2 *q, uint64_t len, uint64_t *off)
{
	uint64_t cs = q->q_cs, cur = q->q_cfree, cl_end, k, nc, missing, rc;
	int r;

	/* Narrow refcounts (refcount_bits=1) cannot count another sharer:
	 * then the data starts a cluster of its own. */
	if (cur && ((r = qcow2_rc_get(q, cur & ~(cs - 1), &rc)) < 0 ||
	    rc >= qcow2_rc_max(q)))
		cur = 0;
	if (cur) {
		cl_end = (cur | (cs - 1)) + 1;
		if (len <= cl_end - cur) {
			if ((r = qcow2_rc_update(q, cur & ~(cs - 1), 1)) < 0)
				return r;
			*off = cur;
			q->q_cfree = cur + len == cl_end ? 0 : cur + len;
			return 0;
		}
		k = (len - (cl_end - cur) + cs - 1) / cs;
		if (cl_end == q->q_next_free && rbs_ready(q, cl_end, k, &missing)) {
			if ((r = qcow2_alloc_clusters(q, k, &nc)) < 0)
				return r;
			if ((r = qcow2_rc_update(q, cur & ~(cs - 1), 1)) < 0)
				return r;
			*off = cur;
			q->q_cfree = ((cur + len) & (cs - 1)) ? cur + len : 0;
			return 0;
		}
	}
	if ((r = qcow2_alloc_clusters(q, 1, &nc)) < 0)
		return r;
	*off = nc;
	q->q_cfree = (len & (cs - 1)) ? nc + len : 0;
	return 0;
}

int
qcow2_free_entry(struct qcow2 *q, uint64_t entry)
{
	uint64_t host, nsec, first, last;
	int r;

	if (q->q_datafile)	/* data file clusters have no refcounts */
		return 0;
	if (entry & QCOW2_OFLAG_COMPRESSED) {
		host = entry & q->q_coff_mask;
		nsec = ((entry >> q->q_csize_shift) & q->q_csize_mask) + 1;
		first = (host & ~511ULL) >> q->q_cluster_bits;
		last = ((host & ~511ULL) + nsec * 512 - 1) >> q->q_cluster_bits;
		for (uint64_t c = first; c <= last; c++)
			if ((r = qcow2_rc_update(q, c << q->q_cluster_bits, -1)) < 0)
				return r;
		return 0;
	}
	host = entry & QCOW2_OFFSET_MASK;
	return host ? qcow2_rc_update(q, host, -1) : 0;
}
