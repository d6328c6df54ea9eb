/* Live migration, the daemon's side (migrate.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/json_add.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/util.h"
#include "qemu/qmp.h"
#include "vmd/daemon.h"
#include "vmd/migrate.h"

/* How often a migration's progress is asked (query-migrate), for status. */
#define MIG_POLL_MS	500
#define FDNAME		"migrate"

void
migrate_forget(struct daemon *d, struct vm *vm)
{
	struct vm_mig *m = vm->vm_mig;

	if (!m)
		return;
	if (m->mg_timer)
		loop_cancel_timer(d->lp, m->mg_timer);
	if (m->mg_fd >= 0)
		close(m->mg_fd);
	free(m);
	vm->vm_mig = NULL;
}

static struct vm_mig *
mig_new(struct daemon *d, struct vm *vm, int fd, bool incoming)
{
	struct vm_mig *m;

	migrate_forget(d, vm);
	m = xcalloc(1, sizeof(*m));
	m->mg_incoming = incoming;
	m->mg_fd = fd;
	m->mg_pct = -1;
	m->mg_remaining = m->mg_expected_ms = m->mg_downtime_ms = m->mg_total_ms = -1;
	m->mg_start_ms = now_ms();
	vm->vm_mig = m;
	return m;
}

int
migrate_in_begin(struct daemon *d, struct vm *vm, int fd, char *err, size_t errlen)
{
	if (!sup_is_down(vm)) {
		snprintf(err, errlen, "vm %s is %s here: a migration needs it stopped on the "
		    "destination", vm->vm_name, sup_state_name(vm->vm_state));
		close(fd);
		return -EBUSY;
	}
	mig_new(d, vm, fd, true);
	sup_event(&d->sup, vm, VE_MIGRATE_IN, 0);
	daemon_intent_sync(d, vm);
	if (vm->vm_state != VS_INCOMING) {
		snprintf(err, errlen, "vm %s: %s", vm->vm_name,
		    vm->vm_detail ? vm->vm_detail : "could not start to receive");
		migrate_forget(d, vm);
		return -EIO;
	}
	return 0;
}

int
migrate_disks_ready(const struct vm *vm, char *err, size_t errlen)
{
	const struct hw_vm *hw = vm->vm_hw;
	struct stat st;

	for (size_t i = 0; i < hw->vm_n_disks; i++) {
		const struct hw_disk *dk = &hw->vm_disks[i];

		if (dk->dk_readonly || dk->dk_media == HW_MEDIA_CDROM)
			continue;
		/* Only a look: QEMU opens it, as the VM's user. */
		if (stat(dk->dk_file, &st) < 0) {
			snprintf(err, errlen, "vm %s: disk%zu %s: %s on this host: --copy-storage "
			    "copies into an image of the same size, create it first (vmimg create "
			    "-f qcow2 %s SIZE)", vm->vm_name, i, dk->dk_file, strerror(errno),
			    dk->dk_file);
			return -ENOENT;
		}
	}
	return 0;
}

int
migrate_out_begin(struct daemon *d, struct vm *vm, int fd, const char *host, bool copy,
    char *err, size_t errlen)
{
	struct vm_mig *m;

	if (vm->vm_state != VS_RUNNING && vm->vm_state != VS_BOOTING &&
	    vm->vm_state != VS_NOT_READY) {
		snprintf(err, errlen, "vm %s is %s: only a running VM migrates", vm->vm_name,
		    sup_display_state(vm));
		close(fd);
		return -EBUSY;
	}
	m = mig_new(d, vm, fd, false);
	snprintf(m->mg_host, sizeof(m->mg_host), "%s", host);
	m->mg_copy = copy;
	sup_event(&d->sup, vm, VE_MIGRATE, 0);
	if (vm->vm_state != VS_MIGRATING) {
		snprintf(err, errlen, "vm %s: %s", vm->vm_name,
		    vm->vm_detail ? vm->vm_detail : "the migration did not start");
		migrate_forget(d, vm);
		return -EIO;
	}
	return 0;
}

/* QEMU gets the stream under FDNAME, and MIGRATION events. */
static int
hand_over(struct vm *vm, char *err, size_t errlen)
{
	struct vm_mig *m = vm->vm_mig;
	struct json_object *args, *caps, *cap;
	int e;

	if (!m || m->mg_fd < 0 || !vm->vm_qmp || !qmp_is_ready(vm->vm_qmp)) {
		snprintf(err, errlen, "%s", !m || m->mg_fd < 0 ? "no stream" : "no QMP connection");
		return -ENOTCONN;
	}
	args = json_object_new_object();
	json_object_object_add(args, "fdname", json_object_new_string(FDNAME));
	e = qmp_send_fd(vm->vm_qmp, "getfd", args, m->mg_fd, NULL, NULL);
	close(m->mg_fd);
	m->mg_fd = -1;
	if (e) {
		snprintf(err, errlen, "cannot pass the stream to QEMU: %s", strerror(-e));
		return e;
	}
	caps = json_object_new_array();
	cap = json_object_new_object();
	json_object_object_add(cap, "capability", json_object_new_string("events"));
	json_object_object_add(cap, "state", json_object_new_boolean(true));
	json_object_array_add(caps, cap);
	/*
	 * --copy-storage: the disks travel in the same stream (QEMU's block
	 * migration, QEMU 7.2; vmctl(8) says why not NBD + mirror yet).
	 */
	cap = json_object_new_object();
	json_object_object_add(cap, "capability", json_object_new_string("block"));
	json_object_object_add(cap, "state", json_object_new_boolean(!m->mg_incoming &&
	    m->mg_copy));
	json_object_array_add(caps, cap);
	args = json_object_new_object();
	json_object_object_add(args, "capabilities", caps);
	e = qmp_send(vm->vm_qmp, "migrate-set-capabilities", args, NULL, NULL);
	if (e)
		snprintf(err, errlen, "QMP: %s", strerror(-e));
	return e;
}

/* migrate / migrate-incoming refused at once. */
static void
start_reply(void *arg, struct json_object *ret, const char *error)
{
	struct vm *vm = arg;
	struct daemon *d = vm->vm_ctx;

	if (!error || (vm->vm_state != VS_MIGRATING && vm->vm_state != VS_INCOMING))
		return;
	free(vm->vm_detail);
	vm->vm_detail = xasprintf("migration failed: QEMU: %s", error);
	sup_event(&d->sup, vm, VE_MIGRATE_FAILED, 0);
}

static int64_t
get_i64(struct json_object *o, const char *k1, const char *k2)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, k1, &v))
		return -1;
	if (k2 && !json_object_object_get_ex(v, k2, &v))
		return -1;
	return json_object_get_int64(v);
}

static void poll_cb(struct loop *lp, void *arg);

static void
progress_reply(void *arg, struct json_object *ret, const char *error)
{
	struct vm *vm = arg;
	struct vm_mig *m = vm->vm_mig;
	int64_t total, done;

	if (error || !m || !ret)
		return;
	total = get_i64(ret, "ram", "total");
	done = get_i64(ret, "ram", "transferred");
	m->mg_remaining = get_i64(ret, "ram", "remaining");
	m->mg_expected_ms = get_i64(ret, "expected-downtime", NULL);
	if (total > 0 && done >= 0)
		m->mg_pct = (int)(done * 100 / total) > 99 ? 99 : (int)(done * 100 / total);
}

static void
poll_cb(struct loop *lp, void *arg)
{
	struct vm *vm = arg;
	struct vm_mig *m = vm->vm_mig;

	if (!m)
		return;
	m->mg_timer = 0;
	if (vm->vm_state != VS_MIGRATING || !vm->vm_qmp || !qmp_is_ready(vm->vm_qmp))
		return;
	(void)qmp_send(vm->vm_qmp, "query-migrate", NULL, progress_reply, vm);
	m->mg_timer = loop_add_timer(lp, MIG_POLL_MS, poll_cb, vm);
}

int
migrate_out(struct daemon *d, struct vm *vm, char *err, size_t errlen)
{
	struct json_object *args;
	int e;

	for (size_t i = 0; i < vm->vm_hw->vm_n_disks; i++)
		if (vm->vm_hw->vm_disks[i].dk_snapshot) {
			snprintf(err, errlen, "disk %zu has snapshot = yes: its writes live only in "
			    "this QEMU", i);
			return -EINVAL;
		}
	if ((e = hand_over(vm, err, errlen)))
		return e;
	args = json_object_new_object();
	json_object_object_add(args, "uri", json_object_new_string("fd:" FDNAME));
	if ((e = qmp_send(vm->vm_qmp, "migrate", args, start_reply, vm))) {
		snprintf(err, errlen, "QMP migrate: %s", strerror(-e));
		return e;
	}
	vm->vm_mig->mg_start_ms = now_ms();
	vm->vm_mig->mg_pct = 0;
	vm->vm_mig->mg_timer = loop_add_timer(d->lp, MIG_POLL_MS, poll_cb, vm);
	log_vm(LOG_INFO, vm->vm_name, "live migration to %s begins", vm->vm_mig->mg_host);
	return 0;
}

int
migrate_in(struct daemon *d, struct vm *vm, char *err, size_t errlen)
{
	struct json_object *args;
	int e;

	if ((e = hand_over(vm, err, errlen)))
		return e;
	args = json_object_new_object();
	json_object_object_add(args, "uri", json_object_new_string("fd:" FDNAME));
	if ((e = qmp_send(vm->vm_qmp, "migrate-incoming", args, start_reply, vm)))
		snprintf(err, errlen, "QMP migrate-incoming: %s", strerror(-e));
	return e;
}

/* Completed on the source: QEMU's own figures, then the table hears it. */
static void
done_reply(void *arg, struct json_object *ret, const char *error)
{
	struct vm *vm = arg;
	struct daemon *d = vm->vm_ctx;
	struct vm_mig *m = vm->vm_mig;

	if (m && ret && !error) {
		m->mg_downtime_ms = get_i64(ret, "downtime", NULL);
		m->mg_total_ms = get_i64(ret, "total-time", NULL);
		m->mg_pct = 100;
		m->mg_remaining = 0;
	}
	if (vm->vm_state == VS_MIGRATING) {
		log_vm(LOG_INFO, vm->vm_name, "live migration to %s completed: downtime %lld ms, "
		    "total %lld ms", m ? m->mg_host : "?", m ? (long long)m->mg_downtime_ms : -1,
		    m ? (long long)m->mg_total_ms : -1);
		sup_event(&d->sup, vm, VE_MIGRATED, 0);
	}
}

void
migrate_event(struct daemon *d, struct vm *vm, const char *st)
{
	if (strcmp(st, "completed") == 0) {
		if (vm->vm_state == VS_INCOMING)
			sup_event(&d->sup, vm, VE_MIGRATED, 0);
		else if (!vm->vm_qmp || qmp_send(vm->vm_qmp, "query-migrate", NULL, done_reply,
		    vm) != 0)
			done_reply(vm, NULL, "no QMP");
	} else if (strcmp(st, "failed") == 0 || strcmp(st, "cancelled") == 0) {
		free(vm->vm_detail);
		vm->vm_detail = xasprintf("migration %s%s%s", st,
		    vm->vm_mig && vm->vm_mig->mg_host[0] ? " (to " : "",
		    vm->vm_mig && vm->vm_mig->mg_host[0] ? vm->vm_mig->mg_host : "");
		if (vm->vm_mig && vm->vm_mig->mg_host[0]) {
			char *t = xasprintf("%s)", vm->vm_detail);
			free(vm->vm_detail);
			vm->vm_detail = t;
		}
		sup_event(&d->sup, vm, VE_MIGRATE_FAILED, 0);
	}
}

void
migrate_status(const struct vm *vm, struct json_object *o)
{
	const struct vm_mig *m = vm->vm_mig;
	struct json_object *j;

	if (!m || (vm->vm_state != VS_MIGRATING && vm->vm_state != VS_HANDED_OVER &&
	    vm->vm_state != VS_INCOMING))
		return;
	j = json_object_new_object();
	json_add_new(j, "direction", json_object_new_string(m->mg_incoming ? "in" : "out"));
	json_add_new(j, "host", m->mg_host[0] ? json_object_new_string(m->mg_host) : NULL);
	json_add_new(j, "percent", m->mg_pct >= 0 ? json_object_new_int(m->mg_pct) : NULL);
	json_add_new(j, "remaining_bytes", m->mg_remaining >= 0 ?
	    json_object_new_int64(m->mg_remaining) : NULL);
	json_add_new(j, "expected_downtime_ms", m->mg_expected_ms >= 0 ?
	    json_object_new_int64(m->mg_expected_ms) : NULL);
	json_add_new(j, "downtime_ms", m->mg_downtime_ms >= 0 ?
	    json_object_new_int64(m->mg_downtime_ms) : NULL);
	json_add_new(j, "total_ms", m->mg_total_ms >= 0 ? json_object_new_int64(m->mg_total_ms) :
	    NULL);
	json_object_object_add(o, "migration", j);
}
