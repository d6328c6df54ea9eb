/*
 * A VM's QEMU as a machine of the host (issue 17): where its resource
 * limits (cpu_weight, cpu_quota, memory_max, io_weight) are applied.
 *   systemd  (PID 1 is systemd) registered with systemd-machined as
 *            vmservice-NAME, in its own scope machine-vmservice\x2dNAME.scope
 *            in machine.slice, the limits as the scope's properties, Before=
 *            the daemon's own unit (machined.c)
 *   cgroup2  (no systemd, cgroup v2 at /sys/fs/cgroup) a group
 *            /sys/fs/cgroup/vmservice/NAME the daemon makes, the limits
 *            written to its cpu.weight, cpu.max, memory.max, io.weight
 *   none     nothing; check-config and the log say the limits are not applied
 * The QEMU child waits on a gate (a pipe, qchild.qc_gate) until it is in its
 * scope or group, so that nothing of it runs or allocates outside; a failed
 * registration is logged and the gate opened anyway (the VM runs unlimited
 * rather than not at all). An adopted QEMU keeps the scope it is in; a
 * reload that changes the limits sets them on the running scope or group.
 */
#ifndef VMS_MACHINE_H
#define VMS_MACHINE_H
#include <stddef.h>

struct daemon;
struct vm;

/* The daemon's start: what this host offers; the bus when systemd runs. */
void machines_init(struct daemon *d);
void machines_free(struct daemon *d);
/* "systemd", "cgroup2" or "none" (status, logs). */
const char *machines_backend(const struct daemon *d);

/*
 * Before a spawn: the read end of the gate the QEMU child waits on (in
 * *gate, kept by the child), or -1 when there is nothing to wait for.
 * 0 or -errno with err.
 */
int machine_gate(struct daemon *d, struct vm *vm, int *gate, char *err, size_t errlen);
/* After the spawn (vm_pid set): into its scope or group, then the gate opens. */
void machine_spawned(struct daemon *d, struct vm *vm);
/* An adopted or attached QEMU: which scope it is in (for later reloads). */
void machine_adopted(struct daemon *d, struct vm *vm);
/* A reload changed vm's limits while its QEMU runs. */
void machine_limits_changed(struct daemon *d, struct vm *vm);
/* Its QEMU is gone (or the VM leaves the daemon): a cgroup2 group removed. */
void machine_gone(struct daemon *d, struct vm *vm);
void machine_release(struct daemon *d, struct vm *vm);
/* Its scope ("" when none), for vmctl status. */
const char *machine_scope(const struct vm *vm);
#endif
