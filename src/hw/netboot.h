/*
 * Network boot on user networking (issue 16): a NIC's tftp, bootfile and
 * smb options, checked on their own (hw_validate_vm calls this per NIC).
 */
#ifndef VMS_HW_NETBOOT_H
#define VMS_HW_NETBOOT_H
#include <stdbool.h>
#include <stddef.h>

#include "lib/diag.h"
#include "hw/hw.h"

/*
 * Problems of NIC i of vm to d, each at the line of its option. fs: also
 * check that tftp names a directory (stat only: the daemon never opens it,
 * QEMU reads it as the VM's user).
 */
void hw_check_netboot(const struct hw_vm *vm, size_t i, const struct hw_nic *n,
    bool fs, struct diag *d);
#endif
