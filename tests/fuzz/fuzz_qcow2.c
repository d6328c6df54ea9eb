/*
 * libFuzzer harness for the qcow2 parser: header and extensions, L1/L2 and
 * refcount tables, compressed clusters, the check, and a write with repair
 * on a hostile image. The input is the image file (in a memfd); backing
 * files are not opened, so a fuzzed name cannot reach host files.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "storage/img.h"
#include "storage/ops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
load(const uint8_t *data, size_t size, char *path, size_t plen)
{
	int fd = memfd_create("fuzz-qcow2", MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return -1;
	}
	snprintf(path, plen, "/proc/self/fd/%d", fd);
	return fd;
}

static void
exercise_read(struct img *im)
{
	static uint8_t buf[8192];
	struct img_check_result cr;
	struct img_info ii;
	char err[IMG_ERRLEN];
	uint64_t pnum;

	if (img_get_info(im, &ii) == 0)
		img_info_free(&ii);
	for (uint64_t i = 0; i < 16 && im->im_size; i++) {
		uint64_t off = im->im_size / 16 * i;
		size_t n = im->im_size - off < sizeof(buf) ? (size_t)(im->im_size - off) :
		    sizeof(buf);

		(void)img_pread(im, buf, n, off);
		(void)img_status(im, off, n, &pnum);
	}
	(void)img_check(im, 0, &cr, NULL, err, sizeof(err));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t pattern[4096] = { 1, 2, 3 };
	struct img_check_result cr;
	char path[64], err[IMG_ERRLEN];
	struct img *im;
	int fd;

	if ((fd = load(data, size, path, sizeof(path))) < 0)
		return 0;
	if (img_open(path, IMG_FMT_QCOW2, IMG_NO_BACKING, &im, err, sizeof(err)) == 0) {
		exercise_read(im);
		img_close(im);
	}
	/* Writing to and repairing a hostile image must fail cleanly too. */
	if (img_open(path, IMG_FMT_QCOW2, IMG_NO_BACKING | IMG_RDWR | IMG_FORCE, &im,
	    err, sizeof(err)) == 0) {
		if (im->im_size >= sizeof(pattern))
			(void)img_pwrite(im, pattern, sizeof(pattern), im->im_size / 3 & ~511ULL);
		(void)img_check(im, IMG_FIX_LEAKS | IMG_FIX_ERRORS, &cr, NULL, err,
		    sizeof(err));
		img_close(im);
	}
	close(fd);
	return 0;
}
