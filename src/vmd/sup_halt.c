/* The supervisor's halt ladder (sup_act.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"
#include "vmd/sup_act.h"

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
void
sup_halt_detail(struct vm *vm, const char *then)
{
	if (vm->vm_halt_step < 0 || sup_pending_sticky(vm))
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
			sup_set_state(s, vm, VS_HALTING, state_why);
		else
			log_vm(LOG_INFO, vm->vm_name, "halt step %s", step_names[step]);
		halt_arm(s, vm, now);
		return;
	}
	sup_halt_detail(vm, NULL);
	sup_term_because(s, vm, po->po_n_halt == 1 && why[0] ? why : "no halt step left");
}

void
a_halt(const struct sup *s, struct vm *vm, int arg)
{
	const struct vm_policy *po = &vm->vm_hw->vm_policy;

	vm->vm_halt_log[0] = 0;
	vm->vm_presses = 0;
	vm->vm_halt_step = 0;
	vm->vm_halt_end_ms = s->ops->now(s->ctx) + sup_halt_ms(vm);
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
void
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
		sup_halt_detail(vm, NULL);
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
		sup_halt_detail(vm, NULL);
		a_term(s, vm, arg);
		return;
	}
	log_vm(LOG_INFO, vm->vm_name, "halt step %s had no effect in its time",
	    step_names[po->po_halt[vm->vm_halt_step]]);
	vm->vm_halt_step++;
	halt_from(s, vm, "next halt step");
}

/* Halting on the agent step, and guest-ping went unanswered: next step now. */
void
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
