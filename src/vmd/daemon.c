/*
 * The daemon's VM set over its life: the idle pass after every batch of
 * events (scheduling, the control's hook, reload's drops, sd_notify
 * status, exit once all is down), autostart and the final teardown.
 * The table's effects are in effects.c, start-up adoption in adopt.c,
 * requests in request.c, scheduling in sched.c, status JSON in status.c.
 */
#include <string.h>

#include "lib/log.h"
#include "vmd/daemon.h"
#include "lib/loop.h"
#include "vmd/notify.h"
#include "vmd/reload.h"
#include "vmd/scripts.h"

void
daemon_free_vms(struct daemon *d)
{
	size_t i;

	for (i = 0; i < d->n_vms; i++) {
		reload_vm_free(d->vms[i]);
		vm_release(d, d->vms[i]);
	}
	free(d->vms);
	d->vms = NULL;
	d->n_vms = 0;
	if (d->adopt_timer)
		loop_cancel_timer(d->lp, d->adopt_timer);
	d->adopt_timer = 0;
}

void
daemon_autostart(struct daemon *d)
{
	char err[256];
	size_t i;

	for (i = 0; i < d->n_vms; i++) {
		struct vm *vm = d->vms[i];
		enum intent w = vm->vm_intent.it_want;
		/* After a crash, what was asked; at boot (no intent), autostart. */
		bool up = w == INTENT_NONE ? vm->vm_hw->vm_policy.po_autostart : w != INTENT_DOWN;

		if (up && sup_is_down(vm) && vm->vm_reason == SR_MIGRATED) {
			log_vm(LOG_INFO, vm->vm_name, "not started: %s (vmctl start --force)",
			    vm->vm_detail ? vm->vm_detail : "migrated away");
			continue;
		}
		if (vm->vm_hw->vm_policy.po_enable && up && sup_is_down(vm) &&
		    daemon_start_vm(d, vm, err, sizeof(err)) != 0)
			log_vm(LOG_ERR, vm->vm_name, "not started: %s", err);
	}
}

/* ---- scheduling ---- */

static void
extend_cb(struct loop *lp, void *arg)
{
	struct daemon *d = arg;

	/* Keep the service manager from SIGKILLing us while VMs flush. */
	notify_extend(15 * 1000000ull);
	d->extend_timer = loop_add_timer(d->lp, 5000, extend_cb, d);
}

static void
update_status(struct daemon *d)
{
	unsigned running = 0, enabled = 0, down = 0;
	char buf[sizeof(d->last_status)];
	size_t i;

	for (i = 0; i < d->n_vms; i++) {
		if (!d->vms[i]->vm_hw->vm_policy.po_enable)
			continue;
		enabled++;
		running += d->vms[i]->vm_state == VS_RUNNING;
		down += sup_is_down(d->vms[i]);
	}
	if (d->exiting)
		snprintf(buf, sizeof(buf), "stopping: %u/%u VMs still up", enabled - down, enabled);
	else
		snprintf(buf, sizeof(buf), "%u/%u VMs running", running, enabled);
	if (strcmp(buf, d->last_status) != 0) {
		memcpy(d->last_status, buf, sizeof(buf));
		notify_status("%s", buf);
	}
}

void
daemon_idle(struct loop *lp, void *arg)
{
	struct daemon *d = arg;
	size_t i;
	bool all_down = true;

	sched_run(d);
	log_burst_end(&d->fd_refused, LOG_ERR, "VMs without a telnet console (out of file descriptors)");
	log_burst_end(&d->fd_refused_start, LOG_ERR, "VMs not started (out of file descriptors)");
	if (d->idle_hook)
		d->idle_hook(d->idle_arg);
	reload_idle(d);
	update_status(d);
	if (!d->exiting)
		return;
	if (!d->extend_timer && notify_enabled())
		extend_cb(lp, d);
	for (i = 0; i < d->n_vms; i++)
		if (!sup_is_down(d->vms[i]))
			all_down = false;	/* (adopting too: a QEMU being adopted is stopped next) */
	/* Downscripts are waited for: each has a deadline, so the wait is bounded. */
	if (scripts_running(d->scripts))
		all_down = false;
	if (all_down) {
		log_info("all VMs are stopped");
		/* A clean exit: the next daemon starts as at boot (autostart). */
		for (i = 0; i < d->n_vms; i++)
			daemon_intent_forget(d, d->vms[i]);
		loop_stop(lp);
	}
}
