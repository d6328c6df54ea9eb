/* The raw format: guest offset = file offset. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util.h"
#include "storage/img.h"
#include "storage/io.h"

static int
raw_pread(struct img *im, void *buf, size_t len, uint64_t off)
{
	/* A raw file may be shorter than its block device or be truncated
	 * under us; what is past its end reads as zeros. */
	int r = io_pread_zfill(im->im_fd, buf, len, off);

	if (r < 0)
		img_seterr(im, "read at %llu: %s", (unsigned long long)off, strerror(-r));
	return r;
}

static int
raw_pwrite(struct img *im, const void *buf, size_t len, uint64_t off)
{
	int r = io_pwrite(im->im_fd, buf, len, off);

	if (r < 0)
		img_seterr(im, "write at %llu: %s", (unsigned long long)off, strerror(-r));
	return r;
}

static int
raw_flush(struct img *im)
{
	if (fdatasync(im->im_fd) < 0) {
		img_seterr(im, "fdatasync: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static void
raw_close(struct img *im)
{
	if (im->im_flags & IMG_RDWR)
		(void)fdatasync(im->im_fd);
}

/* Holes read as zeros: SEEK_DATA/SEEK_HOLE tell them apart. */
static int
raw_status(struct img *im, uint64_t off, uint64_t len, uint64_t *pnum)
{
	off_t data, hole;

	data = lseek(im->im_fd, (off_t)off, SEEK_DATA);
	if (data < 0) {
		/* ENXIO: no data past off; other errors: assume data. */
		*pnum = len;
		return errno == ENXIO ? IMG_BS_ZERO : IMG_BS_DATA;
	}
	if ((uint64_t)data > off) {
		*pnum = (uint64_t)data - off < len ? (uint64_t)data - off : len;
		return IMG_BS_ZERO;
	}
	hole = lseek(im->im_fd, (off_t)off, SEEK_HOLE);
	if (hole < 0 || (uint64_t)hole <= off) {
		*pnum = len;
		return IMG_BS_DATA;
	}
	*pnum = (uint64_t)hole - off < len ? (uint64_t)hole - off : len;
	return IMG_BS_DATA;
}

static int
raw_pwrite_zeroes(struct img *im, uint64_t off, uint64_t len)
{
	static const char zeros[65536];

	if (fallocate(im->im_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
	    (off_t)off, (off_t)len) == 0)
		return 0;
	while (len) {
		size_t n = len < sizeof(zeros) ? len : sizeof(zeros);
		int r = raw_pwrite(im, zeros, n, off);

		if (r < 0)
			return r;
		off += n;
		len -= n;
	}
	return 0;
}

static int
raw_truncate(struct img *im, uint64_t size, int shrink)
{
	if (size < im->im_size && !shrink) {
		img_seterr(im, "shrinking needs --shrink");
		return -EINVAL;
	}
	if (ftruncate(im->im_fd, (off_t)size) < 0) {
		img_seterr(im, "ftruncate: %s", strerror(errno));
		return -errno;
	}
	im->im_size = size;
	return 0;
}

static const struct img_ops raw_ops = {
	.name = "raw",
	.pread = raw_pread,
	.pwrite = raw_pwrite,
	.flush = raw_flush,
	.close = raw_close,
	.status = raw_status,
	.pwrite_zeroes = raw_pwrite_zeroes,
	.truncate = raw_truncate,
};

int
raw_open(struct img *im)
{
	struct stat st;

	if (fstat(im->im_fd, &st) < 0) {
		img_seterr(im, "fstat: %s", strerror(errno));
		return -errno;
	}
	if (S_ISBLK(st.st_mode)) {
		uint64_t sz;

		if (ioctl(im->im_fd, BLKGETSIZE64, &sz) < 0) {
			img_seterr(im, "BLKGETSIZE64: %s", strerror(errno));
			return -errno;
		}
		im->im_size = sz;
	} else {
		im->im_size = (uint64_t)st.st_size;
	}
	im->im_ops = &raw_ops;
	return 0;
}

int
raw_create(const struct img_create_opts *o, char *err, size_t errlen)
{
	int fd;

	if (o->co_backing) {
		xsnprintf(err, errlen, "%s: raw images cannot have a backing file",
		    o->co_path);
		return -EINVAL;
	}
	fd = img_create_file(o->co_path, o->co_excl, o->co_flags, err, errlen);
	if (fd < 0)
		return fd;
	if (ftruncate(fd, (off_t)o->co_size) < 0 || fsync(fd) < 0) {
		int r = -errno;

		xsnprintf(err, errlen, "%s: setting the size: %s", o->co_path,
		    strerror(errno));
		close(fd);
		return r;
	}
	if (close(fd) < 0) {
		xsnprintf(err, errlen, "%s: close: %s", o->co_path, strerror(errno));
		return -EIO;
	}
	return 0;
}
