/* Creating images, and the provisioning calls the daemon makes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/safe_path.h"
#include "lib/util.h"
#include "storage/img.h"

int
img_create_opts(const struct img_create_opts *o, char *err, size_t errlen)
{
	struct img_create_opts c = *o;
	enum img_fmt bfmt = o->co_backing_fmt;
	int r;

	if (c.co_fmt != IMG_FMT_RAW && c.co_fmt != IMG_FMT_QCOW2) {
		xsnprintf(err, errlen, "%s: format must be raw or qcow2", c.co_path);
		return -EINVAL;
	}
	if (c.co_fmt == IMG_FMT_RAW && (c.co_zstd || c.co_extl2 || c.co_data_file ||
	    c.co_data_raw)) {
		xsnprintf(err, errlen, "%s: %s is a qcow2 option", c.co_path,
		    c.co_zstd ? "compression_type" : c.co_extl2 ? "extended_l2" :
		    "data_file");
		return -EINVAL;
	}
	if (c.co_backing && !*c.co_backing)
		c.co_backing = NULL;
	if (c.co_backing) {
		char berr[IMG_ERRLEN];
		char *bpath = img_backing_path(c.co_path, c.co_backing);
		struct img *bk;

		/* The whole chain must open: a loop or bad image is refused now. */
		r = img_open(bpath, bfmt, c.co_flags & (IMG_SAFE_PATH | IMG_DEVICES |
		    IMG_NO_BACKING), &bk, berr, sizeof(berr));
		free(bpath);
		if (r < 0) {
			xsnprintf(err, errlen, "%s: backing file: %s", c.co_path, berr);
			return r;
		}
		bfmt = bk->im_fmt;
		if (c.co_size == 0)
			c.co_size = (bk->im_size + 511) & ~511ULL;
		img_close(bk);
	}
	if (c.co_size > INT64_MAX) {
		xsnprintf(err, errlen, "%s: size too large", c.co_path);
		return -EFBIG;
	}
	if (c.co_fmt == IMG_FMT_RAW)
		return raw_create(&c, err, errlen);
	return qcow2_create(&c, c.co_backing ? img_fmt_name(bfmt) : NULL, err, errlen);
}

int
img_create(const char *path, enum img_fmt fmt, uint64_t size,
    const char *backing, enum img_fmt backing_fmt, char *err, size_t errlen)
{
	struct img_create_opts o = {
		.co_path = path, .co_fmt = fmt, .co_size = size,
		.co_backing = backing, .co_backing_fmt = backing_fmt,
		.co_excl = 1,
	};

	return img_create_opts(&o, err, errlen);
}

/*
 * The daemon's way to a disk (issue 12): no link but root's on the way,
 * and only the files the configuration names, never a backing file named
 * in a header: QEMU opens the rest of the chain itself, as its own user.
 */
#define DAEMON_FLAGS	(IMG_SAFE_PATH | IMG_NO_BACKING)

static int
daemon_create(const char *path, enum img_fmt fmt, uint64_t size,
    const char *backing, enum img_fmt backing_fmt, char *err, size_t errlen)
{
	struct img_create_opts o = {
		.co_path = path, .co_fmt = fmt, .co_size = size,
		.co_backing = backing, .co_backing_fmt = backing_fmt,
		.co_excl = 1, .co_flags = DAEMON_FLAGS,
	};

	return img_create_opts(&o, err, errlen);
}

int
img_ensure(const char *path, enum img_fmt fmt, uint64_t size,
    const char *backing, enum img_fmt backing_fmt, int *created,
    char *err, size_t errlen)
{
	struct img *im;
	int r;

	*created = 0;
	r = daemon_create(path, fmt == IMG_FMT_AUTO ? IMG_FMT_QCOW2 : fmt, size,
	    backing, backing_fmt, err, errlen);
	if (r == 0) {
		*created = 1;
		return 0;
	}
	if (r != -EEXIST)
		return r;
	/* It exists (perhaps made by a racing caller): it must open. */
	if ((r = img_open(path, fmt, DAEMON_FLAGS, &im, err, errlen)) < 0)
		return r;
	img_close(im);
	if (backing && *backing) {
		/* The configured backing file, not its chain. */
		char berr[IMG_ERRLEN], *bpath = img_backing_path(path, backing);

		r = img_open(bpath, backing_fmt, DAEMON_FLAGS, &im, berr, sizeof(berr));
		free(bpath);
		if (r < 0) {
			xsnprintf(err, errlen, "%s: backing file: %s", path, berr);
			return r;
		}
		img_close(im);
	}
	return 0;
}

int
img_overlay_fresh(const char *path, const char *backing, enum img_fmt backing_fmt,
    char *err, size_t errlen)
{
	char *tmp = xasprintf("%s.new", path), *tbase;
	const char *base;
	int dfd, r;

	if (!backing || !*backing) {
		xsnprintf(err, errlen, "%s: an overlay needs a backing file", path);
		free(tmp);
		return -EINVAL;
	}
	/* Both names beside each other, in the directory we resolved. */
	if ((dfd = sp_open_parent(path, &base, err, errlen)) < 0) {
		free(tmp);
		return dfd;
	}
	/* PATH.new sits beside PATH, so a relative backing name means the
	 * same in both; a stale one from a crash is replaced. */
	tbase = xasprintf("%s.new", base);
	(void)unlinkat(dfd, tbase, 0);
	r = daemon_create(tmp, IMG_FMT_QCOW2, 0, backing, backing_fmt, err, errlen);
	if (r == 0 && renameat(dfd, tbase, dfd, base) < 0) {
		r = -errno;
		xsnprintf(err, errlen, "%s: rename: %s", path, strerror(errno));
		(void)unlinkat(dfd, tbase, 0);
	}
	close(dfd);
	free(tbase);
	free(tmp);
	return r;
}
