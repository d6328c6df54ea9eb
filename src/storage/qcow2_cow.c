/*
 * Copy on write of a shared L2 table (spec: "Snapshots": a write to a
 * cluster a snapshot also reaches must not be visible in the snapshot).
 * Shared data clusters need no code of their own: a write to one takes the
 * path of a write to an unallocated cluster (qcow2_cluster.c write_new).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "storage/io.h"
#include "storage/qcow2_snapshot.h"

#define ERR(q, ...)	img_seterr((q)->q_img, __VA_ARGS__)

int
qcow2_cow_l2(struct qcow2 *q, uint64_t l1i, uint64_t *l2o)
{
	uint64_t old = *l2o, nw;
	uint8_t *t, *copy = xmalloc(q->q_cs), be[8];
	int r;

	if ((r = qcow2_cache_get(q, &q->q_l2c, old, 0, &t)) < 0)
		goto out;
	/* Verbatim: every cluster the copy names is still named by the old
	 * table as well, so none becomes unshared and no COPIED flag changes. */
	memcpy(copy, t, q->q_cs);
	if ((r = qcow2_alloc_clusters(q, 1, &nw)) < 0)
		goto out;
	if ((r = io_pwrite(q->q_fd, copy, q->q_cs, nw)) < 0) {
		ERR(q, "writing a copy of the shared L2 table 0x%llx: %s",
		    (unsigned long long)old, strerror(-r));
		goto out;
	}
	/* The copy's refcount on disk before the L1 entry names it, and the
	 * L1 entry before the old table loses a reference: a crash leaks. */
	if ((r = qcow2_cache_flush(q, &q->q_rbc)) < 0 || (r = qcow2_flush_rt(q)) < 0)
		goto out;
	q->q_l1[l1i] = nw | QCOW2_OFLAG_COPIED;
	qcow2_put64(be, q->q_l1[l1i]);
	if ((r = io_pwrite(q->q_fd, be, 8, q->q_l1_off + l1i * 8)) < 0) {
		ERR(q, "writing L1 entry %llu: %s", (unsigned long long)l1i,
		    strerror(-r));
		goto out;
	}
	if ((r = qcow2_rc_update(q, old, -1)) < 0)
		goto out;
	*l2o = nw;
out:
	free(copy);
	return r;
}
