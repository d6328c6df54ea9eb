/*
 * Copying an image's guest-visible content into a new image (vmimg
 * convert). Zero ranges are found from the source's block status first and
 * by scanning what was read second; the target is fresh, so they are
 * simply not written (sparse output).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "storage/img.h"
#include "storage/ops.h"

#define CHUNK	(16u << 20)

static int
copy_err(char *err, size_t errlen, struct img *im, int r)
{
	xsnprintf(err, errlen, "%s", img_errmsg(im));
	return r;
}

/* Write buf (n bytes at off), skipping zero pieces of gran bytes. */
static int
write_sparse(struct img *dst, const uint8_t *buf, size_t n, uint64_t off,
    size_t gran, int compress)
{
	size_t i = 0, j;
	int r;

	while (i < n) {
		size_t g = n - i < gran ? n - i : gran;

		if (img_is_zero(buf + i, g)) {
			i += g;
			continue;
		}
		if (compress)	/* the backend skips zero clusters itself */
			return dst->im_ops->pwrite_compressed(dst, buf, n, off);
		for (j = i + g; j < n; j += g) {
			g = n - j < gran ? n - j : gran;
			if (img_is_zero(buf + j, g))
				break;
		}
		if ((r = img_pwrite(dst, buf + i, j - i, off + i)) < 0)
			return r;
		i = j;
	}
	return 0;
}

int
img_copy(struct img *src, struct img *dst, int compress,
    img_progress_fn progress, void *arg, char *err, size_t errlen)
{
	uint64_t size = src->im_size < dst->im_size ? src->im_size : dst->im_size;
	size_t gran = dst->im_cluster ? dst->im_cluster : 4096;
	size_t chunk = CHUNK > gran ? CHUNK : gran;
	uint64_t off = 0, pnum;
	uint8_t *buf;
	int r = 0, st;

	if (compress && !dst->im_ops->pwrite_compressed) {
		xsnprintf(err, errlen, "%s: format %s cannot hold compressed data",
		    dst->im_path, img_fmt_name(dst->im_fmt));
		return -ENOTSUP;
	}
	buf = xmalloc(chunk);
	while (off < size) {
		size_t n = size - off < chunk ? (size_t)(size - off) : chunk;

		/* Ask about the whole rest: sparse tails are skipped at once. */
		st = img_status_chain(src, off, size - off, &pnum);
		if (st < 0) {
			r = copy_err(err, errlen, src, st);
			break;
		}
		/* A known-zero run of whole granules: nothing to write. */
		if (st == IMG_BS_ZERO && off % gran == 0 &&
		    (pnum >= gran || off + pnum == size)) {
			off += off + pnum == size ? pnum : pnum / gran * gran;
			if (progress)
				progress(arg, off, size);
			continue;
		}
		if ((r = img_pread(src, buf, n, off)) < 0) {
			r = copy_err(err, errlen, src, r);
			break;
		}
		if ((r = write_sparse(dst, buf, n, off, gran, compress)) < 0) {
			r = copy_err(err, errlen, dst, r);
			break;
		}
		off += n;
		if (progress)
			progress(arg, off, size);
	}
	free(buf);
	if (r == 0 && (r = img_flush(dst)) < 0)
		r = copy_err(err, errlen, dst, r);
	return r;
}

int
img_convert(const struct img_convert_opts *o, char *err, size_t errlen)
{
	struct img_create_opts co = {
		.co_path = o->cv_dst, .co_fmt = o->cv_dst_fmt,
		.co_cluster_size = o->cv_cluster_size, .co_compat = o->cv_compat,
		.co_zstd = o->cv_zstd, .co_extl2 = o->cv_extl2,
		.co_data_file = o->cv_data_file, .co_data_raw = o->cv_data_raw,
	};
	struct img *src, *dst;
	int r;

	if (o->cv_compress && o->cv_dst_fmt != IMG_FMT_QCOW2) {
		xsnprintf(err, errlen, "compression (-c) needs qcow2 output");
		return -EINVAL;
	}
	if (o->cv_compress && o->cv_data_file) {
		xsnprintf(err, errlen, "compression (-c) is not possible with an "
		    "external data file (data_file)");
		return -EINVAL;
	}
	if ((r = img_open(o->cv_src, o->cv_src_fmt, o->cv_flags & IMG_DEVICES, &src,
	    err, errlen)) < 0)
		return r;
	/* Creating the target truncates it (and its data file): it must not
	 * be what we read. */
	if (img_chain_has(src, o->cv_dst, -1)) {
		xsnprintf(err, errlen, "%s: the target is the source image or one "
		    "of its backing or data files", o->cv_dst);
		img_close(src);
		return -EINVAL;
	}
	if (o->cv_data_file) {
		char *dpath = img_backing_path(o->cv_dst, o->cv_data_file);

		r = img_chain_has(src, dpath, -1);
		free(dpath);
		if (r) {
			xsnprintf(err, errlen, "%s: the data file is the source image "
			    "or one of its backing or data files", o->cv_data_file);
			img_close(src);
			return -EINVAL;
		}
	}
	co.co_size = o->cv_dst_fmt == IMG_FMT_QCOW2 ?
	    (src->im_size + 511) & ~511ULL : src->im_size;
	if ((r = img_create_opts(&co, err, errlen)) < 0)
		goto out;
	if ((r = img_open(o->cv_dst, o->cv_dst_fmt, IMG_RDWR, &dst, err, errlen)) < 0)
		goto out;
	r = img_copy(src, dst, o->cv_compress, o->cv_progress, o->cv_arg, err, errlen);
	img_close(dst);
out:
	img_close(src);
	return r;
}
