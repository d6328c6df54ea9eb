/*
 * A qcow2 image's internal snapshots as JSON, with the members and order
 * qemu-img 7.2 prints (`qemu-img info --output=json`, "snapshots"): for
 * vmimg info and for vmctl snapshot NAME list on a stopped machine.
 */
#include <stdint.h>
#include <stdlib.h>

#include "storage/snapshot.h"

struct json_object *
img_snapshots_json(const struct img *im)
{
	struct img_snapshot *v;
	struct json_object *arr;
	size_t n;

	if (img_snapshot_list(im, &v, &n) < 0)
		return NULL;
	arr = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		struct json_object *s = json_object_new_object();

		if (v[i].is_icount != UINT64_MAX)
			json_object_object_add(s, "icount",
			    json_object_new_int64((int64_t)v[i].is_icount));
		json_object_object_add(s, "vm-clock-nsec",
		    json_object_new_int64((int64_t)(v[i].is_vm_clock_nsec % 1000000000)));
		json_object_object_add(s, "name", json_object_new_string(v[i].is_name));
		json_object_object_add(s, "date-sec", json_object_new_int64(v[i].is_date_sec));
		json_object_object_add(s, "date-nsec", json_object_new_int64(v[i].is_date_nsec));
		json_object_object_add(s, "vm-clock-sec",
		    json_object_new_int64((int64_t)(v[i].is_vm_clock_nsec / 1000000000)));
		json_object_object_add(s, "id", json_object_new_string(v[i].is_id));
		json_object_object_add(s, "vm-state-size",
		    json_object_new_int64((int64_t)v[i].is_vm_state_size));
		json_object_array_add(arr, s);
	}
	free(v);
	return arr;
}
