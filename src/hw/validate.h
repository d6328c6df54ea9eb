/*
 * Checks of one VM of the model on its own: options that only make sense
 * together, files that must exist, the emulator binary. Checks across VMs
 * (ports, MACs, `after`) belong to the inventory. Every problem goes to d
 * with the place it was declared (struct hw_optloc) and the VM's name.
 */
#ifndef VMS_HW_VALIDATE_H
#define VMS_HW_VALIDATE_H
#include "lib/diag.h"
#include "hw/hw.h"

/*
 * emulator: the full path of the binary to check, or NULL to skip that
 * check. A disabled VM (vm_policy.po_enable false) is not checked against the file
 * system: its files may legitimately not exist yet.
 */
void hw_validate_vm(const struct hw_vm *vm, const char *emulator, struct diag *d);
#endif
