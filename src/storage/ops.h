/* Whole-image operations behind vmimg's subcommands (convert, check, ...). */
#ifndef VMS_STORAGE_OPS_H
#define VMS_STORAGE_OPS_H
#include <stdint.h>
#include <stdio.h>

#include "storage/img.h"

typedef void (*img_progress_fn)(void *arg, uint64_t done, uint64_t total);

/* convert.c */
struct img_convert_opts {
	const char	*cv_src;
	enum img_fmt	 cv_src_fmt;
	const char	*cv_dst;
	enum img_fmt	 cv_dst_fmt;
	int		 cv_compress;
	uint32_t	 cv_cluster_size;
	int		 cv_compat;
	int		 cv_zstd;	/* compression_type=zstd */
	int		 cv_extl2;	/* extended_l2=on */
	const char	*cv_data_file;	/* data_file= */
	int		 cv_data_raw;	/* data_file_raw=on */
	img_progress_fn	 cv_progress;
	void		*cv_arg;
	int		 cv_flags;	/* IMG_DEVICES: devices in src's chain */
};
int img_convert(const struct img_convert_opts *o, char *err, size_t errlen);
/* Copy src's guest content into dst (fresh or zeroed), skipping zeros. */
int img_copy(struct img *src, struct img *dst, int compress,
    img_progress_fn progress, void *arg, char *err, size_t errlen);

/* qcow2_check.c: exit codes as qemu-img check */
#define IMG_CHECK_OK		0
#define IMG_CHECK_INCOMPLETE	1
#define IMG_CHECK_CORRUPT	2
#define IMG_CHECK_LEAKS		3
#define IMG_CHECK_UNSUPPORTED	63

#define IMG_FIX_LEAKS	0x1
#define IMG_FIX_ERRORS	0x2

struct img_check_result {
	uint64_t	cr_corruptions;
	uint64_t	cr_leaks;
	uint64_t	cr_corruptions_fixed;
	uint64_t	cr_leaks_fixed;
	uint64_t	cr_check_errors;
	uint64_t	cr_total_clusters;	/* guest clusters */
	uint64_t	cr_allocated_clusters;
	uint64_t	cr_fragmented_clusters;
	uint64_t	cr_compressed_clusters;
	uint64_t	cr_image_end_offset;
};
/*
 * Check a qcow2 image's refcounts against its tables; with fix, repair
 * (the image must be open IMG_RDWR|IMG_FORCE). Problems are described on
 * log (may be NULL). Returns 0 or -errno (the check could not complete).
 */
int img_check(struct img *im, int fix, struct img_check_result *res, FILE *log,
    char *err, size_t errlen);

/* commit.c: write im's own clusters into its backing file. */
int img_commit(struct img *im, img_progress_fn progress, void *arg,
    char *err, size_t errlen);
/* rebase.c: unsafe only rewrites the header. */
int img_rebase(struct img *im, const char *backing, enum img_fmt backing_fmt,
    int unsafe, img_progress_fn progress, void *arg, char *err, size_t errlen);
/* resize */
int img_resize(struct img *im, uint64_t size, int shrink, char *err, size_t errlen);
#endif
