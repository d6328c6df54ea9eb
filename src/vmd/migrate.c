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
#include "lib/usock.h"
#include "vmd/migrate.h"

static int migrate_done(struct vm *vm);
static void mirrors_end(struct vm *vm);

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
	for (size_t i = 0; i < m->mg_n_nbd; i++) {
		free(m->mg_nbd_dev[i]);
		if (m->mg_nbd_fd[i] >= 0)
			close(m->mg_nbd_fd[i]);
	}
	free(m->mg_nbd_dev);
	free(m->mg_nbd_fd);
	if (m->mg_nbd_path) {
		(void)unlink(m->mg_nbd_path);
		free(m->mg_nbd_path);
	}
	free(m);
	vm->vm_mig = NULL;
}

static struct vm_mig *
mig_new(struct daemon *d, struct vm *vm, int fd, bool incoming)
{
	struct vm_mig *m = vm->vm_mig;

	/* A source's NBD connections came first (migrate_disk_fd): kept. */
	if (m && !incoming && !m->mg_incoming && m->mg_fd < 0 && m->mg_n_nbd &&
	    m->mg_nbd_fd[m->mg_n_nbd - 1] >= 0 && !m->mg_jobs &&
	    vm->vm_state != VS_MIGRATING && vm->vm_state != VS_HANDED_OVER) {
		m->mg_fd = fd;
		m->mg_start_ms = now_ms();
		return m;
	}
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

/* Source: only a running guest migrates; else why, and fd closed. */
static bool
runs_here(const struct vm *vm, int fd, char *err, size_t errlen)
{
	if (vm->vm_state == VS_RUNNING || vm->vm_state == VS_BOOTING ||
	    vm->vm_state == VS_NOT_READY)
		return true;
	snprintf(err, errlen, "vm %s is %s: only a running VM migrates", vm->vm_name,
	    sup_display_state(vm));
	close(fd);
	return false;
}

/* After the table's event: did the VM reach state? If not, why (its detail), forgotten. */
static int
began(struct daemon *d, struct vm *vm, enum vm_state state, const char *otherwise, char *err,
    size_t errlen)
{
	if (vm->vm_state == state)
		return 0;
	snprintf(err, errlen, "vm %s: %s", vm->vm_name, vm->vm_detail ? vm->vm_detail : otherwise);
	migrate_forget(d, vm);
	return -EIO;
}

int
migrate_in_begin(struct daemon *d, struct vm *vm, int fd, bool copy, char *err,
    size_t errlen)
{
	if (!sup_is_down(vm)) {
		snprintf(err, errlen, "vm %s is %s here: a migration needs it stopped on the "
		    "destination", vm->vm_name, sup_state_name(vm->vm_state));
		close(fd);
		return -EBUSY;
	}
	mig_new(d, vm, fd, true)->mg_copy = copy;
	sup_event(&d->sup, vm, VE_MIGRATE_IN, 0);
	daemon_intent_sync(d, vm);
	return began(d, vm, VS_INCOMING, "could not start to receive", err, errlen);
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

	if (!runs_here(vm, fd, err, errlen))
		return -EBUSY;
	m = mig_new(d, vm, fd, false);
	snprintf(m->mg_host, sizeof(m->mg_host), "%s", host);
	m->mg_copy = copy;
	sup_event(&d->sup, vm, VE_MIGRATE, 0);
	return began(d, vm, VS_MIGRATING, "the migration did not start", err, errlen);
}

/* QEMU gets the stream under FDNAME, and MIGRATION events. */
static int
hand_over(struct vm *vm, char *err, size_t errlen)
{
	struct vm_mig *m = vm->vm_mig;
	int e;

	if (!m || m->mg_fd < 0 || !vm->vm_qmp || !qmp_is_ready(vm->vm_qmp)) {
		snprintf(err, errlen, "%s", !m || m->mg_fd < 0 ? "no stream" : "no QMP connection");
		return -ENOTCONN;
	}
	e = qmp_getfd(vm->vm_qmp, FDNAME, m->mg_fd);
	close(m->mg_fd);
	m->mg_fd = -1;
	if (e) {
		snprintf(err, errlen, "cannot pass the stream to QEMU: %s", strerror(-e));
		return e;
	}
	if ((e = qmp_migrate_events(vm->vm_qmp)))
		snprintf(err, errlen, "QMP: %s", strerror(-e));
	return e;
}

static void mirrors_cancel(struct vm *vm);

/*
 * The migration failed: why (owned; NULL: "migration failed (to HOST)"),
 * the source's disk copies cancelled, the table told.
 */
static void
fail(struct daemon *d, struct vm *vm, char *why)
{
	const struct vm_mig *m = vm->vm_mig;

	if (vm->vm_state == VS_MIGRATING && m && m->mg_copy) {
		/* A disk copy failed: the guest's state must not go on without it. */
		if (vm->vm_qmp)
			(void)qmp_send(vm->vm_qmp, "migrate_cancel", NULL, NULL, NULL);
		mirrors_cancel(vm);
	}
	free(vm->vm_detail);
	vm->vm_detail = why ? why : xasprintf("migration failed%s%s%s",
	    m && m->mg_host[0] ? " (to " : "", m && m->mg_host[0] ? m->mg_host : "",
	    m && m->mg_host[0] ? ")" : "");
	sup_event(&d->sup, vm, VE_MIGRATE_FAILED, 0);
}

/* A command of the migration (migrate, migrate-incoming, the disks' NBD and mirrors) refused. */
static void
refused_reply(void *arg, struct json_object *ret, const char *error)
{
	struct vm *vm = arg;

	if (!error || (vm->vm_state != VS_MIGRATING && vm->vm_state != VS_INCOMING))
		return;
	fail(vm->vm_ctx, vm, xasprintf("migration failed: QEMU: %s", error));
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

static int
send_migrate(struct vm *vm, char *err, size_t errlen)
{
	struct daemon *d = vm->vm_ctx;
	struct json_object *args = json_object_new_object();
	int e;

	json_object_object_add(args, "uri", json_object_new_string("fd:" FDNAME));
	if ((e = qmp_send(vm->vm_qmp, "migrate", args, refused_reply, vm))) {
		snprintf(err, errlen, "QMP migrate: %s", strerror(-e));
		return e;
	}
	vm->vm_mig->mg_pct = 0;
	if (!vm->vm_mig->mg_timer)
		vm->vm_mig->mg_timer = loop_add_timer(d->lp, MIG_POLL_MS, poll_cb, vm);
	return 0;
}

/*
 * Source: each NBD connection to QEMU (getfd). Before anything else is
 * queued: a descriptor travels only while no output is pending.
 */
static int
nbd_getfds(struct vm *vm, char *err, size_t errlen)
{
	struct vm_mig *m = vm->vm_mig;
	char name[64];
	int e;

	for (size_t i = 0; i < m->mg_n_nbd; i++) {
		snprintf(name, sizeof(name), "mig-%s-%u", m->mg_nbd_dev[i], m->mg_tag);
		e = qmp_getfd(vm->vm_qmp, name, m->mg_nbd_fd[i]);
		close(m->mg_nbd_fd[i]);
		m->mg_nbd_fd[i] = -1;
		if (e) {
			snprintf(err, errlen, "cannot pass disk %s's connection to QEMU: %s",
			    m->mg_nbd_dev[i], strerror(-e));
			return e;
		}
	}
	return 0;
}

/* Source: a node on each NBD connection, a mirror job onto it. */
static int
mirrors_begin(struct vm *vm, char *err, size_t errlen)
{
	struct vm_mig *m = vm->vm_mig;
	struct json_object *args, *srv;
	char name[64];
	int e = 0;

	for (size_t i = 0; i < m->mg_n_nbd; i++) {
		snprintf(name, sizeof(name), "mig-%s-%u", m->mg_nbd_dev[i], m->mg_tag);
		srv = json_object_new_object();
		json_object_object_add(srv, "type", json_object_new_string("fd"));
		json_object_object_add(srv, "str", json_object_new_string(name));
		args = json_object_new_object();
		json_object_object_add(args, "driver", json_object_new_string("nbd"));
		json_object_object_add(args, "node-name", json_object_new_string(name));
		json_object_object_add(args, "server", srv);
		json_object_object_add(args, "export", json_object_new_string(m->mg_nbd_dev[i]));
		if ((e = qmp_send(vm->vm_qmp, "blockdev-add", args, refused_reply, vm)))
			break;
		args = json_object_new_object();
		json_object_object_add(args, "job-id", json_object_new_string(name));
		json_object_object_add(args, "device", json_object_new_string(m->mg_nbd_dev[i]));
		json_object_object_add(args, "target", json_object_new_string(name));
		json_object_object_add(args, "sync", json_object_new_string("full"));
		if ((e = qmp_send(vm->vm_qmp, "blockdev-mirror", args, refused_reply, vm)))
			break;
		m->mg_jobs++;
	}
	if (e)
		snprintf(err, errlen, "QMP: %s", strerror(-e));
	return e;
}

/* Source, after a failure: the mirrors go (the NBD connections with them). */
static void
mirrors_cancel(struct vm *vm)
{
	struct vm_mig *m = vm->vm_mig;
	struct json_object *args;
	char name[64];

	for (size_t i = 0; m && i < m->mg_n_nbd && vm->vm_qmp; i++) {
		snprintf(name, sizeof(name), "mig-%s-%u", m->mg_nbd_dev[i], m->mg_tag);
		args = json_object_new_object();
		json_object_object_add(args, "device", json_object_new_string(name));
		json_object_object_add(args, "force", json_object_new_boolean(true));
		(void)qmp_send(vm->vm_qmp, "block-job-cancel", args, NULL, NULL);
		/* Refused while a cancelled job still ends: QEMU drops it at exit. */
		args = json_object_new_object();
		json_object_object_add(args, "node-name", json_object_new_string(name));
		(void)qmp_send(vm->vm_qmp, "blockdev-del", args, NULL, NULL);
	}
}

int
migrate_disk_fd(struct daemon *d, struct vm *vm, const char *dev, int fd, char *err,
    size_t errlen)
{
	struct vm_mig *m = vm->vm_mig;
	size_t i;

	for (i = 0; i < vm->vm_hw->vm_n_disks; i++) {
		char id[32];

		snprintf(id, sizeof(id), "disk%zu", i);
		if (strcmp(id, dev) == 0)
			break;
	}
	if (i == vm->vm_hw->vm_n_disks || vm->vm_hw->vm_disks[i].dk_readonly ||
	    vm->vm_hw->vm_disks[i].dk_media == HW_MEDIA_CDROM) {
		snprintf(err, errlen, "vm %s has no written disk %s", vm->vm_name, dev);
		close(fd);
		return -ENOENT;
	}
	if (!runs_here(vm, fd, err, errlen))
		return -EBUSY;
	/* Anything of an earlier attempt (its descriptors went to QEMU) goes. */
	for (size_t k = 0; m && k < m->mg_n_nbd; k++)
		if (m->mg_nbd_fd[k] < 0)
			m = NULL;
	if (!m || m->mg_incoming || m->mg_fd >= 0)
		m = mig_new(d, vm, -1, false);
	m->mg_copy = true;
	m->mg_nbd_dev = xrealloc(m->mg_nbd_dev, (m->mg_n_nbd + 1) * sizeof(*m->mg_nbd_dev));
	m->mg_nbd_fd = xrealloc(m->mg_nbd_fd, (m->mg_n_nbd + 1) * sizeof(*m->mg_nbd_fd));
	if (!m->mg_n_nbd)
		m->mg_tag = (unsigned)(now_ms() % 1000000);	/* node names of this attempt */
	m->mg_nbd_dev[m->mg_n_nbd] = xstrdup(dev);
	m->mg_nbd_fd[m->mg_n_nbd++] = fd;
	return 0;
}

void
migrate_block_event(struct daemon *d, struct vm *vm, const char *name,
    struct json_object *data)
{
	struct vm_mig *m = vm->vm_mig;
	struct json_object *v;
	const char *dev = data && json_object_object_get_ex(data, "device", &v) ?
	    json_object_get_string(v) : "";
	char err[256];

	if (!m || m->mg_incoming || vm->vm_state != VS_MIGRATING || strncmp(dev, "mig-", 4) != 0)
		return;
	log_vm(LOG_INFO, vm->vm_name, "QMP %s %s", name, dev);
	if (strcmp(name, "BLOCK_JOB_READY") == 0 && !m->mg_completed) {
		if (++m->mg_ready == m->mg_jobs && send_migrate(vm, err, sizeof(err)))
			fail(d, vm, xasprintf("migration failed: %s", err));
		return;
	}
	if (strcmp(name, "BLOCK_JOB_ERROR") == 0 ||
	    ((strcmp(name, "BLOCK_JOB_COMPLETED") == 0 || strcmp(name, "BLOCK_JOB_CANCELLED") ==
	    0) && !m->mg_completed)) {
		const char *why = data && json_object_object_get_ex(data, "error", &v) ?
		    json_object_get_string(v) : name;

		fail(d, vm, xasprintf("migration failed: copying %.*s: %s",
		    (int)strcspn(dev + 4, "-"), dev + 4, why));
		return;
	}
	/* After completion: each mirror ends (cancelled when ready: no pivot). */
	if ((strcmp(name, "BLOCK_JOB_COMPLETED") == 0 ||
	    strcmp(name, "BLOCK_JOB_CANCELLED") == 0) && ++m->mg_ended == m->mg_jobs)
		(void)migrate_done(vm);
}

int
migrate_go(struct daemon *d, struct vm *vm, char *err, size_t errlen)
{
	struct vm_mig *m = vm->vm_mig;

	if (vm->vm_state != VS_INCOMING || !m || !m->mg_arrived) {
		snprintf(err, errlen, "vm %s has no arrived migration waiting (%s)", vm->vm_name,
		    sup_display_state(vm));
		return -EINVAL;
	}
	(void)qmp_send(vm->vm_qmp, "nbd-server-stop", NULL, NULL, NULL);
	log_vm(LOG_INFO, vm->vm_name, "the source is done with the disks: the guest runs here");
	sup_event(&d->sup, vm, VE_MIGRATED, 0);
	return 0;
}

int
migrate_out(struct daemon *d, struct vm *vm, char *err, size_t errlen)
{
	int e;

	for (size_t i = 0; i < vm->vm_hw->vm_n_disks; i++)
		if (vm->vm_hw->vm_disks[i].dk_snapshot) {
			snprintf(err, errlen, "disk %zu has snapshot = yes: its writes live only in "
			    "this QEMU", i);
			return -EINVAL;
		}
	if (vm->vm_mig->mg_copy && (e = nbd_getfds(vm, err, errlen)))
		return e;
	if ((e = hand_over(vm, err, errlen)))
		return e;
	vm->vm_mig->mg_start_ms = now_ms();
	/* --copy-storage: the disks first; the migration once every mirror is ready. */
	if (vm->vm_mig->mg_copy && vm->vm_mig->mg_n_nbd) {
		if ((e = mirrors_begin(vm, err, errlen)))
			return e;
		log_vm(LOG_INFO, vm->vm_name, "copying %zu disk(s) to %s before the migration",
		    vm->vm_mig->mg_n_nbd, vm->vm_mig->mg_host);
		return 0;
	}
	if ((e = send_migrate(vm, err, errlen)))
		return e;
	log_vm(LOG_INFO, vm->vm_name, "live migration to %s begins", vm->vm_mig->mg_host);
	return 0;
}

/*
 * Destination of --copy-storage: QEMU's NBD server on run_dir/NAME.nbd
 * (bound by us, 0600 root, listened on by QEMU: the source's disk copies
 * arrive through `vmctl migrate-nbd`, which connects only to a listener
 * whose peer is this QEMU), each written disk exported writable by drive id.
 */
static int
nbd_listener(struct daemon *d, struct vm *vm, char *err, size_t errlen)
{
	struct vm_mig *m = vm->vm_mig;
	int fd, e;

	m->mg_nbd_path = xasprintf("%s/%s.nbd", d->inv.inv_run_dir, vm->vm_name);
	if ((e = usock_bind(m->mg_nbd_path, &fd, err, errlen)))
		return e;
	e = qmp_getfd(vm->vm_qmp, "nbdlisten", fd);
	close(fd);
	if (e)
		snprintf(err, errlen, "cannot pass the NBD listener to QEMU: %s", strerror(-e));
	return e;
}

static int
nbd_serve(struct vm *vm, char *err, size_t errlen)
{
	struct json_object *args, *addr, *data;
	int e;

	data = json_object_new_object();
	json_object_object_add(data, "str", json_object_new_string("nbdlisten"));
	addr = json_object_new_object();
	json_object_object_add(addr, "type", json_object_new_string("fd"));
	json_object_object_add(addr, "data", data);
	args = json_object_new_object();
	json_object_object_add(args, "addr", addr);
	if ((e = qmp_send(vm->vm_qmp, "nbd-server-start", args, refused_reply, vm)))
		goto fail;
	for (size_t i = 0; i < vm->vm_hw->vm_n_disks; i++) {
		char id[32];

		if (vm->vm_hw->vm_disks[i].dk_readonly ||
		    vm->vm_hw->vm_disks[i].dk_media == HW_MEDIA_CDROM)
			continue;
		snprintf(id, sizeof(id), "disk%zu", i);
		args = json_object_new_object();
		json_object_object_add(args, "device", json_object_new_string(id));
		json_object_object_add(args, "writable", json_object_new_boolean(true));
		if ((e = qmp_send(vm->vm_qmp, "nbd-server-add", args, refused_reply, vm)))
			goto fail;
	}
	return 0;
fail:
	snprintf(err, errlen, "QMP: %s", strerror(-e));
	return e;
}

int
migrate_in(struct daemon *d, struct vm *vm, char *err, size_t errlen)
{
	struct json_object *args;
	int e;

	if (vm->vm_mig->mg_copy && (e = nbd_listener(d, vm, err, errlen)))
		return e;
	if ((e = hand_over(vm, err, errlen)))
		return e;
	if (vm->vm_mig->mg_copy && (e = nbd_serve(vm, err, errlen)))
		return e;
	args = json_object_new_object();
	json_object_object_add(args, "uri", json_object_new_string("fd:" FDNAME));
	if ((e = qmp_send(vm->vm_qmp, "migrate-incoming", args, refused_reply, vm)))
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

/* Completed on the source: QEMU's figures, then VE_MIGRATED (done_reply). */
static int
migrate_done(struct vm *vm)
{
	if (!vm->vm_qmp || qmp_send(vm->vm_qmp, "query-migrate", NULL, done_reply, vm) != 0)
		done_reply(vm, NULL, "no QMP");
	return 0;
}

/* Source, completed: each ready mirror ends without a pivot (block-job-cancel). */
static void
mirrors_end(struct vm *vm)
{
	struct vm_mig *m = vm->vm_mig;
	struct json_object *args;
	char name[64];

	for (size_t i = 0; i < m->mg_n_nbd; i++) {
		snprintf(name, sizeof(name), "mig-%s-%u", m->mg_nbd_dev[i], m->mg_tag);
		args = json_object_new_object();
		json_object_object_add(args, "device", json_object_new_string(name));
		(void)qmp_send(vm->vm_qmp, "block-job-cancel", args, NULL, NULL);
	}
}

void
migrate_event(struct daemon *d, struct vm *vm, const char *st)
{
	if (strcmp(st, "completed") == 0) {
		struct vm_mig *m = vm->vm_mig;

		if (vm->vm_state == VS_INCOMING && m && m->mg_copy) {
			/* Paused (-S) until the source's mirrors are done: "go". */
			m->mg_arrived = true;
			log_vm(LOG_INFO, vm->vm_name, "the guest arrived; waiting for the source "
			    "to finish the disks");
			d->dirty = true;
		} else if (vm->vm_state == VS_INCOMING) {
			sup_event(&d->sup, vm, VE_MIGRATED, 0);
		} else if (m && m->mg_copy && m->mg_jobs) {
			m->mg_completed = true;
			mirrors_end(vm);
		} else {
			(void)migrate_done(vm);
		}
	} else if (strcmp(st, "failed") == 0 || strcmp(st, "cancelled") == 0) {
		fail(d, vm, NULL);
	}
}

void
migrate_resumed(struct daemon *d, struct vm *vm)
{
	if (vm->vm_state == VS_RUNNING && vm->vm_mig && !vm->vm_mig->mg_incoming)
		migrate_forget(d, vm);
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
