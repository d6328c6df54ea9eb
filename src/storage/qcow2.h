/*
 * qcow2 internals shared by qcow2*.c (the spec: qemu docs/interop/qcow2.txt).
 *
 * The L1 table and the refcount table live in memory (both are bounded the
 * way QEMU bounds them); L2 tables and refcount blocks go through small
 * write-back caches. New clusters are appended at the end of the file.
 * Write ordering: refcount blocks reach the disk before the L2/L1 entries
 * that use the clusters, so a crash can leak clusters but not corrupt.
 */
#ifndef VMS_STORAGE_QCOW2_H
#define VMS_STORAGE_QCOW2_H
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

#include "storage/img.h"

struct qcow2_snap;

/* Offsets and counts printed with %llx/%llu. */
#define ULL(x)			((unsigned long long)(x))

#define QCOW2_MAGIC		0x514649fbU	/* "QFI\xfb" */
#define QCOW2_V2_HDR_LEN	72
#define QCOW2_V3_HDR_LEN	104
#define QCOW2_MIN_CLUSTER_BITS	9
#define QCOW2_MAX_CLUSTER_BITS	21
#define QCOW2_MAX_L1_BYTES	(32u << 20)	/* QEMU's QCOW_MAX_L1_SIZE */
#define QCOW2_MAX_RT_BYTES	(8u << 20)	/* QEMU's QCOW_MAX_REFTABLE_SIZE */
#define QCOW2_MAX_BACKING_NAME	1023
#define QCOW2_MAX_SNAPSHOTS	65536

#define QCOW2_OFLAG_COPIED	(1ULL << 63)
#define QCOW2_OFLAG_COMPRESSED	(1ULL << 62)
#define QCOW2_OFLAG_ZERO	1ULL
#define QCOW2_OFFSET_MASK	0x00fffffffffffe00ULL	/* L1, L2: bits 9-55 */
#define QCOW2_RT_OFFSET_MASK	0xfffffffffffffe00ULL
#define QCOW2_L1_RESERVED	0x7f000000000001ffULL
#define QCOW2_L2_RESERVED	0x3f000000000001feULL

/* incompatible_features */
#define QCOW2_INCOMPAT_DIRTY	(1ULL << 0)
#define QCOW2_INCOMPAT_CORRUPT	(1ULL << 1)
#define QCOW2_INCOMPAT_DATAFILE	(1ULL << 2)
#define QCOW2_INCOMPAT_COMPTYPE	(1ULL << 3)
#define QCOW2_INCOMPAT_EXTL2	(1ULL << 4)
#define QCOW2_COMPAT_LAZY	(1ULL << 0)
#define QCOW2_AUTOCLEAR_DATA_RAW (1ULL << 1)	/* the data file is a raw image */

/* compression_type, header byte 104 (version 3, header_length > 104) */
#define QCOW2_COMP_ZLIB		0
#define QCOW2_COMP_ZSTD		1

/* header extension types */
#define QCOW2_EXT_END		0x00000000U
#define QCOW2_EXT_BACKING_FMT	0xe2792acaU
#define QCOW2_EXT_FEATURES	0x6803f857U
#define QCOW2_EXT_BITMAPS	0x23852875U
#define QCOW2_EXT_DATA_FILE	0x44415441U

struct qcow2_ext {
	uint32_t	 qe_type;
	uint32_t	 qe_len;
	uint8_t		*qe_data;
};

struct qcow2_cache_ent {
	uint64_t	 ce_off;	/* 0: empty slot */
	uint8_t		*ce_buf;
	int		 ce_dirty;
	uint64_t	 ce_used;
};

struct qcow2_cache {
	struct qcow2_cache_ent	*c_ent;
	size_t			 c_n;
	uint64_t		 c_tick;
	int			 c_is_l2;	/* evicting dirty L2 flushes refblocks first */
};

struct qcow2 {
	struct img	*q_img;
	int		 q_fd;
	uint32_t	 q_version;
	uint32_t	 q_cluster_bits;
	uint32_t	 q_cs;			/* cluster size */
	uint32_t	 q_l2_bits;		/* log2 of L2 entries */
	int		 q_extl2;		/* 128-bit L2 entries, subclusters */
	int		 q_datafile;		/* guest data in an external file */
	int		 q_data_raw;		/* ... which is a raw image too */
	int		 q_data_fd;		/* -1: not opened (IMG_NO_BACKING) */
	char		*q_data_name;		/* as recorded */
	uint64_t	 q_size;
	uint64_t	 q_incompat, q_compat, q_autoclear;
	uint32_t	 q_header_len;
	uint32_t	 q_refcount_order;
	uint32_t	 q_rb_bits;		/* log2 of refcounts per block */
	uint8_t		 q_ctype;		/* QCOW2_COMP_* */
	uint32_t	 q_csize_shift;		/* compressed descriptor layout */
	uint64_t	 q_csize_mask;
	uint64_t	 q_coff_mask;
	uint32_t	 q_nb_snapshots;
	uint64_t	 q_snapshots_off;
	struct qcow2_snap *q_snaps;		/* the table, validated (qcow2_snapshot.h) */
	uint64_t	 q_snaps_len;		/* its size on disk */
	uint64_t	 q_backing_off;
	uint32_t	 q_backing_len;
	char		*q_backing_fmt;		/* backing format extension */
	struct qcow2_ext *q_exts;		/* other extensions, kept */
	size_t		 q_nexts;

	uint64_t	*q_l1;			/* host order, with flags */
	uint32_t	 q_l1_size;
	uint64_t	 q_l1_off;

	uint64_t	*q_rt;			/* host order */
	uint64_t	 q_rt_entries;
	uint64_t	 q_rt_off;
	uint32_t	 q_rt_clusters;
	int		 q_rt_dirty;

	uint64_t	 q_file_size;		/* at open */
	uint64_t	 q_next_free;		/* allocation cursor */
	uint64_t	 q_cfree;		/* compressed byte cursor (0: none) */

	struct qcow2_cache q_l2c;
	struct qcow2_cache q_rbc;

	uint8_t		*q_cbuf;		/* compressed input, 2 clusters */
	uint8_t		*q_dbuf;		/* one decompressed cluster */
	uint64_t	 q_dbuf_entry;		/* L2 entry held in q_dbuf, 0: none */
	void		*q_zdctx;		/* zstd decoder, made on first use */
	int		 q_rw;
	int		 q_rc_depth;		/* refcount block recursion guard */
	int		 q_rt_growing;
};

static inline struct qcow2 *
qcow2_of(struct img *im)
{
	return im->im_priv;
}

/* qcow2.c: header */
int qcow2_write_header(struct qcow2 *q);
void qcow2_free(struct qcow2 *q);
int qcow2_parse(struct img *im, struct qcow2 *q);
int qcow2_read_l1(struct qcow2 *q);
int qcow2_read_rt(struct qcow2 *q);
uint64_t qcow2_l1_needed(const struct qcow2 *q, uint64_t size);
int qcow2_flush_all(struct qcow2 *q);

/* qcow2_cache.c */
void qcow2_cache_init(struct qcow2_cache *c, size_t n, uint32_t cs, int is_l2);
void qcow2_cache_free(struct qcow2_cache *c);
/* Table at off; fresh: a new zeroed table, not read. Valid until next get. */
int qcow2_cache_get(struct qcow2 *q, struct qcow2_cache *c, uint64_t off,
    int fresh, uint8_t **buf);
void qcow2_cache_dirty(struct qcow2_cache *c, const uint8_t *buf);
int qcow2_cache_flush(struct qcow2 *q, struct qcow2_cache *c);
void qcow2_cache_drop(struct qcow2_cache *c, uint64_t off);

/* qcow2_refcount.c */
int qcow2_rc_get(struct qcow2 *q, uint64_t off, uint64_t *rc);
int qcow2_rc_update(struct qcow2 *q, uint64_t off, int64_t delta);
int qcow2_rc_set(struct qcow2 *q, uint64_t off, uint64_t rc);
uint64_t qcow2_rc_max(const struct qcow2 *q);
uint64_t qcow2_rb_read(const uint8_t *b, uint64_t i, uint32_t order);
void qcow2_rb_write(uint8_t *b, uint64_t i, uint32_t order, uint64_t v);
/* n contiguous clusters at the end of the file, refcount 1. */
int qcow2_alloc_clusters(struct qcow2 *q, uint64_t n, uint64_t *off);
/* len (< cluster) bytes for compressed data, packed like QEMU does. */
int qcow2_alloc_bytes(struct qcow2 *q, uint64_t len, uint64_t *off);
/* Drop the references an L2 entry holds (data or compressed sectors). */
int qcow2_free_entry(struct qcow2 *q, uint64_t entry);
int qcow2_flush_rt(struct qcow2 *q);

/* qcow2_cluster.c */
int qcow2_get_entry(struct qcow2 *q, uint64_t voff, uint64_t *entry);
/* ... and the subcluster bitmap (0 without extended L2 entries). */
int qcow2_get_entry2(struct qcow2 *q, uint64_t voff, uint64_t *entry,
    uint64_t *bitmap);
/* The L2 slot for voff, allocating the L2 table if needed (writers only);
 * valid until the next L2 cache access. */
int qcow2_get_slot(struct qcow2 *q, uint64_t voff, uint8_t **slot);
/* n bytes at guest offset off from the backing file (zeros past its end). */
int qcow2_read_backing(struct qcow2 *q, void *buf, size_t n, uint64_t off);
int qcow2_pread(struct img *im, void *buf, size_t len, uint64_t off);
int qcow2_pwrite(struct img *im, const void *buf, size_t len, uint64_t off);
int qcow2_pwrite_zeroes(struct img *im, uint64_t off, uint64_t len);
int qcow2_pwrite_compressed(struct img *im, const void *buf, size_t len,
    uint64_t off);
int qcow2_status(struct img *im, uint64_t off, uint64_t len, uint64_t *pnum);
int qcow2_truncate(struct img *im, uint64_t size, int shrink);
int qcow2_read_compressed(struct qcow2 *q, uint64_t entry, uint64_t voff);
int qcow2_check_data_off(struct qcow2 *q, uint64_t host, uint64_t voff);
int qcow2_check_write_off(struct qcow2 *q, uint64_t host, uint64_t len,
    uint64_t voff);

/*
 * qcow2_extl2.c: guest I/O for images with extended L2 entries (incompatible
 * bit 4): 32 subclusters per cluster, each allocated, zero or unallocated.
 */
#define QCOW2_SC_ALLOC_ALL	0x00000000ffffffffULL
#define QCOW2_SC_ZERO_ALL	0xffffffff00000000ULL
#define QCOW2_EXTL2_MIN_BITS	14	/* subclusters of at least 512 bytes */
int qcow2_ext_pread(struct qcow2 *q, void *buf, size_t len, uint64_t off);
int qcow2_ext_pwrite(struct qcow2 *q, const void *buf, size_t len, uint64_t off);
int qcow2_ext_pwrite_zeroes(struct qcow2 *q, uint64_t off, uint64_t len);
/*
 * What is at cur of an extended-L2 image: *bs an IMG_BS_* class and *step
 * the bytes from cur that share it (a run of subclusters, or to the end of
 * an unmapped L2 table). For qcow2_status_walk.
 */
int qcow2_ext_at(struct qcow2 *q, uint64_t cur, int *bs, uint64_t *step);
/*
 * Block status from off: the IMG_BS_* class there, *pnum how many bytes of
 * len share it; at() tells one entry's class and extent (qcow2_cluster.c for
 * classic images, qcow2_ext_at). Stops after STATUS_MAX_DATA data clusters.
 */
int qcow2_status_walk(struct qcow2 *q, uint64_t off, uint64_t len, uint64_t *pnum,
    int (*at)(struct qcow2 *, uint64_t, int *, uint64_t *));

/* qcow2_datafile.c: external data files */
int qcow2_df_parse(struct qcow2 *q);
int qcow2_df_open(struct qcow2 *q);
void qcow2_df_close(struct qcow2 *q);
/* The fd guest data clusters live in, or -EBADF (data file not opened). */
int qcow2_data_fd(struct qcow2 *q);
/* n bytes of guest data at host offset host, zeros past the file's end. */
int qcow2_read_data(struct qcow2 *q, void *buf, size_t n, uint64_t host);
int qcow2_df_truncate(struct qcow2 *q, uint64_t size);
int qcow2_df_create(struct qcow2 *q, const struct img_create_opts *o);
int qcow2_df_finish_create(struct qcow2 *q);

/* qcow2_zlib.c: raw deflate, as QEMU's qcow2 uses (window 2^12) */
int qcow2_inflate(const uint8_t *in, size_t inlen, uint8_t *out, size_t outlen);
/*
 * Compress n clusters of in (cs bytes each) into out (same layout) on up to
 * 4 threads, with ctype (QCOW2_COMP_*); lens[i] is the compressed length,
 * QCOW2_Z_ZERO for an all-zero cluster, or QCOW2_Z_RAW when it does not
 * shrink below cs - 1 bytes.
 */
#define QCOW2_Z_ZERO	(-1)
#define QCOW2_Z_RAW	(-2)
int qcow2_compress_batch(int ctype, const uint8_t *in, uint8_t *out,
    ssize_t *lens, size_t n, size_t cs);

/* qcow2_zstd.c: compression_type zstd, one frame per cluster */
int qcow2_zstd_decompress(struct qcow2 *q, const uint8_t *in, size_t inlen,
    uint8_t *out, size_t outlen);
void qcow2_zstd_free(struct qcow2 *q);
void *qcow2_zstd_cctx_new(void);
void qcow2_zstd_cctx_free(void *cctx);
/* A frame's length, QCOW2_Z_RAW if it does not shrink, or -errno. */
ssize_t qcow2_zstd_compress(void *cctx, const uint8_t *in, size_t cs,
    uint8_t *out);

/* Big-endian helpers. */
static inline uint64_t
qcow2_be64(const uint8_t *p)
{
	return (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 | (uint64_t)p[2] << 40 |
	    (uint64_t)p[3] << 32 | (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 |
	    (uint64_t)p[6] << 8 | p[7];
}

static inline uint32_t
qcow2_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void
qcow2_put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static inline void
qcow2_put32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}
#endif
