/* The supervisor's save and restore (sup_act.h). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"
#include "vmd/sup_act.h"

/* ---- save and restore (vmservice.conf(5): on_host_shutdown) ---- */

void
a_save(const struct sup *s, struct vm *vm, int arg)
{
	char err[512];

	if (!s->ops->save || s->ops->save(s->ctx, vm, err, sizeof(err))) {
		free(vm->vm_detail);
		vm->vm_detail = xasprintf("save failed: %s", s->ops->save ? err : "not supported");
		a_save_failed(s, vm, VE_SAVE_FAILED);
		return;
	}
	vm->vm_pending = SR_SAVED;
	sup_set_state(s, vm, VS_SAVING, "save requested: guest paused, state streaming");
	s->ops->arm(s->ctx, vm, vm->vm_hw->vm_policy.po_save_timeout * 1000u);
}

void
a_saved(const struct sup *s, struct vm *vm, int arg)
{
	int e = s->ops->qmp(s->ctx, vm, "quit", NULL);

	if (e) {
		sup_term_because(s, vm, "state saved, QMP gone: SIGTERM");
		return;
	}
	sup_set_state(s, vm, VS_HALTING, "state saved: QEMU quits");
	s->ops->arm(s->ctx, vm, sup_halt_ms(vm));
}

/* The save failed or took longer than save_timeout: the guest runs on, then halts. */
void
a_save_failed(const struct sup *s, struct vm *vm, int arg)
{
	char why[160], log[sizeof(vm->vm_halt_log) + sizeof(why) + 2];
	size_t n;

	snprintf(why, sizeof(why), "%s", arg == VE_TIMER ? "save failed: save_timeout expired" :
	    vm->vm_detail ? vm->vm_detail : "save failed");
	log_vm(LOG_ERR, vm->vm_name, "%s: halting instead", why);
	if (arg == VE_TIMER)
		(void)s->ops->qmp(s->ctx, vm, "migrate_cancel", NULL);
	(void)s->ops->qmp(s->ctx, vm, "cont", NULL);
	vm->vm_pending = SR_NONE;
	a_halt(s, vm, VE_STOP);
	/* The stop detail starts with why it was not a save. */
	snprintf(log, sizeof(log), "%s%s%s", why, vm->vm_halt_log[0] ? "; " : "",
	    vm->vm_halt_log);
	n = strlen(log);
	if (n >= sizeof(vm->vm_halt_log))
		n = sizeof(vm->vm_halt_log) - 1;
	memcpy(vm->vm_halt_log, log, n);
	vm->vm_halt_log[n] = 0;
}

void
a_restore(const struct sup *s, struct vm *vm, int arg)
{
	char err[512];

	if (s->ops->restore && s->ops->restore(s->ctx, vm, err, sizeof(err)) == 0) {
		log_vm(LOG_INFO, vm->vm_name, "loading its saved state");
		s->ops->arm(s->ctx, vm, vm->vm_hw->vm_policy.po_save_timeout * 1000u);
		return;
	}
	free(vm->vm_detail);
	vm->vm_detail = xasprintf("restore-failed: %s", s->ops->restore ? err : "not supported");
	a_restore_failed(s, vm, VE_RESTORE_FAILED);
}

void
a_restored(const struct sup *s, struct vm *vm, int arg)
{
	int e = s->ops->qmp(s->ctx, vm, "cont", NULL);

	if (e)
		log_vm(LOG_WARNING, vm->vm_name, "cannot send cont (%s)", strerror(-e));
	vm->vm_run_ms = s->ops->now(s->ctx);
	sup_set_state(s, vm, VS_RUNNING, "restored from its saved state");
}

/*
 * QEMU refused the saved state (or took too long, or exited): the state
 * file is moved aside (ops restore_failed) and the VM boots cold.
 */
void
a_restore_failed(const struct sup *s, struct vm *vm, int arg)
{
	if (!vm->vm_detail || strncmp(vm->vm_detail, "restore-failed", 14) != 0) {
		char *why = xasprintf("restore-failed: %s", arg == VE_TIMER ?
		    "loading took longer than save_timeout" :
		    vm->vm_detail ? vm->vm_detail : "QEMU refused the saved state");
		free(vm->vm_detail);
		vm->vm_detail = why;
	}
	s->ops->restore_failed(s->ctx, vm, vm->vm_detail);
	vm->vm_pending = SR_RESTORE_FAILED;
	if (!sup_wants_down(vm))
		vm->vm_want = WANT_RESTART;
	/* Its CPUs never ran: nothing to flush. */
	sup_send_signal(s, vm, SIGKILL);
	sup_set_state(s, vm, VS_KILLING, "restore failed: booting cold");
}

void
a_restore_exit(const struct sup *s, struct vm *vm, int arg)
{
	char *says = s->ops->exit_detail(s->ctx, vm);

	sup_record_exit(vm, arg);
	free(vm->vm_detail);
	vm->vm_detail = xasprintf("restore-failed: QEMU exited loading the saved state (%s)%s%s",
	    vm->vm_last_exit, says ? ": " : "", says ? says : "");
	free(says);
	s->ops->restore_failed(s->ctx, vm, vm->vm_detail);
	if (!sup_wants_down(vm))
		vm->vm_want = WANT_RESTART;
	sup_enter_stopped(s, vm, SR_RESTORE_FAILED, "restore failed: booting cold");
}
