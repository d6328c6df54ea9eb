/* Opening an image: format probe, backend ops, and the backing chain. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util.h"
#include "storage/img.h"

static const char *const fmt_names[] = {
	[IMG_FMT_AUTO] = "auto", [IMG_FMT_RAW] = "raw", [IMG_FMT_QCOW2] = "qcow2",
};

const char *
img_fmt_name(enum img_fmt fmt)
{
	if ((unsigned)fmt < sizeof(fmt_names) / sizeof(fmt_names[0]))
		return fmt_names[fmt];
	return "?";
}

int
img_fmt_parse(const char *s, enum img_fmt *out)
{
	if (strcmp(s, "raw") == 0)
		*out = IMG_FMT_RAW;
	else if (strcmp(s, "qcow2") == 0)
		*out = IMG_FMT_QCOW2;
	else
		return -EINVAL;
	return 0;
}

/* Formats we recognise but do not read: refusing beats showing the bytes raw. */
static const struct { const char *magic; size_t len; const char *name; } foreign[] = {
	{ "QFI\xfb", 4, NULL },			/* qcow (checked by version) */
	{ "KDMV", 4, "vmdk" },
	{ "<<< Oracle VM VirtualBox Disk Image >>>", 39, "vdi" },
	{ "QED\0", 4, "qed" },
	{ "conectix", 8, "vpc" },
	{ "vhdxfile", 8, "vhdx" },
};

int
img_probe(int fd, enum img_fmt *out, char *err, size_t errlen)
{
	unsigned char buf[64];
	ssize_t n;

	n = pread(fd, buf, sizeof(buf), 0);
	if (n < 0) {
		xsnprintf(err, errlen, "reading the header: %s", strerror(errno));
		return -errno;
	}
	if (n >= 8 && memcmp(buf, "QFI\xfb", 4) == 0) {
		uint32_t v = (uint32_t)buf[4] << 24 | buf[5] << 16 | buf[6] << 8 | buf[7];
		if (v == 1) {
			xsnprintf(err, errlen, "qcow version 1 images are not supported");
			return -ENOTSUP;
		}
		*out = IMG_FMT_QCOW2;
		return 0;
	}
	for (size_t i = 1; i < sizeof(foreign) / sizeof(foreign[0]); i++) {
		if ((size_t)n >= foreign[i].len &&
		    memcmp(buf, foreign[i].magic, foreign[i].len) == 0) {
			xsnprintf(err, errlen, "%s images are not supported",
			    foreign[i].name);
			return -ENOTSUP;
		}
	}
	*out = IMG_FMT_RAW;
	return 0;
}

char *
img_backing_path(const char *overlay, const char *name)
{
	const char *slash;

	if (name[0] == '/' || !(slash = strrchr(overlay, '/')))
		return xstrdup(name);
	return xasprintf("%.*s/%s", (int)(slash - overlay), overlay, name);
}

int
img_chain_has(const struct img *chain, const char *path, int fd)
{
	struct stat want, st;

	if (fd >= 0 ? fstat(fd, &want) < 0 : stat(path, &want) < 0)
		return 0;
	for (const struct img *p = chain; p; p = p->im_backing) {
		int dfd = p->im_fmt == IMG_FMT_QCOW2 ? qcow2_img_data_fd(p) : -1;

		if (fstat(p->im_fd, &st) == 0 && st.st_dev == want.st_dev &&
		    st.st_ino == want.st_ino)
			return 1;
		/* an external data file is read as much as the image */
		if (dfd >= 0 && fstat(dfd, &st) == 0 && st.st_dev == want.st_dev &&
		    st.st_ino == want.st_ino)
			return 1;
	}
	return 0;
}

void
img_seterr(struct img *im, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(im->im_err, sizeof(im->im_err), "%s: ", im->im_path);
	if (n < 0 || (size_t)n >= sizeof(im->im_err))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(im->im_err + n, sizeof(im->im_err) - n, fmt, ap);
	va_end(ap);
}

const char *
img_errmsg(const struct img *im)
{
	return im->im_err[0] ? im->im_err : "unknown error";
}

struct chain_id {
	dev_t	ci_dev;
	ino_t	ci_ino;
};

static int
open_one(const char *path, enum img_fmt fmt, int flags, const struct img *parent,
    int depth, struct chain_id *seen, struct img **out, char *err, size_t errlen)
{
	struct img *im;
	struct stat st;
	int fd, r;

	/* The top image is the caller's choice; a backing file the header's. */
	fd = img_open_untrusted(path, (flags & (IMG_RDWR | IMG_DEVICES |
	    IMG_SAFE_PATH)) | (depth == 0 ? IMG_NAMED : 0), err, errlen);
	if (fd < 0) {
		if (parent) {	/* say which header named it */
			char msg[IMG_ERRLEN];

			xsnprintf(msg, sizeof(msg), "%s", err);
			xsnprintf(err, errlen, "%s (backing file '%s' in the header "
			    "of %s)", msg, parent->im_backing_name, parent->im_path);
		}
		return fd;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		xsnprintf(err, errlen, "%s: fstat: %s", path, strerror(errno));
		close(fd);
		return r;
	}
	for (int i = 0; i < depth; i++) {
		if (seen[i].ci_dev == st.st_dev && seen[i].ci_ino == st.st_ino) {
			xsnprintf(err, errlen, "%s: backing chain loop (the file is "
			    "its own backing file, %d levels up)", path, depth - i);
			close(fd);
			return -ELOOP;
		}
	}
	seen[depth].ci_dev = st.st_dev;
	seen[depth].ci_ino = st.st_ino;
	if (fmt == IMG_FMT_AUTO) {
		char perr[256];

		if ((r = img_probe(fd, &fmt, perr, sizeof(perr))) < 0) {
			xsnprintf(err, errlen, "%s: %s", path, perr);
			close(fd);
			return r;
		}
	}
	im = xcalloc(1, sizeof(*im));
	im->im_fd = fd;
	im->im_fmt = fmt;
	im->im_flags = flags;
	im->im_path = xstrdup(path);
	r = fmt == IMG_FMT_QCOW2 ? qcow2_open(im) : raw_open(im);
	if (r < 0) {
		xsnprintf(err, errlen, "%s", img_errmsg(im));
		im->im_ops = NULL;
		img_close(im);
		return r;
	}
	if (im->im_backing_name && !(flags & IMG_NO_BACKING)) {
		char berr[IMG_ERRLEN];
		char *bpath;

		if (depth + 1 >= IMG_MAX_CHAIN) {
			xsnprintf(err, errlen, "%s: backing chain deeper than %d "
			    "images", path, IMG_MAX_CHAIN);
			img_close(im);
			return -ELOOP;
		}
		bpath = img_backing_path(path, im->im_backing_name);
		r = open_one(bpath, im->im_backing_fmt, flags & (IMG_DEVICES |
		    IMG_SAFE_PATH), im, depth + 1, seen, &im->im_backing, berr,
		    sizeof(berr));
		if (r < 0) {
			/* Name the top image and the failing one, not each level. */
			if (depth == 0)
				xsnprintf(err, errlen, "%s: backing chain: %s", path, berr);
			else
				xsnprintf(err, errlen, "%s", berr);
			free(bpath);
			img_close(im);
			return r;
		}
		free(bpath);
	}
	*out = im;
	return 0;
}

int
img_open(const char *path, enum img_fmt fmt, int flags, struct img **out,
    char *err, size_t errlen)
{
	struct chain_id seen[IMG_MAX_CHAIN];

	return open_one(path, fmt, flags, NULL, 0, seen, out, err, errlen);
}

void
img_close(struct img *im)
{
	if (!im)
		return;
	if (im->im_backing)
		img_close(im->im_backing);
	if (im->im_ops)
		im->im_ops->close(im);
	if (im->im_fd >= 0)
		close(im->im_fd);
	free(im->im_backing_name);
	free(im->im_path);
	free(im);
}

static int
check_range(struct img *im, uint64_t off, uint64_t len)
{
	if (off > im->im_size || len > im->im_size - off) {
		img_seterr(im, "access at %llu+%llu beyond the virtual size %llu",
		    (unsigned long long)off, (unsigned long long)len,
		    (unsigned long long)im->im_size);
		return -EINVAL;
	}
	return 0;
}

static int
check_writable(struct img *im)
{
	if (!(im->im_flags & IMG_RDWR)) {
		img_seterr(im, "image is open read-only");
		return -EROFS;
	}
	return 0;
}

int
img_pread(struct img *im, void *buf, size_t len, uint64_t off)
{
	int r;

	if ((r = check_range(im, off, len)) < 0)
		return r;
	return len ? im->im_ops->pread(im, buf, len, off) : 0;
}

int
img_pwrite(struct img *im, const void *buf, size_t len, uint64_t off)
{
	int r;

	if ((r = check_writable(im)) < 0 || (r = check_range(im, off, len)) < 0)
		return r;
	return len ? im->im_ops->pwrite(im, buf, len, off) : 0;
}

int
img_pwrite_zeroes(struct img *im, uint64_t off, uint64_t len)
{
	static const char zeros[65536];
	int r;

	if ((r = check_writable(im)) < 0 || (r = check_range(im, off, len)) < 0)
		return r;
	if (im->im_ops->pwrite_zeroes)
		return im->im_ops->pwrite_zeroes(im, off, len);
	while (len) {
		size_t n = len < sizeof(zeros) ? len : sizeof(zeros);

		if ((r = im->im_ops->pwrite(im, zeros, n, off)) < 0)
			return r;
		off += n;
		len -= n;
	}
	return 0;
}

int
img_flush(struct img *im)
{
	if (!(im->im_flags & IMG_RDWR))
		return 0;
	return im->im_ops->flush(im);
}

int
img_status(struct img *im, uint64_t off, uint64_t len, uint64_t *pnum)
{
	int r;

	if ((r = check_range(im, off, len)) < 0)
		return r;
	if (len == 0) {
		*pnum = 0;
		return IMG_BS_DATA;
	}
	if (!im->im_ops->status) {
		*pnum = len;
		return IMG_BS_DATA;
	}
	return im->im_ops->status(im, off, len, pnum);
}

int
img_status_chain(struct img *im, uint64_t off, uint64_t len, uint64_t *pnum)
{
	int r = img_status(im, off, len, pnum);

	if (r != IMG_BS_UNALLOC)
		return r;
	len = *pnum;
	if (!im->im_backing || off >= im->im_backing->im_size)
		return IMG_BS_ZERO;
	if (len > im->im_backing->im_size - off)
		len = im->im_backing->im_size - off;
	r = img_status_chain(im->im_backing, off, len, pnum);
	if (r < 0)
		xsnprintf(im->im_err, sizeof(im->im_err), "%s",
		    img_errmsg(im->im_backing));
	return r;
}

int
img_get_info(struct img *im, struct img_info *ii)
{
	struct stat st;

	memset(ii, 0, sizeof(*ii));
	ii->ii_fmt = im->im_fmt;
	ii->ii_size = im->im_size;
	ii->ii_cluster = im->im_cluster;
	if (fstat(im->im_fd, &st) < 0) {
		img_seterr(im, "fstat: %s", strerror(errno));
		return -errno;
	}
	ii->ii_disk_size = (uint64_t)st.st_blocks * 512;
	if (im->im_backing_name) {
		ii->ii_backing = xstrdup(im->im_backing_name);
		ii->ii_backing_full = img_backing_path(im->im_path, im->im_backing_name);
		ii->ii_backing_fmt = im->im_backing_fmt;
	}
	if (im->im_ops->info)
		im->im_ops->info(im, ii);
	return 0;
}

void
img_info_free(struct img_info *ii)
{
	free(ii->ii_backing);
	free(ii->ii_backing_full);
	free(ii->ii_data_file);
	memset(ii, 0, sizeof(*ii));
}

int
img_is_zero(const void *p, size_t len)
{
	const unsigned char *b = p;

	/* Check a head, then compare the buffer with itself shifted. */
	if (len < 16) {
		for (size_t i = 0; i < len; i++)
			if (b[i])
				return 0;
		return 1;
	}
	for (size_t i = 0; i < 16; i++)
		if (b[i])
			return 0;
	return memcmp(b, b + 16, len - 16) == 0;
}
