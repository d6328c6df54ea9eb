/*
 * The disks QEMU writes (hw_disk_written) as JSON, for the snapshot request
 * of a stopped machine: the daemon answers them as it runs the VM, and vmctl
 * reads them from the configuration file when no daemon runs.
 */
#ifndef VMS_INV_DISKS_H
#define VMS_INV_DISKS_H
#include <json-c/json.h>

#include "hw/hw.h"

/* [{"index":I,"file":F,"format":"auto|raw|qcow2"}], I the disk's place in the VM. */
struct json_object *inv_written_disks(const struct hw_vm *vm);
#endif
