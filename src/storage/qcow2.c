/* qcow2: header parsing and writing, open and close, the ops table. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util.h"
#include "storage/io.h"
#include "storage/qcow2.h"
#include "storage/qcow2_snapshot.h"

#define ERR(q, ...)	img_seterr((q)->q_img, __VA_ARGS__)

uint64_t
qcow2_l1_needed(const struct qcow2 *q, uint64_t size)
{
	uint32_t shift = q->q_cluster_bits + q->q_l2_bits;

	return (size >> shift) + ((size & ((1ULL << shift) - 1)) != 0);
}

static int
parse_exts(struct qcow2 *q, const uint8_t *h, size_t start, size_t end)
{
	size_t pos = start;

	while (pos + 8 <= end) {
		uint32_t type = qcow2_be32(h + pos), len = qcow2_be32(h + pos + 4);
		size_t padded;

		pos += 8;
		if (type == QCOW2_EXT_END)
			return 0;
		if (len > end - pos) {
			ERR(q, "header extension 0x%08x: length %u runs past the "
			    "header area (%zu bytes left)", type, len, end - pos);
			return -EINVAL;
		}
		if (type == QCOW2_EXT_BACKING_FMT) {
			if (len == 0 || len > 16) {
				ERR(q, "backing format extension: bad length %u", len);
				return -EINVAL;
			}
			free(q->q_backing_fmt);
			q->q_backing_fmt = xstrndup((const char *)h + pos, len);
		} else {
			struct qcow2_ext *e;

			if (q->q_nexts >= 64) {
				ERR(q, "more than 64 header extensions");
				return -EINVAL;
			}
			q->q_exts = xrealloc(q->q_exts, (q->q_nexts + 1) * sizeof(*e));
			e = &q->q_exts[q->q_nexts++];
			e->qe_type = type;
			e->qe_len = len;
			e->qe_data = xmalloc(len ? len : 1);
			memcpy(e->qe_data, h + pos, len);
		}
		padded = ((size_t)len + 7) & ~(size_t)7;
		if (padded > end - pos)
			break;
		pos += padded;
	}
	/* An area without an end marker: QEMU accepts that, so do we. */
	return 0;
}

static int
check_table(struct qcow2 *q, const char *what, uint64_t off, uint64_t bytes)
{
	if (off & (q->q_cs - 1)) {
		ERR(q, "%s offset 0x%llx is not cluster aligned", what,
		    (unsigned long long)off);
		return -EINVAL;
	}
	if (off == 0 && bytes) {
		ERR(q, "%s offset 0 overlaps the header", what);
		return -EINVAL;
	}
	if (off > INT64_MAX - bytes || off + bytes > q->q_file_size) {
		ERR(q, "%s (offset 0x%llx, %llu bytes) lies past the end of the "
		    "file (%llu bytes)", what, (unsigned long long)off,
		    (unsigned long long)bytes, (unsigned long long)q->q_file_size);
		return -EINVAL;
	}
	return 0;
}

/* Validate the fixed header fields; fill q. h holds hlen bytes of cluster 0. */
static int
parse_fixed(struct qcow2 *q, const uint8_t *h, size_t hlen)
{
	uint32_t crypt, rt_clusters;
	uint64_t known = QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT;

	if (hlen < QCOW2_V2_HDR_LEN || qcow2_be32(h) != QCOW2_MAGIC) {
		ERR(q, "not a qcow2 image (bad magic or file too short)");
		return -EINVAL;
	}
	q->q_version = qcow2_be32(h + 4);
	if (q->q_version != 2 && q->q_version != 3) {
		ERR(q, "unsupported qcow2 version %u", q->q_version);
		return -ENOTSUP;
	}
	q->q_cluster_bits = qcow2_be32(h + 20);
	if (q->q_cluster_bits < QCOW2_MIN_CLUSTER_BITS ||
	    q->q_cluster_bits > QCOW2_MAX_CLUSTER_BITS) {
		ERR(q, "cluster_bits %u out of range (%d..%d)", q->q_cluster_bits,
		    QCOW2_MIN_CLUSTER_BITS, QCOW2_MAX_CLUSTER_BITS);
		return -EINVAL;
	}
	q->q_cs = 1U << q->q_cluster_bits;
	q->q_l2_bits = q->q_cluster_bits - 3;
	q->q_csize_shift = 62 - (q->q_cluster_bits - 8);
	q->q_csize_mask = (1ULL << (q->q_cluster_bits - 8)) - 1;
	q->q_coff_mask = (1ULL << q->q_csize_shift) - 1;
	q->q_backing_off = qcow2_be64(h + 8);
	q->q_backing_len = qcow2_be32(h + 16);
	q->q_size = qcow2_be64(h + 24);
	crypt = qcow2_be32(h + 32);
	q->q_l1_size = qcow2_be32(h + 36);
	q->q_l1_off = qcow2_be64(h + 40);
	q->q_rt_off = qcow2_be64(h + 48);
	rt_clusters = qcow2_be32(h + 56);
	q->q_nb_snapshots = qcow2_be32(h + 60);
	q->q_snapshots_off = qcow2_be64(h + 64);
	if (q->q_version == 2) {
		q->q_header_len = QCOW2_V2_HDR_LEN;
		q->q_refcount_order = 4;
	} else {
		if (hlen < QCOW2_V3_HDR_LEN) {
			ERR(q, "file too short for a version 3 header");
			return -EINVAL;
		}
		q->q_incompat = qcow2_be64(h + 72);
		q->q_compat = qcow2_be64(h + 80);
		q->q_autoclear = qcow2_be64(h + 88);
		q->q_refcount_order = qcow2_be32(h + 96);
		q->q_header_len = qcow2_be32(h + 100);
		if (q->q_header_len < QCOW2_V3_HDR_LEN || q->q_header_len > hlen) {
			ERR(q, "header_length %u out of range (%d..%zu)",
			    q->q_header_len, QCOW2_V3_HDR_LEN, hlen);
			return -EINVAL;
		}
	}
	if (q->q_incompat & QCOW2_INCOMPAT_DATAFILE) {
		q->q_datafile = 1;	/* the name: qcow2_df_parse() */
		q->q_data_fd = -1;
		known |= QCOW2_INCOMPAT_DATAFILE;
	}
	if (q->q_incompat & QCOW2_INCOMPAT_EXTL2) {
		if (q->q_cluster_bits < QCOW2_EXTL2_MIN_BITS) {
			ERR(q, "extended L2 entries with cluster_bits %u (needs at "
			    "least %d)", q->q_cluster_bits, QCOW2_EXTL2_MIN_BITS);
			return -EINVAL;
		}
		/* 128-bit entries: half as many per table. */
		q->q_extl2 = 1;
		q->q_l2_bits = q->q_cluster_bits - 4;
		known |= QCOW2_INCOMPAT_EXTL2;
	}
	/* The field counts only with its feature bit (spec: a zero without
	 * the bit, a non-zero value with it; QEMU refuses the other mixes). */
	q->q_ctype = q->q_header_len > 104 ? h[104] : QCOW2_COMP_ZLIB;
	if (!!(q->q_incompat & QCOW2_INCOMPAT_COMPTYPE) !=
	    (q->q_ctype != QCOW2_COMP_ZLIB)) {
		ERR(q, "compression_type %u does not match the compression type "
		    "feature bit (%s)", q->q_ctype,
		    q->q_incompat & QCOW2_INCOMPAT_COMPTYPE ? "set" : "clear");
		return -EINVAL;
	}
	if (q->q_ctype != QCOW2_COMP_ZLIB && q->q_ctype != QCOW2_COMP_ZSTD) {
		ERR(q, "compression_type %u is not supported (zlib or zstd)",
		    q->q_ctype);
		return -ENOTSUP;
	}
	known |= QCOW2_INCOMPAT_COMPTYPE;
	if (q->q_incompat & ~known) {
		ERR(q, "unsupported incompatible_features 0x%llx",
		    (unsigned long long)(q->q_incompat & ~known));
		return -ENOTSUP;
	}
	/* Decrypting would need the key and LUKS (or the broken AES-CBC)
	 * here; qemu-img can make a plain copy. */
	if (crypt != 0) {
		ERR(q, "crypt_method %u (%s): encrypted images are not supported; "
		    "qemu-img convert with the key makes a decrypted copy", crypt,
		    crypt == 1 ? "AES" : crypt == 2 ? "LUKS" : "unknown");
		return -ENOTSUP;
	}
	if (q->q_refcount_order > 6) {
		ERR(q, "refcount_order %u out of range (0..6)", q->q_refcount_order);
		return -EINVAL;
	}
	q->q_rb_bits = q->q_cluster_bits + 3 - q->q_refcount_order;
	if (q->q_size > (1ULL << 62)) {
		ERR(q, "size %llu is too large", (unsigned long long)q->q_size);
		return -EINVAL;
	}
	if ((uint64_t)q->q_l1_size * 8 > QCOW2_MAX_L1_BYTES) {
		ERR(q, "l1_size %u exceeds the %u MiB limit", q->q_l1_size,
		    QCOW2_MAX_L1_BYTES >> 20);
		return -EFBIG;
	}
	if (q->q_l1_size < qcow2_l1_needed(q, q->q_size)) {
		ERR(q, "l1_size %u too small for size %llu (needs %llu)",
		    q->q_l1_size, (unsigned long long)q->q_size,
		    (unsigned long long)qcow2_l1_needed(q, q->q_size));
		return -EINVAL;
	}
	if (rt_clusters == 0 || (uint64_t)rt_clusters << q->q_cluster_bits >
	    QCOW2_MAX_RT_BYTES) {
		ERR(q, "refcount_table_clusters %u out of range (1..%u)",
		    rt_clusters, QCOW2_MAX_RT_BYTES >> q->q_cluster_bits);
		return -EINVAL;
	}
	q->q_rt_clusters = rt_clusters;
	q->q_rt_entries = ((uint64_t)rt_clusters << q->q_cluster_bits) / 8;
	if (q->q_nb_snapshots > QCOW2_MAX_SNAPSHOTS) {
		ERR(q, "nb_snapshots %u exceeds %d", q->q_nb_snapshots,
		    QCOW2_MAX_SNAPSHOTS);
		return -EINVAL;
	}
	if (q->q_nb_snapshots && (q->q_snapshots_off & (q->q_cs - 1))) {
		ERR(q, "snapshots_offset 0x%llx is not cluster aligned",
		    (unsigned long long)q->q_snapshots_off);
		return -EINVAL;
	}
	return 0;
}

int
qcow2_parse(struct img *im, struct qcow2 *q)
{
	uint8_t *h;
	size_t hlen;
	off_t end;
	int r;

	q->q_img = im;
	q->q_fd = im->im_fd;
	end = lseek(im->im_fd, 0, SEEK_END);
	if (end < 0) {
		ERR(q, "lseek: %s", strerror(errno));
		return -errno;
	}
	q->q_file_size = (uint64_t)end;
	/* Cluster 0 holds the header, its extensions and the backing name. */
	hlen = q->q_file_size < (1U << QCOW2_MAX_CLUSTER_BITS) ?
	    (size_t)q->q_file_size : 1U << QCOW2_MAX_CLUSTER_BITS;
	if (hlen < QCOW2_V2_HDR_LEN) {
		ERR(q, "file too short (%zu bytes) for a qcow2 header", hlen);
		return -EINVAL;
	}
	h = xmalloc(hlen);
	if ((r = io_pread(q->q_fd, h, hlen, 0)) < 0) {
		ERR(q, "reading the header: %s", strerror(-r));
		goto out;
	}
	if ((r = parse_fixed(q, h, hlen)) < 0)
		goto out;
	if (hlen > q->q_cs)
		hlen = q->q_cs;
	if (q->q_header_len > hlen) {
		ERR(q, "header_length %u exceeds the first cluster", q->q_header_len);
		r = -EINVAL;
		goto out;
	}
	if (q->q_backing_off && q->q_backing_len) {
		if (q->q_backing_len > QCOW2_MAX_BACKING_NAME) {
			ERR(q, "backing_file_size %u exceeds %d", q->q_backing_len,
			    QCOW2_MAX_BACKING_NAME);
			r = -EINVAL;
			goto out;
		}
		if (q->q_backing_off < q->q_header_len || q->q_backing_len > hlen ||
		    q->q_backing_off > hlen - q->q_backing_len) {
			ERR(q, "backing_file_offset %llu (+%u) outside the first "
			    "cluster", (unsigned long long)q->q_backing_off,
			    q->q_backing_len);
			r = -EINVAL;
			goto out;
		}
		if (memchr(h + q->q_backing_off, 0, q->q_backing_len)) {
			ERR(q, "backing file name contains a NUL byte");
			r = -EINVAL;
			goto out;
		}
		im->im_backing_name = xstrndup((const char *)h + q->q_backing_off,
		    q->q_backing_len);
	}
	r = parse_exts(q, h, q->q_header_len,
	    im->im_backing_name ? (size_t)q->q_backing_off : hlen);
	if (r < 0 || (r = qcow2_df_parse(q)) < 0)
		goto out;
	if (q->q_backing_fmt) {
		if (img_fmt_parse(q->q_backing_fmt, &im->im_backing_fmt) < 0) {
			ERR(q, "backing format \"%s\" is not supported",
			    q->q_backing_fmt);
			r = -ENOTSUP;
			goto out;
		}
	}
	if ((r = check_table(q, "l1_table", q->q_l1_off,
	    (uint64_t)q->q_l1_size * 8)) < 0)
		goto out;
	if ((r = check_table(q, "refcount_table", q->q_rt_off,
	    (uint64_t)q->q_rt_clusters << q->q_cluster_bits)) < 0)
		goto out;
	r = 0;
out:
	free(h);
	return r;
}

static int
read_table(struct qcow2 *q, const char *what, uint64_t off, uint64_t n,
    uint64_t **out)
{
	uint8_t *raw;
	uint64_t *t;
	int r;

	t = xcalloc(n ? n : 1, sizeof(*t));
	raw = (uint8_t *)t;
	if (n && (r = io_pread(q->q_fd, raw, n * 8, off)) < 0) {
		ERR(q, "reading the %s: %s", what, strerror(-r));
		free(t);
		return r;
	}
	for (uint64_t i = 0; i < n; i++)
		t[i] = qcow2_be64(raw + i * 8);
	*out = t;
	return 0;
}

int
qcow2_read_l1(struct qcow2 *q)
{
	free(q->q_l1);
	q->q_l1 = NULL;
	return read_table(q, "L1 table", q->q_l1_off, q->q_l1_size, &q->q_l1);
}

int
qcow2_read_rt(struct qcow2 *q)
{
	free(q->q_rt);
	q->q_rt = NULL;
	return read_table(q, "refcount table", q->q_rt_off, q->q_rt_entries, &q->q_rt);
}

/*
 * Rewrite cluster 0's used part: fixed header, extensions, end marker and
 * the backing file name. One pwrite, so a crash leaves old or new.
 */
int
qcow2_write_header(struct qcow2 *q)
{
	struct img *im = q->q_img;
	size_t hl = q->q_version == 2 ? QCOW2_V2_HDR_LEN :
	    (q->q_header_len > 112 ? q->q_header_len : 112);
	size_t cap = q->q_cs, pos;
	uint8_t *h;
	int r;

	h = xcalloc(1, cap);
	if (q->q_version == 3 && q->q_header_len > 112 &&
	    (r = io_pread(q->q_fd, h, q->q_header_len, 0)) < 0) {
		ERR(q, "re-reading the header: %s", strerror(-r));
		free(h);
		return r;
	}
	qcow2_put32(h, QCOW2_MAGIC);
	qcow2_put32(h + 4, q->q_version);
	qcow2_put32(h + 20, q->q_cluster_bits);
	qcow2_put64(h + 24, q->q_size);
	qcow2_put32(h + 32, 0);
	qcow2_put32(h + 36, q->q_l1_size);
	qcow2_put64(h + 40, q->q_l1_off);
	qcow2_put64(h + 48, q->q_rt_off);
	qcow2_put32(h + 56, q->q_rt_clusters);
	qcow2_put32(h + 60, q->q_nb_snapshots);
	qcow2_put64(h + 64, q->q_snapshots_off);
	if (q->q_version == 3) {
		qcow2_put64(h + 72, q->q_incompat);
		qcow2_put64(h + 80, q->q_compat);
		qcow2_put64(h + 88, q->q_autoclear);
		qcow2_put32(h + 96, q->q_refcount_order);
		qcow2_put32(h + 100, (uint32_t)hl);
		h[104] = q->q_ctype;
		q->q_header_len = (uint32_t)hl;
	}
	/* Each piece must fit with the 8-byte end marker still after it: a
	 * header_length near the cluster size leaves no room at all. */
	pos = hl;
	if (pos + 8 > cap)
		goto toobig;
	if (q->q_backing_fmt) {
		size_t l = strlen(q->q_backing_fmt);

		if (8 + ((l + 7) & ~(size_t)7) + 8 > cap - pos)
			goto toobig;
		qcow2_put32(h + pos, QCOW2_EXT_BACKING_FMT);
		qcow2_put32(h + pos + 4, (uint32_t)l);
		memcpy(h + pos + 8, q->q_backing_fmt, l);
		pos += 8 + ((l + 7) & ~(size_t)7);
	}
	for (size_t i = 0; i < q->q_nexts; i++) {
		struct qcow2_ext *e = &q->q_exts[i];
		size_t l = ((size_t)e->qe_len + 7) & ~(size_t)7;

		if (8 + l + 8 > cap - pos)
			goto toobig;
		qcow2_put32(h + pos, e->qe_type);
		qcow2_put32(h + pos + 4, e->qe_len);
		memcpy(h + pos + 8, e->qe_data, e->qe_len);
		pos += 8 + l;
	}
	pos += 8;	/* end marker: already zero */
	if (im->im_backing_name) {
		size_t l = strlen(im->im_backing_name);

		if (l > cap - pos)
			goto toobig;
		memcpy(h + pos, im->im_backing_name, l);
		qcow2_put64(h + 8, pos);
		qcow2_put32(h + 16, (uint32_t)l);
		q->q_backing_off = pos;
		q->q_backing_len = (uint32_t)l;
		pos += l;
	} else {
		q->q_backing_off = 0;
		q->q_backing_len = 0;
	}
	r = io_pwrite(q->q_fd, h, pos, 0);
	free(h);
	if (r < 0)
		ERR(q, "writing the header: %s", strerror(-r));
	return r;
toobig:
	free(h);
	ERR(q, "header, extensions and backing file name do not fit in the "
	    "first cluster (%u bytes)", q->q_cs);
	return -ENOSPC;
}

int
qcow2_flush_all(struct qcow2 *q)
{
	int r;

	if (!q->q_rw)
		return 0;
	if ((r = qcow2_cache_flush(q, &q->q_rbc)) < 0 ||
	    (r = qcow2_flush_rt(q)) < 0 ||
	    (r = qcow2_cache_flush(q, &q->q_l2c)) < 0)
		return r;
	/* Compressed data may end inside the last cluster: cover it whole. */
	if (q->q_next_free > q->q_file_size) {
		if (ftruncate(q->q_fd, (off_t)q->q_next_free) < 0) {
			ERR(q, "extending the file: %s", strerror(errno));
			return -errno;
		}
		q->q_file_size = q->q_next_free;
	}
	if (q->q_datafile && q->q_data_fd >= 0 && fdatasync(q->q_data_fd) < 0) {
		ERR(q, "external data file: fdatasync: %s", strerror(errno));
		return -errno;
	}
	if (fdatasync(q->q_fd) < 0) {
		ERR(q, "fdatasync: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static int
qcow2_flush(struct img *im)
{
	return qcow2_flush_all(qcow2_of(im));
}

void
qcow2_free(struct qcow2 *q)
{
	if (!q)
		return;
	qcow2_cache_free(&q->q_l2c);
	qcow2_cache_free(&q->q_rbc);
	for (size_t i = 0; i < q->q_nexts; i++)
		free(q->q_exts[i].qe_data);
	free(q->q_exts);
	free(q->q_backing_fmt);
	free(q->q_l1);
	free(q->q_rt);
	qcow2_sn_free(q->q_snaps, q->q_nb_snapshots);
	free(q->q_cbuf);
	free(q->q_dbuf);
	qcow2_zstd_free(q);
	qcow2_df_close(q);
	free(q);
}

static void
qcow2_close(struct img *im)
{
	struct qcow2 *q = qcow2_of(im);

	if (!q)
		return;
	if (q->q_rw)
		(void)qcow2_flush_all(q);
	qcow2_free(q);
	im->im_priv = NULL;
}

static int
qcow2_set_backing(struct img *im, const char *name, enum img_fmt fmt)
{
	struct qcow2 *q = qcow2_of(im);

	if (name && strlen(name) > QCOW2_MAX_BACKING_NAME) {
		ERR(q, "backing file name longer than %d bytes",
		    QCOW2_MAX_BACKING_NAME);
		return -ENAMETOOLONG;
	}
	free(im->im_backing_name);
	free(q->q_backing_fmt);
	im->im_backing_name = name ? xstrdup(name) : NULL;
	q->q_backing_fmt = name && fmt != IMG_FMT_AUTO ?
	    xstrdup(img_fmt_name(fmt)) : NULL;
	im->im_backing_fmt = name ? fmt : IMG_FMT_AUTO;
	return qcow2_write_header(q);
}

static void
qcow2_info(struct img *im, struct img_info *ii)
{
	struct qcow2 *q = qcow2_of(im);

	ii->ii_compat = (int)q->q_version;
	ii->ii_refcount_bits = 1 << q->q_refcount_order;
	ii->ii_lazy_refcounts = !!(q->q_compat & QCOW2_COMPAT_LAZY);
	ii->ii_corrupt = !!(q->q_incompat & QCOW2_INCOMPAT_CORRUPT);
	ii->ii_dirty = !!(q->q_incompat & QCOW2_INCOMPAT_DIRTY);
	ii->ii_nb_snapshots = q->q_nb_snapshots;
	ii->ii_zstd = q->q_ctype == QCOW2_COMP_ZSTD;
	ii->ii_extl2 = q->q_extl2;
	if (q->q_datafile) {
		ii->ii_data_file = xstrdup(q->q_data_name);
		ii->ii_data_raw = q->q_data_raw;
	}
}

static const struct img_ops qcow2_ops = {
	.name = "qcow2",
	.pread = qcow2_pread,
	.pwrite = qcow2_pwrite,
	.flush = qcow2_flush,
	.close = qcow2_close,
	.status = qcow2_status,
	.pwrite_zeroes = qcow2_pwrite_zeroes,
	.pwrite_compressed = qcow2_pwrite_compressed,
	.truncate = qcow2_truncate,
	.set_backing = qcow2_set_backing,
	.info = qcow2_info,
};

static int
open_rw_checks(struct qcow2 *q)
{
	int force = !!(q->q_img->im_flags & IMG_FORCE);

	if (!force && (q->q_incompat & QCOW2_INCOMPAT_CORRUPT)) {
		ERR(q, "image is marked corrupt: run vmimg check -r all");
		return -EUCLEAN;
	}
	if (!force && (q->q_incompat & QCOW2_INCOMPAT_DIRTY)) {
		ERR(q, "image is dirty (lazy refcounts): run vmimg check -r all");
		return -EUCLEAN;
	}
	/* Autoclear bits we do not understand (bitmaps: bit 0) must be
	 * cleared by a writer, so their readers know the data went stale;
	 * a repair writes too. The raw data file bit we keep true. */
	if (q->q_version == 3 && (q->q_autoclear & ~QCOW2_AUTOCLEAR_DATA_RAW)) {
		q->q_autoclear &= QCOW2_AUTOCLEAR_DATA_RAW;
		return qcow2_write_header(q);
	}
	return 0;
}

int
qcow2_open(struct img *im)
{
	struct qcow2 *q = xcalloc(1, sizeof(*q));
	uint64_t end;
	size_t slots;
	int r;

	im->im_priv = q;
	if ((r = qcow2_parse(im, q)) < 0 || (r = qcow2_read_l1(q)) < 0 ||
	    (r = qcow2_read_rt(q)) < 0 || (r = qcow2_df_open(q)) < 0 ||
	    (r = qcow2_sn_read(q)) < 0)
		goto fail;
	q->q_rw = !!(im->im_flags & IMG_RDWR);
	/* Caches of about 4 MiB each, at least 4 tables. */
	slots = (4u << 20) >> q->q_cluster_bits;
	slots = slots < 4 ? 4 : slots > 64 ? 64 : slots;
	qcow2_cache_init(&q->q_l2c, slots, q->q_cs, 1);
	qcow2_cache_init(&q->q_rbc, slots, q->q_cs, 0);
	q->q_cbuf = xmalloc(2 * (size_t)q->q_cs);
	q->q_dbuf = xmalloc(q->q_cs);
	end = q->q_file_size;
	if (q->q_l1_off + (uint64_t)q->q_l1_size * 8 > end)
		end = q->q_l1_off + (uint64_t)q->q_l1_size * 8;
	q->q_next_free = (end + q->q_cs - 1) & ~((uint64_t)q->q_cs - 1);
	if (q->q_next_free < q->q_cs)
		q->q_next_free = q->q_cs;
	im->im_size = q->q_size;
	im->im_cluster = q->q_cs;
	im->im_ops = &qcow2_ops;
	if (q->q_rw && (r = open_rw_checks(q)) < 0)
		goto fail;
	return 0;
fail:
	q->q_rw = 0;
	qcow2_free(q);
	im->im_priv = NULL;
	im->im_ops = NULL;
	return r;
}
