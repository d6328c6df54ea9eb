/*
 * Guest I/O for qcow2 images with extended L2 entries (qcow2.txt, "Extended
 * L2 Entries"; qemu-img create -o extended_l2=on). An entry is 128 bits: the
 * usual descriptor (whose bit 0, the zero flag, is unused) and a bitmap of
 * the cluster's 32 subclusters: bit i says subcluster i is allocated (its
 * data is at host + i * subcluster size), bit 32 + i says it reads as zeros;
 * neither: it reads from the backing file. Compressed clusters have no
 * subclusters and a bitmap of zero.
 *
 * Writes allocate a host cluster the first time any subcluster is written
 * and fill only the subclusters written (partly written ones take their old
 * content first), so the others keep reading from the backing file: the
 * point of subclusters. Data reaches the disk before the entry that uses it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "storage/io.h"
#include "storage/qcow2.h"

#define ERR(q, ...)	img_seterr((q)->q_img, __VA_ARGS__)
#define NSC		32	/* subclusters per cluster */

enum sc { SC_UNALLOC, SC_ZERO, SC_DATA, SC_COMPRESSED };

/* Bits i..j-1 of a 32-bit allocation map. */
static uint64_t
sc_mask(unsigned i, unsigned j)
{
	return (j >= 64 ? ~0ULL : (1ULL << j) - 1) & ~((1ULL << i) - 1);
}

static uint32_t
sc_size(const struct qcow2 *q)
{
	return q->q_cs / NSC;
}

/* An entry as QEMU would refuse it: an allocated subcluster needs a host
 * cluster, and no subcluster is both allocated and zero. */
static int
check_entry(struct qcow2 *q, uint64_t e, uint64_t bm, uint64_t voff)
{
	uint64_t host = e & QCOW2_OFFSET_MASK;

	if (e & QCOW2_OFLAG_COMPRESSED)
		return 0;
	/* (in a data file, guest cluster 0 is at 0, with COPIED) */
	if ((bm & QCOW2_SC_ALLOC_ALL) && !host &&
	    !(q->q_datafile && (e & QCOW2_OFLAG_COPIED))) {
		ERR(q, "L2 entry for guest offset %llu: subclusters allocated "
		    "(bitmap 0x%016llx) without a host cluster", ULL(voff), ULL(bm));
		return -EIO;
	}
	if ((bm & QCOW2_SC_ALLOC_ALL) & (bm >> 32)) {
		ERR(q, "L2 entry for guest offset %llu: subclusters both allocated "
		    "and zero (bitmap 0x%016llx)", ULL(voff), ULL(bm));
		return -EIO;
	}
	if (!host && !(q->q_datafile && (e & QCOW2_OFLAG_COPIED)))
		return 0;	/* no host cluster */
	return qcow2_check_data_off(q, host, voff);
}

static enum sc
sc_class(uint64_t e, uint64_t bm, unsigned i)
{
	if (e & QCOW2_OFLAG_COMPRESSED)
		return SC_COMPRESSED;
	if (bm & (1ULL << i))
		return SC_DATA;
	if (bm & (1ULL << (32 + i)))
		return SC_ZERO;
	return SC_UNALLOC;
}

/* The entry for voff, checked. */
static int
get(struct qcow2 *q, uint64_t voff, uint64_t *e, uint64_t *bm)
{
	int r;

	if ((r = qcow2_get_entry2(q, voff, e, bm)) < 0)
		return r;
	return check_entry(q, *e, *bm, voff);
}

/* How many subclusters from i on (within the cluster) share i's class. */
static unsigned
sc_run(uint64_t e, uint64_t bm, unsigned i)
{
	enum sc c = sc_class(e, bm, i);
	unsigned j = i + 1;

	while (j < NSC && sc_class(e, bm, j) == c)
		j++;
	return j - i;
}

int
qcow2_ext_pread(struct qcow2 *q, void *buf, size_t len, uint64_t off)
{
	uint32_t scs = sc_size(q);
	uint64_t e, bm, host;
	char *p = buf;
	size_t in, n;
	unsigned i;
	int r;

	while (len) {
		in = off & (q->q_cs - 1);
		i = (unsigned)(in / scs);
		if ((r = get(q, off, &e, &bm)) < 0)
			return r;
		n = (size_t)(i + sc_run(e, bm, i)) * scs - in;
		if (n > len)
			n = len;
		switch (sc_class(e, bm, i)) {
		case SC_COMPRESSED:
			if ((r = qcow2_read_compressed(q, e, off)) < 0)
				return r;
			memcpy(p, q->q_dbuf + in, n);
			break;
		case SC_ZERO:
			memset(p, 0, n);
			break;
		case SC_UNALLOC:
			if ((r = qcow2_read_backing(q, p, n, off)) < 0)
				return r;
			break;
		case SC_DATA:
			host = e & QCOW2_OFFSET_MASK;
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

int
qcow2_ext_at(struct qcow2 *q, uint64_t cur, int *bs, uint64_t *step)
{
	uint32_t l1_shift = q->q_cluster_bits + q->q_l2_bits, scs = sc_size(q);
	uint64_t e, bm;
	unsigned i;
	enum sc c;
	int r;

	if ((cur >> l1_shift) < q->q_l1_size && !(q->q_l1[cur >> l1_shift] & QCOW2_OFFSET_MASK)) {
		*bs = IMG_BS_UNALLOC;
		*step = (((cur >> l1_shift) + 1) << l1_shift) - cur;
		return 0;
	}
	i = (unsigned)((cur & (q->q_cs - 1)) / scs);
	if ((r = get(q, cur, &e, &bm)) < 0)
		return r;
	c = sc_class(e, bm, i);
	*bs = c == SC_ZERO ? IMG_BS_ZERO : c == SC_UNALLOC ? IMG_BS_UNALLOC : IMG_BS_DATA;
	*step = (uint64_t)(i + sc_run(e, bm, i)) * scs - (cur & (q->q_cs - 1));
	return 0;
}

/* Store entry e, bitmap bm for voff; drop what the old entry referenced. */
static int
set(struct qcow2 *q, uint64_t voff, uint64_t e, uint64_t bm)
{
	uint64_t old;
	uint8_t *slot;
	int r;

	if ((r = qcow2_get_slot(q, voff, &slot)) < 0)
		return r;
	old = qcow2_be64(slot);
	qcow2_put64(slot, e);
	qcow2_put64(slot + 8, bm);
	for (size_t i = 0; i < q->q_l2c.c_n; i++) {
		uint8_t *b = q->q_l2c.c_ent[i].ce_buf;

		if (slot >= b && slot < b + q->q_cs)
			q->q_l2c.c_ent[i].ce_dirty = 1;
	}
	if ((old & QCOW2_OFLAG_COMPRESSED) && old != e)
		q->q_dbuf_entry = 0;
	if ((old & (QCOW2_OFFSET_MASK | QCOW2_OFLAG_COMPRESSED)) &&
	    (old & ~QCOW2_OFLAG_COPIED) != (e & ~QCOW2_OFLAG_COPIED))
		return qcow2_free_entry(q, old);
	return 0;
}

/* The host cluster a write into voff's cluster may use, COPIED set:
 * 0 when one must be allocated. */
static int
writable_host(struct qcow2 *q, uint64_t e, uint64_t voff, uint64_t *host)
{
	uint64_t rc;
	int r;

	*host = 0;
	if ((e & QCOW2_OFLAG_COMPRESSED) || !(e & QCOW2_OFFSET_MASK))
		return 0;
	if (!(e & QCOW2_OFLAG_COPIED) && !q->q_datafile) {
		if ((r = qcow2_rc_get(q, e & QCOW2_OFFSET_MASK, &rc)) < 0)
			return r;
		if (rc != 1) {
			ERR(q, "cluster at guest offset %llu is shared (refcount "
			    "%llu): copy on write of shared clusters is not "
			    "supported", ULL(voff), ULL(rc));
			return -ENOTSUP;
		}
	}
	*host = e & QCOW2_OFFSET_MASK;
	return 0;
}

/* Write n bytes at in (inside the cluster at guest offset base). */
static int
write_in_cluster(struct qcow2 *q, const char *p, size_t in, size_t n,
    uint64_t base)
{
	uint32_t scs = sc_size(q);
	uint64_t e, bm, host;
	unsigned s0 = (unsigned)(in / scs), s1 = (unsigned)((in + n + scs - 1) / scs);
	size_t lo, hi;
	uint8_t *tmp;
	int r, fd;

	if ((r = get(q, base, &e, &bm)) < 0)
		return r;
	/* A compressed cluster has no subclusters: it is rewritten whole. */
	if (e & QCOW2_OFLAG_COMPRESSED) {
		s0 = 0;
		s1 = NSC;
	}
	lo = (size_t)s0 * scs;
	hi = (size_t)s1 * scs;
	tmp = xmalloc(hi - lo);
	/* Old content of the partly written subclusters, read through the
	 * entry as it still is. */
	if ((in > lo && (r = qcow2_ext_pread(q, tmp, in - lo, base + lo)) < 0) ||
	    (in + n < hi && (r = qcow2_ext_pread(q, tmp + (in + n - lo),
	    hi - in - n, base + in + n)) < 0))
		goto out;
	memcpy(tmp + (in - lo), p, n);
	if ((r = writable_host(q, e, base, &host)) < 0)
		goto out;
	if (!host) {
		/* The L2 table first, so that the data cluster follows it. */
		uint8_t *slot;

		if ((r = qcow2_get_slot(q, base, &slot)) < 0)
			goto out;
		/* A data file holds guest cluster v at v, unrefcounted. */
		host = base;
		if (!q->q_datafile && (r = qcow2_alloc_clusters(q, 1, &host)) < 0)
			goto out;
		if (e & QCOW2_OFLAG_COMPRESSED)
			bm = 0;
	}
	if ((r = qcow2_check_write_off(q, host, q->q_cs, base)) < 0)
		goto out;
	if ((r = fd = qcow2_data_fd(q)) < 0)
		goto out;
	if ((r = io_pwrite(fd, tmp, hi - lo, host + lo)) < 0) {
		ERR(q, "writing data at 0x%llx: %s", ULL(host + lo), strerror(-r));
		goto out;
	}
	bm = (bm | sc_mask(s0, s1)) & ~(sc_mask(s0, s1) << 32);
	r = set(q, base, host | QCOW2_OFLAG_COPIED, bm);
out:
	free(tmp);
	return r;
}

int
qcow2_ext_pwrite(struct qcow2 *q, const void *buf, size_t len, uint64_t off)
{
	const char *p = buf;
	int r;

	while (len) {
		size_t in = off & (q->q_cs - 1);
		size_t n = q->q_cs - in < len ? q->q_cs - in : len;

		if ((r = write_in_cluster(q, p, in, n, off - in)) < 0)
			return r;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* Subclusters i..j-1 read as zeros already. */
static int
reads_zero(const struct qcow2 *q, uint64_t e, uint64_t bm, unsigned i, unsigned j)
{
	for (; i < j; i++) {
		enum sc c = sc_class(e, bm, i);

		if (c != SC_ZERO && !(c == SC_UNALLOC && !q->q_img->im_backing))
			return 0;
	}
	return 1;
}

/* Zeros over [in, in + n) of one cluster: whole subclusters by their zero
 * bit, partial ones by writing zeros. */
static int
zero_in_cluster(struct qcow2 *q, size_t in, size_t n, uint64_t base)
{
	static const uint8_t zeros[4096];
	uint32_t scs = sc_size(q);
	unsigned z0 = (unsigned)((in + scs - 1) / scs), z1 = (unsigned)((in + n) / scs);
	uint64_t e, bm, nbm;
	int r;

	if ((r = get(q, base, &e, &bm)) < 0)
		return r;
	if (reads_zero(q, e, bm, (unsigned)(in / scs),
	    (unsigned)((in + n + scs - 1) / scs)))
		return 0;
	if ((e & QCOW2_OFLAG_COMPRESSED) && n < q->q_cs)
		z0 = z1 = 0;	/* partly: the cluster is rewritten whole */
	if (q->q_data_raw)
		z0 = z1 = 0;	/* a raw data file holds the zeros itself */
	if (z0 >= z1) {
		for (size_t d = 0; d < n; d += sizeof(zeros)) {
			size_t m = n - d < sizeof(zeros) ? n - d : sizeof(zeros);

			if ((r = qcow2_ext_pwrite(q, zeros, m, base + in + d)) < 0)
				return r;
		}
		return 0;
	}
	if (in < (size_t)z0 * scs &&
	    (r = zero_in_cluster(q, in, (size_t)z0 * scs - in, base)) < 0)
		return r;
	if (in + n > (size_t)z1 * scs &&
	    (r = zero_in_cluster(q, (size_t)z1 * scs, in + n - (size_t)z1 * scs,
	    base)) < 0)
		return r;
	if ((r = get(q, base, &e, &bm)) < 0)
		return r;
	if (z0 == 0 && z1 == NSC) {
		/* The whole cluster: its host cluster is released. */
		if (!(e & QCOW2_OFFSET_MASK) && bm == QCOW2_SC_ZERO_ALL)
			return 0;
		return set(q, base, 0, QCOW2_SC_ZERO_ALL);
	}
	nbm = (bm & ~sc_mask(z0, z1)) | (sc_mask(z0, z1) << 32);
	if (nbm == bm)
		return 0;
	return set(q, base, e, nbm);
}

int
qcow2_ext_pwrite_zeroes(struct qcow2 *q, uint64_t off, uint64_t len)
{
	int r;

	while (len) {
		size_t in = off & (q->q_cs - 1);
		size_t n = q->q_cs - in < len ? q->q_cs - in : (size_t)len;

		if ((r = zero_in_cluster(q, in, n, off - in)) < 0)
			return r;
		off += n;
		len -= n;
	}
	return 0;
}
