/*
 * firmware = uefi, uefi-secure: the OVMF files are on this host, and a
 * Secure Boot build gets the machine it needs (qemu/qemu_fw.h).
 */
#include <stdio.h>

#include "qemu/qemu_fw.h"
#include "config/inv_priv.h"

void
inv_check_firmware(struct inv_parse *ip)
{
	const struct inventory *inv = ip->ip_inv;

	for (size_t i = 0; i < inv->inv_n_vms; i++) {
		const struct hw_vm *vm = &inv->inv_vms[i];
		const struct qemu_fw *f = qemu_fw_of(vm->vm_firmware);
		struct hw_loc loc = hw_vm_optloc(vm, "firmware");
		char err[512];

		if (!f)
			continue;
		/* As for kernel files: a disabled VM may name what is not installed yet. */
		if (vm->vm_policy.po_enable && qemu_fw_check(vm, err, sizeof(err)) != 0)
			diag_add(ip->ip_diag, DIAG_ERROR, loc.file, loc.line, vm->vm_name,
			    DC_NOFILE, "%s", err);
		if (f->fw_smm && !qemu_fw_machine_ok(vm))
			diag_add(ip->ip_diag, DIAG_ERROR, loc.file, loc.line, vm->vm_name,
			    DC_CONFLICT, "firmware = uefi-secure needs machine = \"q35\" (Secure "
			    "Boot keeps its variables in SMM, which QEMU's %s machine lacks)",
			    vm->vm_machine ? vm->vm_machine : "default pc");
	}
}
