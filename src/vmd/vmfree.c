/*
 * The one teardown of a VM's daemon-side resources (consoles, taps, QMP,
 * pidfd, timer, lock, the struct itself), for the daemon's exit and for a
 * VM a reload dropped. Its QEMU, if any, is left running (adopted by the
 * next daemon). reload.c frees its own per-VM part first.
 */
#include <stdlib.h>
#include <unistd.h>

#include "lib/loop.h"
#include "qemu/qmp.h"
#include "vmd/attach.h"
#include "vmd/daemon.h"
#include "vmd/machine.h"
#include "vmd/migrate.h"
#include "vmd/vmcon.h"
#include "vmd/vmnet.h"
#include "vmd/tpm.h"
#include "vmd/cidata.h"

void
vm_drop_lock(struct vm *vm)
{
	if (vm->vm_lockfd != -1)
		close(vm->vm_lockfd);
	vm->vm_lockfd = -1;
}

void
vm_release(struct daemon *d, struct vm *vm)
{
	vmcon_close(vm);
	vmnet_free(vm);
	if (vm->vm_timer)
		loop_cancel_timer(d->lp, vm->vm_timer);
	qmp_free(vm->vm_qmp);
	if (vm->vm_pidfd != -1) {
		loop_del_fd(d->lp, vm->vm_pidfd);
		close(vm->vm_pidfd);
	}
	vm_drop_lock(vm);
	tpm_release(d, vm);
	cidata_release(d, vm);
	machine_release(d, vm);
	migrate_forget(d, vm);
	sup_vm_clear(vm);
	attach_free(vm);
	free(vm);
}
