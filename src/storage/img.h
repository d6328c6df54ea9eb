/*
 * Disk images: one handle type over raw and qcow2 files, with backing chains.
 *
 * A format fills a small ops table (kvmtool disk/raw.c, vmd vioraw.c);
 * img.c opens a file, probes its format and opens the backing chain below
 * it. Every function returns 0 (or a count) or -errno. Calls on an open
 * image leave a message naming the place in im_err (img_errmsg()); calls
 * without an image fill the caller's err buffer.
 *
 * Image files are untrusted input: every offset and length read from one is
 * checked before use, and no allocation is sized from the file unbounded.
 */
#ifndef VMS_STORAGE_IMG_H
#define VMS_STORAGE_IMG_H
#include <stddef.h>
#include <stdint.h>

enum img_fmt { IMG_FMT_AUTO = 0, IMG_FMT_RAW, IMG_FMT_QCOW2 };

/* img_open flags */
#define IMG_RDWR	0x1	/* open for writing (the top image only) */
#define IMG_NO_BACKING	0x2	/* do not open the backing file */
#define IMG_FORCE	0x4	/* write a dirty/corrupt qcow2 (check -r) */
/*
 * What may be opened (img_file.c, issue 12). The image named by the caller
 * may be a regular file or a block device; a backing file named in a header
 * must be a regular file. IMG_DEVICES (vmimg --force) accepts any device
 * anywhere in the chain. A FIFO, socket or directory is never an image.
 */
#define IMG_DEVICES	0x8
#define IMG_SAFE_PATH	0x10	/* no symlink but root's on the way (sp_open) */
#define IMG_NAMED	0x20	/* img_open_untrusted: a block device is fine */

#define IMG_MAX_CHAIN	16	/* backing chain depth we accept */
#define IMG_ERRLEN	512

/* What one layer holds for a range (img_status). */
enum img_bs {
	IMG_BS_DATA = 1,	/* this layer has data */
	IMG_BS_ZERO,		/* this layer says: reads as zeros */
	IMG_BS_UNALLOC,		/* not in this layer: the backing file decides */
};

struct img;
struct img_info;

/* A format backend. Optional ops may be NULL. Offsets are guest offsets. */
struct img_ops {
	const char *name;
	int  (*pread)(struct img *im, void *buf, size_t len, uint64_t off);
	int  (*pwrite)(struct img *im, const void *buf, size_t len, uint64_t off);
	int  (*flush)(struct img *im);
	void (*close)(struct img *im);
	/* optional: */
	int  (*status)(struct img *im, uint64_t off, uint64_t len, uint64_t *pnum);
	int  (*pwrite_zeroes)(struct img *im, uint64_t off, uint64_t len);
	/* whole clusters at a cluster-aligned offset, compressed (the image's
	 * tail cluster may be short) */
	int  (*pwrite_compressed)(struct img *im, const void *buf, size_t len,
	    uint64_t off);
	int  (*truncate)(struct img *im, uint64_t size, int shrink);
	/* replace the recorded backing file (header only) */
	int  (*set_backing)(struct img *im, const char *name, enum img_fmt fmt);
	/* fill the format-specific fields of an img_info */
	void (*info)(struct img *im, struct img_info *ii);
};

struct img {
	const struct img_ops *im_ops;
	enum img_fmt	 im_fmt;
	char		*im_path;
	int		 im_fd;
	int		 im_flags;
	uint64_t	 im_size;	/* virtual size in bytes */
	uint32_t	 im_cluster;	/* allocation unit (raw: 0) */
	char		*im_backing_name;	/* as recorded, or NULL */
	enum img_fmt	 im_backing_fmt;	/* as recorded, or AUTO */
	struct img	*im_backing;	/* opened chain, or NULL */
	void		*im_priv;	/* the backend's state */
	char		 im_err[IMG_ERRLEN];
};

const char *img_fmt_name(enum img_fmt fmt);
/* "raw" or "qcow2"; -EINVAL otherwise. */
int img_fmt_parse(const char *s, enum img_fmt *out);

/* Probe an open file: qcow2 by magic, raw otherwise. Refuses other magics. */
int img_probe(int fd, enum img_fmt *out, char *err, size_t errlen);

/*
 * Open path (format fmt, or probed when AUTO) and its backing chain, which
 * is opened read-only, depth-limited and refused on a loop.
 */
int img_open(const char *path, enum img_fmt fmt, int flags, struct img **out,
    char *err, size_t errlen);
void img_close(struct img *im);

/* Guest-visible I/O through the chain; off+len must be within im_size. */
int img_pread(struct img *im, void *buf, size_t len, uint64_t off);
int img_pwrite(struct img *im, const void *buf, size_t len, uint64_t off);
int img_pwrite_zeroes(struct img *im, uint64_t off, uint64_t len);
int img_flush(struct img *im);
/* This layer's view of [off, off+len): returns an enum img_bs, *pnum > 0. */
int img_status(struct img *im, uint64_t off, uint64_t len, uint64_t *pnum);
/* Like img_status but resolves UNALLOC through the chain: DATA or ZERO. */
int img_status_chain(struct img *im, uint64_t off, uint64_t len, uint64_t *pnum);
const char *img_errmsg(const struct img *im);
void img_seterr(struct img *im, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* 1 if the file at path (or open as fd >= 0) is one of chain's images,
 * or the external data file of one. */
int img_chain_has(const struct img *chain, const char *path, int fd);

/* The backing file name resolved against the overlay's directory. */
char *img_backing_path(const char *overlay, const char *name);

/*
 * img_file.c. img_open_untrusted: path (flags IMG_RDWR, IMG_NAMED,
 * IMG_DEVICES, IMG_SAFE_PATH) opened without blocking, following only what
 * IMG_SAFE_PATH allows, and without calling the open() of a device it does
 * not accept (-EMEDIUMTYPE; a FIFO, socket: -EINVAL). Returns the fd, in
 * blocking mode, or -errno with err filled.
 */
int img_open_untrusted(const char *path, int flags, char *err, size_t errlen);
/*
 * A new image file, mode 0600, O_EXCL; without excl an existing file is
 * opened as by img_open_untrusted(IMG_NAMED) and truncated. fd or -errno.
 */
int img_create_file(const char *path, int excl, int flags, char *err,
    size_t errlen);
/* Undo img_create_file after a failure: unlink path if it is still fd. */
void img_unlink_created(const char *path, int fd, int flags);

/* Creation. */
struct img_create_opts {
	const char	*co_path;
	enum img_fmt	 co_fmt;		/* RAW or QCOW2 */
	uint64_t	 co_size;		/* 0 with a backing: take its size */
	const char	*co_backing;		/* recorded as given, or NULL */
	enum img_fmt	 co_backing_fmt;	/* AUTO: probed and recorded */
	uint32_t	 co_cluster_size;	/* 0: 64 KiB */
	int		 co_compat;		/* qcow2 version 2 or 3 (0: 3) */
	int		 co_refcount_bits;	/* 0: 16 */
	int		 co_zstd;		/* compression_type=zstd */
	int		 co_extl2;		/* extended_l2=on */
	const char	*co_data_file;		/* data_file=, relative to co_path */
	int		 co_data_raw;		/* data_file_raw=on */
	int		 co_excl;		/* fail with -EEXIST if path exists */
	/* IMG_SAFE_PATH, IMG_DEVICES for the file and the backing file's
	 * open; IMG_NO_BACKING: open the backing file only, not its chain */
	int		 co_flags;
};
int img_create_opts(const struct img_create_opts *o, char *err, size_t errlen);

/*
 * The provisioning API for the daemon.
 *
 * img_create: create path (must not exist) as fmt of size bytes; with a
 * backing file, an overlay (size 0 = the backing file's size).
 */
int img_create(const char *path, enum img_fmt fmt, uint64_t size,
    const char *backing, enum img_fmt backing_fmt, char *err, size_t errlen);
/*
 * img_ensure: if path exists, open it to check it is a readable image of
 * format fmt (AUTO: any) and set *created = 0 (its size and backing file are
 * left as they are; the backing file given, if any, must open too); else
 * create it as above (AUTO: as qcow2) and set *created = 1.
 * Creation is O_EXCL, so two callers racing get one image.
 * img_ensure and img_overlay_fresh are the daemon's: they resolve paths
 * with IMG_SAFE_PATH and open the backing file given, never the chain of
 * backing files named in headers (IMG_NO_BACKING).
 */
int img_ensure(const char *path, enum img_fmt fmt, uint64_t size,
    const char *backing, enum img_fmt backing_fmt, int *created,
    char *err, size_t errlen);
/*
 * img_overlay_fresh: replace path atomically (create PATH.new, rename) with
 * an empty qcow2 overlay on backing. For `vmctl revert` and snapshot=on.
 */
int img_overlay_fresh(const char *path, const char *backing,
    enum img_fmt backing_fmt, char *err, size_t errlen);

/* Size, format and allocation summary for `vmimg info`. */
struct img_info {
	enum img_fmt	 ii_fmt;
	uint64_t	 ii_size;
	uint64_t	 ii_disk_size;		/* st_blocks * 512 */
	uint32_t	 ii_cluster;
	char		*ii_backing;		/* recorded name */
	char		*ii_backing_full;	/* resolved path */
	enum img_fmt	 ii_backing_fmt;
	int		 ii_compat;		/* qcow2: 2 or 3 */
	int		 ii_refcount_bits;
	int		 ii_lazy_refcounts;
	int		 ii_corrupt;
	int		 ii_dirty;
	uint32_t	 ii_nb_snapshots;
	int		 ii_zstd;		/* qcow2: compression_type zstd */
	int		 ii_extl2;		/* qcow2: extended L2 entries */
	char		*ii_data_file;		/* qcow2: external data file name */
	int		 ii_data_raw;		/* ... data_file_raw */
};
int img_get_info(struct img *im, struct img_info *ii);
void img_info_free(struct img_info *ii);

/* True when len bytes at p are all zero. */
int img_is_zero(const void *p, size_t len);

/* Backends (raw.c, qcow2.c). */
int raw_open(struct img *im);
int qcow2_open(struct img *im);
/* An open qcow2 image's external data file, or -1. */
int qcow2_img_data_fd(const struct img *im);
int raw_create(const struct img_create_opts *o, char *err, size_t errlen);
int qcow2_create(const struct img_create_opts *o, const char *backing_fmt,
    char *err, size_t errlen);
#endif
