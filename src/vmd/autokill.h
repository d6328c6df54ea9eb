/*
 * Autokill (issue 16, libvirt's VIR_DOMAIN_START_AUTOKILL): a VM started
 * by `vmctl start --autokill` lives only as long as the control connection
 * that started it. The control socket (a layer above) holds that binding
 * by the VM's name and reports the connection's end here, which is the
 * table's VE_AUTOKILL: QMP quit, SIGKILL after SUP_AUTOKILL_QUIT_MS.
 *
 * run_dir/NAME.autokill records the binding for a daemon that restarts
 * while such a VM runs: the connection died with the old daemon, so the
 * new one kills the VM on adoption (reason autokill) and never resumes
 * its intent. The file goes when the VM is down.
 */
#ifndef VMS_VMD_AUTOKILL_H
#define VMS_VMD_AUTOKILL_H
#include <stdbool.h>
#include <stddef.h>

struct daemon;
struct vm;

/* Before the start: write the record. 0, or -errno with err naming the file. */
int autokill_bind(struct daemon *d, struct vm *vm, char *err, size_t errlen);
/* The connection closed: VE_AUTOKILL, unless the VM is down already. */
void autokill_fire(struct daemon *d, struct vm *vm);
/* The VM is down (or never started): the record goes. */
void autokill_forget(struct daemon *d, struct vm *vm);
/* Daemon start: a record left by the previous daemon. */
bool autokill_orphaned(struct daemon *d, struct vm *vm);
/* Daemon start: vm's QEMU was just adopted; with a record it is killed now. */
void autokill_adopted(struct daemon *d, struct vm *vm);
#endif
