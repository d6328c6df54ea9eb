/* Internal snapshots of a running VM: snapshot.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"
#include "qemu/qmp.h"
#include "vmd/agent.h"
#include "vmd/daemon.h"
#include "vmd/snapshot.h"

/* How long the guest's file systems may stay frozen for a snapshot. */
#define SNAP_FREEZE_MS	10000

enum snap_op { SNAP_LIST, SNAP_CREATE, SNAP_REVERT, SNAP_DELETE };

struct vm_snap {
	struct daemon	*s_d;
	struct vm	*s_vm;
	enum snap_op	 s_op;
	char		*s_tag;
	char		 s_job[48];
	struct json_object *s_nodes;	/* the qcow2 node names (array) */
	bool		 s_frozen;	/* guest-fsfreeze-freeze answered */
	snap_done_fn	 s_fn;
	void		*s_arg;
};

static void
snap_free(struct vm_snap *s)
{
	if (!s)
		return;
	s->s_vm->vm_snap = NULL;
	json_object_put(s->s_nodes);
	free(s->s_tag);
	free(s);
}

/* The last step: answer, then forget (fn may start another operation). */
static void
finish(struct vm_snap *s, struct json_object *ret, const char *error)
{
	snap_done_fn fn = s->s_fn;
	void *arg = s->s_arg;

	if (error)
		log_vm(LOG_WARNING, s->s_vm->vm_name, "snapshot %s: %s", s->s_tag ? s->s_tag : "",
		    error);
	snap_free(s);
	fn(arg, ret, error);
}

static void
thawed(void *arg, struct json_object *ret, const char *error)
{
	if (error)
		log_vm(LOG_WARNING, ((struct vm *)arg)->vm_name, "guest-fsfreeze-thaw: %s", error);
}

/* Thaw (after a create, and after a revert: the snapshot was taken frozen). */
static void
thaw(struct vm_snap *s)
{
	if (agent_command(s->s_d, s->s_vm, "guest-fsfreeze-thaw", NULL, SNAP_FREEZE_MS,
	    thawed, s->s_vm) == 0)
		log_vm(LOG_INFO, s->s_vm->vm_name, "guest file systems thawed");
}

static void
dismissed(void *arg, struct json_object *ret, const char *error)
{
}

static void
jobs_reply(void *arg, struct json_object *ret, const char *error)
{
	struct vm_snap *s = arg;
	struct json_object *j, *id, *err;
	const char *why = error;
	char msg[512];
	size_t i;

	for (i = 0; !error && ret && json_object_is_type(ret, json_type_array) &&
	    i < json_object_array_length(ret); i++) {
		j = json_object_array_get_idx(ret, i);
		if (json_object_object_get_ex(j, "id", &id) &&
		    strcmp(json_object_get_string(id), s->s_job) == 0 &&
		    json_object_object_get_ex(j, "error", &err)) {
			snprintf(msg, sizeof(msg), "%s", json_object_get_string(err));
			why = msg;
		}
	}
	{
		struct json_object *a = json_object_new_object();

		json_object_object_add(a, "id", json_object_new_string(s->s_job));
		(void)qmp_send(s->s_vm->vm_qmp, "job-dismiss", a, dismissed, NULL);
	}
	if (s->s_frozen || (s->s_op == SNAP_REVERT && !why))
		thaw(s);
	if (why && s->s_op == SNAP_REVERT && strcmp(s->s_vm->vm_run_state, "running") != 0) {
		/* Its state may be partly loaded: never resumed on a guess. */
		char told[sizeof(msg) + 128];

		snprintf(told, sizeof(told), "%s; QEMU left the guest paused (its state may be "
		    "partly loaded): revert to another snapshot, or stop it", why);
		finish(s, NULL, told);
		return;
	}
	if (why) {
		finish(s, NULL, why);
		return;
	}
	log_vm(LOG_INFO, s->s_vm->vm_name, "snapshot %s: %s done", s->s_tag,
	    s->s_op == SNAP_CREATE ? "create" : s->s_op == SNAP_REVERT ? "revert" : "delete");
	ret = json_object_new_object();
	finish(s, ret, NULL);
	json_object_put(ret);
}

void
snapshot_job_event(struct daemon *d, struct vm *vm, const char *id, const char *status)
{
	struct vm_snap *s = vm->vm_snap;

	if (!s || strcmp(id, s->s_job) != 0 || strcmp(status, "concluded") != 0)
		return;
	if (qmp_send(vm->vm_qmp, "query-jobs", NULL, jobs_reply, s))
		finish(s, NULL, "QMP gone while the snapshot job ran");
}

static void
job_started(void *arg, struct json_object *ret, const char *error)
{
	struct vm_snap *s = arg;

	if (error) {
		if (s->s_frozen)
			thaw(s);
		finish(s, NULL, error);
	}
}

static void
start_job(struct vm_snap *s)
{
	static const char *const cmds[] = {
		[SNAP_CREATE] = "snapshot-save", [SNAP_REVERT] = "snapshot-load",
		[SNAP_DELETE] = "snapshot-delete",
	};
	struct json_object *a = json_object_new_object();

	snprintf(s->s_job, sizeof(s->s_job), "vms-snap-%llu", (unsigned long long)now_ms());
	json_object_object_add(a, "job-id", json_object_new_string(s->s_job));
	json_object_object_add(a, "tag", json_object_new_string(s->s_tag));
	if (s->s_op != SNAP_DELETE)
		json_object_object_add(a, "vmstate",
		    json_object_get(json_object_array_get_idx(s->s_nodes, 0)));
	json_object_object_add(a, "devices", json_object_get(s->s_nodes));
	if (qmp_send(s->s_vm->vm_qmp, cmds[s->s_op], a, job_started, s))
		finish(s, NULL, "QMP gone");
}

static void
frozen(void *arg, struct json_object *ret, const char *error)
{
	struct vm_snap *s = arg;

	if (error)
		log_vm(LOG_WARNING, s->s_vm->vm_name, "guest-fsfreeze-freeze: %s: "
		    "snapshot without freezing", error);
	else
		log_vm(LOG_INFO, s->s_vm->vm_name, "guest file systems frozen");
	s->s_frozen = !error;
	start_job(s);
}

/* Does a disk's snapshot list (query-block's image.snapshots) hold tag (name or id)? */
static bool
has_snapshot(struct json_object *img, const char *tag)
{
	struct json_object *snaps, *sn, *v;

	if (!img || !json_object_object_get_ex(img, "snapshots", &snaps) ||
	    !json_object_is_type(snaps, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(snaps); i++) {
		sn = json_object_array_get_idx(snaps, i);
		if ((json_object_object_get_ex(sn, "name", &v) &&
		    strcmp(json_object_get_string(v), tag) == 0) ||
		    (json_object_object_get_ex(sn, "id", &v) &&
		    strcmp(json_object_get_string(v), tag) == 0))
			return true;
	}
	return false;
}

/* query-block: every writable disk qcow2; the snapshots of the first. */
static void
block_reply(void *arg, struct json_object *ret, const char *error)
{
	struct vm_snap *s = arg;
	struct json_object *dev, *ins, *v, *img, *snaps = NULL;
	size_t i;
	char why[256];

	if (error || !ret || !json_object_is_type(ret, json_type_array)) {
		finish(s, NULL, error ? error : "query-block: no answer");
		return;
	}
	s->s_nodes = json_object_new_array();
	for (i = 0; i < json_object_array_length(ret); i++) {
		bool ro = false;
		const char *drv = "";

		dev = json_object_array_get_idx(ret, i);
		if (!json_object_object_get_ex(dev, "inserted", &ins))
			continue;
		if (json_object_object_get_ex(ins, "ro", &v))
			ro = json_object_get_boolean(v);
		if (json_object_object_get_ex(ins, "drv", &v))
			drv = json_object_get_string(v);
		if (strcmp(drv, "qcow2") != 0) {
			if (ro)
				continue;
			json_object_object_get_ex(dev, "device", &v);
			snprintf(why, sizeof(why), "disk %s is %s: internal snapshots need every "
			    "writable disk in qcow2", v ? json_object_get_string(v) : "?", drv);
			finish(s, NULL, why);
			return;
		}
		if (json_object_object_get_ex(ins, "node-name", &v))
			json_object_array_add(s->s_nodes, json_object_get(v));
		img = NULL;
		json_object_object_get_ex(ins, "image", &img);
		if (!snaps && img)
			json_object_object_get_ex(img, "snapshots", &snaps);
		/*
		 * QEMU stops the guest to load a snapshot and, when the load
		 * fails, leaves it stopped: a missing tag is refused here, the
		 * guest never paused for it.
		 */
		if (s->s_op == SNAP_REVERT && !has_snapshot(img, s->s_tag)) {
			json_object_object_get_ex(dev, "device", &v);
			snprintf(why, sizeof(why), "no snapshot '%s' on disk %s: nothing changed",
			    s->s_tag, v ? json_object_get_string(v) : "?");
			finish(s, NULL, why);
			return;
		}
	}
	if (!json_object_array_length(s->s_nodes)) {
		finish(s, NULL, "no qcow2 disk: nothing to snapshot");
		return;
	}
	if (s->s_op == SNAP_LIST) {
		struct json_object *l = snaps ? json_object_get(snaps) : json_object_new_array();

		finish(s, l, NULL);
		json_object_put(l);
		return;
	}
	/* Consistent file systems first, when an agent can say so. */
	if (s->s_op == SNAP_CREATE && agent_answering(s->s_vm) &&
	    agent_command(s->s_d, s->s_vm, "guest-fsfreeze-freeze", NULL, SNAP_FREEZE_MS,
	    frozen, s) == 0)
		return;
	start_job(s);
}

int
snapshot_run(struct daemon *d, struct vm *vm, const char *op, const char *tag,
    snap_done_fn fn, void *arg, char *err, size_t errlen)
{
	static const char *const ops[] = { "list", "create", "revert", "delete" };
	struct vm_snap *s;
	int o;

	for (o = 0; o < 4 && strcmp(op, ops[o]) != 0; o++)
		;
	if (o == 4) {
		snprintf(err, errlen, "unknown snapshot operation '%s' (create, list, revert, "
		    "delete)", op);
		return -EINVAL;
	}
	if (o != SNAP_LIST && (!tag || !*tag)) {
		snprintf(err, errlen, "snapshot %s needs a tag", op);
		return -EINVAL;
	}
	if (vm->vm_snap) {
		snprintf(err, errlen, "vm %s: a snapshot operation is under way", vm->vm_name);
		return -EBUSY;
	}
	if (!sup_has_process(vm)) {
		/* No QEMU holds the disks: vmctl changes them itself (vmctl_snapoff.c). */
		snprintf(err, errlen, "vm %s is %s: no QEMU has its disks", vm->vm_name,
		    sup_state_name(vm->vm_state));
		return -ESRCH;
	}
	if (!vm->vm_qmp || !qmp_is_ready(vm->vm_qmp)) {
		snprintf(err, errlen, "vm %s is %s: its QEMU does not answer QMP yet",
		    vm->vm_name, sup_state_name(vm->vm_state));
		return -ENOTCONN;
	}
	s = xcalloc(1, sizeof(*s));
	s->s_d = d;
	s->s_vm = vm;
	s->s_op = (enum snap_op)o;
	s->s_tag = tag ? xstrdup(tag) : NULL;
	s->s_fn = fn;
	s->s_arg = arg;
	vm->vm_snap = s;
	if (qmp_send(vm->vm_qmp, "query-block", NULL, block_reply, s)) {
		snap_free(s);
		snprintf(err, errlen, "vm %s: QMP busy", vm->vm_name);
		return -EAGAIN;
	}
	return 0;
}

void
snapshot_abort(struct vm *vm)
{
	snap_free(vm->vm_snap);
}
