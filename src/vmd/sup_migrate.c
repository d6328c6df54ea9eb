/* The supervisor's live migration, both sides (sup_act.h). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"
#include "vmd/sup_act.h"

/* ---- live migration (vmd/migrate.c, vmctl migrate) ---- */

/* Destination: a stopped VM starts receiving (no `after`, no slot: now). */
void
a_migrate_in(const struct sup *s, struct vm *vm, int arg)
{
	vm->vm_want = WANT_UP;
	vm->vm_next_restart_ms = 0;
	a_spawn(s, vm, arg);
}

/* Destination, QMP ready: take the stream. */
void
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

void
a_migrated_in(const struct sup *s, struct vm *vm, int arg)
{
	(void)s->ops->qmp(s->ctx, vm, "cont", NULL);
	vm->vm_run_ms = s->ops->now(s->ctx);
	free(vm->vm_detail);
	vm->vm_detail = NULL;
	sup_set_state(s, vm, VS_RUNNING, "migrated here: the guest runs");
}

/* Destination: the stream broke or was refused. Never a half-loaded guest. */
void
a_incoming_failed(const struct sup *s, struct vm *vm, int arg)
{
	if (!vm->vm_detail)
		vm->vm_detail = xstrdup(arg == VE_TIMER ? "incoming migration failed: QMP "
		    "never answered" : "incoming migration failed");
	log_vm(LOG_ERR, vm->vm_name, "%s", vm->vm_detail);
	vm->vm_want = WANT_DOWN;
	vm->vm_pending = SR_START_FAILED;
	sup_send_signal(s, vm, SIGKILL);
	sup_set_state(s, vm, VS_KILLING, "incoming migration failed");
}

/* Source: a running guest starts streaming. */
void
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
	sup_set_state(s, vm, VS_MIGRATING, "live migration: the guest runs, its state streaming");
}

/* Source: QEMU says completed; the guest is paused here (postmigrate). */
void
a_handed_over(const struct sup *s, struct vm *vm, int arg)
{
	sup_set_state(s, vm, VS_HANDED_OVER, "migration completed: paused here until the "
	    "destination says it runs");
}

/*
 * A QEMU found with its guest migrated away (run state postmigrate): this
 * daemon was restarted after a hand-over (or a QEMU attached after one).
 * The guest may run elsewhere: never resumed on a guess; paused here,
 * handed over, until `vmctl migrate NAME --done` or `--resume` says. True
 * if so.
 */
bool
sup_found_handed_over(const struct sup *s, struct vm *vm)
{
	if (strcmp(vm->vm_run_state, "postmigrate") != 0)
		return false;
	log_vm(LOG_WARNING, vm->vm_name, "its guest was migrated away (QEMU run state "
	    "postmigrate): handed over; `vmctl migrate %s --done` or `--resume` decides",
	    vm->vm_name);
	sup_set_state(s, vm, VS_HANDED_OVER, "found migrated away: paused here until told "
	    "where it runs");
	return true;
}

/* Source: failed or cancelled before completion: QEMU resumes the guest here. */
void
a_migrate_failed(const struct sup *s, struct vm *vm, int arg)
{
	log_vm(LOG_WARNING, vm->vm_name, "%s: the guest runs on here",
	    vm->vm_detail ? vm->vm_detail : "migration failed");
	(void)s->ops->qmp(s->ctx, vm, "cont", NULL);
	sup_set_state(s, vm, VS_RUNNING, "migration failed: runs here");
}

void
a_migrate_cancel(const struct sup *s, struct vm *vm, int arg)
{
	/* MIGRATION cancelled follows (VE_MIGRATE_FAILED). */
	(void)s->ops->qmp(s->ctx, vm, "migrate_cancel", NULL);
}

/* Source, migrating: a stop cancels the migration first, then halts as usual. */
void
a_migrate_stop(const struct sup *s, struct vm *vm, int arg)
{
	(void)s->ops->qmp(s->ctx, vm, "migrate_cancel", NULL);
	a_halt(s, vm, arg);
}

/* Source, handed over: the guest runs there; QEMU quits here. */
void
a_migrated(const struct sup *s, struct vm *vm, int arg)
{
	vm->vm_pending = SR_MIGRATED;
	vm->vm_want = WANT_DOWN;
	if (s->ops->qmp(s->ctx, vm, "quit", NULL) != 0) {
		sup_term_because(s, vm, "migrated, QMP gone: SIGTERM");
		return;
	}
	sup_set_state(s, vm, VS_HALTING, "migrated: QEMU quits");
	s->ops->arm(s->ctx, vm, sup_halt_ms(vm));
}

/* Source, handed over: the destination failed: the guest runs on here. */
void
a_migrate_resume(const struct sup *s, struct vm *vm, int arg)
{
	int e = s->ops->qmp(s->ctx, vm, "cont", NULL);

	if (e)
		log_vm(LOG_ERR, vm->vm_name, "cannot resume the guest (cont): %s", strerror(-e));
	sup_set_state(s, vm, VS_RUNNING, "migration aborted: resumed here");
}

/* Source, handed over: QEMU gone. The guest is the destination's now. */
void
a_handed_over_exit(const struct sup *s, struct vm *vm, int arg)
{
	sup_record_exit(vm, arg);
	vm->vm_want = WANT_DOWN;
	sup_enter_stopped(s, vm, SR_MIGRATED, vm->vm_last_exit);
}
