/*
 * Writing an overlay's own clusters into its backing file (vmimg commit).
 * The backing file is reopened read-write; the overlay's view does not
 * change, since what it shows from the backing file is now what it holds.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "lib/util.h"
#include "storage/ops.h"

#define CHUNK	(4u << 20)

static int
reopen_backing_rw(struct img *im, char *err, size_t errlen)
{
	struct img *bk = im->im_backing, *nb;
	char *path = xstrdup(bk->im_path);
	struct stat a, b;
	int r;

	r = img_open(path, bk->im_fmt, IMG_RDWR | (bk->im_flags & (IMG_DEVICES |
	    IMG_SAFE_PATH)), &nb, err, errlen);
	free(path);
	if (r < 0)
		return r;
	/*
	 * The file whose type the chain's open checked, not whatever the
	 * name points to now: we are about to write into it.
	 */
	if (fstat(bk->im_fd, &a) < 0 || fstat(nb->im_fd, &b) < 0 ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
		xsnprintf(err, errlen, "%s: the backing file was replaced while "
		    "being reopened for writing", bk->im_path);
		img_close(nb);
		return -EAGAIN;
	}
	img_close(bk);
	im->im_backing = nb;
	return 0;
}

int
img_commit(struct img *im, img_progress_fn progress, void *arg, char *err,
    size_t errlen)
{
	struct img *bk, *fail_im;
	uint64_t off = 0, pnum;
	uint8_t *buf;
	int r = 0, st;

	if (!im->im_backing) {
		xsnprintf(err, errlen, "%s: image has no backing file to commit to",
		    im->im_path);
		return -EINVAL;
	}
	if ((r = reopen_backing_rw(im, err, errlen)) < 0)
		return r;
	bk = im->im_backing;
	if (bk->im_size < im->im_size && (r = img_resize(bk, im->im_size, 0, err,
	    errlen)) < 0)
		return r;
	buf = xmalloc(CHUNK);
	while (off < im->im_size) {
		uint64_t n = im->im_size - off < CHUNK ? im->im_size - off : CHUNK;

		fail_im = im;
		if ((st = r = img_status(im, off, im->im_size - off, &pnum)) < 0)
			break;
		if (st == IMG_BS_DATA && pnum > n)
			pnum = n;	/* data goes through a CHUNK buffer */
		if (st == IMG_BS_DATA) {
			if ((r = img_pread(im, buf, pnum, off)) < 0)
				break;
			fail_im = bk;
			if ((r = img_pwrite(bk, buf, pnum, off)) < 0)
				break;
		} else if (st == IMG_BS_ZERO) {
			fail_im = bk;
			if ((r = img_pwrite_zeroes(bk, off, pnum)) < 0)
				break;
		}
		off += pnum;
		if (progress)
			progress(arg, off, im->im_size);
		r = 0;
	}
	free(buf);
	if (r == 0) {
		fail_im = bk;
		r = img_flush(bk);
	}
	if (r < 0)
		xsnprintf(err, errlen, "%s", img_errmsg(fail_im));
	return r;
}
