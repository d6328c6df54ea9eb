/* qcow2 guest I/O: L1/L2 lookup, reads, allocating writes, zeroes, resize. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "storage/io.h"
#include "storage/qcow2.h"
#include "storage/qcow2_snapshot.h"

#define ERR(q, ...)	img_seterr((q)->q_img, __VA_ARGS__)

enum cls { CL_UNALLOC, CL_ZERO, CL_DATA, CL_COMPRESSED };

static enum cls
classify(const struct qcow2 *q, uint64_t e)
{
	if (e & QCOW2_OFLAG_COMPRESSED)
		return CL_COMPRESSED;
	/* Bit 0 is reserved in version 2; QEMU ignores it there. */
	if (q->q_version >= 3 && (e & QCOW2_OFLAG_ZERO))
		return CL_ZERO;
	/* In a data file, guest cluster 0 is at host offset 0: COPIED says
	 * it is allocated. */
	if (q->q_datafile && (e & QCOW2_OFLAG_COPIED))
		return CL_DATA;
	return (e & QCOW2_OFFSET_MASK) ? CL_DATA : CL_UNALLOC;
}

static int
l2_offset(struct qcow2 *q, uint64_t l1i, uint64_t *off)
{
	uint64_t o = q->q_l1[l1i] & QCOW2_OFFSET_MASK;

	if (o & (q->q_cs - 1)) {
		ERR(q, "L1 entry %llu: L2 table offset 0x%llx is not cluster aligned",
		    ULL(l1i), ULL(o));
		return -EIO;
	}
	if (o && o + q->q_cs > q->q_next_free) {
		ERR(q, "L1 entry %llu: L2 table offset 0x%llx is past the end of "
		    "the file", ULL(l1i), ULL(o));
		return -EIO;
	}
	*off = o;
	return 0;
}

int
qcow2_get_entry2(struct qcow2 *q, uint64_t voff, uint64_t *entry, uint64_t *bitmap)
{
	uint64_t l1i = voff >> (q->q_cluster_bits + q->q_l2_bits), l2o;
	uint64_t l2i = (voff >> q->q_cluster_bits) & ((1ULL << q->q_l2_bits) - 1);
	uint8_t *t;
	int r;

	*entry = 0;
	if (bitmap)
		*bitmap = 0;
	if (l1i >= q->q_l1_size)
		return 0;
	if ((r = l2_offset(q, l1i, &l2o)) < 0 || !l2o)
		return r;
	if ((r = qcow2_cache_get(q, &q->q_l2c, l2o, 0, &t)) < 0)
		return r;
	*entry = qcow2_be64(t + (l2i << (3 + q->q_extl2)));
	if (bitmap && q->q_extl2)
		*bitmap = qcow2_be64(t + (l2i << 4) + 8);
	return 0;
}

int
qcow2_get_entry(struct qcow2 *q, uint64_t voff, uint64_t *entry)
{
	return qcow2_get_entry2(q, voff, entry, NULL);
}

int
qcow2_get_slot(struct qcow2 *q, uint64_t voff, uint8_t **slot)
{
	uint64_t l1i = voff >> (q->q_cluster_bits + q->q_l2_bits), l2o, rc;
	uint64_t l2i = (voff >> q->q_cluster_bits) & ((1ULL << q->q_l2_bits) - 1);
	uint8_t *t, be[8];
	int r;

	if (l1i >= q->q_l1_size) {
		ERR(q, "guest offset %llu outside the L1 table", ULL(voff));
		return -EIO;
	}
	if ((r = l2_offset(q, l1i, &l2o)) < 0)
		return r;
	if (!l2o) {
		if ((r = qcow2_alloc_clusters(q, 1, &l2o)) < 0 ||
		    (r = qcow2_cache_get(q, &q->q_l2c, l2o, 1, &t)) < 0)
			return r;
		/* Table and its refcount on disk before the L1 entry. */
		if ((r = io_pwrite(q->q_fd, t, q->q_cs, l2o)) < 0) {
			ERR(q, "writing a new L2 table: %s", strerror(-r));
			return r;
		}
		if ((r = qcow2_cache_flush(q, &q->q_rbc)) < 0 ||
		    (r = qcow2_flush_rt(q)) < 0)
			return r;
		q->q_l1[l1i] = l2o | QCOW2_OFLAG_COPIED;
		qcow2_put64(be, q->q_l1[l1i]);
		if ((r = io_pwrite(q->q_fd, be, 8, q->q_l1_off + l1i * 8)) < 0) {
			ERR(q, "writing L1 entry %llu: %s", ULL(l1i), strerror(-r));
			return r;
		}
	} else if (!(q->q_l1[l1i] & QCOW2_OFLAG_COPIED)) {
		if ((r = qcow2_rc_get(q, l2o, &rc)) < 0)
			return r;
		if (rc != 1) {	/* a snapshot's too: the image gets a copy */
			if ((r = qcow2_cow_l2(q, l1i, &l2o)) < 0)
				return r;
			return qcow2_get_slot(q, voff, slot);	/* now COPIED */
		}
		q->q_l1[l1i] |= QCOW2_OFLAG_COPIED;
		qcow2_put64(be, q->q_l1[l1i]);
		if ((r = io_pwrite(q->q_fd, be, 8, q->q_l1_off + l1i * 8)) < 0) {
			ERR(q, "writing L1 entry %llu: %s", ULL(l1i), strerror(-r));
			return r;
		}
	}
	if ((r = qcow2_cache_get(q, &q->q_l2c, l2o, 0, &t)) < 0)
		return r;
	*slot = t + (l2i << (3 + q->q_extl2));
	return 0;
}

/* Point voff's L2 entry at newe; *old: what it named that needs freeing, or 0. */
static int
put_entry(struct qcow2 *q, uint64_t voff, uint64_t newe, uint64_t *old)
{
	uint8_t *slot;
	int r;

	*old = 0;
	if ((r = qcow2_get_slot(q, voff, &slot)) < 0)
		return r;
	*old = qcow2_be64(slot);
	qcow2_put64(slot, newe);
	/* Only compressed entries are set here in such images (the rest goes
	 * through qcow2_extl2.c): no subclusters, the bitmap is reserved. */
	if (q->q_extl2 && (newe & QCOW2_OFLAG_COMPRESSED))
		qcow2_put64(slot + 8, 0);
	for (size_t i = 0; i < q->q_l2c.c_n; i++) {
		uint8_t *b = q->q_l2c.c_ent[i].ce_buf;

		if (slot >= b && slot < b + q->q_cs)
			q->q_l2c.c_ent[i].ce_dirty = 1;
	}
	if (!(*old & (QCOW2_OFFSET_MASK | QCOW2_OFLAG_COMPRESSED)) ||
	    (*old & ~QCOW2_OFLAG_COPIED) == (newe & ~QCOW2_OFLAG_COPIED))
		*old = 0;
	return 0;
}

/*
 * Drop the references replaced entries held, once the L2 tables naming
 * their replacements are on disk: a crash in between leaks a cluster
 * instead of leaving an entry that names a freed one, or a shared one
 * (a snapshot's) counted once too few.
 */
static int
free_entries(struct qcow2 *q, const uint64_t *old, size_t n)
{
	size_t i;
	int r;

	for (i = 0; i < n && !old[i]; i++)
		;
	if (i == n)
		return 0;
	if ((r = qcow2_cache_flush(q, &q->q_l2c)) < 0)
		return r;
	for (; i < n; i++)
		if (old[i] && (r = qcow2_free_entry(q, old[i])) < 0)
			return r;
	return 0;
}

static int
set_entry(struct qcow2 *q, uint64_t voff, uint64_t newe)
{
	uint64_t old;
	int r;

	if ((r = put_entry(q, voff, newe, &old)) < 0)
		return r;
	return free_entries(q, &old, 1);
}

int
qcow2_check_data_off(struct qcow2 *q, uint64_t host, uint64_t voff)
{
	if (q->q_datafile && host != (voff & ~((uint64_t)q->q_cs - 1))) {
		ERR(q, "L2 entry for guest offset %llu: data offset 0x%llx, but an "
		    "external data file maps guest offsets to themselves", ULL(voff),
		    ULL(host));
		return -EIO;
	}
	if (host & (q->q_cs - 1)) {
		ERR(q, "L2 entry for guest offset %llu: data offset 0x%llx is not "
		    "cluster aligned", ULL(voff), ULL(host));
		return -EIO;
	}
	return 0;
}

/* Data clusters must not overwrite metadata we know of. */
int
qcow2_check_write_off(struct qcow2 *q, uint64_t host, uint64_t len, uint64_t voff)
{
	uint64_t l1e = q->q_l1_off + (uint64_t)q->q_l1_size * 8;
	uint64_t rte = q->q_rt_off + q->q_rt_entries * 8;

	if (q->q_datafile)	/* data goes to the other file */
		return 0;
	if (host < q->q_cs || (host < l1e && host + len > q->q_l1_off) ||
	    (host < rte && host + len > q->q_rt_off)) {
		ERR(q, "L2 entry for guest offset %llu: data offset 0x%llx "
		    "overlaps metadata; refusing to write", ULL(voff), ULL(host));
		return -EIO;
	}
	return 0;
}

int
qcow2_read_compressed(struct qcow2 *q, uint64_t e, uint64_t voff)
{
	uint64_t host = e & q->q_coff_mask;
	uint64_t nsec = ((e >> q->q_csize_shift) & q->q_csize_mask) + 1;
	size_t csize = (size_t)(nsec * 512 - (host & 511));
	int r;

	if (q->q_dbuf_entry == e)
		return 0;
	q->q_dbuf_entry = 0;
	if (host >= q->q_file_size && host >= q->q_next_free) {
		ERR(q, "compressed cluster at guest offset %llu: data offset 0x%llx "
		    "is past the end of the file", ULL(voff), ULL(host));
		return -EIO;
	}
	/* nsec <= cs/256, so csize <= 2 clusters: q_cbuf's size. */
	if ((r = io_pread_zfill(q->q_fd, q->q_cbuf, csize, host)) < 0) {
		ERR(q, "reading compressed cluster at 0x%llx: %s", ULL(host),
		    strerror(-r));
		return r;
	}
	r = q->q_ctype == QCOW2_COMP_ZSTD ?
	    qcow2_zstd_decompress(q, q->q_cbuf, csize, q->q_dbuf, q->q_cs) :
	    qcow2_inflate(q->q_cbuf, csize, q->q_dbuf, q->q_cs);
	if (r < 0) {
		ERR(q, "compressed cluster at guest offset %llu (host 0x%llx, "
		    "%zu bytes): bad %s data", ULL(voff), ULL(host), csize,
		    q->q_ctype == QCOW2_COMP_ZSTD ? "zstd" : "deflate");
		return -EIO;
	}
	q->q_dbuf_entry = e;
	return 0;
}

int
qcow2_read_backing(struct qcow2 *q, void *buf, size_t n, uint64_t off)
{
	struct img *bk = q->q_img->im_backing;
	size_t m = 0;
	int r;

	if (bk && off < bk->im_size) {
		m = bk->im_size - off < n ? (size_t)(bk->im_size - off) : n;
		if ((r = img_pread(bk, buf, m, off)) < 0) {
			xsnprintf(q->q_img->im_err, sizeof(q->q_img->im_err), "%s",
			    img_errmsg(bk));
			return r;
		}
	}
	memset((char *)buf + m, 0, n - m);
	return 0;
}

/* How far from off (within len) entries keep class c (and contiguity). */
static int
run_length(struct qcow2 *q, uint64_t off, size_t len, enum cls c, uint64_t host,
    size_t *run)
{
	size_t total = q->q_cs - (off & (q->q_cs - 1));
	uint64_t e;
	int r;

	if (total > len)
		total = len;
	while (total < len) {
		if ((r = qcow2_get_entry(q, off + total, &e)) < 0)
			return r;
		if (classify(q, e) != c)
			break;
		if (c == CL_DATA && (e & QCOW2_OFFSET_MASK) != host +
		    (off & (q->q_cs - 1)) + total)
			break;
		total += len - total < q->q_cs ? len - total : q->q_cs;
	}
	*run = total;
	return 0;
}

int
qcow2_pread(struct img *im, void *buf, size_t len, uint64_t off)
{
	struct qcow2 *q = qcow2_of(im);
	char *p = buf;
	uint64_t e, host;
	size_t n, in;
	int r;

	if (q->q_extl2)
		return qcow2_ext_pread(q, buf, len, off);
	while (len) {
		in = off & (q->q_cs - 1);
		if ((r = qcow2_get_entry(q, off, &e)) < 0)
			return r;
		switch (classify(q, e)) {
		case CL_COMPRESSED:
			n = q->q_cs - in < len ? q->q_cs - in : len;
			if ((r = qcow2_read_compressed(q, e, off)) < 0)
				return r;
			memcpy(p, q->q_dbuf + in, n);
			break;
		case CL_ZERO:
			if ((r = run_length(q, off, len, CL_ZERO, 0, &n)) < 0)
				return r;
			memset(p, 0, n);
			break;
		case CL_UNALLOC:
			if ((r = run_length(q, off, len, CL_UNALLOC, 0, &n)) < 0 ||
			    (r = qcow2_read_backing(q, p, n, off)) < 0)
				return r;
			break;
		case CL_DATA:
			host = e & QCOW2_OFFSET_MASK;
			if ((r = qcow2_check_data_off(q, host, off)) < 0 ||
			    (r = run_length(q, off, len, CL_DATA, host, &n)) < 0)
				return r;
			/* QEMU may leave the tail of the last cluster unwritten. */
			if ((r = qcow2_read_data(q, p, n, host + in)) < 0)
				return r;
			break;
		}
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

/*
 * Whole unallocated L1 ranges are stepped over at once and data runs stop
 * after STATUS_MAX_DATA clusters, so a caller can ask about the rest of a
 * huge, sparse (possibly hostile) image without a per-cluster walk.
 */
#define STATUS_MAX_DATA	1024

/* What is at cur in a classic image: a whole cluster, or an unmapped L2 table. */
static int
cluster_at(struct qcow2 *q, uint64_t cur, int *bs, uint64_t *step)
{
	uint32_t l1_shift = q->q_cluster_bits + q->q_l2_bits;
	uint64_t e;
	enum cls c;
	int r;

	if ((cur >> l1_shift) < q->q_l1_size && !(q->q_l1[cur >> l1_shift] & QCOW2_OFFSET_MASK)) {
		*bs = IMG_BS_UNALLOC;
		*step = (((cur >> l1_shift) + 1) << l1_shift) - cur;
		return 0;
	}
	if ((r = qcow2_get_entry(q, cur, &e)) < 0)
		return r;
	c = classify(q, e);
	*bs = c == CL_ZERO ? IMG_BS_ZERO : c == CL_UNALLOC ? IMG_BS_UNALLOC : IMG_BS_DATA;
	*step = q->q_cs - (cur & (q->q_cs - 1));
	return 0;
}

int
qcow2_status_walk(struct qcow2 *q, uint64_t off, uint64_t len, uint64_t *pnum,
    int (*at)(struct qcow2 *, uint64_t, int *, uint64_t *))
{
	uint64_t total = 0, step, ndata = 0;
	int b0 = IMG_BS_UNALLOC, b, r;

	while (total < len) {
		if ((r = at(q, off + total, &b, &step)) < 0)
			return r;
		if (total == 0)
			b0 = b;
		else if (b != b0)
			break;
		total += step;
		if (b0 == IMG_BS_DATA && ++ndata >= STATUS_MAX_DATA)
			break;
	}
	*pnum = total < len ? total : len;
	return b0;
}

int
qcow2_status(struct img *im, uint64_t off, uint64_t len, uint64_t *pnum)
{
	struct qcow2 *q = qcow2_of(im);

	return qcow2_status_walk(q, off, len, pnum, q->q_extl2 ? qcow2_ext_at : cluster_at);
}

/* Old content of the cluster at voff (cluster aligned) into buf. */
static int
cluster_content(struct qcow2 *q, uint64_t e, uint64_t voff, uint8_t *buf)
{
	int fd;

	switch (classify(q, e)) {
	case CL_COMPRESSED: {
		int r = qcow2_read_compressed(q, e, voff);

		if (r == 0)
			memcpy(buf, q->q_dbuf, q->q_cs);
		return r;
	}
	case CL_ZERO:
		memset(buf, 0, q->q_cs);
		return 0;
	case CL_UNALLOC:
		return qcow2_read_backing(q, buf, q->q_cs, voff);
	case CL_DATA:
		break;
	}
	if ((fd = qcow2_data_fd(q)) < 0)
		return fd;
	return io_pread_zfill(fd, buf, q->q_cs, e & QCOW2_OFFSET_MASK);
}

/* A run of whole clusters from off that all need new clusters (shared
 * ones included: one flush frees them all, see free_entries). */
static int
fresh_run(struct qcow2 *q, uint64_t off, size_t len, uint64_t *k)
{
	uint64_t e, n = 1, rc;
	int r;

	while ((n + 1) * q->q_cs <= len && n < 1024) {
		if ((r = qcow2_get_entry(q, off + n * q->q_cs, &e)) < 0)
			return r;
		if (classify(q, e) == CL_DATA && ((e & QCOW2_OFLAG_COPIED) ||
		    (r = qcow2_rc_get(q, e & QCOW2_OFFSET_MASK, &rc)) < 0 || rc == 1)) {
			if (r < 0)
				return r;
			break;
		}
		n++;
	}
	*k = n;
	return 0;
}

static int
write_new(struct qcow2 *q, const char *p, size_t len, uint64_t off, uint64_t e,
    size_t *done)
{
	size_t in = off & (q->q_cs - 1);
	uint64_t k = 1, host, *old = NULL;
	uint8_t *tmp = NULL;
	int r, fd;

	if (in == 0 && len >= q->q_cs) {
		if ((r = fresh_run(q, off, len, &k)) < 0)
			return r;
		*done = k * q->q_cs;
	} else {
		*done = q->q_cs - in < len ? q->q_cs - in : len;
		tmp = xmalloc(q->q_cs);
		if ((r = cluster_content(q, e, off - in, tmp)) < 0)
			goto out;
		memcpy(tmp + in, p, *done);
	}
	/* A data file holds guest cluster v at offset v, unrefcounted. */
	host = off - in;
	if ((!q->q_datafile && (r = qcow2_alloc_clusters(q, k, &host)) < 0) ||
	    (r = fd = qcow2_data_fd(q)) < 0)
		goto out;
	r = io_pwrite(fd, tmp ? (const char *)tmp : p,
	    tmp ? q->q_cs : k * q->q_cs, host);
	if (r < 0) {
		ERR(q, "writing data at 0x%llx: %s", ULL(host), strerror(-r));
		goto out;
	}
	old = xcalloc(k, sizeof(*old));
	for (uint64_t i = 0; i < k; i++) {
		r = put_entry(q, off - in + i * q->q_cs,
		    (host + i * q->q_cs) | QCOW2_OFLAG_COPIED, &old[i]);
		if (r < 0)
			goto out;
	}
	if ((r = free_entries(q, old, k)) < 0)
		goto out;
	if (q->q_dbuf_entry && (e & QCOW2_OFLAG_COMPRESSED))
		q->q_dbuf_entry = 0;
out:
	free(tmp);
	free(old);
	return r;
}

int
qcow2_pwrite(struct img *im, const void *buf, size_t len, uint64_t off)
{
	struct qcow2 *q = qcow2_of(im);
	const char *p = buf;
	uint64_t e, host, rc;
	uint8_t *slot;
	size_t n;
	int r, fd;

	if (q->q_extl2)
		return qcow2_ext_pwrite(q, buf, len, off);
	while (len) {
		if ((r = qcow2_get_slot(q, off, &slot)) < 0)
			return r;
		e = qcow2_be64(slot);
		if (classify(q, e) != CL_DATA) {
			if ((r = write_new(q, p, len, off, e, &n)) < 0)
				return r;
			goto next;
		}
		host = e & QCOW2_OFFSET_MASK;
		if (!(e & QCOW2_OFLAG_COPIED) && !q->q_datafile) {
			if ((r = qcow2_rc_get(q, host, &rc)) < 0)
				return r;
			if (rc != 1) {	/* a snapshot's too: write a copy */
				if ((r = write_new(q, p, len, off, e, &n)) < 0)
					return r;
				goto next;
			}
			if ((r = set_entry(q, off, e | QCOW2_OFLAG_COPIED)) < 0)
				return r;
		}
		if ((r = qcow2_check_data_off(q, host, off)) < 0 ||
		    (r = run_length(q, off, len, CL_DATA, host, &n)) < 0)
			return r;
		/* run_length may include clusters without COPIED: stop there. */
		if (n > q->q_cs - (off & (q->q_cs - 1))) {
			size_t first = q->q_cs - (off & (q->q_cs - 1)), t = first;

			while (t < n) {
				if ((r = qcow2_get_entry(q, off + t, &e)) < 0)
					return r;
				if (!(e & QCOW2_OFLAG_COPIED))
					break;
				t += n - t < q->q_cs ? n - t : q->q_cs;
			}
			n = t;
		}
		if ((r = qcow2_check_write_off(q, host, n + (off & (q->q_cs - 1)),
		    off)) < 0)
			return r;
		if ((r = fd = qcow2_data_fd(q)) < 0)
			return r;
		if ((r = io_pwrite(fd, p, n, host + (off & (q->q_cs - 1)))) < 0) {
			ERR(q, "writing data at 0x%llx: %s", ULL(host), strerror(-r));
			return r;
		}
next:
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

int
qcow2_pwrite_zeroes(struct img *im, uint64_t off, uint64_t len)
{
	static const uint8_t zeros[4096];
	struct qcow2 *q = qcow2_of(im);
	uint64_t e, in, n, old[256];
	size_t nold = 0;
	enum cls c;
	int r = 0;

	if (q->q_extl2)
		return qcow2_ext_pwrite_zeroes(q, off, len);
	/* Replaced clusters are freed in batches, after their L2 tables. */
	while (len && r == 0) {
		in = off & (q->q_cs - 1);
		n = q->q_cs - in < len ? q->q_cs - in : len;
		if ((r = qcow2_get_entry(q, off, &e)) < 0)
			break;
		c = classify(q, e);
		if (c == CL_ZERO || (c == CL_UNALLOC && !im->im_backing)) {
			/* already reads as zeros */
		} else if (n == q->q_cs && q->q_version >= 3 && !q->q_data_raw) {
			/* (a raw data file must hold the zeros itself) */
			if ((r = put_entry(q, off, QCOW2_OFLAG_ZERO, &old[nold])) < 0)
				break;
			if (old[nold] && ++nold == sizeof(old) / sizeof(old[0])) {
				r = free_entries(q, old, nold);
				nold = 0;
			}
			if (c == CL_COMPRESSED)
				q->q_dbuf_entry = 0;
		} else {
			for (uint64_t d = 0; d < n && r == 0; d += sizeof(zeros)) {
				size_t m = n - d < sizeof(zeros) ? n - d : sizeof(zeros);

				r = qcow2_pwrite(im, zeros, m, off + d);
			}
		}
		off += n;
		len -= n;
	}
	if (nold && r == 0)
		r = free_entries(q, old, nold);
	return r;
}

/* One compressed cluster's bytes, packed after the previous one. */
static int
store_compressed(struct qcow2 *q, uint64_t off, const uint8_t *c, size_t clen)
{
	uint64_t host, nsec;
	int r;

	if ((r = qcow2_alloc_bytes(q, clen, &host)) < 0)
		return r;
	if (host > q->q_coff_mask) {
		ERR(q, "compressed data offset 0x%llx beyond the descriptor's range",
		    ULL(host));
		return -EFBIG;
	}
	if ((r = io_pwrite(q->q_fd, c, clen, host)) < 0) {
		ERR(q, "writing compressed data at 0x%llx: %s", ULL(host), strerror(-r));
		return r;
	}
	nsec = ((host + clen - 1) >> 9) - (host >> 9);
	q->q_dbuf_entry = 0;
	return set_entry(q, off, host | nsec << q->q_csize_shift | QCOW2_OFLAG_COMPRESSED);
}

int
qcow2_pwrite_compressed(struct img *im, const void *buf, size_t len, uint64_t off)
{
	struct qcow2 *q = qcow2_of(im);
	size_t cs = q->q_cs, n = (len + cs - 1) / cs, i, j;
	const uint8_t *in = buf;
	uint8_t *pad = NULL, *out;
	ssize_t *lens;
	int r = 0;

	if (q->q_datafile) {
		ERR(q, "compressed clusters cannot be stored in an external data "
		    "file");
		return -ENOTSUP;
	}
	if ((off & (cs - 1)) || ((len & (cs - 1)) && off + len != im->im_size)) {
		ERR(q, "compressed write of %zu bytes at %llu: not whole clusters",
		    len, ULL(off));
		return -EINVAL;
	}
	if (len & (cs - 1)) {	/* the tail cluster: padded with zeros, as QEMU does */
		pad = xcalloc(n, cs);
		memcpy(pad, buf, len);
		in = pad;
	}
	out = xmalloc(n * cs);
	lens = xmalloc(n * sizeof(*lens));
	if ((r = qcow2_compress_batch(q->q_ctype, in, out, lens, n, cs)) < 0) {
		ERR(q, "compressing: %s", strerror(-r));
		goto out;
	}
	for (i = 0; i < n && r == 0; i = j) {
		uint64_t at = off + i * cs;
		size_t rest = len - i * cs;

		j = i + 1;
		if (lens[i] == QCOW2_Z_ZERO) {
			r = qcow2_pwrite_zeroes(im, at, rest < cs ? rest : cs);
		} else if (lens[i] == QCOW2_Z_RAW) {
			/* incompressible runs are stored plainly, in one write */
			while (j < n && lens[j] == QCOW2_Z_RAW)
				j++;
			r = qcow2_pwrite(im, in + i * cs,
			    rest < (j - i) * cs ? rest : (j - i) * cs, at);
		} else {
			r = store_compressed(q, at, out + i * cs, (size_t)lens[i]);
		}
	}
out:
	free(pad);
	free(out);
	free(lens);
	return r;
}

/* Allocated (non-zero) guest data at or past from? */
static int
data_beyond(struct qcow2 *q, uint64_t from, uint64_t to, uint64_t *where)
{
	uint64_t e;
	int r;

	for (uint64_t v = from; v < to; v += q->q_cs) {
		uint64_t l1i = v >> (q->q_cluster_bits + q->q_l2_bits);

		if (l1i < q->q_l1_size && !(q->q_l1[l1i] & QCOW2_OFFSET_MASK)) {
			v = ((l1i + 1) << (q->q_cluster_bits + q->q_l2_bits)) - q->q_cs;
			continue;
		}
		if ((r = qcow2_get_entry(q, v, &e)) < 0)
			return r;
		if (classify(q, e) == CL_DATA || classify(q, e) == CL_COMPRESSED) {
			*where = v;
			return 1;
		}
	}
	return 0;
}

static int
grow_l1(struct qcow2 *q, uint64_t need)
{
	uint64_t bytes = need * 8, ncl, off, old_off = q->q_l1_off;
	uint64_t old_cl = ((uint64_t)q->q_l1_size * 8 + q->q_cs - 1) >> q->q_cluster_bits;
	uint64_t *nl1;
	uint8_t *raw;
	int r;

	if (bytes > QCOW2_MAX_L1_BYTES) {
		ERR(q, "size needs an L1 table of %llu bytes, over the %u MiB limit",
		    ULL(bytes), QCOW2_MAX_L1_BYTES >> 20);
		return -EFBIG;
	}
	ncl = (bytes + q->q_cs - 1) >> q->q_cluster_bits;
	if ((r = qcow2_alloc_clusters(q, ncl, &off)) < 0)
		return r;
	nl1 = xcalloc(need, sizeof(*nl1));
	memcpy(nl1, q->q_l1, (size_t)q->q_l1_size * 8);
	raw = xcalloc(ncl, q->q_cs);
	for (uint64_t i = 0; i < need; i++)
		qcow2_put64(raw + i * 8, nl1[i]);
	r = io_pwrite(q->q_fd, raw, ncl << q->q_cluster_bits, off);
	free(raw);
	if (r < 0) {
		free(nl1);
		ERR(q, "writing the new L1 table: %s", strerror(-r));
		return r;
	}
	free(q->q_l1);
	q->q_l1 = nl1;
	q->q_l1_size = (uint32_t)need;
	q->q_l1_off = off;
	if ((r = qcow2_cache_flush(q, &q->q_rbc)) < 0 || (r = qcow2_flush_rt(q)) < 0 ||
	    (r = qcow2_write_header(q)) < 0)
		return r;
	for (uint64_t i = 0; i < old_cl; i++)
		if ((r = qcow2_rc_update(q, old_off + (i << q->q_cluster_bits), -1)) < 0)
			return r;
	return 0;
}

int
qcow2_truncate(struct img *im, uint64_t size, int shrink)
{
	struct qcow2 *q = qcow2_of(im);
	uint64_t old = q->q_size, need = qcow2_l1_needed(q, size), where, zend;
	int r;

	if (size & 511) {
		ERR(q, "size %llu is not a multiple of 512", ULL(size));
		return -EINVAL;
	}
	if (size < old) {
		uint64_t from = (size + q->q_cs - 1) & ~((uint64_t)q->q_cs - 1);

		if (!shrink) {
			ERR(q, "shrinking needs --shrink");
			return -EINVAL;
		}
		if ((r = data_beyond(q, from, old, &where)) < 0)
			return r;
		if (r) {
			ERR(q, "cannot shrink to %llu bytes: guest offset %llu holds "
			    "allocated data", ULL(size), ULL(where));
			return -EBUSY;
		}
	} else if ((need > q->q_l1_size && (r = grow_l1(q, need)) < 0) ||
	    (r = qcow2_df_truncate(q, size)) < 0) {
		return r;
	}
	q->q_size = size;
	im->im_size = size;
	if ((r = qcow2_write_header(q)) < 0)
		return r;
	/* The new area reads as zeros: not as stale tail data of the last
	 * cluster, nor as a longer backing file (QEMU does the same). */
	if (size > old) {
		zend = (old + q->q_cs - 1) & ~((uint64_t)q->q_cs - 1);
		if (im->im_backing && im->im_backing->im_size > zend)
			zend = im->im_backing->im_size;
		if (zend > size)
			zend = size;
		if (zend > old && (r = qcow2_pwrite_zeroes(im, old, zend - old)) < 0)
			return r;
	}
	return qcow2_flush_all(q);
}
