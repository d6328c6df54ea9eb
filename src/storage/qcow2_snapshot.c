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

#include "lib/util.h"
#include "storage/snapshot.h"
#include "storage/qcow2_snapshot.h"

int
img_snapshot_list(struct img *im, struct img_snapshot **out, size_t *n)
{
	struct qcow2 *q;
	struct img_snapshot *v;

	*out = NULL;
	*n = 0;
	if (im->im_fmt != IMG_FMT_QCOW2)
		return 0;
	q = qcow2_of(im);
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
