/*
 * Who a VM's QEMU runs as, from the inventory (issue 12): runas names a
 * user (or "root"), or is "dynamic" (the default, also when absent): the
 * VM's own uid and gid from uid_range (uidmap.h). The one place that turns
 * a VM's configuration into a struct qpriv, for spawning QEMU, for checking
 * what that user may open, and for checking an adopted QEMU's uid.
 */
#ifndef VMS_VMPRIV_H
#define VMS_VMPRIV_H
#include <stdbool.h>
#include <stddef.h>

#include "qemu/qemu_priv.h"
#include "config/inventory.h"

/*
 * qpriv_resolve() or qpriv_resolve_ids() for vm. alloc: a dynamic VM
 * without a uid yet gets one (saved in state_dir); without alloc that is
 * -ENOENT. 0 or -errno with err filled; qpriv_free() p after success.
 */
int vmpriv_resolve(const struct inventory *inv, const struct hw_vm *vm, bool alloc,
    struct qpriv *p, char *err, size_t errlen);
/*
 * The same without allocating: a dynamic VM that has no uid yet is
 * answered for a stand-in uid with the groups it will have (what it may
 * open, e.g. /dev/kvm, depends on those). For vmctl check-config and show.
 */
int vmpriv_resolve_any(const struct inventory *inv, const struct hw_vm *vm,
    struct qpriv *p, char *err, size_t errlen);
#endif
