/*
 * The programs some options need besides QEMU (tpm = on: swtpm; a
 * cloud_init section: xorriso): a missing one is said at check-config and
 * at load, with its Debian package, as a warning: the other VMs run, and
 * this one fails at its start with the same reason.
 */
#include <unistd.h>

#include "qemu/seed_argv.h"
#include "qemu/swtpm_argv.h"
#include "config/inv_priv.h"

static void
need(struct inv_parse *ip, const struct hw_vm *vm, const char *key, const char *prog,
    const char *pkg)
{
	struct hw_loc loc = hw_vm_optloc(vm, key);

	/* As root would run it: access(2) with the real ids, X_OK on a regular file. */
	if (access(prog, X_OK) == 0)
		return;
	diag_add(ip->ip_diag, DIAG_WARNING, loc.file, loc.line, vm->vm_name, DC_NOFILE,
	    "%s needs %s (Debian package %s), which is not installed: this VM cannot start",
	    key, prog, pkg);
}

void
inv_check_helpers(struct inv_parse *ip)
{
	for (size_t i = 0; i < ip->ip_inv->inv_n_vms; i++) {
		const struct hw_vm *vm = &ip->ip_inv->inv_vms[i];

		if (vm->vm_tpm)
			need(ip, vm, "tpm", SWTPM_PATH, "swtpm");
		if (vm->vm_cloud_init.ci_on)
			need(ip, vm, "cloud_init", SEED_XORRISO, "xorriso");
	}
}
