/*
 * Which NIC models an emulator has: QEMU's own answer (`-device help`,
 * section "Network devices"), for validating `model` in the inventory.
 */
#ifndef VMS_QEMU_DEVICES_H
#define VMS_QEMU_DEVICES_H
#include <stdbool.h>
#include <stddef.h>
#include "lib/util.h"

/*
 * Models every x86 QEMU 7.2 build has. A model in this list is accepted
 * without asking the emulator, so that loading the inventory (vmctl runs it
 * on every call) does not cost a QEMU start in the usual case.
 */
bool qemu_nic_model_common(const char *model);

/*
 * Run `EMULATOR -device help` (no shell; 5 s at most) and append the name
 * and aliases of each network device to out. 0, or -errno with err filled
 * (cannot run it, no "Network devices" section).
 */
int qemu_nic_models(const char *emulator, struct strv *out, char *err, size_t errlen);
/* The same from help, the output of `emulator -device help` obtained otherwise. */
int qemu_nic_models_parse(const char *help, const char *emulator, struct strv *out, char *err,
    size_t errlen);
#endif
