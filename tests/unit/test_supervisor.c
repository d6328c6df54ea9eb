/* Event sequences through the VM life-cycle table, with a recording ops. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "common/log.h"
#include "service/supervisor.h"
#include "tap.h"

struct rec {
	char	 log[4096];	/* "spawn;qmp system_powerdown;arm 30000;..." */
	int	 spawn_fail;
	int	 qmp_fail;
	int	 changes;
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
	return 0;
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
	return strdup("qemu-system-x86_64: -foo: invalid option");
}

static void
o_changed(void *ctx, struct vm *vm, enum vm_state old, const char *why)
{
	((struct rec *)ctx)->changes++;
}

static const struct sup_ops ops = {
	o_spawn, o_qmp, o_signal, o_arm, o_disarm, o_gone, o_detail, o_changed,
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
	hw.vm_halt = halt;
	hw.vm_halt_command = "sendkey ctrl-alt-delete";
	hw.vm_halt_timeout = 30;
	hw.vm_term_timeout = 10;
	sup_vm_clear(&vm);
	sup_vm_init(&vm, &hw);
	memset(&r, 0, sizeof(r));
}

static void
to_running(void)
{
	sup_event(&s, &vm, VE_START, 0);
	sup_event(&s, &vm, VE_DEPS_READY, 0);
	sup_event(&s, &vm, VE_QMP_READY, 0);
	r.log[0] = 0;
}

#define STATE(want, ...) OK_STREQ(sup_state_name(vm.vm_state), want, __VA_ARGS__)
#define REASON(want, ...) OK_STREQ(sup_reason_name(vm.vm_reason), want, __VA_ARGS__)
#define OPS(want, ...) OK_STREQ(r.log, want, __VA_ARGS__)

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
	vm.vm_halt_timeout = 2;
	sup_event(&s, &vm, VE_STOP, 0);
	OPS("qmp system_powerdown;arm 2000;", "stop --timeout overrides halt_timeout");
	sup_event(&s, &vm, VE_EXITED, 0);
	OK(vm.vm_halt_timeout == -1, "override forgotten after the stop");

	/* --timeout 0: escalate at once. */
	fresh(HW_HALT_ACPI);
	to_running();
	vm.vm_halt_timeout = 0;
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
	sup_vm_clear(&vm);
	return TAP_DONE();
}
