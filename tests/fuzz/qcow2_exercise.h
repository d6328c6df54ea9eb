/*
 * What the qcow2 fuzzer does with one input file, shared by the libFuzzer
 * harness (fuzz_qcow2.c) and the regression replay
 * (tests/unit/test_storage_fuzz_regress.c) so that both run the same calls.
 * Backing files are never opened: a fuzzed name must not reach host files.
 * log, if not NULL, receives the read-only check's report; rw_err the
 * read-write open's error (empty when it opened).
 */
#ifndef VMS_QCOW2_EXERCISE_H
#define VMS_QCOW2_EXERCISE_H
#include <stdio.h>
#include <string.h>

#include "storage/img.h"
#include "storage/ops.h"
#include "storage/snapshot.h"

static void
qcow2_exercise(const char *path, FILE *log, char *rw_err, size_t rw_errlen)
{
	static uint8_t buf[65536];
	struct img_check_result cr;
	char err[IMG_ERRLEN];
	struct img_info ii;
	struct img *im;
	uint64_t pnum;

	if (img_open(path, IMG_FMT_QCOW2, IMG_NO_BACKING, &im, err, sizeof(err)) == 0) {
		if (img_get_info(im, &ii) == 0)
			img_info_free(&ii);
		for (uint64_t i = 0; i < 16 && im->im_size; i++) {
			uint64_t off = im->im_size / 16 * i;
			size_t n = im->im_size - off < 8192 ? (size_t)(im->im_size - off) : 8192;

			(void)img_pread(im, buf, n, off);
			(void)img_status(im, off, im->im_size - off, &pnum);
		}
		(void)img_check(im, 0, &cr, log, err, sizeof(err));
		img_close(im);
	}
	/* Writing to and repairing a hostile image must fail cleanly too. */
	rw_err[0] = '\0';
	if (img_open(path, IMG_FMT_QCOW2, IMG_NO_BACKING | IMG_RDWR | IMG_FORCE, &im,
	    rw_err, rw_errlen) != 0)
		return;
	memset(buf, 0x5a, 4096);
	if (im->im_size >= 4096) {
		(void)img_pwrite(im, buf, 4096, im->im_size / 3 & ~511ULL);
		(void)img_pwrite_zeroes(im, im->im_size / 2 & ~511ULL, 4096);
	}
	if (im->im_cluster <= sizeof(buf) && im->im_size >= im->im_cluster)
		(void)im->im_ops->pwrite_compressed(im, buf, im->im_cluster, 0);
	if (im->im_size < (1ULL << 40))
		(void)im->im_ops->truncate(im, (im->im_size + (1 << 20)) & ~511ULL, 0);
	/* The snapshot rebuild walks every table of the image: refused or done. */
	(void)img_snapshot_create(im, "fuzz", err, sizeof(err));
	(void)img_snapshot_apply(im, "1", err, sizeof(err));
	(void)img_snapshot_delete(im, "fuzz", err, sizeof(err));
	(void)img_check(im, IMG_FIX_LEAKS | IMG_FIX_ERRORS, &cr, NULL, err, sizeof(err));
	img_close(im);
}
#endif
