/*
 * External data files (qcow2.txt: incompatible bit 2, header extension
 * 0x44415441 naming the file, autoclear bit 1 "raw"): guest clusters live in
 * a second file at the host offset equal to their guest offset, without
 * refcounts; the qcow2 file keeps only metadata. With the raw bit the data
 * file is also a consistent raw image by itself, so zeros are written into
 * it rather than flagged, and every cluster is mapped from creation on
 * (QEMU's metadata preallocation), so what is written into the raw file
 * directly shows through the qcow2 too.
 *
 * The name in the header is untrusted, like a backing file name: resolved
 * relative to the image's directory and opened as img_open_untrusted()
 * allows (a regular file; a device only with IMG_DEVICES). qemu-img 7.2
 * resolves it relative to its working directory instead: the two agree
 * when the name is absolute or qemu-img runs in the image's directory.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util.h"
#include "storage/io.h"
#include "storage/qcow2.h"

#define ERR(q, ...)	img_seterr((q)->q_img, __VA_ARGS__)

static struct qcow2_ext *
find_ext(struct qcow2 *q, uint32_t type)
{
	for (size_t i = 0; i < q->q_nexts; i++)
		if (q->q_exts[i].qe_type == type)
			return &q->q_exts[i];
	return NULL;
}

/* The feature bits against each other; the name from its extension. */
int
qcow2_df_parse(struct qcow2 *q)
{
	struct qcow2_ext *e = find_ext(q, QCOW2_EXT_DATA_FILE);

	q->q_data_fd = -1;
	q->q_data_raw = !!(q->q_autoclear & QCOW2_AUTOCLEAR_DATA_RAW);
	if (!q->q_datafile) {
		/* A raw bit without a data file means nothing (QEMU drops it
		 * on the next header update); so do we. */
		q->q_data_raw = 0;
		q->q_autoclear &= ~QCOW2_AUTOCLEAR_DATA_RAW;
		return 0;
	}
	if (!e || e->qe_len == 0) {
		ERR(q, "external data file bit set, but no data file name in the "
		    "header");
		return -EINVAL;
	}
	if (e->qe_len > QCOW2_MAX_BACKING_NAME || memchr(e->qe_data, 0, e->qe_len)) {
		ERR(q, "external data file name: %s", e->qe_len > QCOW2_MAX_BACKING_NAME ?
		    "longer than 1023 bytes" : "contains a NUL byte");
		return -EINVAL;
	}
	if (q->q_nb_snapshots) {
		ERR(q, "internal snapshots with an external data file");
		return -EINVAL;
	}
	free(q->q_data_name);
	q->q_data_name = xstrndup((const char *)e->qe_data, e->qe_len);
	return 0;
}

/* Open the data file named in the header, as the image was opened. */
int
qcow2_df_open(struct qcow2 *q)
{
	struct img *im = q->q_img;
	char err[IMG_ERRLEN];
	char *path;
	int fd;

	if (!q->q_datafile || (im->im_flags & IMG_NO_BACKING))
		return 0;
	path = img_backing_path(im->im_path, q->q_data_name);
	fd = img_open_untrusted(path, im->im_flags & (IMG_RDWR | IMG_DEVICES |
	    IMG_SAFE_PATH), err, sizeof(err));
	if (fd < 0) {
		ERR(q, "external data file \"%s\": %s", q->q_data_name, err);
		free(path);
		return fd;
	}
	free(path);
	q->q_data_fd = fd;
	return 0;
}

void
qcow2_df_close(struct qcow2 *q)
{
	if (q->q_datafile && q->q_data_fd >= 0)
		close(q->q_data_fd);
	q->q_data_fd = -1;
	free(q->q_data_name);
	q->q_data_name = NULL;
}

int
qcow2_data_fd(struct qcow2 *q)
{
	if (!q->q_datafile)
		return q->q_fd;
	if (q->q_data_fd < 0) {
		ERR(q, "external data file \"%s\" was not opened", q->q_data_name);
		return -EBADF;
	}
	return q->q_data_fd;
}

/* n bytes of guest data at host offset host (where the data file, or the
 * image, has them); a tail QEMU left unwritten reads as zeros. */
int
qcow2_read_data(struct qcow2 *q, void *buf, size_t n, uint64_t host)
{
	int fd, r;

	if ((fd = qcow2_data_fd(q)) < 0)
		return fd;
	if ((r = io_pread_zfill(fd, buf, n, host)) < 0)
		ERR(q, "reading data at 0x%llx: %s", ULL(host), strerror(-r));
	return r;
}

int
qcow2_img_data_fd(const struct img *im)
{
	const struct qcow2 *q = im->im_priv;

	return q && q->q_datafile ? q->q_data_fd : -1;
}

/* The data file must cover size bytes (it grows with the image). */
int
qcow2_df_truncate(struct qcow2 *q, uint64_t size)
{
	struct stat st;
	int fd;

	if (!q->q_datafile)
		return 0;
	if ((fd = qcow2_data_fd(q)) < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		ERR(q, "external data file: fstat: %s", strerror(errno));
		return -errno;
	}
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < size &&
	    ftruncate(fd, (off_t)size) < 0) {
		ERR(q, "external data file: extending: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* Every guest cluster mapped to its own offset (data_file_raw). */
static int
map_all(struct qcow2 *q)
{
	uint8_t *slot;
	int r;

	for (uint64_t v = 0; v < q->q_size; v += q->q_cs) {
		if ((r = qcow2_get_slot(q, v, &slot)) < 0)
			return r;
		qcow2_put64(slot, v | QCOW2_OFLAG_COPIED);
		if (q->q_extl2)
			qcow2_put64(slot + 8, QCOW2_SC_ALLOC_ALL);
		for (size_t i = 0; i < q->q_l2c.c_n; i++) {
			uint8_t *b = q->q_l2c.c_ent[i].ce_buf;

			if (slot >= b && slot < b + q->q_cs)
				q->q_l2c.c_ent[i].ce_dirty = 1;
		}
	}
	return 0;
}

static int
same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	    sa.st_ino == sb.st_ino;
}

/*
 * At creation (before the header is written): make the data file (name
 * relative to the image's directory, truncated if it exists, as qemu-img
 * does), record its name and the feature bits.
 */
int
qcow2_df_create(struct qcow2 *q, const struct img_create_opts *o)
{
	struct qcow2_ext *e;
	char err[IMG_ERRLEN];
	char *path;
	int fd;

	if (!o->co_data_file)
		return 0;
	path = img_backing_path(o->co_path, o->co_data_file);
	fd = img_create_file(path, 0, o->co_flags & (IMG_SAFE_PATH | IMG_DEVICES),
	    err, sizeof(err));
	free(path);
	if (fd < 0) {
		ERR(q, "external data file: %s", err);
		return fd;
	}
	q->q_data_fd = fd;
	q->q_datafile = 1;
	q->q_data_name = xstrdup(o->co_data_file);
	if (same_file(fd, q->q_fd)) {
		ERR(q, "external data file \"%s\" is the image itself",
		    o->co_data_file);
		return -EINVAL;
	}
	q->q_incompat |= QCOW2_INCOMPAT_DATAFILE;
	if (o->co_data_raw) {
		q->q_data_raw = 1;
		q->q_autoclear |= QCOW2_AUTOCLEAR_DATA_RAW;
	}
	q->q_exts = xrealloc(q->q_exts, (q->q_nexts + 1) * sizeof(*e));
	e = &q->q_exts[q->q_nexts++];
	e->qe_type = QCOW2_EXT_DATA_FILE;
	e->qe_len = (uint32_t)strlen(o->co_data_file);
	e->qe_data = (uint8_t *)xstrdup(o->co_data_file);
	return 0;
}

/* After the header and tables exist: size the data file, map (raw). */
int
qcow2_df_finish_create(struct qcow2 *q)
{
	int r;

	if (!q->q_datafile)
		return 0;
	if ((r = qcow2_df_truncate(q, q->q_size)) < 0)
		return r;
	return q->q_data_raw ? map_all(q) : 0;
}
