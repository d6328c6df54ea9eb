/* The supervisor's names and read-only questions: supervisor.h. */
#include <stdlib.h>
#include <string.h>

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

/*
 * QEMU run states (qapi/run-state.json) whose CPUs can never run again, or
 * not on a guess: restore-vm is a snapshot loading, and where the load
 * failed QEMU leaves it so, its state perhaps partly loaded.
 */
static const char *const dead_states[] = {
	"internal-error", "shutdown", "postmigrate", "inmigrate", "prelaunch", "restore-vm",
	NULL
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
