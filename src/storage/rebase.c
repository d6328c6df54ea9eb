/*
 * Changing an overlay's backing file (vmimg rebase). Safe mode keeps the
 * guest-visible content: every cluster the overlay does not hold itself is
 * compared between the old and the new backing file, and copied into the
 * overlay where they differ. Unsafe mode (-u) rewrites the header only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "storage/ops.h"

#define CHUNK	(1u << 20)

/* What bk shows at [off, off+n): its data, zeros past its end or without it. */
static int
read_layer(struct img *bk, uint8_t *buf, uint64_t n, uint64_t off)
{
	uint64_t m = 0;
	int r;

	if (bk && off < bk->im_size) {
		m = bk->im_size - off < n ? bk->im_size - off : n;
		if ((r = img_pread(bk, buf, m, off)) < 0)
			return r;
	}
	memset(buf + m, 0, n - m);
	return 0;
}

static int
copy_differences(struct img *im, struct img *old, struct img *nb,
    img_progress_fn progress, void *arg, struct img **fail_im)
{
	size_t gran = im->im_cluster ? im->im_cluster : 4096;
	uint8_t *a = xmalloc(CHUNK > gran ? CHUNK : gran);
	uint8_t *b = xmalloc(CHUNK > gran ? CHUNK : gran);
	uint64_t off = 0, pnum;
	int r = 0, st;

	while (off < im->im_size) {
		uint64_t n = im->im_size - off;

		if (n > (CHUNK > gran ? CHUNK : gran))
			n = CHUNK > gran ? CHUNK : gran;
		*fail_im = im;
		if ((st = r = img_status(im, off, im->im_size - off, &pnum)) < 0)
			break;
		if (st == IMG_BS_UNALLOC && pnum > n)
			pnum = n;	/* compared through CHUNK buffers */
		if (st == IMG_BS_UNALLOC) {
			*fail_im = old;
			if ((r = read_layer(old, a, pnum, off)) < 0)
				break;
			*fail_im = nb;
			if ((r = read_layer(nb, b, pnum, off)) < 0)
				break;
			*fail_im = im;
			for (uint64_t i = 0; i < pnum; i += gran) {
				uint64_t g = pnum - i < gran ? pnum - i : gran;

				if (memcmp(a + i, b + i, g) == 0)
					continue;
				if ((r = img_pwrite(im, a + i, g, off + i)) < 0)
					goto out;
			}
		}
		off += pnum;
		if (progress)
			progress(arg, off, im->im_size);
		r = 0;
	}
out:
	free(a);
	free(b);
	return r;
}

int
img_rebase(struct img *im, const char *backing, enum img_fmt backing_fmt,
    int unsafe, img_progress_fn progress, void *arg, char *err, size_t errlen)
{
	struct img *nb = NULL, *fail_im = im;
	char berr[IMG_ERRLEN];
	int r;

	if (!im->im_ops->set_backing) {
		xsnprintf(err, errlen, "%s: format %s has no backing file", im->im_path,
		    img_fmt_name(im->im_fmt));
		return -ENOTSUP;
	}
	if (backing && !*backing)
		backing = NULL;
	if (backing) {
		char *bpath = img_backing_path(im->im_path, backing);

		/* What the overlay was allowed (vmimg --force), its new chain too. */
		r = img_open(bpath, backing_fmt, im->im_flags & (IMG_DEVICES |
		    IMG_SAFE_PATH), &nb, berr, sizeof(berr));
		free(bpath);
		if (r < 0 && !(unsafe && r == -ENOENT)) {
			xsnprintf(err, errlen, "new backing file: %s", berr);
			return r;
		}
		if (nb)
			backing_fmt = nb->im_fmt;
		if (nb && img_chain_has(nb, NULL, im->im_fd)) {
			xsnprintf(err, errlen, "%s: the new backing chain contains the "
			    "image itself", im->im_path);
			img_close(nb);
			return -ELOOP;
		}
	}
	if (!unsafe) {
		r = copy_differences(im, im->im_backing, nb, progress, arg, &fail_im);
		if (r == 0) {
			fail_im = im;
			r = img_flush(im);
		}
		if (r < 0) {
			xsnprintf(err, errlen, "%s", img_errmsg(fail_im));
			img_close(nb);
			return r;
		}
	}
	if ((r = im->im_ops->set_backing(im, backing, backing_fmt)) < 0) {
		xsnprintf(err, errlen, "%s", img_errmsg(im));
		img_close(nb);
		return r;
	}
	img_close(im->im_backing);
	im->im_backing = nb;
	return img_flush(im);
}
