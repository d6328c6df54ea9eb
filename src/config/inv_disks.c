/* The disks QEMU writes as JSON: inv_disks.h. */
#include <stdint.h>

#include "config/inv_disks.h"

struct json_object *
inv_written_disks(const struct hw_vm *vm)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < vm->vm_n_disks; i++) {
		const struct hw_disk *dk = &vm->vm_disks[i];
		struct json_object *o;

		if (!hw_disk_written(dk))
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "index", json_object_new_int64((int64_t)i));
		json_object_object_add(o, "file", json_object_new_string(dk->dk_file));
		json_object_object_add(o, "format",
		    json_object_new_string(hw_name_of(hw_fmt_names, dk->dk_format)));
		json_object_array_add(a, o);
	}
	return a;
}
