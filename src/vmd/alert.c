/* notify_command: alert.h. */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/child.h"
#include "lib/log.h"
#include "lib/safe_path.h"
#include "lib/util.h"
#include "vmd/alert.h"
#include "vmd/daemon.h"
#include "vmd/msgid.h"
#include "vmd/scripts.h"

/* The scripts.h job name: no VM can be called so (names are words). */
#define ALERT_JOB	"notify_command"

static const struct { const char *name, *msgid; } kinds[] = {
	[AL_START_FAILED] = { "start-failed", MSGID_START_FAILED },
	[AL_RESTART_EXHAUSTED] = { "restart-exhausted", MSGID_RESTART_EXHAUSTED },
	[AL_KILLED] = { "killed", MSGID_KILLED },
	[AL_CRASHED] = { "crashed", MSGID_CRASHED },
	[AL_PANICKED] = { "panicked", MSGID_PANICKED },
	[AL_RESTORE_FAILED] = { "restore-failed", MSGID_RESTORE_FAILED },
	[AL_KVM_FALLBACK] = { "kvm-fallback", MSGID_KVM_FALLBACK },
};

struct alerts {
	struct script_cmd	 a_q[ALERT_QUEUE];
	size_t			 a_n;
	unsigned		 a_dropped;	/* since the last run */
};

void
alert_kick(struct daemon *d)
{
	struct alerts *a = d->alerts;
	struct script_cmd *cmds;
	char log[PATH_MAX];

	if (!a || !a->a_n || scripts_busy(d->scripts, ALERT_JOB))
		return;
	if (a->a_dropped)
		log_warn("notify_command: %u events dropped (more than %d waiting)",
		    a->a_dropped, ALERT_QUEUE);
	a->a_dropped = 0;
	cmds = xcalloc(a->a_n, sizeof(*cmds));
	memcpy(cmds, a->a_q, a->a_n * sizeof(*cmds));
	snprintf(log, sizeof(log), "%s/notify.log", d->inv.inv_log_dir);
	scripts_run(d->scripts, ALERT_JOB, cmds, a->a_n, NULL, 0, log,
	    d->inv.inv_notify_timeout * 1000u);
	a->a_n = 0;
}

void
alert_raise(struct daemon *d, const struct vm *vm, enum alert_kind kind, const char *detail)
{
	const char *event = kinds[kind].name;
	const char *prog = d->inv.inv_notify_command;
	const char *name = vm ? vm->vm_name : "";
	char real[PATH_MAX], why[PATH_MAX + 256];
	struct script_cmd *c;
	struct alerts *a;

	/* The detail is in the state change's own line: one short line per event. */
	log_vm_id(LOG_NOTICE, vm ? name : "host", kinds[kind].msgid, "event %s", event);
	if (!prog)
		return;
	/* Checked when read; checked again: the file may have changed since. */
	if (sp_trusted_program(prog, real, why, sizeof(why)) < 0) {
		log_err("notify_command not run for %s of %s: %s", event, vm ? name : "the host",
		    why);
		return;
	}
	if (!d->alerts)
		d->alerts = xcalloc(1, sizeof(*d->alerts));
	a = d->alerts;
	if (a->a_n == ALERT_QUEUE) {
		/* Keep the newest: the state now matters more than an old one. */
		strv_free(&a->a_q[0].sc_argv);
		strv_free(&a->a_q[0].sc_env);
		free(a->a_q[0].sc_what);
		memmove(a->a_q, a->a_q + 1, (ALERT_QUEUE - 1) * sizeof(a->a_q[0]));
		a->a_n--;
		a->a_dropped++;
	}
	c = &a->a_q[a->a_n++];
	memset(c, 0, sizeof(*c));
	strv_push(&c->sc_argv, real);
	strv_push(&c->sc_argv, event);
	strv_push(&c->sc_argv, name);
	strv_push(&c->sc_env, CHILD_PATH);
	strv_pushf(&c->sc_env, "VMSERVICE_EVENT=%s", event);
	strv_pushf(&c->sc_env, "VMSERVICE_VM=%s", name);
	if (vm) {
		strv_pushf(&c->sc_env, "VMSERVICE_STATE=%s", sup_state_name(vm->vm_state));
		if (vm->vm_reason != SR_NONE)
			strv_pushf(&c->sc_env, "VMSERVICE_REASON=%s",
			    sup_reason_name(vm->vm_reason));
	}
	strv_pushf(&c->sc_env, "VMSERVICE_DETAIL=%s", detail ? detail : "");
	strv_pushf(&c->sc_env, "VMSERVICE_TIME=%lld", (long long)time(NULL));
	c->sc_what = xasprintf("notify_command %s %s", event, name);
	alert_kick(d);
}

/* A state with no QEMU. */
static bool
down_state(int st)
{
	return st == VS_STOPPED || st == VS_WAITING || st == VS_FAILED || st == VS_BACKOFF ||
	    st == VS_REMOVED;
}

void
alert_transition(struct daemon *d, const struct vm *vm, int old, const char *why)
{
	enum vm_state to = vm->vm_state;
	bool went_down = !down_state(old) && down_state((int)to);

	if (to == VS_FAILED)
		/* The restart policy wanted it up (enter_backoff): its burst is used up. */
		alert_raise(d, vm, vm->vm_want == WANT_UP ? AL_RESTART_EXHAUSTED : AL_START_FAILED,
		    vm->vm_detail ? vm->vm_detail : why);
	else if (to == VS_KILLING && old == VS_TERMINATING && vm->vm_pending != SR_AUTOKILL)
		/* (autokill's SIGKILL after its quit is what was asked for) */
		alert_raise(d, vm, AL_KILLED, "did not stop on the halt method nor SIGTERM: SIGKILL");
	else if (to == VS_PANICKED || (went_down && vm->vm_reason == SR_GUEST_PANICKED))
		alert_raise(d, vm, AL_PANICKED, why);
	else if (went_down && vm->vm_reason == SR_CRASHED)
		alert_raise(d, vm, AL_CRASHED, why);
}

void
alert_free(struct daemon *d)
{
	struct alerts *a = d->alerts;

	if (!a)
		return;
	for (size_t i = 0; i < a->a_n; i++) {
		strv_free(&a->a_q[i].sc_argv);
		strv_free(&a->a_q[i].sc_env);
		free(a->a_q[i].sc_what);
	}
	free(a);
	d->alerts = NULL;
}
