/*
 * Internal snapshots of a qcow2 image (vmimg snapshot), as qemu-img makes
 * them: each snapshot keeps its own L1 table, sharing clusters with the
 * active image through refcounts; writes copy shared clusters first.
 *
 * The image must be open IMG_RDWR for create, delete and apply, and used by
 * no one else: img_lock() takes QEMU's own image locks to make sure.
 */
#ifndef VMS_STORAGE_SNAPSHOT_H
#define VMS_STORAGE_SNAPSHOT_H
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "storage/img.h"

struct img_snapshot {
	const char	*is_id;		/* valid while the image is open */
	const char	*is_name;
	uint64_t	 is_vm_state_size;
	uint32_t	 is_date_sec;
	uint32_t	 is_date_nsec;
	uint64_t	 is_vm_clock_nsec;
	uint64_t	 is_icount;	/* UINT64_MAX: not recorded */
	uint64_t	 is_disk_size;
};

/* The snapshots in table order (*out freed by the caller). */
int img_snapshot_list(const struct img *im, struct img_snapshot **out, size_t *n);
/* A new snapshot named name (a fresh numeric ID, as QEMU picks them). */
int img_snapshot_create(struct img *im, const char *name, char *err,
    size_t errlen);
/* Delete the first snapshot named name. */
int img_snapshot_delete(struct img *im, const char *name, char *err,
    size_t errlen);
/* Make the image's content that of the snapshot with ID, else name, key. */
int img_snapshot_apply(struct img *im, const char *key, char *err,
    size_t errlen);
/* The snapshots as qemu-img info's JSON array (empty: none); NULL: unreadable. */
struct json_object *img_snapshots_json(const struct img *im);
#endif
