/*
 * Internal snapshots of a running VM's qcow2 disks (issue 15, vmctl
 * snapshot): QEMU's snapshot-save / snapshot-load / snapshot-delete jobs
 * over QMP, one operation per VM at a time, with the guest's file systems
 * frozen through its agent (when it answers) while the snapshot is taken
 * and thawed after it and after a revert. Every writable disk must be
 * qcow2 (a raw disk cannot go back with the others). Nothing waits: each
 * step is a QMP reply or a JOB_STATUS_CHANGE event.
 */
#ifndef VMS_VMD_SNAPSHOT_H
#define VMS_VMD_SNAPSHOT_H
#include <stddef.h>
#include <json-c/json.h>

struct daemon;
struct vm;

/* ret: the list (op list), or {} ; error: why. Called once, unless the VM's QMP goes first. */
typedef void (*snap_done_fn)(void *arg, struct json_object *ret, const char *error);

/*
 * op: create, revert, delete (tag needed), list. 0, or -errno with err (fn
 * not called); -ESRCH: the VM has no QEMU (its disks are free for vmctl).
 */
int snapshot_run(struct daemon *d, struct vm *vm, const char *op, const char *tag,
    snap_done_fn fn, void *arg, char *err, size_t errlen);
/* QMP JOB_STATUS_CHANGE of the VM. */
void snapshot_job_event(struct daemon *d, struct vm *vm, const char *id, const char *status);
/* The VM's QEMU is gone: drop the operation (its fn is not called). */
void snapshot_abort(struct vm *vm);
#endif
