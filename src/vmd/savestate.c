/* A VM's saved state: savestate.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "lib/log.h"
#include "lib/loop.h"
#include "lib/util.h"
#include "qemu/qemu_argv.h"
#include "qemu/qmp.h"
#include "vmd/alert.h"
#include "vmd/daemon.h"
#include "vmd/savestate.h"

/* The binding file is small; a larger one is not ours. */
#define META_MAX	65536

static char *
path_of(struct daemon *d, const struct vm *vm, const char *sfx)
{
	return xasprintf("%s/%s.%s", d->inv.inv_state_dir, vm->vm_name, sfx);
}

/* FNV-1a over the command line QEMU gets for this configuration (no fds). */
static int
config_hash(struct daemon *d, const struct vm *vm, char out[17])
{
	struct qemu_env env = d->env;
	struct strv argv = { 0 };
	uint64_t h = 1469598103934665603ull;
	char err[256];

	env.qe_kvm_usable = vm->vm_accel == HW_ACCEL_KVM;
	env.qe_nic_fds = NULL;
	env.qe_n_nic_fds = 0;
	env.qe_chr_fds = NULL;
	if (qemu_argv(vm->vm_hw, &env, &argv, err, sizeof(err))) {
		strv_free(&argv);
		return -EINVAL;
	}
	for (size_t i = 0; i < argv.sv_n; i++)
		for (const char *p = argv.sv_v[i]; ; p++) {
			h = (h ^ (unsigned char)*p) * 1099511628211ull;
			if (!*p)
				break;
		}
	strv_free(&argv);
	snprintf(out, 17, "%016llx", (unsigned long long)h);
	return 0;
}

/* What a disk is now: "SIZE MTIME_NS DEV INO", or "missing". */
static void
disk_id(const char *file, char *buf, size_t len)
{
	struct stat st;

	if (stat(file, &st) < 0) {
		snprintf(buf, len, "missing");
		return;
	}
	snprintf(buf, len, "%lld %lld%09ld %llu %llu", (long long)st.st_size,
	    (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino);
}

static struct json_object *
binding(struct daemon *d, const struct vm *vm)
{
	struct json_object *o = json_object_new_object(), *disks = json_object_new_object();
	char hash[17], id[128];

	if (config_hash(d, vm, hash) == 0)
		json_object_object_add(o, "config", json_object_new_string(hash));
	json_object_object_add(o, "accel", json_object_new_string(
	    vm->vm_accel == HW_ACCEL_KVM ? "kvm" : "tcg"));
	for (size_t i = 0; i < vm->vm_hw->vm_n_disks; i++) {
		const char *f = vm->vm_hw->vm_disks[i].dk_file;

		if (!f)
			continue;
		disk_id(f, id, sizeof(id));
		json_object_object_add(disks, f, json_object_new_string(id));
	}
	json_object_object_add(o, "disks", disks);
	return o;
}

/* QEMU gets fd under the name "vmstate" (getfd), and MIGRATION events. */
static int
hand_over(struct vm *vm, int fd, char *err, size_t errlen)
{
	int e = qmp_getfd(vm->vm_qmp, "vmstate", fd);

	close(fd);
	if (e) {
		snprintf(err, errlen, "cannot pass the state file to QEMU: %s", strerror(-e));
		return e;
	}
	if ((e = qmp_migrate_events(vm->vm_qmp)))
		snprintf(err, errlen, "QMP: %s", strerror(-e));
	return e;
}

/* migrate / migrate-incoming refused at once (a device that cannot migrate). */
static void
migrate_reply(void *arg, struct json_object *ret, const char *error)
{
	struct vm *vm = arg;
	struct daemon *d = vm->vm_ctx;
	bool saving = vm->vm_state == VS_SAVING;

	if (!error || (!saving && vm->vm_state != VS_RESTORING))
		return;
	free(vm->vm_detail);
	vm->vm_detail = xasprintf("%s: QEMU: %s", saving ? "save failed" : "restore-failed",
	    error);
	sup_event(&d->sup, vm, saving ? VE_SAVE_FAILED : VE_RESTORE_FAILED, 0);
}

/* How often a save's progress is asked (query-migrate), for status. */
#define SAVE_POLL_MS	500

static void poll_cb(struct loop *lp, void *arg);

static void
progress_reply(void *arg, struct json_object *ret, const char *error)
{
	struct vm *vm = arg;
	struct json_object *ram, *t, *r;

	if (error || vm->vm_state != VS_SAVING || !ret ||
	    !json_object_object_get_ex(ret, "ram", &ram) ||
	    !json_object_object_get_ex(ram, "total", &t) ||
	    !json_object_object_get_ex(ram, "transferred", &r) || json_object_get_int64(t) <= 0)
		return;
	vm->vm_save_pct = (int)(100 * json_object_get_int64(r) / json_object_get_int64(t));
	if (vm->vm_save_pct > 99)
		vm->vm_save_pct = 99;	/* until QEMU says completed */
}

static void
poll_cb(struct loop *lp, void *arg)
{
	struct vm *vm = arg;

	vm->vm_save_timer = 0;
	if (vm->vm_state != VS_SAVING || !vm->vm_qmp || !qmp_is_ready(vm->vm_qmp))
		return;
	(void)qmp_send(vm->vm_qmp, "query-migrate", NULL, progress_reply, vm);
	vm->vm_save_timer = loop_add_timer(lp, SAVE_POLL_MS, poll_cb, vm);
}

void
savestate_forget(struct daemon *d, struct vm *vm)
{
	if (vm->vm_save_timer)
		loop_cancel_timer(d->lp, vm->vm_save_timer);
	vm->vm_save_timer = 0;
	vm->vm_save_pct = -1;
}

/* state_dir/NAME.SFX, never through a link. The fd, or -errno with err. */
static int
open_state(struct daemon *d, const struct vm *vm, const char *sfx, int flags, char *err,
    size_t errlen)
{
	char *path = path_of(d, vm, sfx);
	int fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0) {
		fd = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	}
	free(path);
	return fd;
}

int
savestate_begin(struct daemon *d, struct vm *vm, char *err, size_t errlen)
{
	struct json_object *args;
	char *path;
	int fd, e;

	if (!vm->vm_qmp || !qmp_is_ready(vm->vm_qmp)) {
		snprintf(err, errlen, "no QMP connection");
		return -ENOTCONN;
	}
	for (size_t i = 0; i < vm->vm_hw->vm_n_disks; i++)
		if (vm->vm_hw->vm_disks[i].dk_snapshot) {
			snprintf(err, errlen, "disk %zu has snapshot = yes: its writes go with QEMU",
			    i);
			return -EINVAL;
		}
	path = path_of(d, vm, "vmstate.part");
	(void)unlink(path);
	free(path);
	if ((fd = open_state(d, vm, "vmstate.part", O_WRONLY | O_CREAT | O_EXCL, err,
	    errlen)) < 0)
		return fd;
	/* The fd travels with the getfd command; QEMU keeps its own copy. */
	if ((e = hand_over(vm, fd, err, errlen)))
		return e;
	if ((e = qmp_send(vm->vm_qmp, "stop", NULL, NULL, NULL))) {
		snprintf(err, errlen, "QMP stop: %s", strerror(-e));
		return e;
	}
	args = json_object_new_object();
	json_object_object_add(args, "uri", json_object_new_string("fd:vmstate"));
	e = qmp_send(vm->vm_qmp, "migrate", args, migrate_reply, vm);
	if (e) {
		snprintf(err, errlen, "QMP migrate: %s", strerror(-e));
		return e;
	}
	savestate_forget(d, vm);
	vm->vm_save_pct = 0;
	vm->vm_save_timer = loop_add_timer(d->lp, SAVE_POLL_MS, poll_cb, vm);
	return 0;
}

void
savestate_commit(struct daemon *d, struct vm *vm)
{
	char *part = path_of(d, vm, "vmstate.part"), *final = path_of(d, vm, "vmstate");
	char *meta = path_of(d, vm, "vmstate.json");
	struct json_object *o = binding(d, vm);
	const char *s;
	int fd, e = 0;

	/* QEMU wrote it; make it durable before it counts. */
	fd = open(part, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		e = -errno;
	if (fd >= 0)
		close(fd);
	json_object_object_add(o, "saved", json_object_new_int64((int64_t)time(NULL)));
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
	if (!e && rename(part, final) < 0)
		e = -errno;
	if (!e)
		e = file_replace(meta, s, strlen(s), 0600);
	if (e)
		log_vm(LOG_ERR, vm->vm_name, "saved state not kept (%s): it will boot cold",
		    strerror(-e));
	else
		log_vm(LOG_INFO, vm->vm_name, "state saved to %s", final);
	json_object_put(o);
	free(part);
	free(final);
	free(meta);
}

bool
savestate_exists(struct daemon *d, const struct vm *vm)
{
	char *p = path_of(d, vm, "vmstate");
	struct stat st;
	bool yes = lstat(p, &st) == 0 && S_ISREG(st.st_mode);

	free(p);
	return yes;
}

void
savestate_reject(struct daemon *d, struct vm *vm, const char *why)
{
	char *p = path_of(d, vm, "vmstate"), *m = path_of(d, vm, "vmstate.json");
	char sfx[64];
	char *aside, *maside;

	snprintf(sfx, sizeof(sfx), "vmstate.rejected-%lld", (long long)time(NULL));
	aside = path_of(d, vm, sfx);
	maside = xasprintf("%s.json", aside);
	if (rename(p, aside) < 0 && errno != ENOENT)
		log_vm(LOG_ERR, vm->vm_name, "cannot move %s aside: %s", p, strerror(errno));
	else
		log_vm(LOG_WARNING, vm->vm_name, "saved state not restored (%s): kept as %s; "
		    "it boots cold", why, aside);
	alert_raise(d, vm, AL_RESTORE_FAILED, why);
	(void)rename(m, maside);
	free(p);
	free(m);
	free(aside);
	free(maside);
}

/* 0: it matches; else why not, in why. */
static int
binding_differs(struct daemon *d, struct vm *vm, char *why, size_t len)
{
	char *m = path_of(d, vm, "vmstate.json"), buf[META_MAX];
	struct json_object *was, *now, *a, *b;
	ssize_t n = file_read_small(m, O_NOFOLLOW, buf, sizeof(buf));
	int r = 1;

	free(m);
	if (n < 0 || !(was = json_tokener_parse(buf))) {
		snprintf(why, len, "its binding file NAME.vmstate.json is missing or unreadable");
		return 1;
	}
	now = binding(d, vm);
	if (!json_object_object_get_ex(was, "config", &a) ||
	    !json_object_object_get_ex(now, "config", &b) ||
	    strcmp(json_object_get_string(a), json_object_get_string(b)) != 0) {
		snprintf(why, len, "the VM's hardware configuration changed since the save");
	} else if (!json_object_object_get_ex(was, "disks", &a) ||
	    !json_object_object_get_ex(now, "disks", &b) ||
	    json_object_object_length(a) != json_object_object_length(b)) {
		snprintf(why, len, "the VM's disks changed since the save");
	} else {
		r = 0;
		json_object_object_foreach(b, file, id) {
			struct json_object *old;

			if (!json_object_object_get_ex(a, file, &old) ||
			    strcmp(json_object_get_string(old), json_object_get_string(id)) != 0) {
				snprintf(why, len, "disk %s was written or replaced since the save",
				    file);
				r = 1;
				break;
			}
		}
	}
	json_object_put(was);
	json_object_put(now);
	return r;
}

int
savestate_check(struct daemon *d, struct vm *vm)
{
	char why[512];

	if (!savestate_exists(d, vm))
		return 0;
	if (!binding_differs(d, vm, why, sizeof(why)))
		return 1;
	free(vm->vm_detail);
	vm->vm_detail = xasprintf("restore-failed: %s", why);
	savestate_reject(d, vm, why);
	return 0;
}

int
savestate_restore(struct daemon *d, struct vm *vm, char *err, size_t errlen)
{
	struct json_object *args;
	int fd, e;

	if ((fd = open_state(d, vm, "vmstate", O_RDONLY, err, errlen)) < 0)
		return fd;
	if ((e = hand_over(vm, fd, err, errlen)))
		return e;
	args = json_object_new_object();
	json_object_object_add(args, "uri", json_object_new_string("fd:vmstate"));
	e = qmp_send(vm->vm_qmp, "migrate-incoming", args, migrate_reply, vm);
	if (e)
		snprintf(err, errlen, "QMP migrate-incoming: %s", strerror(-e));
	return e;
}

void
savestate_done(struct daemon *d, struct vm *vm)
{
	char *p = path_of(d, vm, "vmstate"), *m = path_of(d, vm, "vmstate.json");

	if (unlink(p) == 0)
		log_vm(LOG_INFO, vm->vm_name, "restored; saved state %s removed", p);
	(void)unlink(m);
	free(p);
	free(m);
}
