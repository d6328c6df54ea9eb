/*
 * Creating a qcow2 image. The layout matches qemu-img's: header in cluster
 * 0, refcount table in cluster 1, the first refcount block in cluster 2,
 * then the L1 table. The allocator in qcow2_refcount.c lays out the rest, so
 * small clusters (many refcount blocks, a bigger table) need no special case.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util.h"
#include "storage/io.h"
#include "storage/qcow2.h"

static int
build(struct qcow2 *q, const struct img_create_opts *o, const char *backing_fmt)
{
	uint64_t l1off, ncl, need;
	uint8_t *buf;
	int r;

	q->q_version = o->co_compat ? (uint32_t)o->co_compat : 3;
	q->q_cluster_bits = (uint32_t)__builtin_ctz(q->q_cs);
	q->q_l2_bits = q->q_cluster_bits - 3;
	q->q_csize_shift = 62 - (q->q_cluster_bits - 8);
	q->q_csize_mask = (1ULL << (q->q_cluster_bits - 8)) - 1;
	q->q_coff_mask = (1ULL << q->q_csize_shift) - 1;
	q->q_refcount_order = (uint32_t)__builtin_ctz(o->co_refcount_bits ?
	    (unsigned)o->co_refcount_bits : 16);
	q->q_rb_bits = q->q_cluster_bits + 3 - q->q_refcount_order;
	q->q_size = o->co_size;
	q->q_header_len = q->q_version == 2 ? QCOW2_V2_HDR_LEN : 112;
	if (o->co_extl2) {
		q->q_extl2 = 1;
		q->q_l2_bits--;		/* 128-bit entries */
		q->q_incompat |= QCOW2_INCOMPAT_EXTL2;
	}
	if (o->co_zstd) {
		q->q_ctype = QCOW2_COMP_ZSTD;
		q->q_incompat |= QCOW2_INCOMPAT_COMPTYPE;
	}
	q->q_rw = 1;
	q->q_rt_entries = q->q_cs / 8;
	q->q_rt = xcalloc(q->q_rt_entries, sizeof(*q->q_rt));
	q->q_rt_off = q->q_cs;
	q->q_rt_clusters = 1;
	q->q_rt[0] = 2ULL * q->q_cs;
	q->q_rt_dirty = 1;
	q->q_next_free = 3ULL * q->q_cs;
	qcow2_cache_init(&q->q_l2c, 4, q->q_cs, 1);
	qcow2_cache_init(&q->q_rbc, 4, q->q_cs, 0);
	if ((r = qcow2_cache_get(q, &q->q_rbc, q->q_rt[0], 1, &buf)) < 0)
		return r;
	for (uint64_t c = 0; c < 3; c++)
		if ((r = qcow2_rc_set(q, c * q->q_cs, 1)) < 0)
			return r;
	need = qcow2_l1_needed(q, q->q_size);
	if (need * 8 > QCOW2_MAX_L1_BYTES) {
		img_seterr(q->q_img, "size %llu needs an L1 table over %u MiB: use a "
		    "bigger cluster size", (unsigned long long)q->q_size,
		    QCOW2_MAX_L1_BYTES >> 20);
		return -EFBIG;
	}
	ncl = (need * 8 + q->q_cs - 1) / q->q_cs;
	if ((r = qcow2_alloc_clusters(q, ncl ? ncl : 1, &l1off)) < 0)
		return r;
	q->q_l1_off = l1off;
	q->q_l1_size = (uint32_t)need;
	q->q_l1 = xcalloc(need ? need : 1, sizeof(*q->q_l1));
	if (backing_fmt)
		q->q_backing_fmt = xstrdup(backing_fmt);
	if ((r = qcow2_df_create(q, o)) < 0 || (r = qcow2_write_header(q)) < 0 ||
	    (r = qcow2_df_finish_create(q)) < 0)
		return r;
	/* The new file reads as zeros: the L1 table needs no writing. */
	return qcow2_flush_all(q);
}

int
qcow2_create(const struct img_create_opts *o, const char *backing_fmt,
    char *err, size_t errlen)
{
	struct img im = { .im_fd = -1, .im_flags = IMG_RDWR };
	struct qcow2 *q;
	uint32_t cs = o->co_cluster_size ? o->co_cluster_size : 65536;
	int rb = o->co_refcount_bits ? o->co_refcount_bits : 16;
	int r;

	if (cs < 512 || cs > (2u << 20) || (cs & (cs - 1))) {
		xsnprintf(err, errlen, "cluster_size %u: must be a power of two "
		    "from 512 to 2M", cs);
		return -EINVAL;
	}
	if (rb < 1 || rb > 64 || (rb & (rb - 1)) ||
	    (o->co_compat == 2 && rb != 16)) {
		xsnprintf(err, errlen, "refcount_bits %d: must be a power of two "
		    "up to 64 (16 for compat 0.10)", rb);
		return -EINVAL;
	}
	if (o->co_compat && o->co_compat != 2 && o->co_compat != 3) {
		xsnprintf(err, errlen, "compat %d: must be 2 (0.10) or 3 (1.1)",
		    o->co_compat);
		return -EINVAL;
	}
	if (o->co_zstd && o->co_compat == 2) {
		xsnprintf(err, errlen, "compression_type=zstd needs compat=1.1 "
		    "(the field is in the version 3 header)");
		return -EINVAL;
	}
	if (o->co_extl2 &&
	    (o->co_compat == 2 || cs < (1u << QCOW2_EXTL2_MIN_BITS))) {
		xsnprintf(err, errlen, "extended_l2=on needs compat=1.1 and a "
		    "cluster_size of at least %uK", (1u << QCOW2_EXTL2_MIN_BITS) >> 10);
		return -EINVAL;
	}
	if (o->co_data_raw && !o->co_data_file) {
		xsnprintf(err, errlen, "data_file_raw=on needs a data_file");
		return -EINVAL;
	}
	if (o->co_data_file && (o->co_compat == 2 || (o->co_data_raw &&
	    o->co_backing))) {
		xsnprintf(err, errlen, "data_file needs compat=1.1, and "
		    "data_file_raw=on excludes a backing file");
		return -EINVAL;
	}
	if (o->co_data_file && strlen(o->co_data_file) > QCOW2_MAX_BACKING_NAME) {
		xsnprintf(err, errlen, "data_file name longer than %d bytes",
		    QCOW2_MAX_BACKING_NAME);
		return -ENAMETOOLONG;
	}
	if (o->co_size & 511) {
		xsnprintf(err, errlen, "size %llu: must be a multiple of 512",
		    (unsigned long long)o->co_size);
		return -EINVAL;
	}
	if (o->co_backing && strlen(o->co_backing) > QCOW2_MAX_BACKING_NAME) {
		xsnprintf(err, errlen, "backing file name longer than %d bytes",
		    QCOW2_MAX_BACKING_NAME);
		return -ENAMETOOLONG;
	}
	im.im_path = (char *)o->co_path;
	im.im_fd = img_create_file(o->co_path, o->co_excl, o->co_flags, err, errlen);
	if (im.im_fd < 0)
		return im.im_fd;
	im.im_backing_name = o->co_backing ? xstrdup(o->co_backing) : NULL;
	q = xcalloc(1, sizeof(*q));
	q->q_data_fd = -1;
	q->q_img = &im;
	q->q_fd = im.im_fd;
	q->q_cs = cs;
	im.im_priv = q;
	r = build(q, o, backing_fmt);
	if (r < 0)
		xsnprintf(err, errlen, "%s", img_errmsg(&im));
	q->q_rw = 0;
	qcow2_free(q);
	free(im.im_backing_name);
	if (r < 0)
		img_unlink_created(o->co_path, im.im_fd, o->co_flags);
	if (close(im.im_fd) < 0 && r == 0) {
		r = -errno;
		xsnprintf(err, errlen, "%s: close: %s", o->co_path, strerror(errno));
		img_unlink_created(o->co_path, -1, o->co_flags);
	}
	return r;
}
