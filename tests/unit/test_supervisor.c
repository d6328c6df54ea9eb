/* Event sequences through the VM life-cycle table, with a recording ops. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "lib/log.h"
#include "vmd/supervisor.h"
#include "tap.h"

struct rec {
	char	 log[4096];	/* "spawn;qmp system_powerdown;arm 30000;..." */
	int	 spawn_fail;
	int	 qmp_fail;
	int	 changes;
	uint64_t clock;		/* the fake ops clock, ms: no sleeping */
	int	 no_restart;	/* may_restart says no (daemon exiting) */
	const char *detail;	/* what exit_detail says; NULL: an option error */
	int	 kvm_failed;	/* times kvm_failed was called */
	int	 agent_fail;	/* agent_halt: no synced agent */
	int	 no_probe;	/* the ops have no probe (readiness off) */
	int	 save_fail;	/* save cannot begin */
	int	 restoring;	/* spawn says: started to load a saved state */
	int	 incoming;	/* spawn says: started to receive a live migration */
	int	 mig_fail;	/* migrate_out / migrate_in cannot begin */
};

static void
add(struct rec *r, const char *fmt, ...)
{
	va_list ap;
	size_t n = strlen(r->log);

	va_start(ap, fmt);
	vsnprintf(r->log + n, sizeof(r->log) - n, fmt, ap);
	va_end(ap);
	n = strlen(r->log);
	snprintf(r->log + n, sizeof(r->log) - n, ";");
}

static int
o_spawn(void *ctx, struct vm *vm, char *err, size_t errlen)
{
	struct rec *r = ctx;

	add(r, "spawn");
	if (r->spawn_fail) {
		snprintf(err, errlen, "no such emulator");
		return -ENOENT;
	}
	vm->vm_pid = 4242;
	return r->incoming ? 2 : r->restoring ? 1 : 0;
}

static int
o_qmp(void *ctx, struct vm *vm, const char *cmd, struct json_object *args)
{
	struct rec *r = ctx;

	if (args)
		add(r, "qmp %s %s", cmd, json_object_to_json_string_ext(args, JSON_C_TO_STRING_PLAIN));
	else
		add(r, "qmp %s", cmd);
	json_object_put(args);
	return r->qmp_fail ? -ENOTCONN : 0;
}

static int
o_signal(void *ctx, struct vm *vm, int sig)
{
	add(ctx, "signal %d", sig);
	return 0;
}

static void
o_arm(void *ctx, struct vm *vm, unsigned ms)
{
	add(ctx, "arm %u", ms);
	vm->vm_timer = 1;
}

static void
o_disarm(void *ctx, struct vm *vm)
{
	/* Only worth recording when a timer was actually armed. */
	if (vm->vm_timer)
		add(ctx, "disarm");
	vm->vm_timer = 0;
}

static void
o_gone(void *ctx, struct vm *vm)
{
	add(ctx, "gone");
	vm->vm_pid = 0;
}

static char *
o_detail(void *ctx, struct vm *vm)
{
	const char *d = ((struct rec *)ctx)->detail;

	return strdup(d ? d : "qemu-system-x86_64: -foo: invalid option");
}

static void
o_kvm_failed(void *ctx, struct vm *vm, const char *detail)
{
	((struct rec *)ctx)->kvm_failed++;
	add(ctx, "kvm_failed");
}

static void
o_changed(void *ctx, struct vm *vm, enum vm_state old, const char *why)
{
	((struct rec *)ctx)->changes++;
}

static uint64_t
o_now(void *ctx)
{
	return ((struct rec *)ctx)->clock;
}

static bool
o_may_restart(void *ctx, struct vm *vm)
{
	return !((struct rec *)ctx)->no_restart;
}

static int
o_agent_halt(void *ctx, struct vm *vm)
{
	struct rec *r = ctx;

	add(r, "agent_halt");
	return r->agent_fail ? -ENOTCONN : 0;
}

static void
o_probe(void *ctx, struct vm *vm)
{
	add(ctx, "probe");
}

static int
o_save(void *ctx, struct vm *vm, char *err, size_t errlen)
{
	struct rec *r = ctx;

	add(r, "save");
	snprintf(err, errlen, "no room");
	return r->save_fail ? -ENOSPC : 0;
}

static int
o_restore(void *ctx, struct vm *vm, char *err, size_t errlen)
{
	add(ctx, "restore");
	return 0;
}

static void
o_restore_failed(void *ctx, struct vm *vm, const char *why)
{
	add(ctx, "restore_failed");
}

static int
o_migrate_out(void *ctx, struct vm *vm, char *err, size_t errlen)
{
	struct rec *r = ctx;

	add(r, "migrate_out");
	if (r->mig_fail)
		snprintf(err, errlen, "no QMP connection");
	return r->mig_fail ? -ENOTCONN : 0;
}

static int
o_migrate_in(void *ctx, struct vm *vm, char *err, size_t errlen)
{
	struct rec *r = ctx;

	add(r, "migrate_in");
	if (r->mig_fail)
		snprintf(err, errlen, "no stream");
	return r->mig_fail ? -ENOTCONN : 0;
}

static const struct sup_ops ops = {
	o_spawn, o_qmp, o_signal, o_arm, o_disarm, o_gone, o_detail, o_changed,
	o_now, o_may_restart, o_kvm_failed, o_agent_halt, o_probe, o_save, o_restore,
	o_restore_failed, o_migrate_out, o_migrate_in,
};

static struct hw_vm hw;
static struct rec r;
static struct sup s = { &ops, &r };
static struct vm vm;

static void
fresh(enum hw_halt halt)
{
	memset(&hw, 0, sizeof(hw));
	hw.vm_name = "web";
	hw.vm_policy.po_halt[0] = halt;
	hw.vm_policy.po_n_halt = 1;
	hw.vm_policy.po_halt_command = "sendkey ctrl-alt-delete";
	hw.vm_policy.po_halt_timeout = 30;
	hw.vm_policy.po_term_timeout = 10;
	hw.vm_policy.po_restart = HW_RESTART_NO;
	hw.vm_policy.po_restart_delay = 1;
	hw.vm_policy.po_restart_max_delay = 60;
	hw.vm_policy.po_restart_burst = 5;
	hw.vm_policy.po_restart_interval = 60;
	hw.vm_policy.po_on_panic = HW_PANIC_RESTART;
	sup_vm_clear(&vm);
	sup_vm_init(&vm, &hw);
	memset(&r, 0, sizeof(r));
	r.clock = 1000000;
}

/* From backoff, the timer fires and the scheduler lets it go: running again. */
static void
backoff_to_running(void)
{
	sup_event(&s, &vm, VE_TIMER, 0);
	sup_event(&s, &vm, VE_DEPS_READY, 0);
	sup_event(&s, &vm, VE_QMP_READY, 0);
	r.log[0] = 0;
}

static void
to_running(void)
{
	sup_event(&s, &vm, VE_START, 0);
	sup_event(&s, &vm, VE_DEPS_READY, 0);
	sup_event(&s, &vm, VE_QMP_READY, 0);
	r.log[0] = 0;
}

/* halt = { a, b } (fresh() otherwise), then started and running. */
static void
ladder_running(enum hw_halt a, enum hw_halt b)
{
	fresh(a);
	hw.vm_policy.po_halt[1] = b;
	hw.vm_policy.po_n_halt = 2;
	to_running();
}

/* ready = ..., started until QMP is ready (clear: the ops log is emptied before that). */
static void
booting(enum hw_ready ready, const char *arg, unsigned timeout, enum hw_ready_fail fail,
    bool clear)
{
	fresh(HW_HALT_ACPI);
	hw.vm_policy.po_ready = ready;
	hw.vm_policy.po_ready_arg = (char *)arg;
	hw.vm_policy.po_ready_timeout = timeout;
	hw.vm_policy.po_on_ready_timeout = fail;
	sup_event(&s, &vm, VE_START, 0);
	sup_event(&s, &vm, VE_DEPS_READY, 0);
	if (clear)
		r.log[0] = 0;
	sup_event(&s, &vm, VE_QMP_READY, 0);
}

#define STATE(want, ...) OK_STREQ(sup_state_name(vm.vm_state), want, __VA_ARGS__)
#define REASON(want, ...) OK_STREQ(sup_reason_name(vm.vm_reason), want, __VA_ARGS__)
#define OPS(want, ...) OK_STREQ(r.log, want, __VA_ARGS__)
#define WANT(w, ...) OK_STREQ(sup_want_name(vm.vm_want), w, __VA_ARGS__)

int
main(void)
{
	log_init("test", LOG_TO_STDERR, LOG_DEBUG);

	/* Start: stopped -> waiting -> starting -> running. */
	fresh(HW_HALT_ACPI);
	sup_event(&s, &vm, VE_START, 0);
	STATE("waiting", "start: waiting for the scheduler");
	sup_event(&s, &vm, VE_DEPS_READY, 0);
	STATE("starting", "deps ready: starting");
	OPS("spawn;arm 60000;", "QEMU spawned once, start timeout armed");
	sup_event(&s, &vm, VE_QMP_READY, 0);
	STATE("running", "QMP ready: running");
	sup_event(&s, &vm, VE_START, 0);
	STATE("running", "start while running is a no-op");

	/* Cooperative stop: ACPI honoured. */
	r.log[0] = 0;
	sup_event(&s, &vm, VE_STOP, 0);
	STATE("halting", "stop: halting");
	OPS("qmp system_powerdown;arm 30000;", "system_powerdown sent, halt_timeout armed");
	sup_event(&s, &vm, VE_SHUTDOWN_GUEST, 0);
	sup_event(&s, &vm, VE_EXITED, 0);
	STATE("stopped", "cooperative: stopped");
	REASON("host-powerdown", "cooperative: host-powerdown");
	OK_STREQ(vm.vm_last_exit, "exit 0", "last exit recorded");

	/* Stubborn guest: halt_timeout -> SIGTERM -> exit. */
	fresh(HW_HALT_ACPI);
	to_running();
	sup_event(&s, &vm, VE_STOP, 0);
	sup_event(&s, &vm, VE_TIMER, 0);
	STATE("terminating", "stubborn: terminating after halt_timeout");
	OPS("qmp system_powerdown;arm 30000;signal 15;disarm;arm 10000;",
	    "SIGTERM sent and term_timeout armed");
	sup_event(&s, &vm, VE_SHUTDOWN_HOST, 0);
	STATE("terminating", "SHUTDOWN host-signal while terminating changes nothing");
	sup_event(&s, &vm, VE_EXITED, 0);
	REASON("sigterm", "stubborn: sigterm");

	/* SIGSTOPped QEMU: term_timeout -> SIGKILL. */
	fresh(HW_HALT_ACPI);
	to_running();
	sup_event(&s, &vm, VE_STOP, 0);
	sup_event(&s, &vm, VE_TIMER, 0);
	sup_event(&s, &vm, VE_TIMER, 0);
	STATE("killing", "SIGSTOPped: killing after term_timeout");
	OK(strstr(r.log, "signal 9;") != NULL, "SIGKILL sent");
	sup_event(&s, &vm, VE_TIMER, 0);
	STATE("killing", "stray timer while killing ignored");
	sup_event(&s, &vm, VE_EXITED, SIGKILL);
	REASON("sigkill", "SIGSTOPped: sigkill");
	OK_STREQ(vm.vm_last_exit, "signal 9", "killed by signal 9");
	STATE("stopped", "stopped after SIGKILL");

	/* The guest powers itself off. */
	fresh(HW_HALT_ACPI);
	to_running();
	sup_event(&s, &vm, VE_SHUTDOWN_GUEST, 0);
	STATE("halting", "guest poweroff: halting");
	sup_event(&s, &vm, VE_SHUTDOWN_GUEST, 0);
	STATE("halting", "duplicate SHUTDOWN ignored");
	OPS("arm 30000;", "no command sent, only a watchdog timer armed");
	sup_event(&s, &vm, VE_EXITED, 0);
	REASON("guest-poweroff", "guest-poweroff recorded");

	/* Duplicate SHUTDOWN during a host stop. */
	fresh(HW_HALT_ACPI);
	to_running();
	sup_event(&s, &vm, VE_STOP, 0);
	sup_event(&s, &vm, VE_SHUTDOWN_GUEST, 0);
	sup_event(&s, &vm, VE_SHUTDOWN_GUEST, 0);
	sup_event(&s, &vm, VE_SHUTDOWN_HOST, 0);
	STATE("halting", "duplicate SHUTDOWNs keep halting");
	OPS("qmp system_powerdown;arm 30000;", "duplicates cause no action");
	sup_event(&s, &vm, VE_EXITED, 0);
	REASON("host-powerdown", "reason not overwritten by duplicates");

	/* Crash: QEMU dies while running. */
	fresh(HW_HALT_ACPI);
	to_running();
	sup_event(&s, &vm, VE_EXITED, SIGSEGV);
	STATE("stopped", "crash: stopped");
	REASON("crashed", "crash: crashed");
	OK_STREQ(vm.vm_last_exit, "signal 11", "crash: signal 11");
	OPS("gone;", "crash: resources released");

	/* Start failure: exits before QMP. */
	fresh(HW_HALT_ACPI);
	sup_event(&s, &vm, VE_START, 0);
	sup_event(&s, &vm, VE_DEPS_READY, 0);
	sup_event(&s, &vm, VE_EXITED, 1 << 8);
	STATE("failed", "start failure: failed");
	REASON("start-failed", "start failure: start-failed");
	OK_STREQ(vm.vm_detail, "qemu-system-x86_64: -foo: invalid option", "QEMU's stderr kept");
	OK_STREQ(vm.vm_last_exit, "exit 1", "exit status kept");
	sup_event(&s, &vm, VE_STOP, 0);
	STATE("failed", "stop on failed VM is a no-op");
	sup_event(&s, &vm, VE_START, 0);
	STATE("waiting", "failed VM can be started again");

	/* Spawn itself fails. */
	fresh(HW_HALT_ACPI);
	r.spawn_fail = 1;
	sup_event(&s, &vm, VE_START, 0);
	sup_event(&s, &vm, VE_DEPS_READY, 0);
	STATE("failed", "spawn error: failed");
	REASON("start-failed", "spawn error: start-failed");
	OK_STREQ(vm.vm_detail, "no such emulator", "spawn error message kept");

	/* QMP never comes up. */
	fresh(HW_HALT_ACPI);
	sup_event(&s, &vm, VE_START, 0);
	sup_event(&s, &vm, VE_DEPS_READY, 0);
	sup_event(&s, &vm, VE_QMP_LOST, 0);
	STATE("starting", "QMP lost while starting: grace period");
	sup_event(&s, &vm, VE_TIMER, 0);
	STATE("killing", "QMP never ready: killing after the grace period");
	sup_event(&s, &vm, VE_EXITED, SIGKILL);
	STATE("failed", "QMP never ready: failed");
	REASON("start-failed", "QMP never ready: start-failed");
	OK_STREQ(vm.vm_detail, "qemu-system-x86_64: -foo: invalid option", "stderr kept after the kill");

	/* QEMU never greets on QMP: the start timeout kills it. */
	fresh(HW_HALT_ACPI);
	sup_event(&s, &vm, VE_START, 0);
	sup_event(&s, &vm, VE_DEPS_READY, 0);
	sup_event(&s, &vm, VE_TIMER, 0);
	STATE("killing", "start timeout: killing");
	sup_event(&s, &vm, VE_EXITED, SIGKILL);
	REASON("start-failed", "start timeout: start-failed");

	/* QMP drops, then QEMU exits by itself with an error: its status is kept. */
	fresh(HW_HALT_ACPI);
	sup_event(&s, &vm, VE_START, 0);
	sup_event(&s, &vm, VE_DEPS_READY, 0);
	sup_event(&s, &vm, VE_QMP_LOST, 0);
	sup_event(&s, &vm, VE_EXITED, 1 << 8);
	STATE("failed", "QMP lost then exit: failed");
	OK_STREQ(vm.vm_last_exit, "exit 1", "QEMU's own exit status kept");

	/* Kill during halting. */
	fresh(HW_HALT_ACPI);
	to_running();
	sup_event(&s, &vm, VE_STOP, 0);
	sup_event(&s, &vm, VE_KILL, 0);
	STATE("killing", "kill during halting: killing");
	OPS("qmp system_powerdown;arm 30000;signal 9;disarm;", "halt timer disarmed, SIGKILL sent");
	sup_event(&s, &vm, VE_EXITED, SIGKILL);
	REASON("sigkill", "kill: sigkill");

	/* Stop during starting: no QMP yet, straight to SIGTERM. */
	fresh(HW_HALT_ACPI);
	sup_event(&s, &vm, VE_START, 0);
	sup_event(&s, &vm, VE_DEPS_READY, 0);
	r.log[0] = 0;
	sup_event(&s, &vm, VE_STOP, 0);
	STATE("terminating", "stop during starting: terminating");
	OPS("signal 15;disarm;arm 10000;", "SIGTERM and term_timeout");
	sup_event(&s, &vm, VE_QMP_READY, 0);
	STATE("terminating", "late QMP ready ignored");
	sup_event(&s, &vm, VE_EXITED, 0);
	STATE("stopped", "stopped");
	REASON("sigterm", "stop during starting: sigterm");

	/* Stop while waiting cancels the start. */
	fresh(HW_HALT_ACPI);
	sup_event(&s, &vm, VE_START, 0);
	sup_event(&s, &vm, VE_STOP, 0);
	STATE("stopped", "stop while waiting: stopped");
	OPS("", "nothing spawned");

	/* Halt methods. */
	fresh(HW_HALT_COMMAND);
	to_running();
	sup_event(&s, &vm, VE_STOP, 0);
	OPS("qmp human-monitor-command {\"command-line\":\"sendkey ctrl-alt-delete\"};arm 30000;",
	    "halt command sent through human-monitor-command");
	fresh(HW_HALT_QUIT);
	to_running();
	sup_event(&s, &vm, VE_STOP, 0);
	OPS("qmp quit;arm 30000;", "quit sent");
	sup_event(&s, &vm, VE_EXITED, 0);
	REASON("host-powerdown", "quit honoured: host-powerdown");

	/* Hung or lost QMP: stop escalates at once. */
	fresh(HW_HALT_ACPI);
	to_running();
	r.qmp_fail = 1;
	sup_event(&s, &vm, VE_STOP, 0);
	STATE("terminating", "no QMP: straight to terminating");

	/* A per-request halt timeout. */
	fresh(HW_HALT_ACPI);
	to_running();
	vm.vm_halt_override = 2;
	sup_event(&s, &vm, VE_STOP, 0);
	OPS("qmp system_powerdown;arm 2000;", "stop --timeout overrides halt_timeout");
	sup_event(&s, &vm, VE_EXITED, 0);
	OK(vm.vm_halt_override == -1, "override forgotten after the stop");

	/* --timeout 0: escalate at once. */
	fresh(HW_HALT_ACPI);
	to_running();
	vm.vm_halt_override = 0;
	sup_event(&s, &vm, VE_STOP, 0);
	OPS("qmp system_powerdown;arm 0;", "stop --timeout 0 arms a zero halt timer");

	/* Restart: running -> halting -> (exit) -> waiting -> ... */
	fresh(HW_HALT_ACPI);
	to_running();
	sup_event(&s, &vm, VE_RESTART, 0);
	STATE("halting", "restart: halting first");
	sup_event(&s, &vm, VE_EXITED, 0);
	STATE("waiting", "restart: waiting to start again");
	sup_event(&s, &vm, VE_DEPS_READY, 0);
	STATE("starting", "restart: starting");

	/* Start while stopping: start again once down; stop cancels that. */
	fresh(HW_HALT_ACPI);
	to_running();
	sup_event(&s, &vm, VE_STOP, 0);
	sup_event(&s, &vm, VE_START, 0);
	sup_event(&s, &vm, VE_EXITED, 0);
	STATE("waiting", "start during halting: waiting after exit");
	fresh(HW_HALT_ACPI);
	to_running();
	sup_event(&s, &vm, VE_RESTART, 0);
	sup_event(&s, &vm, VE_STOP, 0);
	sup_event(&s, &vm, VE_EXITED, 0);
	STATE("stopped", "stop after restart: stays stopped");

	/* A dependency failed while waiting. */
	fresh(HW_HALT_ACPI);
	sup_event(&s, &vm, VE_START, 0);
	vm.vm_detail = strdup("dependency db failed");
	sup_event(&s, &vm, VE_DEPS_FAILED, 0);
	STATE("failed", "dependency failed: failed");
	REASON("start-failed", "dependency failed: start-failed");

	/* Adoption after a daemon restart. */
	fresh(HW_HALT_ACPI);
	vm.vm_pid = 777;
	sup_event(&s, &vm, VE_ADOPT, 0);
	STATE("running", "adopted: running");
	sup_event(&s, &vm, VE_EXITED, -1);
	OK_STREQ(vm.vm_last_exit, "unknown", "adopted: exit status unknown");

	/* Unexpected host shutdown (QEMU got a signal from elsewhere). */
	fresh(HW_HALT_ACPI);
	to_running();
	sup_event(&s, &vm, VE_SHUTDOWN_HOST, 0);
	sup_event(&s, &vm, VE_EXITED, 0);
	REASON("crashed", "unasked host shutdown counts as crashed");

	/* ---- restart policy ---- */

	/* restart = on-failure: a crash (SIGKILL from outside) goes to backoff. */
	fresh(HW_HALT_ACPI);
	hw.vm_policy.po_restart = HW_RESTART_ON_FAILURE;
	to_running();
	sup_event(&s, &vm, VE_EXITED, SIGKILL);
	STATE("backoff", "on-failure: crash -> backoff");
	REASON("crashed", "on-failure: reason crashed");
	OPS("gone;arm 1000;", "QEMU released, first delay restart_delay (1 s) armed");
	OK(vm.vm_restarts == 1, "restart counted");
	OK(vm.vm_next_restart_ms == r.clock + 1000, "next restart time known");
	sup_event(&s, &vm, VE_TIMER, 0);
	STATE("waiting", "backoff over: waiting for the scheduler");
	OK(vm.vm_next_restart_ms == 0, "next restart time cleared");
	sup_event(&s, &vm, VE_DEPS_READY, 0);
	STATE("starting", "restarted: starting");
	OK(strstr(r.log, "spawn;") != NULL, "QEMU spawned again");

	/* The delays double while it keeps crashing, up to the burst limit. */
	{
		static const unsigned want[] = { 1000, 2000, 4000, 8000, 16000 };
		char exp[32];
		int i;

		fresh(HW_HALT_ACPI);
		hw.vm_policy.po_restart = HW_RESTART_ON_FAILURE;
		to_running();
		for (i = 0; i < 5; i++) {
			r.clock += 500;
			sup_event(&s, &vm, VE_EXITED, SIGKILL);
			snprintf(exp, sizeof(exp), "gone;arm %u;", want[i]);
			OPS(exp, "crash %d: backoff %u ms", i + 1, want[i]);
			STATE("backoff", "crash %d: backoff", i + 1);
			r.clock += want[i];
			backoff_to_running();
		}
		OK(vm.vm_restarts == 5, "5 restarts counted");
		r.clock += 500;
		sup_event(&s, &vm, VE_EXITED, SIGKILL);
		STATE("failed", "6th crash within restart_interval: failed");
		REASON("crashed", "burst: reason stays crashed");
		OK(vm.vm_detail && strstr(vm.vm_detail, "restart limit reached, 5 restarts within 60 s"),
		    "burst: detail names the limit (%s)", vm.vm_detail ? vm.vm_detail : "-");
		OPS("gone;", "burst: nothing armed");
		sup_event(&s, &vm, VE_START, 0);
		STATE("waiting", "failed after the burst: a start request works");
		OK(vm.vm_restarts == 0 && vm.vm_streak == 0 && vm.vm_burst_n == 0,
		    "a requested start resets the restart accounting");
	}

	/* The cap: restart_max_delay. */
	hw.vm_policy.po_restart_delay = 5;
	hw.vm_policy.po_restart_max_delay = 30;
	OK(sup_backoff_ms(&hw, 0) == 5000 && sup_backoff_ms(&hw, 1) == 10000 &&
	    sup_backoff_ms(&hw, 2) == 20000 && sup_backoff_ms(&hw, 3) == 30000 &&
	    sup_backoff_ms(&hw, 40) == 30000, "backoff doubles and is capped");
	hw.vm_policy.po_restart_delay = 0;
	OK(sup_backoff_ms(&hw, 3) == 0, "restart_delay 0: immediate restarts");

	/* Running longer than restart_interval resets the backoff and the window. */
	fresh(HW_HALT_ACPI);
	hw.vm_policy.po_restart = HW_RESTART_ON_FAILURE;
	to_running();
	sup_event(&s, &vm, VE_EXITED, SIGKILL);
	r.clock += 1000;
	backoff_to_running();
	sup_event(&s, &vm, VE_EXITED, SIGKILL);
	OPS("gone;arm 2000;", "second quick crash: 2 s");
	r.clock += 2000;
	backoff_to_running();
	r.clock += 61000;
	sup_event(&s, &vm, VE_EXITED, SIGKILL);
	OPS("gone;arm 1000;", "after a run longer than restart_interval: 1 s again");
	OK(vm.vm_burst_n == 1, "burst window restarted");
	OK(vm.vm_restarts == 3, "total restarts kept (3)");

	/* restart_burst = 0: no limit. */
	{
		int i;

		fresh(HW_HALT_ACPI);
		hw.vm_policy.po_restart = HW_RESTART_ON_FAILURE;
		hw.vm_policy.po_restart_burst = 0;
		to_running();
		for (i = 0; i < 20; i++) {
			sup_event(&s, &vm, VE_EXITED, SIGKILL);
			backoff_to_running();
		}
		STATE("running", "restart_burst 0: 20 crashes, still restarted");
	}

	/* restart = no: a crash stays stopped. */
	fresh(HW_HALT_ACPI);
	to_running();
	sup_event(&s, &vm, VE_EXITED, SIGKILL);
	STATE("stopped", "restart = no: crash stays stopped");

	/* An unasked host shutdown (SIGTERM from outside) is a failure. */
	fresh(HW_HALT_ACPI);
	hw.vm_policy.po_restart = HW_RESTART_ON_FAILURE;
	to_running();
	sup_event(&s, &vm, VE_SHUTDOWN_HOST, 0);
	sup_event(&s, &vm, VE_EXITED, 0);
	STATE("backoff", "on-failure: unasked host shutdown restarts");

	/* The guest powers itself off: not a failure. */
	fresh(HW_HALT_ACPI);
	hw.vm_policy.po_restart = HW_RESTART_ON_FAILURE;
	to_running();
	sup_event(&s, &vm, VE_SHUTDOWN_GUEST, 0);
	sup_event(&s, &vm, VE_EXITED, 0);
	STATE("stopped", "on-failure: guest poweroff stays stopped");
	REASON("guest-poweroff", "on-failure: guest-poweroff");
	fresh(HW_HALT_ACPI);
	hw.vm_policy.po_restart = HW_RESTART_ALWAYS;
	to_running();
	sup_event(&s, &vm, VE_SHUTDOWN_GUEST, 0);
	sup_event(&s, &vm, VE_EXITED, 0);
	STATE("backoff", "always: guest poweroff restarts");
	REASON("guest-poweroff", "always: reason guest-poweroff");

	/* What the admin stops is never restarted, whatever the policy. */
	fresh(HW_HALT_ACPI);
	hw.vm_policy.po_restart = HW_RESTART_ALWAYS;
	to_running();
	sup_event(&s, &vm, VE_STOP, 0);
	sup_event(&s, &vm, VE_SHUTDOWN_GUEST, 0);
	sup_event(&s, &vm, VE_EXITED, 0);
	STATE("stopped", "always: stop request stays stopped");
	fresh(HW_HALT_ACPI);
	hw.vm_policy.po_restart = HW_RESTART_ALWAYS;
	to_running();
	sup_event(&s, &vm, VE_KILL, 0);
	sup_event(&s, &vm, VE_EXITED, SIGKILL);
	STATE("stopped", "always: kill request stays stopped");
	REASON("sigkill", "always: kill is sigkill");
	fresh(HW_HALT_ACPI);
	hw.vm_policy.po_restart = HW_RESTART_ALWAYS;
	to_running();
	sup_event(&s, &vm, VE_SHUTDOWN_GUEST, 0);
	sup_event(&s, &vm, VE_STOP, 0);
	sup_event(&s, &vm, VE_EXITED, 0);
	STATE("stopped", "always: stop while the guest powers off stays stopped");
	/* ... also during the backoff. */
	fresh(HW_HALT_ACPI);
	hw.vm_policy.po_restart = HW_RESTART_ON_FAILURE;
	to_running();
	sup_event(&s, &vm, VE_EXITED, SIGKILL);
	r.log[0] = 0;
	sup_event(&s, &vm, VE_STOP, 0);
	STATE("stopped", "stop during backoff: stopped");
	OPS("disarm;", "backoff timer disarmed");
	sup_event(&s, &vm, VE_TIMER, 0);
	STATE("stopped", "stray timer after the stop: still stopped");
	/* A start request during the backoff starts at once. */
	fresh(HW_HALT_ACPI);
	hw.vm_policy.po_restart = HW_RESTART_ON_FAILURE;
	to_running();
	sup_event(&s, &vm, VE_EXITED, SIGKILL);
	sup_event(&s, &vm, VE_START, 0);
	STATE("waiting", "start during backoff: waiting at once");
	/* An admin restart is not counted as a failure. */
	fresh(HW_HALT_ACPI);
	hw.vm_policy.po_restart = HW_RESTART_ON_FAILURE;
	to_running();
	sup_event(&s, &vm, VE_RESTART, 0);
	sup_event(&s, &vm, VE_EXITED, 0);
	STATE("waiting", "requested restart: waiting, no backoff");
	OK(vm.vm_restarts == 0, "requested restart not counted");
	/* The daemon is exiting: no restart. */
	fresh(HW_HALT_ACPI);
	hw.vm_policy.po_restart = HW_RESTART_ON_FAILURE;
	to_running();
	r.no_restart = 1;
	sup_event(&s, &vm, VE_EXITED, SIGKILL);
	STATE("stopped", "crash while the daemon exits: stopped");
	/* A start failure is not restarted (the cause is in the config or host). */
	fresh(HW_HALT_ACPI);
	hw.vm_policy.po_restart = HW_RESTART_ALWAYS;
	sup_event(&s, &vm, VE_START, 0);
	sup_event(&s, &vm, VE_DEPS_READY, 0);
	sup_event(&s, &vm, VE_EXITED, 1 << 8);
	STATE("failed", "always: start failure stays failed");
	/* Adopted QEMU crashing: restarted by the policy too. */
	fresh(HW_HALT_ACPI);
	hw.vm_policy.po_restart = HW_RESTART_ON_FAILURE;
	vm.vm_pid = 777;
	sup_event(&s, &vm, VE_ADOPT, 0);
	sup_event(&s, &vm, VE_EXITED, -1);
	STATE("backoff", "adopted QEMU gone: backoff");

	/* ---- on_panic ---- */
	fresh(HW_HALT_ACPI);
	to_running();
	sup_event(&s, &vm, VE_PANICKED, 0);
	STATE("halting", "on_panic restart: halting");
	OPS("qmp quit;arm 30000;", "QMP quit sent, watchdog armed");
	sup_event(&s, &vm, VE_SHUTDOWN_HOST, 0);
	sup_event(&s, &vm, VE_EXITED, 0);
	STATE("backoff", "on_panic restart (restart = no): backoff");
	REASON("guest-panicked", "on_panic restart: guest-panicked");
	OK(vm.vm_restarts == 1, "panic restart counted in the same accounting");
	backoff_to_running();
	STATE("running", "the new run is plain running, not panicked");

	fresh(HW_HALT_ACPI);
	hw.vm_policy.po_on_panic = HW_PANIC_POWEROFF;
	hw.vm_policy.po_restart = HW_RESTART_ALWAYS;
	to_running();
	sup_event(&s, &vm, VE_PANICKED, 0);
	OPS("qmp quit;arm 30000;", "on_panic poweroff: quit");
	sup_event(&s, &vm, VE_EXITED, 0);
	STATE("stopped", "on_panic poweroff: stopped even with restart = always");
	REASON("guest-panicked", "on_panic poweroff: guest-panicked");

	fresh(HW_HALT_ACPI);
	hw.vm_policy.po_on_panic = HW_PANIC_PAUSE;
	to_running();
	sup_event(&s, &vm, VE_PANICKED, 0);
	STATE("panicked", "on_panic pause: a state of its own, panicked");
	OPS("", "on_panic pause: nothing sent");
	OK(strcmp(sup_display_state(&vm), "paused") == 0, "on_panic pause: status calls it paused");
	OK(sup_has_process(&vm), "panicked: its QEMU still runs");
	sup_event(&s, &vm, VE_STOP, 0);
	OPS("qmp quit;arm 30000;", "stopping a panicked guest uses quit, not ACPI");
	sup_event(&s, &vm, VE_EXITED, 0);
	REASON("host-powerdown", "admin stop of a panicked guest: host-powerdown");

	/* on_panic restart when QMP is gone: SIGTERM, reason still guest-panicked. */
	fresh(HW_HALT_ACPI);
	hw.vm_policy.po_on_panic = HW_PANIC_POWEROFF;
	to_running();
	r.qmp_fail = 1;
	sup_event(&s, &vm, VE_PANICKED, 0);
	STATE("terminating", "panic without QMP: terminating");
	sup_event(&s, &vm, VE_EXITED, SIGTERM);
	REASON("guest-panicked", "panic without QMP: still guest-panicked");

	/* Repeated panics hit the burst limit like crashes. */
	{
		int i;

		fresh(HW_HALT_ACPI);
		hw.vm_policy.po_restart_burst = 2;
		to_running();
		for (i = 0; i < 3; i++) {
			sup_event(&s, &vm, VE_PANICKED, 0);
			sup_event(&s, &vm, VE_EXITED, 0);
			if (vm.vm_state == VS_BACKOFF)
				backoff_to_running();
		}
		STATE("failed", "third panic within the interval (burst 2): failed");
		REASON("guest-panicked", "panic burst: guest-panicked");
	}

	/* ---- run state (issue 11) ---- */

	/* CPUs dead (internal-error) under TCG: no power button, SIGTERM at once. */
	fresh(HW_HALT_ACPI);
	to_running();
	vm.vm_accel = HW_ACCEL_TCG;
	snprintf(vm.vm_run_state, sizeof(vm.vm_run_state), "internal-error");
	sup_event(&s, &vm, VE_RUN_STATE, 0);
	STATE("running", "internal-error under TCG: the VM stays (status says paused)");
	OK_STREQ(sup_display_state(&vm), "paused", "displayed as paused");
	OK(r.kvm_failed == 0, "TCG internal-error is not a KVM failure");
	r.log[0] = 0;
	sup_event(&s, &vm, VE_STOP, 0);
	STATE("terminating", "stop of dead CPUs: terminating at once");
	OPS("signal 15;arm 10000;", "no system_powerdown, SIGTERM and term_timeout");
	OK(vm.vm_detail && strstr(vm.vm_detail, "internal-error"), "detail names the run state");
	sup_event(&s, &vm, VE_EXITED, 0);
	REASON("sigterm", "dead CPUs: sigterm");

	/* halt = quit works on dead CPUs: kept. */
	fresh(HW_HALT_QUIT);
	to_running();
	snprintf(vm.vm_run_state, sizeof(vm.vm_run_state), "internal-error");
	sup_event(&s, &vm, VE_STOP, 0);
	OPS("qmp quit;arm 30000;", "halt = quit still sent to dead CPUs");

	/* A snapshot loading (restore-vm), or left so by a failed load: no cont, no press. */
	fresh(HW_HALT_ACPI);
	to_running();
	snprintf(vm.vm_run_state, sizeof(vm.vm_run_state), "restore-vm");
	r.log[0] = 0;
	sup_event(&s, &vm, VE_RUN_STATE, 0);
	STATE("running", "restore-vm: still running in the table");
	OPS("", "nothing sent while a snapshot loads");
	OK_STREQ(sup_display_state(&vm), "paused", "restore-vm is displayed paused");
	sup_event(&s, &vm, VE_STOP, 0);
	STATE("terminating", "stop in restore-vm: SIGTERM, the guest cannot see a press");
	OPS("signal 15;arm 10000;", "never cont (its state may be partly loaded)");

	/* Paused by an admin: resumed for the power button. */
	fresh(HW_HALT_ACPI);
	to_running();
	snprintf(vm.vm_run_state, sizeof(vm.vm_run_state), "paused");
	sup_event(&s, &vm, VE_RUN_STATE, 0);
	STATE("running", "paused: still running in the table");
	OK_STREQ(sup_display_state(&vm), "paused", "paused is displayed");
	sup_event(&s, &vm, VE_STOP, 0);
	OPS("qmp cont;qmp system_powerdown;arm 30000;", "cont, then the power button");
	STATE("halting", "paused guest: halting");

	/* Suspended (S3): woken for the press. */
	fresh(HW_HALT_ACPI);
	to_running();
	snprintf(vm.vm_run_state, sizeof(vm.vm_run_state), "suspended");
	OK_STREQ(sup_display_state(&vm), "suspended", "suspended is displayed");
	sup_event(&s, &vm, VE_STOP, 0);
	OPS("qmp system_wakeup;qmp system_powerdown;arm 30000;", "wakeup, then the power button");

	/* Running again: displayed as running. */
	snprintf(vm.vm_run_state, sizeof(vm.vm_run_state), "running");
	OK_STREQ(sup_display_state(&vm), "halting", "a halting VM shows its table state");

	/* The CPUs die while the power button waits: SIGTERM without the timeout. */
	fresh(HW_HALT_ACPI);
	to_running();
	sup_event(&s, &vm, VE_STOP, 0);
	r.log[0] = 0;
	snprintf(vm.vm_run_state, sizeof(vm.vm_run_state), "internal-error");
	sup_event(&s, &vm, VE_RUN_STATE, 0);
	STATE("terminating", "CPUs died while halting: terminating");
	OPS("signal 15;disarm;arm 10000;", "SIGTERM sent, halt timer replaced by term_timeout");

	/* A guest that powered off reaches run state shutdown: not a failure. */
	fresh(HW_HALT_ACPI);
	to_running();
	sup_event(&s, &vm, VE_STOP, 0);
	sup_event(&s, &vm, VE_SHUTDOWN_GUEST, 0);
	snprintf(vm.vm_run_state, sizeof(vm.vm_run_state), "shutdown");
	sup_event(&s, &vm, VE_RUN_STATE, 0);
	STATE("halting", "shutdown run state after SHUTDOWN: still halting");
	sup_event(&s, &vm, VE_EXITED, 0);
	REASON("host-powerdown", "clean power-off keeps host-powerdown");

	/* accel = auto, KVM: CPUs in internal-error early -> restart under TCG. */
	fresh(HW_HALT_ACPI);
	hw.vm_accel = HW_ACCEL_AUTO;
	to_running();
	vm.vm_accel = HW_ACCEL_KVM;
	r.detail = "KVM internal error. Suberror: 1\nemulation failure";
	r.clock += 3000;
	snprintf(vm.vm_run_state, sizeof(vm.vm_run_state), "internal-error");
	sup_event(&s, &vm, VE_RUN_STATE, 0);
	STATE("terminating", "KVM internal-error under auto: terminating");
	OPS("kvm_failed;signal 15;arm 10000;", "host KVM marked failed, SIGTERM");
	OK(strstr(vm.vm_detail, "KVM internal error") != NULL, "QEMU's words kept");
	r.log[0] = 0;
	sup_event(&s, &vm, VE_EXITED, 15);
	REASON("kvm-error", "the run ends as kvm-error");
	STATE("waiting", "and the VM waits to start again (under TCG)");
	OPS("gone;disarm;", "resources released, nothing else");

	/* ... but not late in its life: the failure is the guest's. */
	fresh(HW_HALT_ACPI);
	hw.vm_accel = HW_ACCEL_AUTO;
	to_running();
	vm.vm_accel = HW_ACCEL_KVM;
	r.clock += 360000;	/* past KVM_EARLY_MS (5 min) */
	snprintf(vm.vm_run_state, sizeof(vm.vm_run_state), "internal-error");
	sup_event(&s, &vm, VE_RUN_STATE, 0);
	STATE("running", "late internal-error: no fallback, left for the admin");
	OK(r.kvm_failed == 0, "late: KVM not declared broken");

	/* accel = kvm is strict: kvm-error, failed, no restart. */
	fresh(HW_HALT_ACPI);
	hw.vm_accel = HW_ACCEL_KVM;
	to_running();
	vm.vm_accel = HW_ACCEL_KVM;
	snprintf(vm.vm_run_state, sizeof(vm.vm_run_state), "internal-error");
	sup_event(&s, &vm, VE_RUN_STATE, 0);
	STATE("terminating", "accel = kvm: terminating");
	OK(r.kvm_failed == 0, "accel = kvm: no fallback for others either");
	sup_event(&s, &vm, VE_EXITED, 15);
	STATE("failed", "accel = kvm: failed");
	REASON("kvm-error", "accel = kvm: kvm-error");

	/* QEMU exits at start on a KVM error (auto): restart under TCG. */
	fresh(HW_HALT_ACPI);
	hw.vm_accel = HW_ACCEL_AUTO;
	r.detail = "qemu-system-x86_64: failed to set MSR 0x10a to 0x0";
	sup_event(&s, &vm, VE_START, 0);
	sup_event(&s, &vm, VE_DEPS_READY, 0);
	vm.vm_accel = HW_ACCEL_KVM;
	r.log[0] = 0;
	sup_event(&s, &vm, VE_EXITED, 6 /* SIGABRT */);
	STATE("waiting", "KVM start failure under auto: starting again");
	REASON("kvm-error", "KVM start failure: kvm-error");
	OPS("kvm_failed;gone;disarm;", "KVM marked failed");

	/* The same exit with an error that is not KVM's: start-failed as before. */
	fresh(HW_HALT_ACPI);
	hw.vm_accel = HW_ACCEL_AUTO;
	sup_event(&s, &vm, VE_START, 0);
	sup_event(&s, &vm, VE_DEPS_READY, 0);
	vm.vm_accel = HW_ACCEL_KVM;
	sup_event(&s, &vm, VE_EXITED, 1 << 8);
	STATE("failed", "a non-KVM start error under KVM: failed");
	REASON("start-failed", "non-KVM error: start-failed");
	OK(r.kvm_failed == 0, "non-KVM error: KVM not blamed");

	/* Under TCG a QEMU that names KVM in its error is not a KVM failure. */
	fresh(HW_HALT_ACPI);
	hw.vm_accel = HW_ACCEL_AUTO;
	r.detail = "kvm: something";
	sup_event(&s, &vm, VE_START, 0);
	sup_event(&s, &vm, VE_DEPS_READY, 0);
	vm.vm_accel = HW_ACCEL_TCG;
	sup_event(&s, &vm, VE_EXITED, 1 << 8);
	REASON("start-failed", "TCG: start-failed");

	/* accel = kvm, QEMU exits on KVM: failed with kvm-error. */
	fresh(HW_HALT_ACPI);
	hw.vm_accel = HW_ACCEL_KVM;
	r.detail = "Could not access KVM kernel module: Permission denied";
	sup_event(&s, &vm, VE_START, 0);
	sup_event(&s, &vm, VE_DEPS_READY, 0);
	vm.vm_accel = HW_ACCEL_KVM;
	sup_event(&s, &vm, VE_EXITED, 1 << 8);
	STATE("failed", "accel = kvm, KVM error at start: failed");
	REASON("kvm-error", "accel = kvm: kvm-error");
	OK(strstr(vm.vm_detail, "Permission denied") != NULL, "QEMU's reason kept");


	/*
	 * ---- issue 13: the rules that were flags on struct vm, now states,
	 * events and the one vm_want field ----
	 */

	/* want follows the requests; stopped VMs are wanted down. */
	fresh(HW_HALT_ACPI);
	WANT("none", "a fresh VM: nothing wanted yet");
	to_running();
	WANT("up", "started: wanted up");
	sup_event(&s, &vm, VE_STOP, 0);
	WANT("down", "stop: wanted down");
	sup_event(&s, &vm, VE_EXITED, 0);
	STATE("stopped", "halted: stopped");
	WANT("down", "stopped: still wanted down (the intent file says so)");

	/* Stop order (stop all, reload, intent down): wind-down waits for VE_STOP. */
	fresh(HW_HALT_ACPI);
	to_running();
	sup_event(&s, &vm, VE_WIND_DOWN, 0);
	STATE("running", "wind-down: it keeps running until the VMs after it are down");
	OPS("", "wind-down: nothing sent yet");
	OK(sup_stop_pending(&vm), "wind-down: a stop is pending for the scheduler");
	sup_event(&s, &vm, VE_START, 0);
	OK(!sup_stop_pending(&vm), "a start (or being pulled in by a dependent) cancels it");
	WANT("up", "and it is wanted up again");
	sup_event(&s, &vm, VE_WIND_DOWN, 0);
	sup_event(&s, &vm, VE_STOP, 0);		/* the scheduler: nothing after it runs */
	STATE("halting", "the scheduler's stop: halting");
	OPS("qmp system_powerdown;arm 30000;", "halted the normal way");
	OK(!sup_stop_pending(&vm), "no stop pending once it was sent");
	sup_event(&s, &vm, VE_EXITED, 0);
	STATE("stopped", "wound down: stopped");
	fresh(HW_HALT_ACPI);
	sup_event(&s, &vm, VE_START, 0);
	sup_event(&s, &vm, VE_WIND_DOWN, 0);
	STATE("stopped", "wind-down of a waiting VM: cancelled at once");
	fresh(HW_HALT_ACPI);
	hw.vm_policy.po_restart = HW_RESTART_ALWAYS;
	to_running();
	sup_event(&s, &vm, VE_WIND_DOWN, 0);
	sup_event(&s, &vm, VE_SHUTDOWN_GUEST, 0);
	sup_event(&s, &vm, VE_EXITED, 0);
	STATE("stopped", "wanted down, the guest powers off: restart = always does not apply");

	/* Restart after stop: a start or restart while stopping. */
	fresh(HW_HALT_ACPI);
	to_running();
	sup_event(&s, &vm, VE_STOP, 0);
	sup_event(&s, &vm, VE_START, 0);
	WANT("restart", "start while halting: restart once stopped");
	sup_event(&s, &vm, VE_EXITED, 0);
	STATE("waiting", "halted: waiting to start again");
	WANT("up", "and wanted up");
	fresh(HW_HALT_ACPI);
	to_running();
	sup_event(&s, &vm, VE_RESTART, 0);
	WANT("restart", "restart: wanted restart");
	sup_event(&s, &vm, VE_STOP, 0);
	WANT("down", "a stop during the restart: wanted down");
	sup_event(&s, &vm, VE_EXITED, 0);
	STATE("stopped", "so it stays stopped");
	fresh(HW_HALT_ACPI);
	to_running();
	sup_event(&s, &vm, VE_KILL, 0);
	sup_event(&s, &vm, VE_RESTART, 0);
	sup_event(&s, &vm, VE_EXITED, SIGKILL);
	STATE("waiting", "restart while killing: starts again");

	/* Adoption: a held lock is its own state, with its own deadline. */
	fresh(HW_HALT_ACPI);
	sup_event(&s, &vm, VE_ADOPT_WAIT, 0);
	STATE("adopting", "lock held: adopting");
	OPS("arm 30000;", "the adoption deadline is the VM's timer");
	OK(!sup_is_down(&vm), "adopting is not down (stop all waits for it)");
	sup_event(&s, &vm, VE_START, 0);
	STATE("adopting", "a start while adopting waits");
	WANT("up", "but is remembered");
	OPS("arm 30000;", "and starts nothing");
	sup_event(&s, &vm, VE_ADOPT, 0);
	STATE("running", "identified: adopted, running");
	WANT("up", "wanted up");
	fresh(HW_HALT_ACPI);
	sup_event(&s, &vm, VE_ADOPT_WAIT, 0);
	sup_event(&s, &vm, VE_STOP, 0);
	WANT("down", "a stop while adopting is remembered");
	sup_event(&s, &vm, VE_ADOPT, 0);
	STATE("running", "adopted wanted down: running");
	OK(sup_stop_pending(&vm), "and the scheduler stops it in order");
	fresh(HW_HALT_ACPI);
	sup_event(&s, &vm, VE_ADOPT_WAIT, 0);
	sup_event(&s, &vm, VE_START, 0);
	sup_event(&s, &vm, VE_ADOPT_NONE, 0);
	STATE("stopped", "the lock came free: stopped");
	WANT("up", "still wanted up: the daemon starts it through the request path");
	fresh(HW_HALT_ACPI);
	sup_event(&s, &vm, VE_ADOPT_WAIT, 0);
	r.log[0] = 0;
	sup_event(&s, &vm, VE_TIMER, 0);
	STATE("failed", "lock still held at the deadline: failed");
	OK(vm.vm_detail && strstr(vm.vm_detail, "not recognisably this VM's QEMU"),
	    "and says why");
	OPS("disarm;", "nothing spawned (a second QEMU would share its disks)");

	/* Removal on reload. */
	fresh(HW_HALT_ACPI);
	sup_event(&s, &vm, VE_REMOVE, 0);
	STATE("removed", "removed while stopped: removed at once");
	sup_event(&s, &vm, VE_START, 0);
	STATE("removed", "a removed VM cannot be started");
	fresh(HW_HALT_ACPI);
	hw.vm_policy.po_restart = HW_RESTART_ALWAYS;
	to_running();
	sup_event(&s, &vm, VE_REMOVE, 0);
	STATE("running", "removed while running: stopped in order first");
	OK(sup_stop_pending(&vm), "its stop is pending for the scheduler");
	sup_event(&s, &vm, VE_START, 0);
	WANT("gone", "a start does not bring back a removed VM");
	sup_event(&s, &vm, VE_STOP, 0);
	WANT("gone", "the scheduler's stop keeps it gone");
	sup_event(&s, &vm, VE_SHUTDOWN_GUEST, 0);
	sup_event(&s, &vm, VE_EXITED, 0);
	STATE("removed", "down: removed, never restarted (restart = always)");
	fresh(HW_HALT_ACPI);
	hw.vm_policy.po_restart = HW_RESTART_ALWAYS;
	to_running();
	sup_event(&s, &vm, VE_EXITED, 1 << 8);
	STATE("backoff", "crashed: backoff");
	sup_event(&s, &vm, VE_REMOVE, 0);
	STATE("removed", "removed in backoff: the restart is cancelled, removed");
	fresh(HW_HALT_ACPI);
	to_running();
	sup_event(&s, &vm, VE_REMOVE, 0);
	sup_event(&s, &vm, VE_UNREMOVE, 0);
	STATE("running", "back in the inventory before its stop was sent: runs on");
	WANT("up", "wanted up");
	OK(!sup_stop_pending(&vm), "no stop pending");
	fresh(HW_HALT_ACPI);
	to_running();
	sup_event(&s, &vm, VE_REMOVE, 0);
	sup_event(&s, &vm, VE_STOP, 0);
	sup_event(&s, &vm, VE_UNREMOVE, 0);
	sup_event(&s, &vm, VE_EXITED, 0);
	STATE("stopped", "back in the inventory while halting: stops, stays");

	/* Panic pause: a state; stop quits; an admin's cont resumes it. */
	fresh(HW_HALT_ACPI);
	hw.vm_policy.po_on_panic = HW_PANIC_PAUSE;
	to_running();
	sup_event(&s, &vm, VE_PANICKED, 0);
	STATE("panicked", "paused at its panic");
	snprintf(vm.vm_run_state, sizeof(vm.vm_run_state), "running");
	sup_event(&s, &vm, VE_RUN_STATE, 0);
	STATE("running", "cont by an admin: running again");
	r.log[0] = 0;
	sup_event(&s, &vm, VE_STOP, 0);
	OPS("qmp system_powerdown;arm 30000;", "resumed: a stop presses the power button again");
	fresh(HW_HALT_ACPI);
	hw.vm_policy.po_on_panic = HW_PANIC_PAUSE;
	to_running();
	sup_event(&s, &vm, VE_PANICKED, 0);
	sup_event(&s, &vm, VE_RESTART, 0);
	OPS("qmp quit;arm 30000;", "restart of a panicked guest: quit");
	sup_event(&s, &vm, VE_EXITED, 0);
	STATE("waiting", "then it starts again");
	fresh(HW_HALT_ACPI);
	hw.vm_policy.po_on_panic = HW_PANIC_PAUSE;
	hw.vm_policy.po_restart = HW_RESTART_ALWAYS;
	to_running();
	sup_event(&s, &vm, VE_PANICKED, 0);
	sup_event(&s, &vm, VE_EXITED, 9);
	STATE("backoff", "a panicked QEMU that dies: the policy judges the crash");

	/* ---- issue 14: the halt ladder ---- */

	/* acpi_repeat: the button is pressed again until the step's time is up. */
	fresh(HW_HALT_ACPI);
	hw.vm_policy.po_acpi_repeat = 3;
	to_running();
	r.log[0] = 0;
	sup_event(&s, &vm, VE_STOP, 0);
	OPS("qmp system_powerdown;arm 3000;", "acpi_repeat 3: first press, timer at 3 s");
	r.clock += 3000;
	r.log[0] = 0;
	sup_event(&s, &vm, VE_TIMER, 0);
	STATE("halting", "still halting after the first repeat");
	OPS("qmp system_powerdown;arm 3000;", "pressed again, timer again");
	r.clock += 26000;
	r.log[0] = 0;
	sup_event(&s, &vm, VE_TIMER, 0);
	OPS("qmp system_powerdown;arm 1000;", "the last repeat is cut to what is left");
	r.clock += 1000;
	r.log[0] = 0;
	sup_event(&s, &vm, VE_TIMER, 0);
	STATE("terminating", "halt_timeout over: SIGTERM");
	OPS("signal 15;disarm;arm 10000;", "SIGTERM at 30 s, not before");
	OK(vm.vm_detail && strstr(vm.vm_detail, "acpi pressed 3 times"),
	    "the detail counts the presses: %s", vm.vm_detail ? vm.vm_detail : "(null)");
	sup_event(&s, &vm, VE_EXITED, 0);
	REASON("sigterm", "a stubborn guest still ends in sigterm");

	/* A re-press the guest hears: it stops, the detail says how. */
	fresh(HW_HALT_ACPI);
	hw.vm_policy.po_acpi_repeat = 3;
	to_running();
	sup_event(&s, &vm, VE_STOP, 0);
	r.clock += 3000;
	sup_event(&s, &vm, VE_TIMER, 0);
	sup_event(&s, &vm, VE_SHUTDOWN_GUEST, 0);
	r.log[0] = 0;
	r.clock += 3000;
	sup_event(&s, &vm, VE_TIMER, 0);
	OPS("arm 24000;", "shutting down: no more presses, the timer waits for halt_timeout");
	sup_event(&s, &vm, VE_EXITED, 0);
	REASON("host-powerdown", "the second press stopped it");
	OK(vm.vm_detail && strcmp(vm.vm_detail, "halt: acpi pressed 2 times") == 0,
	    "detail: %s", vm.vm_detail ? vm.vm_detail : "(null)");

	/* halt = { agent, acpi }: the agent answers; half the time is its. */
	ladder_running(HW_HALT_AGENT, HW_HALT_ACPI);
	r.log[0] = 0;
	sup_event(&s, &vm, VE_STOP, 0);
	STATE("halting", "agent step: halting");
	OPS("agent_halt;arm 15000;", "agent first, with half of halt_timeout");
	sup_event(&s, &vm, VE_SHUTDOWN_GUEST, 0);
	sup_event(&s, &vm, VE_EXITED, 0);
	REASON("host-powerdown", "stopped through the agent");
	OK(vm.vm_detail && strcmp(vm.vm_detail, "halt: agent sent") == 0,
	    "detail: %s", vm.vm_detail ? vm.vm_detail : "(null)");

	/* No synced agent: skipped at once, ACPI gets the whole time. */
	ladder_running(HW_HALT_AGENT, HW_HALT_ACPI);
	r.agent_fail = 1;
	sup_event(&s, &vm, VE_STOP, 0);
	OPS("agent_halt;qmp system_powerdown;arm 30000;", "no agent: acpi at once, all 30 s");
	sup_event(&s, &vm, VE_EXITED, 0);
	OK(vm.vm_detail && strstr(vm.vm_detail, "agent skipped") &&
	    strstr(vm.vm_detail, "acpi pressed 1 time"), "detail: %s",
	    vm.vm_detail ? vm.vm_detail : "(null)");
	r.agent_fail = 0;

	/* The agent is synced but guest-ping goes unanswered: next step then. */
	ladder_running(HW_HALT_AGENT, HW_HALT_ACPI);
	sup_event(&s, &vm, VE_STOP, 0);
	r.clock += 1500;
	r.log[0] = 0;
	sup_event(&s, &vm, VE_AGENT_FAILED, 0);
	STATE("halting", "still halting");
	OPS("qmp system_powerdown;arm 28500;", "acpi after 1.5 s, with the rest of the time");
	sup_event(&s, &vm, VE_AGENT_FAILED, 0);
	STATE("halting", "a late agent failure on the acpi step changes nothing");

	/* The agent took guest-shutdown but the guest did nothing: acpi at half time. */
	ladder_running(HW_HALT_AGENT, HW_HALT_ACPI);
	sup_event(&s, &vm, VE_STOP, 0);
	r.clock += 15000;
	r.log[0] = 0;
	sup_event(&s, &vm, VE_TIMER, 0);
	OPS("qmp system_powerdown;arm 15000;", "agent's share over: acpi for the rest");
	r.clock += 15000;
	sup_event(&s, &vm, VE_TIMER, 0);
	STATE("terminating", "then SIGTERM");

	/* CPUs dead: every step but quit is skipped; { acpi, quit } quits. */
	ladder_running(HW_HALT_ACPI, HW_HALT_QUIT);
	snprintf(vm.vm_run_state, sizeof(vm.vm_run_state), "internal-error");
	r.log[0] = 0;
	sup_event(&s, &vm, VE_STOP, 0);
	OPS("qmp quit;arm 30000;", "acpi skipped (CPUs dead), quit sent");
	STATE("halting", "halting on quit");

	/* QMP down: every QMP step is skipped, SIGTERM at once. */
	ladder_running(HW_HALT_ACPI, HW_HALT_COMMAND);
	r.qmp_fail = 1;
	r.log[0] = 0;
	sup_event(&s, &vm, VE_STOP, 0);
	STATE("terminating", "no step could be sent: SIGTERM");
	OPS("qmp system_powerdown;qmp human-monitor-command {\"command-line\":\"sendkey "
	    "ctrl-alt-delete\"};signal 15;arm 10000;", "both tried, then straight to SIGTERM");
	r.qmp_fail = 0;

	/* ---- issue 14: readiness ---- */

	booting(HW_READY_SERIAL, "READY", 60, HW_READY_PROCEED, true);
	STATE("booting", "QMP ready, ready = serial: booting");
	OPS("disarm;arm 60000;probe;", "ready_timeout armed, probe started");
	OK(sup_has_process(&vm), "booting has a process");
	sup_event(&s, &vm, VE_GUEST_READY, 0);
	STATE("running", "the probe saw it: running");
	sup_event(&s, &vm, VE_GUEST_READY, 0);
	STATE("running", "a second readiness changes nothing");

	booting(HW_READY_TCP, "127.0.0.1:22", 60, HW_READY_PROCEED, false);
	sup_event(&s, &vm, VE_TIMER, 0);
	STATE("running", "not ready in time, on_ready_timeout = proceed: running");

	booting(HW_READY_AGENT, NULL, 60, HW_READY_HOLD, false);
	sup_event(&s, &vm, VE_TIMER, 0);
	STATE("not-ready", "on_ready_timeout = hold: not-ready");
	sup_event(&s, &vm, VE_GUEST_READY, 0);
	STATE("running", "ready later: running");

	booting(HW_READY_SERIAL, "READY", 0, HW_READY_PROCEED, false);
	r.log[0] = 0;
	sup_event(&s, &vm, VE_STOP, 0);
	STATE("halting", "a booting VM stops like a running one");
	OPS("qmp system_powerdown;arm 30000;", "power button");
	booting(HW_READY_SERIAL, "READY", 0, HW_READY_PROCEED, false);
	sup_event(&s, &vm, VE_EXITED, 9);
	STATE("stopped", "a booting QEMU that dies: crashed");
	REASON("crashed", "reason crashed");

	/* ---- issue 15: save and restore ---- */

	fresh(HW_HALT_ACPI);
	hw.vm_policy.po_save_timeout = 120;
	to_running();
	sup_event(&s, &vm, VE_SAVE, 0);
	STATE("saving", "save: saving");
	OPS("save;arm 120000;", "save begun, save_timeout armed");
	WANT("down", "a saved VM is wanted down");
	r.log[0] = 0;
	sup_event(&s, &vm, VE_SAVED, 0);
	STATE("halting", "saved: QEMU quits");
	OPS("qmp quit;disarm;arm 30000;", "quit, halt_timeout as the bound");
	sup_event(&s, &vm, VE_EXITED, 0);
	STATE("stopped", "then stopped");
	REASON("saved", "stop reason saved");

	fresh(HW_HALT_ACPI);
	hw.vm_policy.po_save_timeout = 120;
	to_running();
	r.save_fail = 1;
	sup_event(&s, &vm, VE_SAVE, 0);
	STATE("halting", "a save that cannot begin: the halt ladder");
	OK(vm.vm_detail && strstr(vm.vm_detail, "save failed: no room"), "detail: %s",
	    vm.vm_detail ? vm.vm_detail : "(null)");

	fresh(HW_HALT_ACPI);
	hw.vm_policy.po_save_timeout = 120;
	to_running();
	sup_event(&s, &vm, VE_SAVE, 0);
	r.log[0] = 0;
	sup_event(&s, &vm, VE_TIMER, 0);
	STATE("halting", "save_timeout: the halt ladder instead");
	OPS("qmp migrate_cancel;qmp cont;qmp system_powerdown;disarm;arm 30000;",
	    "migration cancelled, guest resumed, power button");
	sup_event(&s, &vm, VE_EXITED, 0);
	REASON("host-powerdown", "then powered off");
	OK(vm.vm_detail && strstr(vm.vm_detail, "save_timeout expired"), "detail: %s",
	    vm.vm_detail ? vm.vm_detail : "(null)");

	fresh(HW_HALT_ACPI);
	r.restoring = 1;
	hw.vm_policy.po_save_timeout = 300;
	sup_event(&s, &vm, VE_START, 0);
	sup_event(&s, &vm, VE_DEPS_READY, 0);
	STATE("restoring", "spawned with -incoming: restoring");
	r.log[0] = 0;
	sup_event(&s, &vm, VE_QMP_READY, 0);
	OPS("restore;arm 300000;", "QMP ready: load it");
	sup_event(&s, &vm, VE_RESTORED, 0);
	STATE("running", "restored: running");

	fresh(HW_HALT_ACPI);
	r.restoring = 1;
	sup_event(&s, &vm, VE_START, 0);
	sup_event(&s, &vm, VE_DEPS_READY, 0);
	sup_event(&s, &vm, VE_QMP_READY, 0);
	r.log[0] = 0;
	sup_event(&s, &vm, VE_RESTORE_FAILED, 0);
	STATE("killing", "refused: SIGKILL (its CPUs never ran)");
	OPS("restore_failed;signal 9;disarm;", "state set aside, SIGKILL");
	r.restoring = 0;
	sup_event(&s, &vm, VE_EXITED, 9);
	STATE("waiting", "then a cold boot");
	REASON("restore-failed", "reason restore-failed");
	OK(vm.vm_detail && strncmp(vm.vm_detail, "restore-failed", 14) == 0,
	    "the detail survives the cold boot: %s", vm.vm_detail ? vm.vm_detail : "(null)");

	/* ---- issue 19: live migration, the source ---- */

	fresh(HW_HALT_ACPI);
	to_running();
	r.log[0] = 0;
	sup_event(&s, &vm, VE_MIGRATE, 0);
	STATE("migrating", "migrate: migrating, the guest runs");
	OPS("migrate_out;", "the stream begins, no timer (its end is QEMU's event)");
	WANT("up", "still wanted up while it streams");
	r.log[0] = 0;
	sup_event(&s, &vm, VE_MIGRATE_FAILED, 0);
	STATE("running", "a failed migration: running here");
	OPS("qmp cont;", "the guest resumed here (cont)");
	sup_event(&s, &vm, VE_MIGRATE, 0);
	sup_event(&s, &vm, VE_MIGRATED, 0);
	STATE("handed-over", "completed: handed over, paused here");
	r.log[0] = 0;
	sup_event(&s, &vm, VE_START, 0);
	sup_event(&s, &vm, VE_TIMER, 0);
	sup_event(&s, &vm, VE_RESTART, 0);
	STATE("handed-over", "no start, timer or restart resumes it on a guess");
	OPS("", "nothing sent");
	sup_event(&s, &vm, VE_MIGRATE_ABORT, 0);
	STATE("running", "the destination failed: resumed here");
	OPS("qmp cont;", "cont");
	sup_event(&s, &vm, VE_MIGRATE, 0);
	sup_event(&s, &vm, VE_MIGRATED, 0);
	r.log[0] = 0;
	sup_event(&s, &vm, VE_MIGRATE_CONFIRM, 0);
	STATE("halting", "the destination runs it: QEMU quits here");
	OPS("qmp quit;arm 30000;", "quit, halt_timeout as the bound");
	WANT("down", "wanted down");
	sup_event(&s, &vm, VE_EXITED, 0);
	STATE("stopped", "stopped");
	REASON("migrated", "stop reason migrated");
	OK(vm.vm_want == WANT_DOWN, "never restarted by the policy");

	fresh(HW_HALT_ACPI);
	hw.vm_policy.po_restart = HW_RESTART_ALWAYS;
	to_running();
	sup_event(&s, &vm, VE_MIGRATE, 0);
	sup_event(&s, &vm, VE_MIGRATED, 0);
	sup_event(&s, &vm, VE_EXITED, 9);
	STATE("stopped", "handed over and its QEMU gone: stopped, restart = always or not");
	REASON("migrated", "reason migrated: the guest is the destination's");

	/* A daemon restarted after the hand-over adopts a QEMU in postmigrate. */
	fresh(HW_HALT_ACPI);
	vm.vm_pid = 4242;
	sup_event(&s, &vm, VE_ADOPT, 0);
	STATE("running", "adopted: running until its run state is known");
	snprintf(vm.vm_run_state, sizeof(vm.vm_run_state), "postmigrate");
	r.log[0] = 0;
	sup_event(&s, &vm, VE_RUN_STATE, 0);
	STATE("handed-over", "run state postmigrate: handed over, as before the restart");
	OPS("", "nothing sent: never resumed on a guess");
	OK(r.kvm_failed == 0, "not a KVM failure");
	sup_event(&s, &vm, VE_STOP, 0);
	STATE("terminating", "a stop of a handed-over VM: SIGTERM (no power button)");
	fresh(HW_HALT_ACPI);
	sup_event(&s, &vm, VE_ADOPT, 0);
	snprintf(vm.vm_run_state, sizeof(vm.vm_run_state), "postmigrate");
	sup_event(&s, &vm, VE_RUN_STATE, 0);
	sup_event(&s, &vm, VE_MIGRATE_CONFIRM, 0);
	sup_event(&s, &vm, VE_EXITED, 0);
	STATE("stopped", "adopted handed-over, --done: stopped");
	REASON("migrated", "reason migrated");
	fresh(HW_HALT_ACPI);
	sup_event(&s, &vm, VE_ADOPT, 0);
	snprintf(vm.vm_run_state, sizeof(vm.vm_run_state), "postmigrate");
	sup_event(&s, &vm, VE_RUN_STATE, 0);
	r.log[0] = 0;
	sup_event(&s, &vm, VE_MIGRATE_ABORT, 0);
	STATE("running", "adopted handed-over, --resume: running here");
	OPS("qmp cont;", "cont");
	fresh(HW_HALT_ACPI);
	sup_event(&s, &vm, VE_ATTACH, 0);
	snprintf(vm.vm_run_state, sizeof(vm.vm_run_state), "postmigrate");
	sup_event(&s, &vm, VE_RUN_STATE, 0);
	STATE("handed-over", "an attached QEMU in postmigrate: handed over, not running");

	fresh(HW_HALT_ACPI);
	to_running();
	r.mig_fail = 1;
	r.log[0] = 0;
	sup_event(&s, &vm, VE_MIGRATE, 0);
	STATE("running", "a migration that cannot begin: still running");
	OK(vm.vm_detail && strstr(vm.vm_detail, "migration failed: no QMP connection"),
	    "detail: %s", vm.vm_detail ? vm.vm_detail : "(null)");
	r.mig_fail = 0;
	sup_event(&s, &vm, VE_MIGRATE, 0);
	r.log[0] = 0;
	sup_event(&s, &vm, VE_STOP, 0);
	STATE("halting", "a stop while migrating: cancelled, then halted");
	OPS("qmp migrate_cancel;qmp system_powerdown;arm 30000;", "cancel, power button");

	/* ---- issue 19: live migration, the destination ---- */

	fresh(HW_HALT_ACPI);
	r.incoming = 1;
	sup_event(&s, &vm, VE_MIGRATE_IN, 0);
	STATE("incoming", "migrate-in: spawned to receive");
	WANT("up", "wanted up");
	r.log[0] = 0;
	sup_event(&s, &vm, VE_QMP_READY, 0);
	OPS("migrate_in;disarm;", "QMP ready: take the stream, no deadline");
	r.log[0] = 0;
	sup_event(&s, &vm, VE_MIGRATED, 0);
	STATE("running", "the guest arrived: running");
	OPS("qmp cont;", "cont");

	fresh(HW_HALT_ACPI);
	r.incoming = 1;
	sup_event(&s, &vm, VE_MIGRATE_IN, 0);
	sup_event(&s, &vm, VE_QMP_READY, 0);
	r.log[0] = 0;
	sup_event(&s, &vm, VE_MIGRATE_FAILED, 0);
	STATE("killing", "the stream failed: SIGKILL, a half-loaded guest never runs");
	OPS("signal 9;", "SIGKILL");
	r.incoming = 0;
	sup_event(&s, &vm, VE_EXITED, 9);
	STATE("failed", "then failed");
	REASON("start-failed", "reason start-failed");
	OK(vm.vm_want == WANT_DOWN, "not restarted");

	fresh(HW_HALT_ACPI);
	r.incoming = 1;
	sup_event(&s, &vm, VE_MIGRATE_IN, 0);
	sup_event(&s, &vm, VE_EXITED, 256);
	STATE("failed", "QEMU exits while receiving: failed");
	r.incoming = 0;

	/* Attach (vmctl attach): a QEMU we did not start, supervised once QMP answers. */
	fresh(HW_HALT_ACPI);
	sup_event(&s, &vm, VE_ATTACH, 0);
	STATE("attaching", "attach: attaching");
	OPS("arm 10000;", "its QMP has SUP_ATTACH_WAIT_MS to answer");
	OK(sup_has_process(&vm) && !sup_is_down(&vm), "attaching has a process, is not down");
	OK(!sup_stop_pending(&vm), "no stop is sent while attaching");
	sup_event(&s, &vm, VE_QMP_READY, 0);
	STATE("attaching", "QMP ready alone is not enough: query-status first");
	snprintf(vm.vm_run_state, sizeof(vm.vm_run_state), "running");
	sup_event(&s, &vm, VE_RUN_STATE, 0);
	STATE("running", "query-status answered: running");
	WANT("up", "wanted up");
	r.log[0] = 0;
	sup_event(&s, &vm, VE_STOP, 0);
	STATE("halting", "stop: the halt ladder, as for its own VMs");
	OPS("qmp system_powerdown;arm 30000;", "ACPI first");
	sup_event(&s, &vm, VE_SHUTDOWN_GUEST, 0);
	sup_event(&s, &vm, VE_EXITED, -1);
	STATE("stopped", "attached, stopped");
	REASON("host-powerdown", "reason host-powerdown");
	OK_STREQ(vm.vm_last_exit, "unknown", "not our child: no exit status");
	fresh(HW_HALT_ACPI);
	sup_event(&s, &vm, VE_ATTACH, 0);
	sup_event(&s, &vm, VE_RUN_STATE, 0);
	r.log[0] = 0;
	sup_event(&s, &vm, VE_EXITED, -1);
	STATE("stopped", "attached QEMU killed: stopped");
	REASON("crashed", "reason crashed");
	OK(strstr(r.log, "spawn") == NULL, "restart = no: never spawned (it has no argv of ours)");
	fresh(HW_HALT_ACPI);
	sup_event(&s, &vm, VE_ATTACH, 0);
	r.log[0] = 0;
	sup_event(&s, &vm, VE_TIMER, 0);
	STATE("failed", "QMP never answered: failed");
	OPS("gone;disarm;", "no signal: not ours to stop, only our side goes");
	OK(vm.vm_detail && strstr(vm.vm_detail, "not attached"), "detail: %s",
	    vm.vm_detail ? vm.vm_detail : "(null)");
	fresh(HW_HALT_ACPI);
	sup_event(&s, &vm, VE_ATTACH, 0);
	r.log[0] = 0;
	sup_event(&s, &vm, VE_QMP_LOST, 0);
	STATE("failed", "QMP closed while attaching: failed");
	OK(strstr(r.log, "signal") == NULL, "and no signal");
	fresh(HW_HALT_ACPI);
	sup_event(&s, &vm, VE_ATTACH, 0);
	sup_event(&s, &vm, VE_WIND_DOWN, 0);
	WANT("down", "service stop while attaching: wanted down");
	sup_event(&s, &vm, VE_RUN_STATE, 0);
	STATE("running", "attached");
	OK(sup_stop_pending(&vm), "then the scheduler stops it");

	/* Autokill (issue 16): the connection that started it closed. */
	fresh(HW_HALT_ACPI);
	hw.vm_policy.po_restart = HW_RESTART_ALWAYS;
	to_running();
	sup_event(&s, &vm, VE_AUTOKILL, 0);
	STATE("terminating", "autokill: quit sent, QEMU being ended");
	OPS("qmp quit;arm 50;", "autokill: QMP quit, SIGKILL bound armed");
	WANT("down", "autokill: wanted down");
	sup_event(&s, &vm, VE_TIMER, 0);
	STATE("killing", "quit not honoured in time: SIGKILL");
	OPS("qmp quit;arm 50;signal 9;disarm;", "then SIGKILL");
	sup_event(&s, &vm, VE_EXITED, SIGKILL);
	STATE("stopped", "autokilled: stopped, not restarted (restart = always)");
	REASON("autokill", "reason autokill, not sigkill");

	fresh(HW_HALT_ACPI);
	to_running();
	sup_event(&s, &vm, VE_AUTOKILL, 0);
	sup_event(&s, &vm, VE_EXITED, 0);
	REASON("autokill", "quit honoured: reason autokill");

	fresh(HW_HALT_ACPI);
	sup_event(&s, &vm, VE_START, 0);
	sup_event(&s, &vm, VE_DEPS_READY, 0);
	r.log[0] = 0;
	r.qmp_fail = 1;
	sup_event(&s, &vm, VE_AUTOKILL, 0);
	STATE("killing", "starting (no QMP): SIGKILL at once");
	OPS("qmp quit;signal 9;disarm;", "no QMP for quit: SIGKILL");
	sup_event(&s, &vm, VE_EXITED, SIGKILL);
	REASON("autokill", "reason autokill");

	fresh(HW_HALT_ACPI);
	sup_event(&s, &vm, VE_START, 0);
	sup_event(&s, &vm, VE_AUTOKILL, 0);
	STATE("stopped", "waiting: never started");
	REASON("autokill", "reason autokill");
	OPS("", "nothing spawned, nothing sent");
	sup_event(&s, &vm, VE_DEPS_READY, 0);
	OPS("", "and the scheduler's go is ignored");

	fresh(HW_HALT_ACPI);
	to_running();
	sup_event(&s, &vm, VE_STOP, 0);
	sup_event(&s, &vm, VE_AUTOKILL, 0);
	STATE("terminating", "a stop under way is overtaken");
	sup_event(&s, &vm, VE_EXITED, 0);
	REASON("autokill", "... and called autokill");

	fresh(HW_HALT_ACPI);
	to_running();
	sup_event(&s, &vm, VE_STOP, 0);
	sup_event(&s, &vm, VE_SHUTDOWN_GUEST, 0);
	sup_event(&s, &vm, VE_EXITED, 0);
	sup_event(&s, &vm, VE_AUTOKILL, 0);
	STATE("stopped", "closed after a normal stop: nothing to do");
	REASON("host-powerdown", "the normal stop keeps its reason");
	OK(sup_reason_lookup("autokill") == SR_AUTOKILL, "autokill round-trips");

	/* Every state/event pair is handled without crashing. */
	{
		int st, ev, bad = 0;
		for (st = 0; st < VS_N; st++)
			for (ev = 0; ev < VE_N; ev++) {
				fresh(HW_HALT_ACPI);
				vm.vm_state = st;
				sup_event(&s, &vm, ev, 0);
				if ((unsigned)vm.vm_state >= VS_N)
					bad++;
			}
		OK(bad == 0, "all %d cells leave a valid state", VS_N * VE_N);
	}
	OK(sup_state_lookup("terminating") == VS_TERMINATING, "state names round-trip");
	OK(sup_reason_lookup("guest-poweroff") == SR_GUEST_POWEROFF, "reason names round-trip");
	OK(sup_reason_lookup("guest-panicked") == SR_GUEST_PANICKED, "guest-panicked round-trips");
	OK(sup_reason_lookup("kvm-error") == SR_KVM_ERROR, "kvm-error round-trips");
	sup_vm_clear(&vm);
	return TAP_DONE();
}
