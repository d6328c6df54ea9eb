/* The supervisor's start: from waiting to running (sup_act.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/log.h"
#include "lib/util.h"
#include "vmd/sup_act.h"

/* How long a QEMU whose QMP went away while starting gets to exit by itself. */
#define START_GRACE_MS	2000
/*
 * How long QEMU may take to answer QMP at all. A unix connect succeeds as
 * soon as QEMU listens, long before it greets (it does so from its main
 * loop, after machine set-up): a QEMU stuck before that must not leave
 * its VM "starting" forever.
 */
#define START_TIMEOUT_MS	60000

void
a_want_start(const struct sup *s, struct vm *vm, int arg)
{
	/* A start asked for is a fresh start: the restart accounting begins anew. */
	vm->vm_want = WANT_UP;
	vm->vm_restarts = 0;
	sup_reset_backoff(vm);
	sup_set_state(s, vm, VS_WAITING, "start requested");
}

void
a_backoff_over(const struct sup *s, struct vm *vm, int arg)
{
	vm->vm_next_restart_ms = 0;
	sup_set_state(s, vm, VS_WAITING, "backoff over: restarting");
}

void
a_cancel(const struct sup *s, struct vm *vm, int arg)
{
	vm->vm_next_restart_ms = 0;
	sup_set_state(s, vm, vm->vm_want == WANT_GONE ? VS_REMOVED : VS_STOPPED,
	    vm->vm_state == VS_BACKOFF ? "restart cancelled" : "start cancelled");
}

void
a_spawn(const struct sup *s, struct vm *vm, int arg)
{
	char err[512];
	int e;

	vm->vm_shutdown_seen = false;
	vm->vm_pending = SR_NONE;
	vm->vm_run_ms = 0;
	/* A refused saved state says why while the VM boots cold. */
	if (vm->vm_reason != SR_RESTORE_FAILED) {
		free(vm->vm_detail);
		vm->vm_detail = NULL;
	}
	vm->vm_last_exit[0] = 0;
	e = s->ops->spawn(s->ctx, vm, err, sizeof(err));
	if (e < 0) {
		vm->vm_detail = xstrdup(err);
		vm->vm_reason = SR_START_FAILED;
		/* (Out of descriptors: the daemon logs that once per episode.) */
		if (e != -EMFILE)
			log_vm(LOG_ERR, vm->vm_name, "cannot start QEMU: %s", err);
		sup_set_state(s, vm, VS_FAILED, "spawn failed");
		return;
	}
	sup_set_state(s, vm, e == 2 ? VS_INCOMING : e == 1 ? VS_RESTORING : VS_STARTING,
	    e == 2 ? "QEMU spawned to receive a live migration" : e == 1 ?
	    "QEMU spawned to load its saved state" : "QEMU spawned");
	s->ops->arm(s->ctx, vm, START_TIMEOUT_MS);
}

static const char *const ready_names[] = {
	[HW_READY_QMP] = "qmp", [HW_READY_AGENT] = "agent",
	[HW_READY_SERIAL] = "serial", [HW_READY_TCP] = "tcp",
};

void
a_ready(const struct sup *s, struct vm *vm, int arg)
{
	const struct vm_policy *po = &vm->vm_hw->vm_policy;
	char why[160];

	vm->vm_run_ms = s->ops->now(s->ctx);
	if (po->po_ready == HW_READY_QMP || !s->ops->probe) {
		sup_set_state(s, vm, VS_RUNNING, "QMP ready");
		return;
	}
	snprintf(why, sizeof(why), "QMP ready; waiting for ready = %s%s%s",
	    ready_names[po->po_ready], po->po_ready_arg ? ":" : "",
	    po->po_ready_arg ? po->po_ready_arg : "");
	sup_set_state(s, vm, VS_BOOTING, why);
	if (po->po_ready_timeout)
		s->ops->arm(s->ctx, vm, po->po_ready_timeout * 1000u);
	s->ops->probe(s->ctx, vm);
}

/* Booting or not-ready: the probe saw the guest ready. */
void
a_booted(const struct sup *s, struct vm *vm, int arg)
{
	char why[96];

	snprintf(why, sizeof(why), "guest ready (ready = %s)",
	    ready_names[vm->vm_hw->vm_policy.po_ready]);
	sup_set_state(s, vm, VS_RUNNING, why);
}

void
a_ready_timeout(const struct sup *s, struct vm *vm, int arg)
{
	const struct vm_policy *po = &vm->vm_hw->vm_policy;
	char why[160];

	snprintf(why, sizeof(why), "not ready after ready_timeout %u s: %s", po->po_ready_timeout,
	    po->po_on_ready_timeout == HW_READY_HOLD ?
	    "the VMs after it wait (on_ready_timeout = hold)" :
	    "running anyway (on_ready_timeout = proceed)");
	log_vm(LOG_WARNING, vm->vm_name, "%s", why);
	sup_set_state(s, vm, po->po_on_ready_timeout == HW_READY_HOLD ? VS_NOT_READY : VS_RUNNING,
	    why);
}

void
a_start_failed(const struct sup *s, struct vm *vm, int arg)
{
	char *says;

	sup_record_exit(vm, arg);
	says = s->ops->exit_detail(s->ctx, vm);
	if (sup_kvm_failed_early(s, vm, says, false)) {
		sup_kvm_fallback(s, vm, says);
		free(says);
		sup_enter_stopped(s, vm, SR_KVM_ERROR, vm->vm_want == WANT_RESTART ?
		    "KVM failed: starting again under TCG" : "KVM failed (accel = kvm)");
		return;
	}
	free(vm->vm_detail);
	vm->vm_detail = says;
	log_vm(LOG_ERR, vm->vm_name, "QEMU failed to start (%s): %s", vm->vm_last_exit,
	    vm->vm_detail ? vm->vm_detail : "no output");
	sup_enter_stopped(s, vm, SR_START_FAILED, "QEMU exited before QMP was ready");
}


void
a_start_grace(const struct sup *s, struct vm *vm, int arg)
{
	/*
	 * Usually QEMU is exiting on a start-up error: wait for its exit status
	 * and stderr rather than killing it and losing both.
	 */
	log_vm(LOG_WARNING, vm->vm_name, "QMP unavailable while starting; waiting %d ms for QEMU",
	    START_GRACE_MS);
	s->ops->arm(s->ctx, vm, START_GRACE_MS);
}

void
a_start_abort(const struct sup *s, struct vm *vm, int arg)
{
	/* QEMU runs but its monitor never answered: it is of no use to us. */
	vm->vm_pending = SR_START_FAILED;
	sup_send_signal(s, vm, SIGKILL);
	sup_set_state(s, vm, VS_KILLING, "QMP never ready");
}
