/*
 * qcow2 internal snapshots (qemu docs/interop/qcow2.txt, "Snapshots").
 *
 * qcow2_sntable.c reads the snapshot table at open, validating every entry,
 * and encodes a new one. qcow2_rebuild.c commits a new set of tables (active
 * L1, snapshot table) out of place: what it writes lies past everything the
 * old header reaches, refcounts are recomputed from the references into a
 * new refcount table, and one header write switches over. A crash leaves the
 * old image or the new one, never a mix; qcow2_snapshot.c builds the plans
 * for create, delete and apply on it.
 */
#ifndef VMS_STORAGE_QCOW2_SNAPSHOT_H
#define VMS_STORAGE_QCOW2_SNAPSHOT_H
#include <stdint.h>

#include "storage/qcow2.h"

#define QCOW2_SN_HDR_LEN	40
#define QCOW2_SN_EXTRA_LEN	24	/* vm_state_size_large, disk_size, icount */
#define QCOW2_SN_MAX_EXTRA	1024	/* QEMU's QCOW_MAX_SNAPSHOT_EXTRA_DATA */
#define QCOW2_SN_MAX_TABLE	(64u << 20)	/* QEMU's QCOW_MAX_SNAPSHOTS_SIZE */
#define QCOW2_SN_MAX_NAME	255	/* QEMU's QEMUSnapshotInfo.name */
#define QCOW2_SN_NO_ICOUNT	UINT64_MAX

struct qcow2_snap {
	uint64_t	 sn_l1_off;
	uint32_t	 sn_l1_size;
	char		*sn_id;
	char		*sn_name;
	uint32_t	 sn_date_sec;
	uint32_t	 sn_date_nsec;
	uint64_t	 sn_vm_clock;		/* guest run time, ns */
	uint64_t	 sn_vm_state;		/* bytes of VM state */
	uint64_t	 sn_disk_size;
	uint64_t	 sn_icount;
	uint8_t		*sn_unknown;		/* extra data past what we know, kept */
	uint32_t	 sn_unknown_len;
};

/* qcow2_sntable.c */
/* Read and validate the table the header names into q_snaps. */
int qcow2_sn_read(struct qcow2 *q);
void qcow2_sn_free(struct qcow2_snap *v, uint32_t n);
/* A deep copy of n entries. */
struct qcow2_snap *qcow2_sn_dup(const struct qcow2_snap *v, uint32_t n);
/* The on-disk table for n entries; *len its size in bytes. */
uint8_t *qcow2_sn_encode(const struct qcow2_snap *v, uint32_t n, uint64_t *len);
/* Index of the snapshot whose ID (first) or name is key, or -1. */
int qcow2_sn_find(const struct qcow2 *q, const char *key, int by_id);

/* qcow2_rebuild.c */
struct qcow2_plan {
	uint64_t	*pl_l1;		/* the new active L1, host order */
	uint32_t	 pl_l1_size;
	uint64_t	 pl_l1_off;	/* where pl_l1 is already stored, or 0 */
	struct qcow2_snap *pl_snaps;	/* the new snapshot table */
	uint32_t	 pl_nsnaps;
	uint64_t	 pl_size;	/* the new virtual size */
};
/*
 * Make the image hold exactly what pl describes. pl_l1 comes back as
 * stored (L2 copies, COPIED flags) and stays the caller's; on success q
 * reflects the new state and pl_snaps belongs to q (pl_snaps is NULL).
 */
int qcow2_rebuild(struct qcow2 *q, struct qcow2_plan *pl);

/* qcow2_cow.c: give L1 entry l1i a private copy of its shared L2 table. */
int qcow2_cow_l2(struct qcow2 *q, uint64_t l1i, uint64_t *l2o);
#endif
