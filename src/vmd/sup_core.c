/*
 * What the supervisor's actions share (sup_act.h): a state change, a
 * signal, the stop record, the restart policy and the KVM fallback.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/child.h"
#include "lib/log.h"
#include "lib/util.h"
#include "qemu/qemu_kvm.h"
#include "vmd/msgid.h"
#include "vmd/sup_act.h"

/*
 * accel = auto falls back to TCG when KVM fails a guest this early in its
 * life (QEMU exits on a KVM error, or the CPUs stop in internal-error): a
 * later failure is the guest's, not the host's, and is not hidden by a
 * silent reboot under TCG. Five minutes: on a loaded host a half-working
 * nested KVM was seen taking over a minute to stop the CPUs (a 60 s window
 * then left the guest paused instead of booting it under TCG).
 */
#define KVM_EARLY_MS		300000

/* ---- helpers shared by the actions ---- */

void
sup_set_state(const struct sup *s, struct vm *vm, enum vm_state to, const char *why)
{
	enum vm_state from = vm->vm_state;

	s->ops->disarm(s->ctx, vm);
	vm->vm_state = to;
	log_vm_id(to == VS_FAILED ? LOG_ERR : LOG_INFO, vm->vm_name, MSGID_STATE, "%s -> %s (%s)",
	    sup_state_name(from), sup_state_name(to), why);
	s->ops->changed(s->ctx, vm, from, why);
}

unsigned
sup_halt_ms(const struct vm *vm)
{
	return (vm->vm_halt_override >= 0 ? (unsigned)vm->vm_halt_override :
	    vm->vm_hw->vm_policy.po_halt_timeout) * 1000u;
}

/* Reasons a SIGTERM/SIGKILL escalation does not overwrite. */
bool
sup_pending_sticky(const struct vm *vm)
{
	return vm->vm_pending == SR_START_FAILED || vm->vm_pending == SR_GUEST_PANICKED ||
	    vm->vm_pending == SR_KVM_ERROR || vm->vm_pending == SR_RESTORE_FAILED ||
	    vm->vm_pending == SR_AUTOKILL || vm->vm_pending == SR_MIGRATED;
}

void
sup_send_signal(const struct sup *s, struct vm *vm, int sig)
{
	int e = s->ops->signal(s->ctx, vm, sig);

	/* ESRCH: it died already; its exit event is on its way. */
	if (e && e != -ESRCH)
		log_vm(LOG_ERR, vm->vm_name, "cannot send %s to pid %d: %s",
		    strsignal(sig), (int)vm->vm_pid, strerror(-e));
}

void
sup_record_exit(struct vm *vm, int status)
{
	if (status >= 0)
		child_describe(status, vm->vm_last_exit, sizeof(vm->vm_last_exit));
	else
		snprintf(vm->vm_last_exit, sizeof(vm->vm_last_exit), "unknown");
}

/* ---- restart policy (vmservice.conf(5): restart, on_panic) ---- */

unsigned
sup_backoff_ms(const struct hw_vm *hw, unsigned streak)
{
	uint64_t ms = hw->vm_policy.po_restart_delay * 1000ull, cap = hw->vm_policy.po_restart_max_delay * 1000ull;

	while (streak-- && ms < cap)
		ms *= 2;
	return (unsigned)(ms < cap ? ms : cap);
}

/* Does the policy restart a VM whose QEMU stopped for r (unasked)? */
static bool
policy_restarts(const struct vm *vm, enum stop_reason r)
{
	const struct hw_vm *hw = vm->vm_hw;

	switch (r) {
	case SR_CRASHED:
		return hw->vm_policy.po_restart != HW_RESTART_NO;
	case SR_GUEST_POWEROFF:
		return hw->vm_policy.po_restart == HW_RESTART_ALWAYS;
	case SR_GUEST_PANICKED:
		return hw->vm_policy.po_on_panic == HW_PANIC_RESTART;
	default:
		/* asked for (host-powerdown, sigterm, sigkill), or start-failed */
		return false;
	}
}

void
sup_reset_backoff(struct vm *vm)
{
	vm->vm_streak = 0;
	vm->vm_burst_n = 0;
	vm->vm_burst_ms = 0;
	vm->vm_next_restart_ms = 0;
}

/*
 * QEMU is gone and the policy wants it back: wait restart_delay, doubled
 * for each restart since the VM last ran restart_interval, at most
 * restart_max_delay; more than restart_burst restarts within one
 * restart_interval (a window opened by the first) ends in failed.
 */
static void
enter_backoff(const struct sup *s, struct vm *vm)
{
	const struct hw_vm *hw = vm->vm_hw;
	uint64_t now = s->ops->now(s->ctx), ivl = hw->vm_policy.po_restart_interval * 1000ull;
	const char *reason = sup_reason_name(vm->vm_reason);
	const char *why = vm->vm_last_exit[0] ? vm->vm_last_exit : "unknown";
	unsigned ms;
	char buf[256];

	if (vm->vm_run_ms && now - vm->vm_run_ms >= ivl)
		vm->vm_streak = 0;	/* it ran long enough: start over */
	vm->vm_run_ms = 0;
	if (!vm->vm_burst_n || now - vm->vm_burst_ms >= ivl) {
		vm->vm_burst_ms = now;
		vm->vm_burst_n = 0;
	}
	if (hw->vm_policy.po_restart_burst && vm->vm_burst_n >= hw->vm_policy.po_restart_burst) {
		free(vm->vm_detail);
		vm->vm_detail = xasprintf("%s (%s): restart limit reached, %u restarts within %u s",
		    reason, why, vm->vm_burst_n, hw->vm_policy.po_restart_interval);
		sup_reset_backoff(vm);
		sup_set_state(s, vm, VS_FAILED, vm->vm_detail);
		return;
	}
	vm->vm_burst_n++;
	ms = sup_backoff_ms(hw, vm->vm_streak);
	vm->vm_streak++;
	vm->vm_restarts++;
	vm->vm_next_restart_ms = now + ms;
	snprintf(buf, sizeof(buf), "%s (%s): restart %u of %u in %u ms", reason, why,
	    vm->vm_burst_n, hw->vm_policy.po_restart_burst, ms);
	sup_set_state(s, vm, VS_BACKOFF, buf);
	s->ops->arm(s->ctx, vm, ms);
}

void
sup_enter_stopped(const struct sup *s, struct vm *vm, enum stop_reason r, const char *why)
{
	bool failed;

	vm->vm_reason = r;
	vm->vm_pending = SR_NONE;
	vm->vm_halt_override = -1;
	vm->vm_halt_step = -1;
	s->ops->gone(s->ctx, vm);
	/* The policy judges only what nobody asked about: never a stop. */
	if ((vm->vm_want == WANT_UP || vm->vm_want == WANT_NONE) && policy_restarts(vm, r) &&
	    (!s->ops->may_restart || s->ops->may_restart(s->ctx, vm))) {
		vm->vm_want = WANT_UP;
		enter_backoff(s, vm);
		return;
	}
	if (vm->vm_want == WANT_GONE) {
		sup_set_state(s, vm, VS_REMOVED, why);
		return;
	}
	failed = r == SR_START_FAILED || (r == SR_KVM_ERROR && vm->vm_want != WANT_RESTART);
	if (vm->vm_want == WANT_RESTART && !failed) {
		vm->vm_want = WANT_UP;
		sup_set_state(s, vm, VS_STOPPED, why);
		sup_set_state(s, vm, VS_WAITING, "restart");
		return;
	}
	/* Down, and nothing will start it: what its intent file says too. */
	vm->vm_want = WANT_DOWN;
	sup_set_state(s, vm, failed ? VS_FAILED : VS_STOPPED, why);
}

/* Did this run's KVM fail the guest early (see KVM_EARLY_MS)? */
bool
sup_kvm_failed_early(const struct sup *s, const struct vm *vm, const char *qemu_says,
    bool internal_error)
{
	if (vm->vm_accel != HW_ACCEL_KVM)
		return false;
	if (vm->vm_run_ms && s->ops->now(s->ctx) - vm->vm_run_ms >= KVM_EARLY_MS)
		return false;
	return internal_error || qkvm_says_kvm_failed(qemu_says);
}

/*
 * KVM failed the guest: accel = auto starts it again under TCG (once: the
 * daemon remembers KVM is unusable here); accel = kvm fails with kvm-error.
 * QEMU is gone (exited) or going (arg: after SIGTERM).
 */
void
sup_kvm_fallback(const struct sup *s, struct vm *vm, const char *qemu_says)
{
	free(vm->vm_detail);
	vm->vm_detail = xasprintf("KVM failed%s%s", qemu_says ? ": " : "",
	    qemu_says ? qemu_says : "");
	log_vm(LOG_ERR, vm->vm_name, "%s", vm->vm_detail);
	if (vm->vm_hw->vm_accel == HW_ACCEL_AUTO) {
		s->ops->kvm_failed(s->ctx, vm, qemu_says);
		if (!sup_wants_down(vm))
			vm->vm_want = WANT_RESTART;
	}
}

void
sup_term_because(const struct sup *s, struct vm *vm, const char *why)
{
	if (!sup_pending_sticky(vm))
		vm->vm_pending = SR_SIGTERM;
	sup_send_signal(s, vm, SIGTERM);
	sup_set_state(s, vm, VS_TERMINATING, why);
	s->ops->arm(s->ctx, vm, vm->vm_hw->vm_policy.po_term_timeout * 1000u);
}

void
a_term(const struct sup *s, struct vm *vm, int arg)
{
	sup_term_because(s, vm, vm->vm_state == VS_HALTING ? "halt_timeout expired" :
	    "stop requested");
}

void
a_kill(const struct sup *s, struct vm *vm, int arg)
{
	const char *why = vm->vm_state == VS_TERMINATING && arg == VE_TIMER ?
	    (vm->vm_pending == SR_AUTOKILL ? "autokill: quit not honoured in time" :
	    "term_timeout expired") : "kill requested";

	if (!sup_pending_sticky(vm))
		vm->vm_pending = SR_SIGKILL;
	sup_send_signal(s, vm, SIGKILL);
	sup_set_state(s, vm, VS_KILLING, why);
}
