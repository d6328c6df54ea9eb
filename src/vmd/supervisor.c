/* The VM life cycle table. See supervisor.h and ARCHITECTURE.md. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/child.h"
#include "lib/log.h"
#include "lib/util.h"
#include "qemu/qemu_kvm.h"
#include "vmd/msgid.h"
#include "vmd/supervisor.h"

static const char *const state_names[VS_N] = {
	[VS_STOPPED] = "stopped", [VS_WAITING] = "waiting", [VS_STARTING] = "starting",
	[VS_RUNNING] = "running", [VS_HALTING] = "halting",
	[VS_TERMINATING] = "terminating", [VS_KILLING] = "killing",
	[VS_FAILED] = "failed", [VS_BACKOFF] = "backoff",
	[VS_ADOPTING] = "adopting", [VS_PANICKED] = "panicked", [VS_REMOVED] = "removed",
	[VS_BOOTING] = "booting", [VS_NOT_READY] = "not-ready",
	[VS_SAVING] = "saving", [VS_RESTORING] = "restoring",
	[VS_ATTACHING] = "attaching", [VS_INCOMING] = "incoming",
	[VS_MIGRATING] = "migrating", [VS_HANDED_OVER] = "handed-over",
};

static const char *const want_names[WANT_N] = {
	[WANT_NONE] = "none", [WANT_UP] = "up", [WANT_DOWN] = "down",
	[WANT_RESTART] = "restart", [WANT_GONE] = "gone",
};

static const char *const event_names[VE_N] = {
	[VE_START] = "start requested", [VE_STOP] = "stop requested",
	[VE_KILL] = "kill requested", [VE_RESTART] = "restart requested",
	[VE_DEPS_READY] = "dependencies ready", [VE_QMP_READY] = "QMP ready",
	[VE_QMP_LOST] = "QMP lost", [VE_SHUTDOWN_GUEST] = "guest shutdown",
	[VE_SHUTDOWN_HOST] = "host shutdown", [VE_EXITED] = "process exited",
	[VE_TIMER] = "timer fired", [VE_DEPS_FAILED] = "dependency failed",
	[VE_ADOPT] = "adopted", [VE_PANICKED] = "guest panicked",
	[VE_RUN_STATE] = "run state changed", [VE_WIND_DOWN] = "stop after the VMs after it",
	[VE_ADOPT_WAIT] = "lock held", [VE_ADOPT_NONE] = "lock free",
	[VE_REMOVE] = "removed from the inventory", [VE_UNREMOVE] = "back in the inventory",
	[VE_GUEST_READY] = "guest ready", [VE_AGENT_FAILED] = "agent did not answer",
	[VE_SAVE] = "save requested", [VE_SAVED] = "state saved",
	[VE_SAVE_FAILED] = "save failed", [VE_RESTORED] = "state restored",
	[VE_RESTORE_FAILED] = "restore failed", [VE_ATTACH] = "attach requested",
	[VE_AUTOKILL] = "autokill connection closed",
	[VE_MIGRATE_IN] = "incoming migration", [VE_MIGRATE] = "migration requested",
	[VE_MIGRATED] = "migration completed", [VE_MIGRATE_FAILED] = "migration failed",
	[VE_MIGRATE_CONFIRM] = "the destination runs it", [VE_MIGRATE_ABORT] = "migration aborted",
};

static const char *const reason_names[SR_N] = {
	[SR_NONE] = NULL, [SR_GUEST_POWEROFF] = "guest-poweroff",
	[SR_HOST_POWERDOWN] = "host-powerdown", [SR_SIGTERM] = "sigterm",
	[SR_SIGKILL] = "sigkill", [SR_CRASHED] = "crashed",
	[SR_START_FAILED] = "start-failed", [SR_GUEST_PANICKED] = "guest-panicked",
	[SR_KVM_ERROR] = "kvm-error", [SR_SAVED] = "saved",
	[SR_RESTORE_FAILED] = "restore-failed", [SR_AUTOKILL] = "autokill",
	[SR_MIGRATED] = "migrated",
};

const char *
sup_state_name(enum vm_state st)
{
	return (unsigned)st < VS_N ? state_names[st] : "?";
}

const char *
sup_want_name(enum vm_want w)
{
	return (unsigned)w < WANT_N ? want_names[w] : "?";
}

const char *
sup_event_name(enum vm_event ev)
{
	return (unsigned)ev < VE_N ? event_names[ev] : "?";
}

const char *
sup_reason_name(enum stop_reason r)
{
	return (unsigned)r < SR_N ? reason_names[r] : NULL;
}

int
sup_state_lookup(const char *name)
{
	int i;

	for (i = 0; i < VS_N; i++)
		if (strcmp(state_names[i], name) == 0)
			return i;
	return -1;
}

int
sup_reason_lookup(const char *name)
{
	int i;

	for (i = 1; i < SR_N; i++)
		if (strcmp(reason_names[i], name) == 0)
			return i;
	return -1;
}

bool
sup_is_down(const struct vm *vm)
{
	return vm->vm_state == VS_STOPPED || vm->vm_state == VS_FAILED ||
	    vm->vm_state == VS_REMOVED;
}

bool
sup_wants_down(const struct vm *vm)
{
	return vm->vm_want == WANT_DOWN || vm->vm_want == WANT_GONE;
}

bool
sup_stop_pending(const struct vm *vm)
{
	return sup_wants_down(vm) && (vm->vm_state == VS_STARTING ||
	    vm->vm_state == VS_RUNNING || vm->vm_state == VS_PANICKED ||
	    vm->vm_state == VS_BOOTING || vm->vm_state == VS_NOT_READY);
}

bool
sup_has_process(const struct vm *vm)
{
	switch (vm->vm_state) {
	case VS_STARTING: case VS_RUNNING: case VS_HALTING:
	case VS_TERMINATING: case VS_KILLING: case VS_PANICKED:
	case VS_BOOTING: case VS_NOT_READY: case VS_SAVING: case VS_RESTORING:
	case VS_ATTACHING: case VS_INCOMING: case VS_MIGRATING: case VS_HANDED_OVER:
		return true;
	default:
		return false;
	}
}

/* QEMU run states (qapi/run-state.json) whose CPUs can never run again. */
static const char *const dead_states[] = {
	"internal-error", "shutdown", "postmigrate", "inmigrate", "prelaunch", NULL
};
/* Run states a `cont` (or system_wakeup) brings back to running. */
static const char *const paused_states[] = {
	"paused", "suspended", "debug", "io-error", "watchdog", NULL
};

static bool
in_list(const char *const *l, const char *w)
{
	for (; *l; l++)
		if (strcmp(*l, w) == 0)
			return true;
	return false;
}

bool
sup_cpus_dead(const struct vm *vm)
{
	return sup_has_process(vm) && in_list(dead_states, vm->vm_run_state);
}

bool
sup_cpus_paused(const struct vm *vm)
{
	return sup_has_process(vm) && in_list(paused_states, vm->vm_run_state);
}

const char *
sup_display_state(const struct vm *vm)
{
	if (vm->vm_state == VS_PANICKED)
		return "paused";
	if (vm->vm_state != VS_RUNNING || !vm->vm_run_state[0] ||
	    strcmp(vm->vm_run_state, "running") == 0)
		return state_names[vm->vm_state];
	return strcmp(vm->vm_run_state, "suspended") == 0 ? "suspended" : "paused";
}

void
sup_vm_init(struct vm *vm, const struct hw_vm *hw)
{
	memset(vm, 0, sizeof(*vm));
	vm->vm_hw = hw;
	vm->vm_name = hw->vm_name;
	vm->vm_pidfd = -1;
	vm->vm_lockfd = -1;
	vm->vm_halt_override = -1;
	vm->vm_halt_step = -1;
	vm->vm_save_pct = -1;
}

void
sup_vm_clear(struct vm *vm)
{
	free(vm->vm_detail);
	vm->vm_detail = NULL;
}

/* How long a QEMU whose QMP went away while starting gets to exit by itself. */
#define START_GRACE_MS	2000
/*
 * How long QEMU may take to answer QMP at all. A unix connect succeeds as
 * soon as QEMU listens, long before it greets (it does so from its main
 * loop, after machine set-up): a QEMU stuck before that must not leave
 * its VM "starting" forever.
 */
#define START_TIMEOUT_MS	60000
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

static void
set_state(const struct sup *s, struct vm *vm, enum vm_state to, const char *why)
{
	enum vm_state from = vm->vm_state;

	s->ops->disarm(s->ctx, vm);
	vm->vm_state = to;
	log_vm_id(to == VS_FAILED ? LOG_ERR : LOG_INFO, vm->vm_name, MSGID_STATE, "%s -> %s (%s)",
	    state_names[from], state_names[to], why);
	s->ops->changed(s->ctx, vm, from, why);
}

static unsigned
halt_ms(const struct vm *vm)
{
	return (vm->vm_halt_override >= 0 ? (unsigned)vm->vm_halt_override :
	    vm->vm_hw->vm_policy.po_halt_timeout) * 1000u;
}

/* Reasons a SIGTERM/SIGKILL escalation does not overwrite. */
static bool
pending_sticky(const struct vm *vm)
{
	return vm->vm_pending == SR_START_FAILED || vm->vm_pending == SR_GUEST_PANICKED ||
	    vm->vm_pending == SR_KVM_ERROR || vm->vm_pending == SR_RESTORE_FAILED ||
	    vm->vm_pending == SR_AUTOKILL || vm->vm_pending == SR_MIGRATED;
}

static void
send_signal(const struct sup *s, struct vm *vm, int sig)
{
	int e = s->ops->signal(s->ctx, vm, sig);

	/* ESRCH: it died already; its exit event is on its way. */
	if (e && e != -ESRCH)
		log_vm(LOG_ERR, vm->vm_name, "cannot send %s to pid %d: %s",
		    strsignal(sig), (int)vm->vm_pid, strerror(-e));
}

static void
record_exit(struct vm *vm, int status)
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

static void
reset_backoff(struct vm *vm)
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
		reset_backoff(vm);
		set_state(s, vm, VS_FAILED, vm->vm_detail);
		return;
	}
	vm->vm_burst_n++;
	ms = sup_backoff_ms(hw, vm->vm_streak);
	vm->vm_streak++;
	vm->vm_restarts++;
	vm->vm_next_restart_ms = now + ms;
	snprintf(buf, sizeof(buf), "%s (%s): restart %u of %u in %u ms", reason, why,
	    vm->vm_burst_n, hw->vm_policy.po_restart_burst, ms);
	set_state(s, vm, VS_BACKOFF, buf);
	s->ops->arm(s->ctx, vm, ms);
}

static void
enter_stopped(const struct sup *s, struct vm *vm, enum stop_reason r, const char *why)
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
		set_state(s, vm, VS_REMOVED, why);
		return;
	}
	failed = r == SR_START_FAILED || (r == SR_KVM_ERROR && vm->vm_want != WANT_RESTART);
	if (vm->vm_want == WANT_RESTART && !failed) {
		vm->vm_want = WANT_UP;
		set_state(s, vm, VS_STOPPED, why);
		set_state(s, vm, VS_WAITING, "restart");
		return;
	}
	/* Down, and nothing will start it: what its intent file says too. */
	vm->vm_want = WANT_DOWN;
	set_state(s, vm, failed ? VS_FAILED : VS_STOPPED, why);
}

/* ---- actions: one per meaningful (state, event) cell ---- */

typedef void (*sup_action)(const struct sup *s, struct vm *vm, int arg);

static void
a_want_start(const struct sup *s, struct vm *vm, int arg)
{
	/* A start asked for is a fresh start: the restart accounting begins anew. */
	vm->vm_want = WANT_UP;
	vm->vm_restarts = 0;
	reset_backoff(vm);
	set_state(s, vm, VS_WAITING, "start requested");
}

static void
a_backoff_over(const struct sup *s, struct vm *vm, int arg)
{
	vm->vm_next_restart_ms = 0;
	set_state(s, vm, VS_WAITING, "backoff over: restarting");
}

static void
a_cancel(const struct sup *s, struct vm *vm, int arg)
{
	vm->vm_next_restart_ms = 0;
	set_state(s, vm, vm->vm_want == WANT_GONE ? VS_REMOVED : VS_STOPPED,
	    vm->vm_state == VS_BACKOFF ? "restart cancelled" : "start cancelled");
}

static void
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
		set_state(s, vm, VS_FAILED, "spawn failed");
		return;
	}
	set_state(s, vm, e == 2 ? VS_INCOMING : e == 1 ? VS_RESTORING : VS_STARTING,
	    e == 2 ? "QEMU spawned to receive a live migration" : e == 1 ?
	    "QEMU spawned to load its saved state" : "QEMU spawned");
	s->ops->arm(s->ctx, vm, START_TIMEOUT_MS);
}

static const char *const ready_names[] = {
	[HW_READY_QMP] = "qmp", [HW_READY_AGENT] = "agent",
	[HW_READY_SERIAL] = "serial", [HW_READY_TCP] = "tcp",
};

static void
a_ready(const struct sup *s, struct vm *vm, int arg)
{
	const struct vm_policy *po = &vm->vm_hw->vm_policy;
	char why[160];

	vm->vm_run_ms = s->ops->now(s->ctx);
	if (po->po_ready == HW_READY_QMP || !s->ops->probe) {
		set_state(s, vm, VS_RUNNING, "QMP ready");
		return;
	}
	snprintf(why, sizeof(why), "QMP ready; waiting for ready = %s%s%s",
	    ready_names[po->po_ready], po->po_ready_arg ? ":" : "",
	    po->po_ready_arg ? po->po_ready_arg : "");
	set_state(s, vm, VS_BOOTING, why);
	if (po->po_ready_timeout)
		s->ops->arm(s->ctx, vm, po->po_ready_timeout * 1000u);
	s->ops->probe(s->ctx, vm);
}

/* Booting or not-ready: the probe saw the guest ready. */
static void
a_booted(const struct sup *s, struct vm *vm, int arg)
{
	char why[96];

	snprintf(why, sizeof(why), "guest ready (ready = %s)",
	    ready_names[vm->vm_hw->vm_policy.po_ready]);
	set_state(s, vm, VS_RUNNING, why);
}

static void
a_ready_timeout(const struct sup *s, struct vm *vm, int arg)
{
	const struct vm_policy *po = &vm->vm_hw->vm_policy;
	char why[160];

	snprintf(why, sizeof(why), "not ready after ready_timeout %u s: %s", po->po_ready_timeout,
	    po->po_on_ready_timeout == HW_READY_HOLD ?
	    "the VMs after it wait (on_ready_timeout = hold)" :
	    "running anyway (on_ready_timeout = proceed)");
	log_vm(LOG_WARNING, vm->vm_name, "%s", why);
	set_state(s, vm, po->po_on_ready_timeout == HW_READY_HOLD ? VS_NOT_READY : VS_RUNNING,
	    why);
}

/* Did this run's KVM fail the guest early (see KVM_EARLY_MS)? */
static bool
kvm_failed_early(const struct sup *s, const struct vm *vm, const char *qemu_says,
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
static void
kvm_fallback(const struct sup *s, struct vm *vm, const char *qemu_says)
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

static void
a_start_failed(const struct sup *s, struct vm *vm, int arg)
{
	char *says;

	record_exit(vm, arg);
	says = s->ops->exit_detail(s->ctx, vm);
	if (kvm_failed_early(s, vm, says, false)) {
		kvm_fallback(s, vm, says);
		free(says);
		enter_stopped(s, vm, SR_KVM_ERROR, vm->vm_want == WANT_RESTART ?
		    "KVM failed: starting again under TCG" : "KVM failed (accel = kvm)");
		return;
	}
	free(vm->vm_detail);
	vm->vm_detail = says;
	log_vm(LOG_ERR, vm->vm_name, "QEMU failed to start (%s): %s", vm->vm_last_exit,
	    vm->vm_detail ? vm->vm_detail : "no output");
	enter_stopped(s, vm, SR_START_FAILED, "QEMU exited before QMP was ready");
}


static void
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

static void
a_start_abort(const struct sup *s, struct vm *vm, int arg)
{
	/* QEMU runs but its monitor never answered: it is of no use to us. */
	vm->vm_pending = SR_START_FAILED;
	send_signal(s, vm, SIGKILL);
	set_state(s, vm, VS_KILLING, "QMP never ready");
}

static void
term_because(const struct sup *s, struct vm *vm, const char *why)
{
	if (!pending_sticky(vm))
		vm->vm_pending = SR_SIGTERM;
	send_signal(s, vm, SIGTERM);
	set_state(s, vm, VS_TERMINATING, why);
	s->ops->arm(s->ctx, vm, vm->vm_hw->vm_policy.po_term_timeout * 1000u);
}

static void
a_term(const struct sup *s, struct vm *vm, int arg)
{
	term_because(s, vm, vm->vm_state == VS_HALTING ? "halt_timeout expired" :
	    "stop requested");
}

static void
a_kill(const struct sup *s, struct vm *vm, int arg)
{
	const char *why = vm->vm_state == VS_TERMINATING && arg == VE_TIMER ?
	    (vm->vm_pending == SR_AUTOKILL ? "autokill: quit not honoured in time" :
	    "term_timeout expired") : "kill requested";

	if (!pending_sticky(vm))
		vm->vm_pending = SR_SIGKILL;
	send_signal(s, vm, SIGKILL);
	set_state(s, vm, VS_KILLING, why);
}

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
		send_signal(s, vm, SIGKILL);
		set_state(s, vm, VS_KILLING, "autokill: its connection closed, no QMP: SIGKILL");
		return;
	}
	set_state(s, vm, VS_TERMINATING, "autokill: its connection closed: quit");
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
	set_state(s, vm, vm->vm_want == WANT_GONE ? VS_REMOVED : VS_STOPPED,
	    "autokill: its connection closed before it started");
}

/* ---- the halt ladder (vmservice.conf(5): halt, halt_timeout, acpi_repeat) ---- */

static const char *const step_names[] = {
	[HW_HALT_ACPI] = "acpi", [HW_HALT_COMMAND] = "command", [HW_HALT_QUIT] = "quit",
	[HW_HALT_AGENT] = "agent",
};

/* Append to the record of this stop's steps ("; "-separated, truncated). */
static void
halt_note(struct vm *vm, const char *fmt, ...)
{
	size_t len = strlen(vm->vm_halt_log);
	va_list ap;

	if (len + 3 >= sizeof(vm->vm_halt_log))
		return;
	if (len) {
		memcpy(vm->vm_halt_log + len, "; ", 3);
		len += 2;
	}
	va_start(ap, fmt);
	vsnprintf(vm->vm_halt_log + len, sizeof(vm->vm_halt_log) - len, fmt, ap);
	va_end(ap);
}

/* The step under way ends (its effect noted once, with the presses). */
static void
halt_close_step(struct vm *vm)
{
	const struct vm_policy *po = &vm->vm_hw->vm_policy;
	enum hw_halt step;

	if (vm->vm_halt_step < 0 || vm->vm_halt_step >= (int)po->po_n_halt || !vm->vm_presses)
		return;
	step = po->po_halt[vm->vm_halt_step];
	if (step == HW_HALT_ACPI)
		halt_note(vm, "acpi pressed %u time%s", vm->vm_presses, vm->vm_presses == 1 ? "" : "s");
	else
		halt_note(vm, "%s sent", step_names[step]);
	vm->vm_presses = 0;
}

/* The ladder's record becomes the stop detail (status: stop_detail). */
static void
halt_detail(struct vm *vm, const char *then)
{
	if (vm->vm_halt_step < 0 || pending_sticky(vm))
		return;
	halt_close_step(vm);
	free(vm->vm_detail);
	vm->vm_detail = xasprintf("halt: %s%s%s", vm->vm_halt_log[0] ? vm->vm_halt_log : "no step",
	    then ? "; " : "", then ? then : "");
}

/* Arm the VM's timer: the step's end, or the next ACPI press before it. */
static void
halt_arm(const struct sup *s, struct vm *vm, uint64_t now)
{
	const struct vm_policy *po = &vm->vm_hw->vm_policy;
	uint64_t ms = vm->vm_step_end_ms > now ? vm->vm_step_end_ms - now : 0;

	if (po->po_halt[vm->vm_halt_step] == HW_HALT_ACPI && po->po_acpi_repeat &&
	    ms > po->po_acpi_repeat * 1000ull)
		ms = po->po_acpi_repeat * 1000ull;
	s->ops->arm(s->ctx, vm, (unsigned)ms);
}

static int
send_qmp(const struct sup *s, struct vm *vm, const char *cmd, struct json_object *args,
    char *why, size_t whylen)
{
	int e = s->ops->qmp(s->ctx, vm, cmd, args);

	if (e)
		snprintf(why, whylen, "cannot send %s over QMP (%s)", cmd, strerror(-e));
	return e;
}

/* Send one step; 0, or -1 with why (the step is skipped). */
static int
halt_send(const struct sup *s, struct vm *vm, enum hw_halt step, char *why, size_t whylen)
{
	const struct vm_policy *po = &vm->vm_hw->vm_policy;
	struct json_object *args;

	/*
	 * CPUs that can never run again see no power button, no HMP key and
	 * run no agent (vmserviced(8), "Stopping"); quit works on any QEMU.
	 */
	if (step != HW_HALT_QUIT && sup_cpus_dead(vm)) {
		snprintf(why, whylen, "CPUs cannot run (%s)", vm->vm_run_state);
		return -1;
	}
	switch (step) {
	case HW_HALT_AGENT:
		if (!s->ops->agent_halt || s->ops->agent_halt(s->ctx, vm)) {
			snprintf(why, whylen, "no guest agent answering");
			return -1;
		}
		return 0;
	case HW_HALT_COMMAND:
		args = json_object_new_object();
		json_object_object_add(args, "command-line",
		    json_object_new_string(po->po_halt_command ? po->po_halt_command : ""));
		return send_qmp(s, vm, "human-monitor-command", args, why, whylen) ? -1 : 0;
	case HW_HALT_QUIT:
		return send_qmp(s, vm, "quit", NULL, why, whylen) ? -1 : 0;
	case HW_HALT_ACPI:
	default:
		return send_qmp(s, vm, "system_powerdown", NULL, why, whylen) ? -1 : 0;
	}
}

/*
 * From vm_halt_step on, the first step that can be sent gets an even share
 * of what is left of halt_timeout (the last one all of it); a step that
 * cannot work is skipped at once. None left: SIGTERM.
 */
static void
halt_from(const struct sup *s, struct vm *vm, const char *state_why)
{
	const struct vm_policy *po = &vm->vm_hw->vm_policy;
	uint64_t now = s->ops->now(s->ctx);
	char why[160] = "";

	for (; vm->vm_halt_step < (int)po->po_n_halt; vm->vm_halt_step++) {
		enum hw_halt step = po->po_halt[vm->vm_halt_step];
		unsigned left = po->po_n_halt - (unsigned)vm->vm_halt_step;

		if (halt_send(s, vm, step, why, sizeof(why))) {
			log_vm(LOG_INFO, vm->vm_name, "halt step %s skipped: %s", step_names[step], why);
			halt_note(vm, "%s skipped (%s)", step_names[step], why);
			continue;
		}
		vm->vm_presses = 1;
		vm->vm_pending = SR_HOST_POWERDOWN;
		vm->vm_step_end_ms = now + (vm->vm_halt_end_ms > now ?
		    (vm->vm_halt_end_ms - now) / left : 0);
		if (vm->vm_state != VS_HALTING)
			set_state(s, vm, VS_HALTING, state_why);
		else
			log_vm(LOG_INFO, vm->vm_name, "halt step %s", step_names[step]);
		halt_arm(s, vm, now);
		return;
	}
	halt_detail(vm, NULL);
	term_because(s, vm, po->po_n_halt == 1 && why[0] ? why : "no halt step left");
}

static void
a_halt(const struct sup *s, struct vm *vm, int arg)
{
	const struct vm_policy *po = &vm->vm_hw->vm_policy;

	vm->vm_halt_log[0] = 0;
	vm->vm_presses = 0;
	vm->vm_halt_step = 0;
	vm->vm_halt_end_ms = s->ops->now(s->ctx) + halt_ms(vm);
	/*
	 * A guest paused by an admin (or suspended) is resumed for the press:
	 * it then shuts down cleanly, which a frozen guest under SIGTERM
	 * never does (vmserviced(8)). (A guest frozen by its panic is in
	 * panicked, not here: a_panic_quit.)
	 */
	if (sup_cpus_paused(vm) && !(po->po_n_halt == 1 && po->po_halt[0] == HW_HALT_QUIT)) {
		const char *wake = strcmp(vm->vm_run_state, "suspended") == 0 ?
		    "system_wakeup" : "cont";
		int e;

		log_vm(LOG_INFO, vm->vm_name, "guest is %s: %s before the halt",
		    vm->vm_run_state, wake);
		e = s->ops->qmp(s->ctx, vm, wake, NULL);
		if (e)
			log_vm(LOG_WARNING, vm->vm_name, "cannot send %s over QMP (%s)", wake,
			    strerror(-e));
	}
	halt_from(s, vm, arg == VE_RESTART ? "restart requested" : "stop requested");
}

/* Halting, and the VM's timer fired: press again, next step, or SIGTERM. */
static void
a_halt_timer(const struct sup *s, struct vm *vm, int arg)
{
	const struct vm_policy *po = &vm->vm_hw->vm_policy;
	uint64_t now = s->ops->now(s->ctx);
	char why[160];

	/* Not a ladder (the guest or QEMU began it), or QEMU is on its way out. */
	if (vm->vm_halt_step < 0 || vm->vm_shutdown_seen) {
		if (vm->vm_halt_step >= 0 && now < vm->vm_halt_end_ms) {
			s->ops->arm(s->ctx, vm, (unsigned)(vm->vm_halt_end_ms - now));
			return;
		}
		halt_detail(vm, NULL);
		a_term(s, vm, arg);
		return;
	}
	/* Only an ACPI step with acpi_repeat arms a timer before its end. */
	if (po->po_halt[vm->vm_halt_step] == HW_HALT_ACPI && po->po_acpi_repeat &&
	    now < vm->vm_step_end_ms) {
		/* A press the guest missed (not listening yet) is lost: press again. */
		if (send_qmp(s, vm, "system_powerdown", NULL, why, sizeof(why)) == 0)
			vm->vm_presses++;
		else
			log_vm(LOG_WARNING, vm->vm_name, "%s", why);
		halt_arm(s, vm, now);
		return;
	}
	halt_close_step(vm);
	if (vm->vm_halt_step + 1 >= (int)po->po_n_halt) {
		halt_detail(vm, NULL);
		a_term(s, vm, arg);
		return;
	}
	log_vm(LOG_INFO, vm->vm_name, "halt step %s had no effect in its time",
	    step_names[po->po_halt[vm->vm_halt_step]]);
	vm->vm_halt_step++;
	halt_from(s, vm, "next halt step");
}

/* Halting on the agent step, and guest-ping went unanswered: next step now. */
static void
a_agent_failed(const struct sup *s, struct vm *vm, int arg)
{
	const struct vm_policy *po = &vm->vm_hw->vm_policy;

	if (vm->vm_halt_step < 0 || vm->vm_halt_step >= (int)po->po_n_halt ||
	    po->po_halt[vm->vm_halt_step] != HW_HALT_AGENT || vm->vm_shutdown_seen)
		return;
	vm->vm_presses = 0;
	halt_note(vm, "agent skipped (no answer to guest-ping)");
	log_vm(LOG_INFO, vm->vm_name, "halt step agent skipped: no answer to guest-ping");
	vm->vm_halt_step++;
	halt_from(s, vm, "next halt step");
}

/* ---- save and restore (vmservice.conf(5): on_host_shutdown) ---- */

static void a_save_failed(const struct sup *s, struct vm *vm, int arg);

static void
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
	set_state(s, vm, VS_SAVING, "save requested: guest paused, state streaming");
	s->ops->arm(s->ctx, vm, vm->vm_hw->vm_policy.po_save_timeout * 1000u);
}

static void
a_saved(const struct sup *s, struct vm *vm, int arg)
{
	int e = s->ops->qmp(s->ctx, vm, "quit", NULL);

	if (e) {
		term_because(s, vm, "state saved, QMP gone: SIGTERM");
		return;
	}
	set_state(s, vm, VS_HALTING, "state saved: QEMU quits");
	s->ops->arm(s->ctx, vm, halt_ms(vm));
}

/* The save failed or took longer than save_timeout: the guest runs on, then halts. */
static void
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

static void a_restore_failed(const struct sup *s, struct vm *vm, int arg);

static void
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

static void
a_restored(const struct sup *s, struct vm *vm, int arg)
{
	int e = s->ops->qmp(s->ctx, vm, "cont", NULL);

	if (e)
		log_vm(LOG_WARNING, vm->vm_name, "cannot send cont (%s)", strerror(-e));
	vm->vm_run_ms = s->ops->now(s->ctx);
	set_state(s, vm, VS_RUNNING, "restored from its saved state");
}

/*
 * QEMU refused the saved state (or took too long, or exited): the state
 * file is moved aside (ops restore_failed) and the VM boots cold.
 */
static void
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
	send_signal(s, vm, SIGKILL);
	set_state(s, vm, VS_KILLING, "restore failed: booting cold");
}

static void
a_restore_exit(const struct sup *s, struct vm *vm, int arg)
{
	char *says = s->ops->exit_detail(s->ctx, vm);

	record_exit(vm, arg);
	free(vm->vm_detail);
	vm->vm_detail = xasprintf("restore-failed: QEMU exited loading the saved state (%s)%s%s",
	    vm->vm_last_exit, says ? ": " : "", says ? says : "");
	free(says);
	s->ops->restore_failed(s->ctx, vm, vm->vm_detail);
	if (!sup_wants_down(vm))
		vm->vm_want = WANT_RESTART;
	enter_stopped(s, vm, SR_RESTORE_FAILED, "restore failed: booting cold");
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
	set_state(s, vm, VS_HALTING, arg == VE_RESTART ? "restart requested (panicked: quit)" :
	    "stop requested (panicked: quit)");
	s->ops->arm(s->ctx, vm, halt_ms(vm));
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
	set_state(s, vm, VS_REMOVED, "removed from the inventory");
}

/* ---- adoption (daemon start): a held lock is waited for, never ignored ---- */

static void
a_adopt_wait(const struct sup *s, struct vm *vm, int arg)
{
	set_state(s, vm, VS_ADOPTING, "its lock is held: waiting to identify the QEMU");
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
	set_state(s, vm, vm->vm_want == WANT_GONE ? VS_REMOVED : VS_STOPPED,
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
	set_state(s, vm, VS_FAILED, "not adopted");
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
	set_state(s, vm, VS_ATTACHING, "attach requested: waiting for its QMP");
	s->ops->arm(s->ctx, vm, SUP_ATTACH_WAIT_MS);
}

/* Attaching: QEMU answered query-status (its run state is known): supervised. */
static void
a_attached(const struct sup *s, struct vm *vm, int arg)
{
	char why[96];

	vm->vm_run_ms = s->ops->now(s->ctx);
	snprintf(why, sizeof(why), "attached a running QEMU (run state %s)", vm->vm_run_state);
	set_state(s, vm, VS_RUNNING, why);
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
	set_state(s, vm, VS_FAILED, vm->vm_detail);
}

static void
a_deps_failed(const struct sup *s, struct vm *vm, int arg)
{
	vm->vm_reason = SR_START_FAILED;
	set_state(s, vm, VS_FAILED, vm->vm_detail ? vm->vm_detail : "dependency failed");
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
	set_state(s, vm, VS_RUNNING, "adopted a running QEMU");
}

static void
a_guest_off(const struct sup *s, struct vm *vm, int arg)
{
	vm->vm_shutdown_seen = true;
	vm->vm_pending = SR_GUEST_POWEROFF;
	set_state(s, vm, VS_HALTING, "guest powered off");
	/* QEMU exits on its own after SHUTDOWN; escalate if it does not. */
	s->ops->arm(s->ctx, vm, halt_ms(vm));
}

static void
a_host_off(const struct sup *s, struct vm *vm, int arg)
{
	/* A host-side shutdown we did not ask for (a signal, quit elsewhere). */
	vm->vm_shutdown_seen = true;
	vm->vm_pending = SR_CRASHED;
	set_state(s, vm, VS_HALTING, "QEMU shutting down unasked");
	s->ops->arm(s->ctx, vm, halt_ms(vm));
}

static void
a_panicked(const struct sup *s, struct vm *vm, int arg)
{
	const struct hw_vm *hw = vm->vm_hw;
	int e;

	if (hw->vm_policy.po_on_panic == HW_PANIC_PAUSE) {
		/* Frozen at the panic (-action panic=pause) for the admin to look at. */
		set_state(s, vm, VS_PANICKED, "guest panicked: left paused (on_panic = pause)");
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
	set_state(s, vm, VS_HALTING, hw->vm_policy.po_on_panic == HW_PANIC_RESTART ?
	    "guest panicked: stopping QEMU to restart it (on_panic = restart)" :
	    "guest panicked: stopping QEMU (on_panic = poweroff)");
	s->ops->arm(s->ctx, vm, halt_ms(vm));
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
	record_exit(vm, arg);
	if (vm->vm_pending == SR_HOST_POWERDOWN)
		halt_detail(vm, NULL);
	if (vm->vm_pending == SR_START_FAILED) {
		free(vm->vm_detail);
		vm->vm_detail = s->ops->exit_detail(s->ctx, vm);
		if (!vm->vm_detail)
			vm->vm_detail = xstrdup("QMP never became ready");
		log_vm(LOG_ERR, vm->vm_name, "QEMU failed to start: %s", vm->vm_detail);
	}
	enter_stopped(s, vm, vm->vm_pending ? vm->vm_pending : SR_CRASHED,
	    vm->vm_last_exit);
}

static void
a_crashed(const struct sup *s, struct vm *vm, int arg)
{
	char *tail = s->ops->exit_detail(s->ctx, vm);

	record_exit(vm, arg);
	if (kvm_failed_early(s, vm, tail, false)) {
		kvm_fallback(s, vm, tail);
		free(tail);
		enter_stopped(s, vm, SR_KVM_ERROR, vm->vm_want == WANT_RESTART ?
		    "KVM failed: starting again under TCG" : "KVM failed (accel = kvm)");
		return;
	}
	log_vm(LOG_ERR, vm->vm_name, "QEMU exited unexpectedly (%s)%s%s", vm->vm_last_exit,
	    tail ? ": " : "", tail ? tail : "");
	free(tail);
	enter_stopped(s, vm, SR_CRASHED, "crashed");
}

/* Running, and QEMU's run state changed: only CPUs that died matter here. */
static void
a_run_state(const struct sup *s, struct vm *vm, int arg)
{
	char *says;

	if (!sup_cpus_dead(vm) || vm->vm_shutdown_seen)
		return;		/* paused, resumed, suspended: status shows it */
	if (!kvm_failed_early(s, vm, NULL, strcmp(vm->vm_run_state, "internal-error") == 0)) {
		log_vm(LOG_ERR, vm->vm_name, "CPUs stopped (%s): the guest cannot run; "
		    "a stop sends SIGTERM without a power button", vm->vm_run_state);
		return;
	}
	says = s->ops->exit_detail(s->ctx, vm);
	kvm_fallback(s, vm, says ? says : vm->vm_run_state);
	free(says);
	vm->vm_pending = SR_KVM_ERROR;
	term_because(s, vm, vm->vm_want == WANT_RESTART ? "KVM failed: restarting under TCG" :
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
	term_because(s, vm, why);
}

/* Panicked: an admin's `cont` lets the guest run again. */
static void
a_panic_run_state(const struct sup *s, struct vm *vm, int arg)
{
	if (strcmp(vm->vm_run_state, "running") == 0)
		set_state(s, vm, VS_RUNNING, "resumed after its panic");
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
	    state_names[vm->vm_state]);
}

/* ---- live migration (vmd/migrate.c, vmctl migrate) ---- */

/* Destination: a stopped VM starts receiving (no `after`, no slot: now). */
static void
a_migrate_in(const struct sup *s, struct vm *vm, int arg)
{
	vm->vm_want = WANT_UP;
	vm->vm_next_restart_ms = 0;
	a_spawn(s, vm, arg);
}

static void a_incoming_failed(const struct sup *s, struct vm *vm, int arg);

/* Destination, QMP ready: take the stream. */
static void
a_incoming_ready(const struct sup *s, struct vm *vm, int arg)
{
	char err[512];

	if (s->ops->migrate_in && s->ops->migrate_in(s->ctx, vm, err, sizeof(err)) == 0) {
		/* As long as the stream takes: its end (or its source's) ends it. */
		s->ops->disarm(s->ctx, vm);
		log_vm(LOG_INFO, vm->vm_name, "receiving the live migration");
		return;
	}
	free(vm->vm_detail);
	vm->vm_detail = xasprintf("incoming migration failed: %s",
	    s->ops->migrate_in ? err : "not supported");
	a_incoming_failed(s, vm, VE_MIGRATE_FAILED);
}

static void
a_migrated_in(const struct sup *s, struct vm *vm, int arg)
{
	(void)s->ops->qmp(s->ctx, vm, "cont", NULL);
	vm->vm_run_ms = s->ops->now(s->ctx);
	free(vm->vm_detail);
	vm->vm_detail = NULL;
	set_state(s, vm, VS_RUNNING, "migrated here: the guest runs");
}

/* Destination: the stream broke or was refused. Never a half-loaded guest. */
static void
a_incoming_failed(const struct sup *s, struct vm *vm, int arg)
{
	if (!vm->vm_detail)
		vm->vm_detail = xstrdup(arg == VE_TIMER ? "incoming migration failed: QMP "
		    "never answered" : "incoming migration failed");
	log_vm(LOG_ERR, vm->vm_name, "%s", vm->vm_detail);
	vm->vm_want = WANT_DOWN;
	vm->vm_pending = SR_START_FAILED;
	send_signal(s, vm, SIGKILL);
	set_state(s, vm, VS_KILLING, "incoming migration failed");
}

/* Source: a running guest starts streaming. */
static void
a_migrate(const struct sup *s, struct vm *vm, int arg)
{
	char err[512];

	if (!s->ops->migrate_out || s->ops->migrate_out(s->ctx, vm, err, sizeof(err))) {
		free(vm->vm_detail);
		vm->vm_detail = xasprintf("migration failed: %s",
		    s->ops->migrate_out ? err : "not supported");
		log_vm(LOG_ERR, vm->vm_name, "%s", vm->vm_detail);
		return;
	}
	set_state(s, vm, VS_MIGRATING, "live migration: the guest runs, its state streaming");
}

/* Source: QEMU says completed; the guest is paused here (postmigrate). */
static void
a_handed_over(const struct sup *s, struct vm *vm, int arg)
{
	set_state(s, vm, VS_HANDED_OVER, "migration completed: paused here until the "
	    "destination says it runs");
}

/* Source: failed or cancelled before completion: QEMU resumes the guest here. */
static void
a_migrate_failed(const struct sup *s, struct vm *vm, int arg)
{
	log_vm(LOG_WARNING, vm->vm_name, "%s: the guest runs on here",
	    vm->vm_detail ? vm->vm_detail : "migration failed");
	(void)s->ops->qmp(s->ctx, vm, "cont", NULL);
	set_state(s, vm, VS_RUNNING, "migration failed: runs here");
}

static void
a_migrate_cancel(const struct sup *s, struct vm *vm, int arg)
{
	/* MIGRATION cancelled follows (VE_MIGRATE_FAILED). */
	(void)s->ops->qmp(s->ctx, vm, "migrate_cancel", NULL);
}

/* Source, migrating: a stop cancels the migration first, then halts as usual. */
static void
a_migrate_stop(const struct sup *s, struct vm *vm, int arg)
{
	(void)s->ops->qmp(s->ctx, vm, "migrate_cancel", NULL);
	a_halt(s, vm, arg);
}

/* Source, handed over: the guest runs there; QEMU quits here. */
static void
a_migrated(const struct sup *s, struct vm *vm, int arg)
{
	vm->vm_pending = SR_MIGRATED;
	vm->vm_want = WANT_DOWN;
	if (s->ops->qmp(s->ctx, vm, "quit", NULL) != 0) {
		term_because(s, vm, "migrated, QMP gone: SIGTERM");
		return;
	}
	set_state(s, vm, VS_HALTING, "migrated: QEMU quits");
	s->ops->arm(s->ctx, vm, halt_ms(vm));
}

/* Source, handed over: the destination failed: the guest runs on here. */
static void
a_migrate_resume(const struct sup *s, struct vm *vm, int arg)
{
	int e = s->ops->qmp(s->ctx, vm, "cont", NULL);

	if (e)
		log_vm(LOG_ERR, vm->vm_name, "cannot resume the guest (cont): %s", strerror(-e));
	set_state(s, vm, VS_RUNNING, "migration aborted: resumed here");
}

/* Source, handed over: QEMU gone. The guest is the destination's now. */
static void
a_handed_over_exit(const struct sup *s, struct vm *vm, int arg)
{
	record_exit(vm, arg);
	vm->vm_want = WANT_DOWN;
	enter_stopped(s, vm, SR_MIGRATED, vm->vm_last_exit);
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
		set_state(s, vm, VS_STOPPED, "back in the inventory");
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
		    state_names[vm->vm_state], event_names[ev]);
		return;
	}
	/* Timer actions get the event as arg so they can name their reason. */
	fn(s, vm, ev == VE_EXITED ? arg : (int)ev);
}
