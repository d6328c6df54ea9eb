/*
 * What is asked of a VM: the requests (start, stop, restart, kill, stop
 * all) of vmctl, signals, autostart, adoption and reload become events of
 * the table (supervisor.h), and run_dir/NAME.intent mirrors the vm_want
 * the table keeps, so a daemon restarted after a crash resumes it.
 * Below daemon.c, adopt.c, effects.c and reload.c: they call here, this calls none.
 */
#include <errno.h>
#include <string.h>

#include "lib/log.h"
#include "storage/img.h"
#include "vmd/daemon.h"

struct vm *
daemon_find_vm(struct daemon *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->n_vms; i++)
		if (strcmp(d->vms[i]->vm_name, name) == 0)
			return d->vms[i];
	return NULL;
}

/* ---- the intent file ---- */

/* vm_want as the intent file says it; INTENT_NONE: nothing asked yet. */
static struct vm_intent
intent_of(const struct vm *vm)
{
	struct vm_intent it = { INTENT_NONE, 0 };

	switch (vm->vm_want) {
	case WANT_UP:
		it.it_want = INTENT_UP;
		break;
	case WANT_DOWN:
	case WANT_GONE:
		it.it_want = INTENT_DOWN;
		break;
	case WANT_RESTART:
		/* Restart the QEMU that runs now; once it is gone, plain up. */
		it.it_want = sup_has_process(vm) ? INTENT_RESTART : INTENT_UP;
		it.it_pid = sup_has_process(vm) ? vm->vm_pid : 0;
		break;
	default:
		break;
	}
	return it;
}

void
daemon_intent_sync(struct daemon *d, struct vm *vm)
{
	struct vm_intent it = intent_of(vm);
	int e;

	/*
	 * Stopping everything to exit is not what the admin wants of a VM; an
	 * attached VM is not resumed by the next daemon (no intent file).
	 */
	if (d->exiting || vm->vm_attach || it.it_want == INTENT_NONE ||
	    (it.it_want == vm->vm_intent.it_want && it.it_pid == vm->vm_intent.it_pid))
		return;
	e = intent_write(d->inv.inv_run_dir, vm->vm_name, &it);
	if (e) {
		log_vm(LOG_WARNING, vm->vm_name, "cannot write %s/%s.intent: %s",
		    d->inv.inv_run_dir, vm->vm_name, strerror(-e));
		return;
	}
	vm->vm_intent = it;
}

void
daemon_intent_forget(struct daemon *d, struct vm *vm)
{
	struct vm_intent none = { INTENT_NONE, 0 };
	int e = vm->vm_attach ? 0 : intent_write(d->inv.inv_run_dir, vm->vm_name, &none);

	if (e)
		log_vm(LOG_WARNING, vm->vm_name, "cannot remove %s/%s.intent: %s",
		    d->inv.inv_run_dir, vm->vm_name, strerror(-e));
	vm->vm_intent = none;
}

/* ---- requests ---- */

static int
pull_deps(struct daemon *d, struct vm *vm, char *err, size_t errlen, int depth)
{
	size_t i;
	int e;

	if (depth > 64) {
		snprintf(err, errlen, "vm %s: `after` chain too deep", vm->vm_name);
		return -ELOOP;
	}
	for (i = 0; i < vm->vm_hw->vm_policy.po_n_after; i++) {
		struct vm *dep = daemon_find_vm(d, vm->vm_hw->vm_policy.po_after[i]);
		if (!dep) {
			snprintf(err, errlen, "vm %s: after unknown vm %s", vm->vm_name,
			    vm->vm_hw->vm_policy.po_after[i]);
			return -ENOENT;
		}
		if (!dep->vm_hw->vm_policy.po_enable) {
			snprintf(err, errlen, "vm %s: needs vm %s, which is disabled",
			    vm->vm_name, dep->vm_name);
			return -EPERM;
		}
		if (sup_is_down(dep) || sup_stop_pending(dep)) {
			e = pull_deps(d, dep, err, errlen, depth + 1);
			if (e)
				return e;
			if (sup_is_down(dep))
				log_vm(LOG_INFO, dep->vm_name, "started because %s is after it",
				    vm->vm_name);
			/* Down: starts; a stop not sent yet: cancelled (a_keep_up). */
			sup_event(&d->sup, dep, VE_START, 0);
			daemon_intent_sync(d, dep);
		}
	}
	return 0;
}

static int
check_startable(struct daemon *d, struct vm *vm, bool restart, bool force, char *err,
    size_t errlen)
{
	/* Never two copies (issue 19): it runs on another host now. */
	if (!force && sup_is_down(vm) && vm->vm_reason == SR_MIGRATED) {
		snprintf(err, errlen, "vm %s was %s: it is not started here until it is "
		    "migrated back, or `vmctl start %s --force` (make sure it no longer runs "
		    "there)", vm->vm_name, vm->vm_detail ? vm->vm_detail : "migrated away",
		    vm->vm_name);
		return -EEXIST;
	}
	if (vm->vm_want == WANT_GONE) {
		snprintf(err, errlen, "vm %s was removed from the inventory", vm->vm_name);
		return -ENOENT;
	}
	/* We never had its command line to run it again (vmserviced(8), attach). */
	if (vm->vm_attach && (restart || sup_is_down(vm))) {
		snprintf(err, errlen, "vm %s is attached (vmctl attach), not in the inventory: "
		    "vmservice cannot %s it", vm->vm_name, restart ? "restart" : "start");
		return -EPERM;
	}
	if (!vm->vm_hw->vm_policy.po_enable) {
		snprintf(err, errlen, "vm %s is disabled", vm->vm_name);
		return -EPERM;
	}
	if (d->exiting) {
		snprintf(err, errlen, "vm %s: vmserviced is shutting down", vm->vm_name);
		return -ESHUTDOWN;
	}
	return pull_deps(d, vm, err, errlen, 0);
}

/*
 * Requests are events: the table decides (a VM being adopted only records
 * the want, a running one wanted down stays up, and so on).
 */
static int
start(struct daemon *d, struct vm *vm, bool force, char *err, size_t errlen)
{
	int e = check_startable(d, vm, false, force, err, errlen);

	if (e)
		return e;
	sup_event(&d->sup, vm, VE_START, 0);
	daemon_intent_sync(d, vm);
	return 0;
}

int
daemon_start_vm(struct daemon *d, struct vm *vm, char *err, size_t errlen)
{
	return start(d, vm, false, err, errlen);
}

int
daemon_force_start_vm(struct daemon *d, struct vm *vm, char *err, size_t errlen)
{
	return start(d, vm, true, err, errlen);
}

int
daemon_restart_vm(struct daemon *d, struct vm *vm, char *err, size_t errlen)
{
	int e = check_startable(d, vm, true, false, err, errlen);

	if (e)
		return e;
	sup_event(&d->sup, vm, VE_RESTART, 0);
	daemon_intent_sync(d, vm);
	return 0;
}

void
daemon_stop_vm(struct daemon *d, struct vm *vm, int timeout)
{
	if (timeout >= 0 && sup_has_process(vm))
		vm->vm_halt_override = timeout;
	sup_event(&d->sup, vm, VE_STOP, 0);
	daemon_intent_sync(d, vm);
}

/* Every VM down, each after the VMs that are after it (sched_stops). */
void
daemon_stop_all(struct daemon *d, int timeout)
{
	size_t i;

	for (i = 0; i < d->n_vms; i++) {
		struct vm *vm = d->vms[i];
		if (timeout >= 0 && sup_has_process(vm))
			vm->vm_halt_override = timeout;
		sup_event(&d->sup, vm, VE_WIND_DOWN, 0);
		daemon_intent_sync(d, vm);
	}
	d->dirty = true;
}

/* vmctl save: pause, stream the state to state_dir, QEMU quits (savestate.h). */
void
daemon_save_vm(struct daemon *d, struct vm *vm)
{
	sup_event(&d->sup, vm, VE_SAVE, 0);
	daemon_intent_sync(d, vm);
}

void
daemon_kill_vm(struct daemon *d, struct vm *vm)
{
	sup_event(&d->sup, vm, VE_KILL, 0);
	daemon_intent_sync(d, vm);
}

/*
 * vmctl revert: every overlay disk (a disk with a backing file) of a VM
 * that is down becomes an empty overlay again; the names go to done.
 * Synchronous: an overlay is a header and two tables, not the image.
 */
int
daemon_revert_vm(struct daemon *d, struct vm *vm, struct strv *done, char *err, size_t errlen)
{
	const struct hw_vm *hw = vm->vm_hw;
	char why[512];
	size_t i;

	if (!sup_is_down(vm)) {
		snprintf(err, errlen, "vm %s is %s: stop it before reverting its disks",
		    vm->vm_name, sup_state_name(vm->vm_state));
		return -EBUSY;
	}
	for (i = 0; i < hw->vm_n_disks; i++) {
		const struct hw_disk *dk = &hw->vm_disks[i];
		if (!dk->dk_backing)
			continue;
		if (img_overlay_fresh(dk->dk_file, dk->dk_backing, IMG_FMT_AUTO, why,
		    sizeof(why)) != 0) {
			snprintf(err, errlen, "vm %s: disk %s: %s", vm->vm_name, dk->dk_file, why);
			return -EIO;
		}
		log_vm(LOG_INFO, vm->vm_name, "reverted disk %s to its backing %s",
		    dk->dk_file, dk->dk_backing);
		strv_push(done, dk->dk_file);
	}
	if (done->sv_n == 0) {
		snprintf(err, errlen, "vm %s has no overlay disk (a disk with backing) to revert",
		    vm->vm_name);
		return -ENOENT;
	}
	return 0;
}
