/*
 * Internal snapshots: list, create, delete, apply (vmimg snapshot).
 *
 * Each operation is a plan for qcow2_rebuild(): the new active L1 table and
 * the new snapshot table. Create hands the current active L1 table to the
 * new snapshot as it stands and gives the image a fresh copy; delete drops
 * an entry; apply copies a snapshot's L1 table into a fresh active one. The
 * rebuild counts the references, copies whatever L2 table needs its COPIED
 * flags changed, and switches the header over in one write.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/util.h"
#include "storage/io.h"
#include "storage/snapshot.h"
#include "storage/qcow2_snapshot.h"

int
img_snapshot_list(const struct img *im, struct img_snapshot **out, size_t *n)
{
	const struct qcow2 *q;
	struct img_snapshot *v;

	*out = NULL;
	*n = 0;
	if (im->im_fmt != IMG_FMT_QCOW2)
		return 0;
	q = im->im_priv;
	v = xcalloc(q->q_nb_snapshots ? q->q_nb_snapshots : 1, sizeof(*v));
	for (uint32_t i = 0; i < q->q_nb_snapshots; i++) {
		const struct qcow2_snap *s = &q->q_snaps[i];

		v[i].is_id = s->sn_id;
		v[i].is_name = s->sn_name;
		v[i].is_vm_state_size = s->sn_vm_state;
		v[i].is_date_sec = s->sn_date_sec;
		v[i].is_date_nsec = s->sn_date_nsec;
		v[i].is_vm_clock_nsec = s->sn_vm_clock;
		v[i].is_icount = s->sn_icount;
		v[i].is_disk_size = s->sn_disk_size;
	}
	*out = v;
	*n = q->q_nb_snapshots;
	return 0;
}

static struct qcow2 *
writable_qcow2(struct img *im, const char *verb, const char *key, char *err,
    size_t errlen)
{
	if (im->im_fmt != IMG_FMT_QCOW2) {
		xsnprintf(err, errlen, "%s: could not %s snapshot '%s': format %s has "
		    "no internal snapshots", im->im_path, verb, key,
		    img_fmt_name(im->im_fmt));
		return NULL;
	}
	if (!(im->im_flags & IMG_RDWR)) {
		xsnprintf(err, errlen, "%s: could not %s snapshot '%s': image is open "
		    "read-only", im->im_path, verb, key);
		return NULL;
	}
	/* What a read-write open refuses unless forced (check -r opens so). */
	if (qcow2_of(im)->q_incompat & (QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT)) {
		xsnprintf(err, errlen, "%s: could not %s snapshot '%s': image is "
		    "marked %s: run vmimg check -r all", im->im_path, verb, key,
		    qcow2_of(im)->q_incompat & QCOW2_INCOMPAT_CORRUPT ? "corrupt" :
		    "dirty");
		return NULL;
	}
	return qcow2_of(im);
}

/* A plan keeping the active L1 table as it is, with a copy of the table. */
static void
plan_same(struct qcow2 *q, struct qcow2_plan *pl)
{
	pl->pl_l1 = xcalloc(q->q_l1_size ? q->q_l1_size : 1, sizeof(*pl->pl_l1));
	memcpy(pl->pl_l1, q->q_l1, (size_t)q->q_l1_size * 8);
	pl->pl_l1_size = q->q_l1_size;
	pl->pl_l1_off = q->q_l1_off;
	pl->pl_snaps = qcow2_sn_dup(q->q_snaps, q->q_nb_snapshots);
	pl->pl_nsnaps = q->q_nb_snapshots;
	pl->pl_size = q->q_size;
}

static int
run_plan(struct img *im, struct qcow2_plan *pl, char *err, size_t errlen)
{
	int r = qcow2_rebuild(qcow2_of(im), pl);

	if (r < 0)
		xsnprintf(err, errlen, "%s", img_errmsg(im));
	qcow2_sn_free(pl->pl_snaps, pl->pl_nsnaps);
	free(pl->pl_l1);
	return r;
}

/* As QEMU: one more than the largest numeric ID. */
static char *
next_id(const struct qcow2 *q)
{
	unsigned long max = 0;

	for (uint32_t i = 0; i < q->q_nb_snapshots; i++) {
		unsigned long id = strtoul(q->q_snaps[i].sn_id, NULL, 10);

		if (id > max)
			max = id;
	}
	return xasprintf("%lu", max + 1);
}

int
img_snapshot_create(struct img *im, const char *name, char *err, size_t errlen)
{
	struct qcow2 *q = writable_qcow2(im, "create", name, err, errlen);
	struct qcow2_plan pl;
	struct qcow2_snap *sn;
	struct timespec ts;

	if (!q)
		return -ENOTSUP;
	/* qemu-img cuts longer names to 255 bytes; refusing says so. */
	if (strlen(name) > QCOW2_SN_MAX_NAME) {
		xsnprintf(err, errlen, "%s: could not create snapshot: the name is "
		    "longer than %d bytes", im->im_path, QCOW2_SN_MAX_NAME);
		return -ENAMETOOLONG;
	}
	if (q->q_nb_snapshots >= QCOW2_MAX_SNAPSHOTS) {
		xsnprintf(err, errlen, "%s: could not create snapshot '%s': the image "
		    "already has %d", im->im_path, name, QCOW2_MAX_SNAPSHOTS);
		return -EFBIG;
	}
	if (clock_gettime(CLOCK_REALTIME, &ts) < 0) {
		xsnprintf(err, errlen, "clock_gettime: %s", strerror(errno));
		return -errno;
	}
	plan_same(q, &pl);
	/* The current L1 table becomes the snapshot's as it stands; the image
	 * gets a new one (its COPIED flags change: the clusters are shared). */
	pl.pl_l1_off = 0;
	pl.pl_snaps = xrealloc(pl.pl_snaps, (pl.pl_nsnaps + 1) * sizeof(*sn));
	sn = &pl.pl_snaps[pl.pl_nsnaps++];
	memset(sn, 0, sizeof(*sn));
	sn->sn_l1_off = q->q_l1_off;
	sn->sn_l1_size = q->q_l1_size;
	sn->sn_id = next_id(q);
	sn->sn_name = xstrdup(name);
	sn->sn_date_sec = (uint32_t)ts.tv_sec;
	sn->sn_date_nsec = (uint32_t)ts.tv_nsec;
	sn->sn_disk_size = q->q_size;
	sn->sn_icount = 0;	/* what qemu-img records */
	return run_plan(im, &pl, err, errlen);
}

int
img_snapshot_delete(struct img *im, const char *name, char *err, size_t errlen)
{
	struct qcow2 *q = writable_qcow2(im, "delete", name, err, errlen);
	struct qcow2_plan pl;
	int i;

	if (!q)
		return -ENOTSUP;
	/* As qemu-img snapshot -d: the first snapshot of that name. */
	if ((i = qcow2_sn_find(q, name, 0)) < 0) {
		xsnprintf(err, errlen, "%s: could not delete snapshot '%s': snapshot "
		    "not found", im->im_path, name);
		return -ENOENT;
	}
	plan_same(q, &pl);
	/* Its L1 and L2 tables and the clusters only it reached lose their
	 * last reference; the image's tables whose clusters become unshared
	 * are rewritten with COPIED set. */
	free(pl.pl_snaps[i].sn_id);
	free(pl.pl_snaps[i].sn_name);
	free(pl.pl_snaps[i].sn_unknown);
	memmove(pl.pl_snaps + i, pl.pl_snaps + i + 1,
	    (pl.pl_nsnaps - (uint32_t)i - 1) * sizeof(*pl.pl_snaps));
	pl.pl_nsnaps--;
	return run_plan(im, &pl, err, errlen);
}

int
img_snapshot_apply(struct img *im, const char *key, char *err, size_t errlen)
{
	struct qcow2 *q = writable_qcow2(im, "apply", key, err, errlen);
	const struct qcow2_snap *sn;
	struct qcow2_plan pl;
	uint64_t *l1;
	uint32_t n;
	int i, r;

	if (!q)
		return -ENOTSUP;
	/* As qemu-img snapshot -a: by ID first, then by name. */
	if ((i = qcow2_sn_find(q, key, 1)) < 0 && (i = qcow2_sn_find(q, key, 0)) < 0) {
		xsnprintf(err, errlen, "%s: could not apply snapshot '%s': snapshot "
		    "not found", im->im_path, key);
		return -ENOENT;
	}
	sn = &q->q_snaps[i];
	/* The active table is at least as large as it was, the snapshot's and
	 * what the snapshot's disk size needs (QEMU resizes, then grows). */
	n = q->q_l1_size;
	if (sn->sn_l1_size > n)
		n = sn->sn_l1_size;
	if (qcow2_l1_needed(q, sn->sn_disk_size) > n)
		n = (uint32_t)qcow2_l1_needed(q, sn->sn_disk_size);
	if ((uint64_t)n * 8 > QCOW2_MAX_L1_BYTES) {
		xsnprintf(err, errlen, "%s: could not apply snapshot '%s': its disk "
		    "size needs an L1 table over %u MiB", im->im_path, key,
		    QCOW2_MAX_L1_BYTES >> 20);
		return -EFBIG;
	}
	l1 = xcalloc(n ? n : 1, sizeof(*l1));
	if (sn->sn_l1_size && (r = io_pread(q->q_fd, l1, (size_t)sn->sn_l1_size * 8,
	    sn->sn_l1_off)) < 0) {
		xsnprintf(err, errlen, "%s: reading the L1 table of snapshot '%s': %s",
		    im->im_path, key, strerror(-r));
		free(l1);
		return r;
	}
	for (uint32_t j = 0; j < sn->sn_l1_size; j++)
		l1[j] = qcow2_be64((uint8_t *)&l1[j]);
	plan_same(q, &pl);
	free(pl.pl_l1);
	pl.pl_l1 = l1;
	pl.pl_l1_size = n;
	pl.pl_l1_off = 0;
	pl.pl_size = sn->sn_disk_size;
	return run_plan(im, &pl, err, errlen);
}
