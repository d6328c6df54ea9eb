/*
 * A VM's names in systemd's world: the machine systemd-machined knows it by
 * ("vmservice-NAME", what `machinectl list` shows) and the scope unit
 * machined makes for it ("machine-vmservice\x2dNAME.scope" in machine.slice).
 */
#ifndef VMS_HW_MACHNAME_H
#define VMS_HW_MACHNAME_H
#include <stddef.h>

/* Longest VM name (64) + prefixes, escaped at 4 bytes a character. */
#define HW_MACHNAME_MAX	96
#define HW_SCOPE_MAX	(16 + 4 * HW_MACHNAME_MAX)

/* "vmservice-NAME" into buf; -ENAMETOOLONG if it does not fit. */
int hw_machine_name(const char *vm, char *buf, size_t len);
/* machined's scope for machine name mach: "machine-" + systemd's unit-name
 * escaping of mach (what `systemd-escape` prints) + ".scope". */
int hw_machine_scope(const char *mach, char *buf, size_t len);
#endif
