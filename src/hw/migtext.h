/*
 * The hardware a live migration must find identical on the destination:
 * one "key: value" line each (machine, cpu, smp, memory, firmware, disks'
 * and NICs' devices, display, balloon, agent, tpm...), never paths, ports
 * or policy (vmctl migrate, vmd/migrate.c).
 */
#ifndef VMS_HW_MIGTEXT_H
#define VMS_HW_MIGTEXT_H
#include "hw/hw.h"

/* Allocated. */
char *hw_migration_text(const struct hw_vm *hw);
/* NULL when a and b are the same, else "- line" (only in a) and "+ line"
 * (only in b) lines, allocated. */
char *hw_migration_diff(const char *a, const char *b);
#endif
