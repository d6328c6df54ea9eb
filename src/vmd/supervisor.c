/*
 * The VM life cycle table: which action each (state, event) runs. See
 * supervisor.h and ARCHITECTURE.md; the actions shared with the table's
 * other files are in sup_act.h.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"
#include "vmd/sup_act.h"

/* ---- autokill (vmctl start --autokill) ---- */

/*
 * The connection that started the VM is gone: QMP quit at once (QEMU
 * flushes its disks and exits), SIGKILL after SUP_AUTOKILL_QUIT_MS, or
 * at once without QMP (starting). A stop under way is overtaken: nobody
 * is left to wait for it.
 */
static void
a_autokill(const struct sup *s, struct vm *vm, int arg)
{
	free(vm->vm_detail);
	vm->vm_detail = xstrdup("autokill: the control connection that started it closed");
	vm->vm_pending = SR_AUTOKILL;
	vm->vm_halt_step = -1;
	if (s->ops->qmp(s->ctx, vm, "quit", NULL) != 0) {
		sup_send_signal(s, vm, SIGKILL);
		sup_set_state(s, vm, VS_KILLING, "autokill: its connection closed, no QMP: SIGKILL");
		return;
	}
	sup_set_state(s, vm, VS_TERMINATING, "autokill: its connection closed: quit");
	s->ops->arm(s->ctx, vm, SUP_AUTOKILL_QUIT_MS);
}

/* Not started yet (waiting, backoff): it never will be. */
static void
a_autokill_cancel(const struct sup *s, struct vm *vm, int arg)
{
	vm->vm_next_restart_ms = 0;
	vm->vm_reason = SR_AUTOKILL;
	free(vm->vm_detail);
	vm->vm_detail = xstrdup("autokill: the control connection closed before it ran");
	sup_set_state(s, vm, vm->vm_want == WANT_GONE ? VS_REMOVED : VS_STOPPED,
	    "autokill: its connection closed before it started");
}

/* A guest frozen at its panic cannot see a power button: quit, at once. */
static void
a_panic_quit(const struct sup *s, struct vm *vm, int arg)
{
	int e = s->ops->qmp(s->ctx, vm, "quit", NULL);

	if (e) {
		log_vm(LOG_WARNING, vm->vm_name, "cannot send quit over QMP (%s): escalating",
		    strerror(-e));
		a_term(s, vm, arg);
		return;
	}
	vm->vm_pending = SR_HOST_POWERDOWN;
	sup_set_state(s, vm, VS_HALTING, arg == VE_RESTART ? "restart requested (panicked: quit)" :
	    "stop requested (panicked: quit)");
	s->ops->arm(s->ctx, vm, sup_halt_ms(vm));
}

static void
a_restart(const struct sup *s, struct vm *vm, int arg)
{
	if (vm->vm_want == WANT_GONE)
		return;		/* removed: stopping for good */
	vm->vm_want = WANT_RESTART;
	if (vm->vm_state == VS_RUNNING || vm->vm_state == VS_BOOTING ||
	    vm->vm_state == VS_NOT_READY)
		a_halt(s, vm, VE_RESTART);
	else if (vm->vm_state == VS_PANICKED)
		a_panic_quit(s, vm, VE_RESTART);
	else
		a_term(s, vm, VE_RESTART);
}

static void
a_set_restart(const struct sup *s, struct vm *vm, int arg)
{
	if (vm->vm_want == WANT_GONE)
		return;
	vm->vm_want = WANT_RESTART;
	log_vm(LOG_INFO, vm->vm_name, "will start again once stopped");
}

/* Started (or pulled in as a dependency) while a stop was pending: it stays up. */
static void
a_keep_up(const struct sup *s, struct vm *vm, int arg)
{
	if (vm->vm_want == WANT_GONE)
		return;
	if (vm->vm_want == WANT_DOWN)
		log_vm(LOG_INFO, vm->vm_name, "pending stop cancelled: it stays up");
	vm->vm_want = WANT_UP;
}

/* Stop all, a reload's removal, an intent: the scheduler sends VE_STOP in order. */
static void
a_wind_down(const struct sup *s, struct vm *vm, int arg)
{
	log_vm(LOG_DEBUG, vm->vm_name, "stops once no VM that is after it runs");
}

static void
a_removed(const struct sup *s, struct vm *vm, int arg)
{
	vm->vm_next_restart_ms = 0;
	sup_set_state(s, vm, VS_REMOVED, "removed from the inventory");
}

/* ---- adoption (daemon start): a held lock is waited for, never ignored ---- */

static void
a_adopt_wait(const struct sup *s, struct vm *vm, int arg)
{
	sup_set_state(s, vm, VS_ADOPTING, "its lock is held: waiting to identify the QEMU");
	s->ops->arm(s->ctx, vm, SUP_ADOPT_WAIT_MS);
}

static void
a_adopt_defer(const struct sup *s, struct vm *vm, int arg)
{
	if (arg == VE_START || arg == VE_RESTART) {
		if (vm->vm_want == WANT_GONE)
			return;
		vm->vm_want = WANT_UP;
	}
	log_vm(LOG_INFO, vm->vm_name, "%s once the QEMU holding its lock is identified or gone",
	    sup_wants_down(vm) ? "stops" : "starts");
}

static void
a_adopt_none(const struct sup *s, struct vm *vm, int arg)
{
	/* Started by the daemon's request path if wanted up (it pulls `after`). */
	sup_set_state(s, vm, vm->vm_want == WANT_GONE ? VS_REMOVED : VS_STOPPED,
	    "lock free: no QEMU of this VM runs");
}

static void
a_adopt_timeout(const struct sup *s, struct vm *vm, int arg)
{
	free(vm->vm_detail);
	vm->vm_detail = xasprintf("%s.lock is held by a process that is not recognisably "
	    "this VM's QEMU", vm->vm_name);
	log_vm(LOG_ERR, vm->vm_name, "%s: not adopted, and not started (a second QEMU would "
	    "share its disks)", vm->vm_detail);
	sup_set_state(s, vm, VS_FAILED, "not adopted");
}

/* ---- attach (vmctl attach): a QEMU we did not start, supervised from now on ---- */

static void
a_attach(const struct sup *s, struct vm *vm, int arg)
{
	/* Not our child (no wait status), like an adopted QEMU. */
	vm->vm_adopted = true;
	vm->vm_shutdown_seen = false;
	vm->vm_pending = SR_NONE;
	vm->vm_want = WANT_UP;
	sup_set_state(s, vm, VS_ATTACHING, "attach requested: waiting for its QMP");
	s->ops->arm(s->ctx, vm, SUP_ATTACH_WAIT_MS);
}

/* Attaching: QEMU answered query-status (its run state is known): supervised. */
static void
a_attached(const struct sup *s, struct vm *vm, int arg)
{
	char why[96];

	vm->vm_run_ms = s->ops->now(s->ctx);
	if (sup_found_handed_over(s, vm))
		return;
	snprintf(why, sizeof(why), "attached a running QEMU (run state %s)", vm->vm_run_state);
	sup_set_state(s, vm, VS_RUNNING, why);
}

/*
 * Its QMP closed or never answered: not supervised. It is not ours to
 * stop: no signal, only our side (pidfd, QMP) goes.
 */
static void
a_attach_failed(const struct sup *s, struct vm *vm, int arg)
{
	free(vm->vm_detail);
	vm->vm_detail = xasprintf("not attached: its QMP %s; pid %d runs on, unsupervised",
	    arg == VE_TIMER ? "did not answer query-status in time" : "connection closed",
	    (int)vm->vm_pid);
	vm->vm_pending = SR_NONE;
	vm->vm_halt_step = -1;
	vm->vm_want = WANT_DOWN;
	s->ops->gone(s->ctx, vm);
	sup_set_state(s, vm, VS_FAILED, vm->vm_detail);
}

static void
a_deps_failed(const struct sup *s, struct vm *vm, int arg)
{
	vm->vm_reason = SR_START_FAILED;
	sup_set_state(s, vm, VS_FAILED, vm->vm_detail ? vm->vm_detail : "dependency failed");
}

static void
a_adopt(const struct sup *s, struct vm *vm, int arg)
{
	vm->vm_adopted = true;
	vm->vm_shutdown_seen = false;
	vm->vm_pending = SR_NONE;
	/* Wanted down (its intent): adopted as such; otherwise it runs as wanted. */
	if (vm->vm_want == WANT_NONE || vm->vm_want == WANT_RESTART)
		vm->vm_want = WANT_UP;
	vm->vm_run_ms = s->ops->now(s->ctx);
	sup_set_state(s, vm, VS_RUNNING, "adopted a running QEMU");
}

static void
a_guest_off(const struct sup *s, struct vm *vm, int arg)
{
	vm->vm_shutdown_seen = true;
	vm->vm_pending = SR_GUEST_POWEROFF;
	sup_set_state(s, vm, VS_HALTING, "guest powered off");
	/* QEMU exits on its own after SHUTDOWN; escalate if it does not. */
	s->ops->arm(s->ctx, vm, sup_halt_ms(vm));
}

static void
a_host_off(const struct sup *s, struct vm *vm, int arg)
{
	/* A host-side shutdown we did not ask for (a signal, quit elsewhere). */
	vm->vm_shutdown_seen = true;
	vm->vm_pending = SR_CRASHED;
	sup_set_state(s, vm, VS_HALTING, "QEMU shutting down unasked");
	s->ops->arm(s->ctx, vm, sup_halt_ms(vm));
}

static void
a_panicked(const struct sup *s, struct vm *vm, int arg)
{
	const struct hw_vm *hw = vm->vm_hw;
	int e;

	if (hw->vm_policy.po_on_panic == HW_PANIC_PAUSE) {
		/* Frozen at the panic (-action panic=pause) for the admin to look at. */
		sup_set_state(s, vm, VS_PANICKED, "guest panicked: left paused (on_panic = pause)");
		return;
	}
	vm->vm_pending = SR_GUEST_PANICKED;
	e = s->ops->qmp(s->ctx, vm, "quit", NULL);
	if (e) {
		log_vm(LOG_WARNING, vm->vm_name, "cannot send quit over QMP (%s): escalating",
		    strerror(-e));
		a_term(s, vm, arg);
		return;
	}
	sup_set_state(s, vm, VS_HALTING, hw->vm_policy.po_on_panic == HW_PANIC_RESTART ?
	    "guest panicked: stopping QEMU to restart it (on_panic = restart)" :
	    "guest panicked: stopping QEMU (on_panic = poweroff)");
	s->ops->arm(s->ctx, vm, sup_halt_ms(vm));
}

static void
a_shutdown_seen(const struct sup *s, struct vm *vm, int arg)
{
	if (vm->vm_shutdown_seen) {
		log_vm(LOG_DEBUG, vm->vm_name, "duplicate SHUTDOWN ignored");
		return;
	}
	vm->vm_shutdown_seen = true;
	log_vm(LOG_INFO, vm->vm_name, "QEMU is shutting down");
}

static void
a_exited(const struct sup *s, struct vm *vm, int arg)
{
	sup_record_exit(vm, arg);
	if (vm->vm_pending == SR_HOST_POWERDOWN)
		sup_halt_detail(vm, NULL);
	if (vm->vm_pending == SR_START_FAILED) {
		free(vm->vm_detail);
		vm->vm_detail = s->ops->exit_detail(s->ctx, vm);
		if (!vm->vm_detail)
			vm->vm_detail = xstrdup("QMP never became ready");
		log_vm(LOG_ERR, vm->vm_name, "QEMU failed to start: %s", vm->vm_detail);
	}
	sup_enter_stopped(s, vm, vm->vm_pending ? vm->vm_pending : SR_CRASHED,
	    vm->vm_last_exit);
}

static void
a_crashed(const struct sup *s, struct vm *vm, int arg)
{
	char *tail = s->ops->exit_detail(s->ctx, vm);

	sup_record_exit(vm, arg);
	if (sup_kvm_failed_early(s, vm, tail, false)) {
		sup_kvm_fallback(s, vm, tail);
		free(tail);
		sup_enter_stopped(s, vm, SR_KVM_ERROR, vm->vm_want == WANT_RESTART ?
		    "KVM failed: starting again under TCG" : "KVM failed (accel = kvm)");
		return;
	}
	log_vm(LOG_ERR, vm->vm_name, "QEMU exited unexpectedly (%s)%s%s", vm->vm_last_exit,
	    tail ? ": " : "", tail ? tail : "");
	free(tail);
	sup_enter_stopped(s, vm, SR_CRASHED, "crashed");
}

/* Running, and QEMU's run state changed: only CPUs that died matter here. */
static void
a_run_state(const struct sup *s, struct vm *vm, int arg)
{
	char *says;

	if (!sup_cpus_dead(vm) || vm->vm_shutdown_seen)
		return;		/* paused, resumed, suspended: status shows it */
	if (strcmp(vm->vm_run_state, "restore-vm") == 0)
		return;		/* a snapshot loading: its answer says how it went */
	if (sup_found_handed_over(s, vm))
		return;
	if (!sup_kvm_failed_early(s, vm, NULL, strcmp(vm->vm_run_state, "internal-error") == 0)) {
		log_vm(LOG_ERR, vm->vm_name, "CPUs stopped (%s): the guest cannot run; "
		    "a stop sends SIGTERM without a power button", vm->vm_run_state);
		return;
	}
	says = s->ops->exit_detail(s->ctx, vm);
	sup_kvm_fallback(s, vm, says ? says : vm->vm_run_state);
	free(says);
	vm->vm_pending = SR_KVM_ERROR;
	sup_term_because(s, vm, vm->vm_want == WANT_RESTART ? "KVM failed: restarting under TCG" :
	    "KVM failed (accel = kvm)");
}

/* Halting: CPUs that died will not see the power button pressed. */
static void
a_halt_run_state(const struct sup *s, struct vm *vm, int arg)
{
	char why[128];

	/* A guest that powered off goes to run state shutdown too: not this. */
	if (!sup_cpus_dead(vm) || vm->vm_pending != SR_HOST_POWERDOWN || vm->vm_shutdown_seen)
		return;
	snprintf(why, sizeof(why), "CPUs cannot run (%s): SIGTERM without waiting for the guest",
	    vm->vm_run_state);
	free(vm->vm_detail);
	vm->vm_detail = xstrdup(why);
	sup_term_because(s, vm, why);
}

/* Panicked: an admin's `cont` lets the guest run again. */
static void
a_panic_run_state(const struct sup *s, struct vm *vm, int arg)
{
	if (strcmp(vm->vm_run_state, "running") == 0)
		sup_set_state(s, vm, VS_RUNNING, "resumed after its panic");
}

static void
a_qmp_lost(const struct sup *s, struct vm *vm, int arg)
{
	log_vm(LOG_WARNING, vm->vm_name, "QMP connection lost; stop will escalate to SIGTERM");
}

static void
a_unexpected(const struct sup *s, struct vm *vm, int arg)
{
	log_vm(LOG_WARNING, vm->vm_name, "unexpected event in state %s",
	    sup_state_name(vm->vm_state));
}

/* A QEMU whose guest may run: running, booting and not-ready share these. */
#define GUEST_UP_CELLS \
	[VE_STOP] = a_halt, [VE_RESTART] = a_restart, [VE_KILL] = a_kill, \
	[VE_START] = a_keep_up, \
	[VE_SHUTDOWN_GUEST] = a_guest_off, [VE_SHUTDOWN_HOST] = a_host_off, \
	[VE_EXITED] = a_crashed, [VE_QMP_LOST] = a_qmp_lost, \
	[VE_PANICKED] = a_panicked, [VE_RUN_STATE] = a_run_state, \
	[VE_WIND_DOWN] = a_wind_down, [VE_REMOVE] = a_wind_down, [VE_SAVE] = a_save, \
	[VE_AUTOKILL] = a_autokill, [VE_MIGRATE] = a_migrate

/* NULL cells are deliberate no-ops (logged at debug level). */
static const sup_action table[VS_N][VE_N] = {
	[VS_STOPPED] = {
		[VE_START] = a_want_start, [VE_RESTART] = a_want_start,
		[VE_EXITED] = a_unexpected, [VE_ADOPT] = a_adopt,
		[VE_ADOPT_WAIT] = a_adopt_wait, [VE_REMOVE] = a_removed,
		[VE_ATTACH] = a_attach, [VE_MIGRATE_IN] = a_migrate_in,
	},
	[VS_FAILED] = {
		[VE_START] = a_want_start, [VE_RESTART] = a_want_start,
		[VE_EXITED] = a_unexpected, [VE_ADOPT] = a_adopt,
		[VE_ADOPT_WAIT] = a_adopt_wait, [VE_REMOVE] = a_removed,
		[VE_MIGRATE_IN] = a_migrate_in,
	},
	[VS_BACKOFF] = {
		[VE_START] = a_want_start, [VE_RESTART] = a_want_start,
		[VE_STOP] = a_cancel, [VE_KILL] = a_cancel, [VE_WIND_DOWN] = a_cancel,
		[VE_TIMER] = a_backoff_over, [VE_REMOVE] = a_removed,
		[VE_AUTOKILL] = a_autokill_cancel,
	},
	[VS_WAITING] = {
		[VE_DEPS_READY] = a_spawn, [VE_STOP] = a_cancel, [VE_KILL] = a_cancel,
		[VE_WIND_DOWN] = a_cancel, [VE_DEPS_FAILED] = a_deps_failed,
		[VE_REMOVE] = a_removed, [VE_AUTOKILL] = a_autokill_cancel,
	},
	[VS_ADOPTING] = {
		[VE_ADOPT] = a_adopt, [VE_ADOPT_NONE] = a_adopt_none,
		[VE_TIMER] = a_adopt_timeout,
		[VE_START] = a_adopt_defer, [VE_RESTART] = a_adopt_defer,
		[VE_STOP] = a_adopt_defer, [VE_KILL] = a_adopt_defer,
		[VE_WIND_DOWN] = a_adopt_defer, [VE_REMOVE] = a_adopt_defer,
		[VE_AUTOKILL] = a_adopt_defer,
	},
	[VS_STARTING] = {
		[VE_QMP_READY] = a_ready, [VE_QMP_LOST] = a_start_grace,
		[VE_TIMER] = a_start_abort,
		[VE_EXITED] = a_start_failed, [VE_STOP] = a_term, [VE_KILL] = a_kill,
		[VE_RESTART] = a_restart, [VE_START] = a_keep_up,
		[VE_WIND_DOWN] = a_wind_down, [VE_REMOVE] = a_wind_down,
		[VE_AUTOKILL] = a_autokill,
	},
	[VS_RUNNING] = {
		GUEST_UP_CELLS,
	},
	[VS_PANICKED] = {
		[VE_STOP] = a_panic_quit, [VE_RESTART] = a_restart, [VE_KILL] = a_kill,
		[VE_START] = a_keep_up,
		[VE_SHUTDOWN_GUEST] = a_guest_off, [VE_SHUTDOWN_HOST] = a_host_off,
		[VE_EXITED] = a_crashed, [VE_QMP_LOST] = a_qmp_lost,
		[VE_RUN_STATE] = a_panic_run_state,
		[VE_WIND_DOWN] = a_wind_down, [VE_REMOVE] = a_wind_down,
		[VE_AUTOKILL] = a_autokill,
	},
	[VS_BOOTING] = {
		[VE_GUEST_READY] = a_booted, [VE_TIMER] = a_ready_timeout,
		GUEST_UP_CELLS,
	},
	[VS_NOT_READY] = {
		[VE_GUEST_READY] = a_booted,
		GUEST_UP_CELLS,
	},
	[VS_SAVING] = {
		[VE_SAVED] = a_saved, [VE_SAVE_FAILED] = a_save_failed,
		[VE_TIMER] = a_save_failed, [VE_KILL] = a_kill, [VE_EXITED] = a_crashed,
		[VE_RESTART] = a_set_restart, [VE_START] = a_set_restart,
		[VE_AUTOKILL] = a_autokill,
	},
	[VS_RESTORING] = {
		[VE_QMP_READY] = a_restore, [VE_RESTORED] = a_restored,
		[VE_RESTORE_FAILED] = a_restore_failed, [VE_TIMER] = a_restore_failed,
		[VE_EXITED] = a_restore_exit, [VE_STOP] = a_term, [VE_KILL] = a_kill,
		[VE_RESTART] = a_restart, [VE_START] = a_keep_up,
		[VE_WIND_DOWN] = a_wind_down, [VE_REMOVE] = a_wind_down,
		[VE_AUTOKILL] = a_autokill,
	},
	[VS_HALTING] = {
		[VE_SHUTDOWN_GUEST] = a_shutdown_seen, [VE_SHUTDOWN_HOST] = a_shutdown_seen,
		[VE_AGENT_FAILED] = a_agent_failed,
		[VE_EXITED] = a_exited, [VE_TIMER] = a_halt_timer, [VE_KILL] = a_kill,
		[VE_RESTART] = a_set_restart, [VE_START] = a_set_restart,
		[VE_RUN_STATE] = a_halt_run_state, [VE_AUTOKILL] = a_autokill,
	},
	[VS_TERMINATING] = {
		[VE_EXITED] = a_exited, [VE_TIMER] = a_kill, [VE_KILL] = a_kill,
		[VE_RESTART] = a_set_restart, [VE_START] = a_set_restart,
		[VE_AUTOKILL] = a_autokill,
	},
	[VS_KILLING] = {
		[VE_EXITED] = a_exited, [VE_RESTART] = a_set_restart,
		[VE_START] = a_set_restart,
	},
	[VS_ATTACHING] = {
		[VE_RUN_STATE] = a_attached, [VE_TIMER] = a_attach_failed,
		[VE_QMP_LOST] = a_attach_failed, [VE_EXITED] = a_crashed,
		[VE_STOP] = a_term, [VE_KILL] = a_kill, [VE_WIND_DOWN] = a_wind_down,
	},
	[VS_INCOMING] = {
		[VE_QMP_READY] = a_incoming_ready, [VE_MIGRATED] = a_migrated_in,
		[VE_MIGRATE_FAILED] = a_incoming_failed, [VE_TIMER] = a_incoming_failed,
		[VE_QMP_LOST] = a_start_grace,
		[VE_EXITED] = a_start_failed, [VE_STOP] = a_term, [VE_KILL] = a_kill,
		[VE_WIND_DOWN] = a_wind_down, [VE_REMOVE] = a_wind_down,
	},
	[VS_MIGRATING] = {
		[VE_MIGRATED] = a_handed_over, [VE_MIGRATE_FAILED] = a_migrate_failed,
		[VE_MIGRATE_ABORT] = a_migrate_cancel,
		[VE_STOP] = a_migrate_stop, [VE_WIND_DOWN] = a_migrate_stop,
		[VE_REMOVE] = a_migrate_stop, [VE_KILL] = a_kill,
		[VE_SHUTDOWN_GUEST] = a_guest_off, [VE_SHUTDOWN_HOST] = a_host_off,
		[VE_EXITED] = a_crashed, [VE_QMP_LOST] = a_qmp_lost,
		[VE_PANICKED] = a_panicked, [VE_AUTOKILL] = a_autokill,
	},
	[VS_HANDED_OVER] = {
		[VE_MIGRATE_CONFIRM] = a_migrated, [VE_MIGRATE_ABORT] = a_migrate_resume,
		[VE_EXITED] = a_handed_over_exit, [VE_KILL] = a_kill,
		[VE_QMP_LOST] = a_qmp_lost,
		/* Paused here, maybe running there: no power button, SIGTERM. */
		[VE_STOP] = a_term, [VE_WIND_DOWN] = a_term, [VE_REMOVE] = a_term,
	},
	/* Terminal: the daemon drops it at its next idle pass. */
	[VS_REMOVED] = { 0 },
};

/*
 * Back in the inventory before it was dropped: whatever its state, it is
 * no longer going away. A QEMU whose stop was not sent yet runs on; one
 * being stopped stops; a removed one is merely stopped.
 */
static void
unremove(const struct sup *s, struct vm *vm)
{
	if (vm->vm_want != WANT_GONE)
		return;
	vm->vm_want = sup_stop_pending(vm) ? WANT_UP : WANT_DOWN;
	if (vm->vm_state == VS_REMOVED)
		sup_set_state(s, vm, VS_STOPPED, "back in the inventory");
}

void
sup_event(const struct sup *s, struct vm *vm, enum vm_event ev, int arg)
{
	enum vm_want was = vm->vm_want;
	sup_action fn;

	if ((unsigned)vm->vm_state >= VS_N || (unsigned)ev >= VE_N)
		return;
	if (ev == VE_UNREMOVE) {
		unremove(s, vm);
		return;
	}
	/*
	 * Whatever the state: what the admin stopped is never restarted, and
	 * what a reload removed goes.
	 */
	if (ev == VE_REMOVE)
		vm->vm_want = WANT_GONE;
	else if ((ev == VE_STOP || ev == VE_KILL || ev == VE_WIND_DOWN || ev == VE_SAVE ||
	    ev == VE_AUTOKILL) && was != WANT_GONE)
		vm->vm_want = WANT_DOWN;
	if (was == WANT_RESTART && sup_wants_down(vm) && sup_has_process(vm))
		log_vm(LOG_INFO, vm->vm_name, "restart cancelled");
	fn = table[vm->vm_state][ev];
	if (!fn) {
		log_vm(LOG_DEBUG, vm->vm_name, "%s: %s ignored",
		    sup_state_name(vm->vm_state), sup_event_name(ev));
		return;
	}
	/* Timer actions get the event as arg so they can name their reason. */
	fn(s, vm, ev == VE_EXITED ? arg : (int)ev);
}
