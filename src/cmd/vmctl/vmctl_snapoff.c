/*
 * vmctl snapshot NAME ... for a machine that no QEMU runs: the same
 * operations as the daemon's QMP jobs (vmd/snapshot.c), on the disks
 * themselves with the storage layer (storage/snapshot.h), as qemu-img
 * snapshot does them. This runs in vmctl, not in the daemon: rewriting a
 * large image's refcounts takes a while, and the daemon's loop never waits.
 *
 * Every writable disk must be qcow2, as for a running machine. Each image
 * is opened without following symlinks a non-root user could have placed
 * (IMG_SAFE_PATH) and locked with QEMU's own image locks before anything
 * changes, so a QEMU that starts meanwhile fails to get its lock instead
 * of reading a disk in the middle of a change. A create that fails on one
 * disk is undone on the disks before it; a revert first checks that every
 * disk has the snapshot.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/inv_disks.h"
#include "config/inventory.h"
#include "storage/img.h"
#include "storage/img_lock.h"
#include "storage/snapshot.h"
#include "cmd/vmctl/vmctl.h"

#define MAX_DISKS	64

struct disks {
	struct img	*im[MAX_DISKS];
	const char	*file[MAX_DISKS];
	size_t		 n;
};

static void
close_all(struct disks *ds)
{
	for (size_t i = 0; i < ds->n; i++)
		img_close(ds->im[i]);
	ds->n = 0;
}

static const char *
member(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Open and lock every disk. 0, or -1 after a message. */
static int
open_disks(const char *name, struct json_object *disks, bool write, struct disks *ds)
{
	char err[IMG_ERRLEN];
	int flags = IMG_NO_BACKING | IMG_SAFE_PATH | (write ? IMG_RDWR : 0);
	size_t i, n = json_object_is_type(disks, json_type_array) ?
	    json_object_array_length(disks) : 0;

	ds->n = 0;
	if (n > MAX_DISKS) {
		fprintf(stderr, "vmctl snapshot: vm %s: more than %d disks\n", name, MAX_DISKS);
		return -1;
	}
	for (i = 0; i < n; i++) {
		struct json_object *d = json_object_array_get_idx(disks, i), *v;
		const char *file = member(d, "file"), *fs = member(d, "format");
		enum img_fmt fmt = IMG_FMT_AUTO;
		long long idx = json_object_object_get_ex(d, "index", &v) ?
		    json_object_get_int64(v) : (long long)i;
		struct img *im;

		if (!file || (fs && strcmp(fs, "auto") != 0 && img_fmt_parse(fs, &fmt) < 0)) {
			fprintf(stderr, "vmctl snapshot: vm %s: malformed disk list\n", name);
			goto fail;
		}
		if (img_open(file, fmt, flags, &im, err, sizeof(err)) < 0) {
			fprintf(stderr, "vmctl snapshot: vm %s: disk %lld: %s\n", name, idx, err);
			goto fail;
		}
		ds->im[ds->n] = im;
		ds->file[ds->n++] = im->im_path;
		if (im->im_fmt != IMG_FMT_QCOW2) {
			fprintf(stderr, "vmctl snapshot: vm %s: disk %lld (%s) is %s: internal "
			    "snapshots need every writable disk in qcow2\n", name, idx, file,
			    img_fmt_name(im->im_fmt));
			goto fail;
		}
		if (img_lock(im, write, err, sizeof(err)) < 0) {
			fprintf(stderr, "vmctl snapshot: vm %s: %s\n", name, err);
			goto fail;
		}
	}
	if (ds->n)
		return 0;
	fprintf(stderr, "vmctl snapshot: vm %s: no qcow2 disk: nothing to snapshot\n", name);
fail:
	close_all(ds);
	return -1;
}

/* Whether im has a snapshot with ID, else name, key (as apply finds it). */
static bool
has_snapshot(const struct img *im, const char *key, bool by_id)
{
	struct img_snapshot *v;
	size_t n;
	bool found = false;

	if (img_snapshot_list(im, &v, &n) < 0)
		return false;
	for (size_t i = 0; i < n && !found; i++)
		found = strcmp(v[i].is_name, key) == 0 ||
		    (by_id && strcmp(v[i].is_id, key) == 0);
	free(v);
	return found;
}

static int
create(const char *name, struct disks *ds, const char *tag)
{
	char err[IMG_ERRLEN], e2[IMG_ERRLEN];
	size_t i;

	for (i = 0; i < ds->n; i++)
		if (has_snapshot(ds->im[i], tag, false)) {
			fprintf(stderr, "vmctl snapshot: vm %s: %s already has a snapshot "
			    "'%s'\n", name, ds->file[i], tag);
			return VMCTL_FAIL;
		}
	for (i = 0; i < ds->n; i++)
		if (img_snapshot_create(ds->im[i], tag, err, sizeof(err)) < 0)
			break;
	if (i == ds->n)
		return VMCTL_OK;
	fprintf(stderr, "vmctl snapshot: vm %s: %s: %s\n", name, ds->file[i], err);
	while (i-- > 0)
		if (img_snapshot_delete(ds->im[i], tag, e2, sizeof(e2)) < 0)
			fprintf(stderr, "vmctl snapshot: vm %s: %s: undoing: %s\n", name,
			    ds->file[i], e2);
	return VMCTL_FAIL;
}

static int
revert(const char *name, struct disks *ds, const char *tag)
{
	char err[IMG_ERRLEN];
	size_t i;

	for (i = 0; i < ds->n; i++)
		if (!has_snapshot(ds->im[i], tag, true)) {
			fprintf(stderr, "vmctl snapshot: vm %s: %s has no snapshot '%s': "
			    "nothing reverted\n", name, ds->file[i], tag);
			return VMCTL_FAIL;
		}
	for (i = 0; i < ds->n; i++)
		if (img_snapshot_apply(ds->im[i], tag, err, sizeof(err)) < 0) {
			fprintf(stderr, "vmctl snapshot: vm %s: %s: %s (%zu of %zu disks "
			    "reverted before it)\n", name, ds->file[i], err, i, ds->n);
			return VMCTL_FAIL;
		}
	return VMCTL_OK;
}

static int
delete(const char *name, struct disks *ds, const char *tag)
{
	char err[IMG_ERRLEN];
	size_t i, done = 0;

	for (i = 0; i < ds->n; i++) {
		if (!has_snapshot(ds->im[i], tag, false))
			continue;
		if (img_snapshot_delete(ds->im[i], tag, err, sizeof(err)) < 0) {
			fprintf(stderr, "vmctl snapshot: vm %s: %s: %s\n", name, ds->file[i], err);
			return VMCTL_FAIL;
		}
		done++;
	}
	if (done)
		return VMCTL_OK;
	fprintf(stderr, "vmctl snapshot: vm %s: no disk has a snapshot '%s'\n", name, tag);
	return VMCTL_FAIL;
}

int
vmctl_snapshot_offline(const char *conf, struct json_object *disks, const char *name,
    const char *op, const char *tag)
{
	struct inventory inv;
	struct disks ds;
	struct hw_vm *vm;
	bool list = strcmp(op, "list") == 0, loaded = false;
	int rc = VMCTL_FAIL;

	if (!disks) {
		if (vmctl_load(conf, &inv) < 0)
			return VMCTL_FAIL;
		loaded = true;
		if (!(vm = inv_find_vm(&inv, name))) {
			fprintf(stderr, "vmctl snapshot: %s: no vm named '%s'\n", conf, name);
			goto out;
		}
		disks = inv_written_disks(vm);
	} else
		json_object_get(disks);
	if (open_disks(name, disks, !list, &ds) < 0)
		goto out;
	if (list) {
		struct json_object *l = img_snapshots_json(ds.im[0]);

		vmctl_snapshot_print(l);
		json_object_put(l);
		rc = fflush(stdout) == 0 ? VMCTL_OK : VMCTL_FAIL;
	} else if (strcmp(op, "create") == 0)
		rc = create(name, &ds, tag);
	else if (strcmp(op, "revert") == 0)
		rc = revert(name, &ds, tag);
	else
		rc = delete(name, &ds, tag);
	close_all(&ds);
out:
	json_object_put(disks);
	if (loaded)
		inv_free(&inv);
	return rc;
}
