/*
 * The live migration requests of the control socket (PROTOCOL.md;
 * vmd/migrate.h does the work): the hardware check, the streams and disk
 * connections passed with a request (ctl_fd.h), the end of a handed-over
 * source.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/migtext.h"
#include "lib/log.h"
#include "lib/util.h"
#include "control/ctl_priv.h"
#include "vmd/daemon.h"
#include "vmd/migrate.h"

/* ---- live migration (vmd/migrate.h, PROTOCOL.md) ---- */


/* The passed descriptor, taken from the client; -1 with an error sent. */
static int
take_fd(struct client *cl)
{
	int fd = cl->passed_fd;

	cl->passed_fd = -1;
	if (fd < 0)
		reply_error(cl, "this request needs a descriptor passed with it (SCM_RIGHTS)");
	return fd;
}

/* The hardware the other side described ("hw") against ours: the diff, or NULL. */
static bool
hw_refused(struct client *cl, struct vm *vm, struct json_object *req)
{
	const char *theirs = need_string(cl, req, "hw", "the source's hardware description");
	char *mine, *diff;

	if (!theirs)
		return true;
	mine = hw_migration_text(vm->vm_hw);
	diff = hw_migration_diff(theirs, mine);
	free(mine);
	if (diff) {
		reply_error(cl, "vm %s: the hardware differs on this host (- source, + here):\n%s",
		    vm->vm_name, diff);
		free(diff);
		return true;
	}
	return false;
}

/* Destination, before the stream: may it come? */
void
h_migrate_check(struct client *cl, struct json_object *req)
{
	struct vm *vm = one_vm(cl, req);
	char err[512];

	if (!vm || hw_refused(cl, vm, req))
		return;
	if (vm->vm_attach || !vm->vm_hw->vm_policy.po_enable || !sup_is_down(vm)) {
		reply_error(cl, "vm %s is %s here: a migration needs it stopped, enabled and "
		    "in the inventory", vm->vm_name, vm->vm_attach ? "attached" :
		    !vm->vm_hw->vm_policy.po_enable ? "disabled" : sup_display_state(vm));
		return;
	}
	if (get_bool(req, "copy_storage", false) && migrate_disks_ready(vm, err, sizeof(err))) {
		reply_error(cl, "%s", err);
		return;
	}
	reply(cl, ok_object());
}

/* Destination: receive on the passed fd; answered once it runs or failed. */
void
h_migrate_in(struct client *cl, struct json_object *req)
{
	struct vm *vm = one_vm(cl, req);
	char err[512];
	int fd;

	if (!vm || hw_refused(cl, vm, req) || (fd = take_fd(cl)) < 0)
		return;
	log_info("control: uid %u (pid %d): incoming migration of %s", (unsigned)cl->uid,
	    (int)cl->pid, vm->vm_name);
	if (migrate_in_begin(cl->c->d, vm, fd, get_bool(req, "copy_storage", false), err,
	    sizeof(err))) {
		reply_error(cl, "%s", err);
		return;
	}
	finish_waiting(cl, req, W_MIG_IN, vm);
}

/* Source: stream to the passed fd; answered at completion (handed over) or failure. */
void
h_migrate_out(struct client *cl, struct json_object *req)
{
	struct vm *vm = one_vm(cl, req);
	const char *host;
	char err[512];
	int fd;

	if (!vm || !(host = need_string(cl, req, "host", "where the VM goes")) ||
	    (fd = take_fd(cl)) < 0)
		return;
	log_info("control: uid %u (pid %d): migrate %s to %s", (unsigned)cl->uid, (int)cl->pid,
	    vm->vm_name, host);
	if (migrate_out_begin(cl->c->d, vm, fd, host,
	    get_bool(req, "copy_storage", false), err, sizeof(err))) {
		reply_error(cl, "%s", err);
		return;
	}
	finish_waiting(cl, req, W_MIG_OUT, vm);
}

/* Source of --copy-storage: one disk's NBD connection (before migrate-out). */
void
h_migrate_disk(struct client *cl, struct json_object *req)
{
	struct vm *vm = one_vm(cl, req);
	const char *disk;
	char err[512];
	int fd;

	if (!vm || !(disk = need_string(cl, req, "disk", "a drive id such as disk0")) ||
	    (fd = take_fd(cl)) < 0)
		return;
	if (migrate_disk_fd(cl->c->d, vm, disk, fd, err, sizeof(err))) {
		reply_error(cl, "%s", err);
		return;
	}
	reply(cl, ok_object());
}

/* Destination of --copy-storage: the source is done with the disks. */
void
h_migrate_go(struct client *cl, struct json_object *req)
{
	struct vm *vm = one_vm(cl, req);
	char err[512];

	if (!vm)
		return;
	if (migrate_go(cl->c->d, vm, err, sizeof(err))) {
		reply_error(cl, "%s", err);
		return;
	}
	finish_waiting(cl, req, W_START, vm);
}

/* Source, handed over: "done" (it runs there: quit here) or "resume" (run here). */
void
h_migrate_end(struct client *cl, struct json_object *req)
{
	struct vm *vm = one_vm(cl, req), **vms;
	bool done = strcmp(cl->wait_cmd, "migrate-done") == 0;

	if (!vm)
		return;
	if (vm->vm_state != VS_HANDED_OVER && (done || vm->vm_state != VS_MIGRATING)) {
		reply_error(cl, "vm %s is %s, not handed over", vm->vm_name,
		    sup_display_state(vm));
		return;
	}
	if (done) {
		free(vm->vm_detail);
		vm->vm_detail = xasprintf("migrated: %s", vm->vm_mig && vm->vm_mig->mg_host[0] ?
		    vm->vm_mig->mg_host : "another host");
	}
	log_info("control: uid %u (pid %d): %s %s", (unsigned)cl->uid, (int)cl->pid,
	    cl->wait_cmd, vm->vm_name);
	sup_event(&cl->c->d->sup, vm, done ? VE_MIGRATE_CONFIRM : VE_MIGRATE_ABORT, 0);
	daemon_intent_sync(cl->c->d, vm);
	migrate_resumed(cl->c->d, vm);
	vms = xcalloc(1, sizeof(*vms));
	vms[0] = vm;
	finish(cl, req, done ? W_STOP : W_START, vms, 1);
}

