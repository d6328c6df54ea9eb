/*
 * Scheduling: it only emits events. Waiting VMs start when the VMs they
 * are after run, a start slot is free (start_parallel) and start_delay
 * has passed; VMs wanted down get their stop once no VM after them runs.
 */
#include <string.h>

#include "lib/fdbudget.h"
#include "lib/loop.h"
#include "qemu/qmp.h"
#include "vmd/daemon.h"
#include "vmd/scripts.h"
#include "vmd/tpm.h"
#include "vmd/cidata.h"

static bool
is_after(const struct vm *vm, const char *name)
{
	size_t i;

	for (i = 0; i < vm->vm_hw->vm_policy.po_n_after; i++)
		if (strcmp(vm->vm_hw->vm_policy.po_after[i], name) == 0)
			return true;
	return false;
}

/* Stop pending VMs once every VM that runs after them is down. */
static void
sched_stops(struct daemon *d)
{
	size_t i, j;

	for (i = 0; i < d->n_vms; i++) {
		struct vm *vm = d->vms[i];
		bool blocked = false;

		if (!sup_stop_pending(vm))
			continue;
		/* Adopted, QMP still connecting: the halt method needs it. */
		if (vm->vm_state != VS_STARTING && vm->vm_qmp && !qmp_is_ready(vm->vm_qmp))
			continue;
		for (j = 0; j < d->n_vms && !blocked; j++)
			if (j != i && !sup_is_down(d->vms[j]) &&
			    is_after(d->vms[j], vm->vm_name))
				blocked = true;
		if (blocked)
			continue;
		/* Stopping the service: on_host_shutdown = save keeps the guest's state. */
		sup_event(&d->sup, vm, d->exiting &&
		    vm->vm_hw->vm_policy.po_on_host_shutdown == HW_SHUTDOWN_SAVE ?
		    VE_SAVE : VE_STOP, 0);
	}
}

static void
sched_timer_cb(struct loop *lp, void *arg)
{
	struct daemon *d = arg;

	d->sched_timer = 0;
	d->dirty = true;
}

/* 1: ready, 0: not yet, -1: can never be (vm_detail set). */
static int
deps_ready(struct daemon *d, struct vm *vm)
{
	size_t i;

	/* Its last run's downscripts first: they still hold its taps' names. */
	if (scripts_busy(d->scripts, vm->vm_name))
		return 0;
	/* Its last swtpm, ending, still locks the TPM's state directory. */
	if (tpm_busy(vm))
		return 0;
	for (i = 0; i < vm->vm_hw->vm_policy.po_n_after; i++) {
		struct vm *dep = daemon_find_vm(d, vm->vm_hw->vm_policy.po_after[i]);
		if (!dep)
			continue;	/* the inventory validated names */
		if (dep->vm_state == VS_RUNNING || dep->vm_state == VS_PANICKED)
			continue;
		if (sup_is_down(dep) || sup_stop_pending(dep)) {
			free(vm->vm_detail);
			vm->vm_detail = xasprintf("vm %s, which it is after, is %s",
			    dep->vm_name, sup_state_name(dep->vm_state));
			return -1;
		}
		return 0;
	}
	/* Last: its cloud-init seed, rebuilt if its files changed (a child, never a wait). */
	return cidata_prepare(d, vm);
}

static void
sched_starts(struct daemon *d)
{
	unsigned starting = 0, limit = d->inv.inv_start_parallel, delay;
	uint64_t now = now_ms();
	char why[200];
	size_t i;
	int r;

	for (i = 0; i < d->n_vms; i++)
		if (d->vms[i]->vm_state == VS_STARTING)
			starting++;
	for (i = 0; i < d->n_vms; i++) {
		struct vm *vm = d->vms[i];

		if (vm->vm_state != VS_WAITING)
			continue;
		r = deps_ready(d, vm);
		if (r < 0) {
			sup_event(&d->sup, vm, VE_DEPS_FAILED, 0);
			continue;
		}
		if (r == 0)
			continue;
		if (limit && starting >= limit)
			break;
		if (now < d->next_start_ms) {
			if (!d->sched_timer)
				d->sched_timer = loop_add_timer(d->lp, d->next_start_ms - now,
				    sched_timer_cb, d);
			break;
		}
		/*
		 * Descriptors (issue 20): VMs still starting take theirs after
		 * their spawn. If this one would not fit beside them, it waits
		 * for them; with none starting, its spawn judges it alone (and
		 * refuses it with the reason: start-failed).
		 */
		if (starting && fdb_room(FDB_PER_VM * (starting + 1), why, sizeof(why)) != 0)
			break;
		sup_event(&d->sup, vm, VE_DEPS_READY, 0);
		if (vm->vm_state == VS_STARTING) {
			starting++;
			delay = d->inv.inv_start_delay;
			if (vm->vm_hw->vm_policy.po_start_delay > delay)
				delay = vm->vm_hw->vm_policy.po_start_delay;
			d->next_start_ms = now + delay * 1000ull;
		}
	}
}

void
sched_run(struct daemon *d)
{
	int rounds;

	/* Each pass may change states, which may unblock another VM. */
	for (rounds = 0; d->dirty && rounds < 16; rounds++) {
		d->dirty = false;
		sched_stops(d);
		sched_starts(d);
	}
}
