/* A VM's runas setting to the user its QEMU runs as (see vmpriv.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config/uidmap.h"
#include "config/vmpriv.h"

int
vmpriv_resolve(const struct inventory *inv, const struct hw_vm *vm, bool alloc,
    struct qpriv *p, char *err, size_t errlen)
{
	char label[128];
	gid_t run_gid;
	uid_t uid;
	int e;

	/*
	 * run_dir's group is `vmservice` (make install), else the range's
	 * first number, which no VM gets (uidmap.h); the same for every
	 * QEMU user, named or dynamic.
	 */
	if (!qpriv_group(QPRIV_QEMU_GROUP, &run_gid))
		run_gid = (gid_t)inv->inv_uid_lo;
	if (vm->vm_runas && strcmp(vm->vm_runas, QPRIV_DYNAMIC) != 0) {
		if ((e = qpriv_resolve(vm->vm_runas, p, err, errlen)) == 0)
			qpriv_set_run_gid(p, run_gid);
		return e;
	}
	/* Not root: QEMU runs as the daemon's user, nothing to allocate. */
	if (geteuid() != 0)
		return qpriv_resolve(NULL, p, err, errlen);
	e = uidmap_get(inv->inv_state_dir, vm->vm_name, inv->inv_uid_lo, inv->inv_uid_hi,
	    alloc, &uid, err, errlen);
	if (e)
		return e;
	snprintf(label, sizeof(label), "vm-%s", vm->vm_name);
	/* The gid has the uid's number: uid_range holds no group either. */
	return qpriv_resolve_ids(label, uid, (gid_t)uid, run_gid, p, err, errlen);
}

int
vmpriv_resolve_any(const struct inventory *inv, const struct hw_vm *vm, struct qpriv *p,
    char *err, size_t errlen)
{
	char label[128];
	gid_t run_gid;
	int e = vmpriv_resolve(inv, vm, false, p, err, errlen);

	if (e != -ENOENT || (vm->vm_runas && strcmp(vm->vm_runas, QPRIV_DYNAMIC) != 0))
		return e;
	/*
	 * A dynamic VM not started yet has no uid: what it may open depends on
	 * its groups (kvm, run_dir's), the same for every dynamic VM, so the
	 * range's first number (no VM's) stands in for it.
	 */
	if (!qpriv_group(QPRIV_QEMU_GROUP, &run_gid))
		run_gid = (gid_t)inv->inv_uid_lo;
	snprintf(label, sizeof(label), "vm-%s", vm->vm_name);
	return qpriv_resolve_ids(label, inv->inv_uid_lo, (gid_t)inv->inv_uid_lo, run_gid, p,
	    err, errlen);
}
