/*
 * Per-VM uids (issue 12). A VM whose runas is "dynamic" (the default) runs
 * QEMU as its own uid, with the same number as its gid, taken from the
 * configured uid_range, so that a compromised QEMU owns its own disks and
 * no other VM's. The uid is keyed by the VM's name: a hash picks the first
 * candidate, linear probing skips uids another VM holds or that passwd or
 * group name, and the choice is kept in STATE_DIR/uids ("NAME UID" lines)
 * so that it never changes for a VM, whatever happens to the others.
 * Allocations of removed VMs are kept: a new VM never inherits a removed
 * one's files. The range's first number is never a VM's: on a host without
 * the `vmservice` group it is the gid every QEMU user shares for run_dir.
 */
#ifndef VMS_UIDMAP_H
#define VMS_UIDMAP_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define UIDMAP_DEFAULT_RANGE	"60600-61099"

/* "LO-HI", 0 < LO < HI < 2^31. 0 or -EINVAL with err filled. */
int uidmap_parse(const char *s, uid_t *lo, uid_t *hi, char *err, size_t errlen);

/*
 * Does a passwd or group entry use a number in lo..hi? -EEXIST with the
 * first one named in err, else 0.
 */
int uidmap_overlap(uid_t lo, uid_t hi, char *err, size_t errlen);

/*
 * The uid of VM name. Found in state_dir/uids and inside lo..hi: that one
 * (an error if passwd or group now uses it). Else, with alloc, a new one is
 * chosen and saved; without, -ENOENT. 0 or -errno with err filled.
 */
int uidmap_get(const char *state_dir, const char *name, uid_t lo, uid_t hi, bool alloc,
    uid_t *uid, char *err, size_t errlen);
#endif
