/* Atomic JSON state files (json-c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "lib/json_add.h"
#include "lib/util.h"
#include "vmd/state.h"

void
state_json_stop_fields(struct json_object *o, const struct vm *vm)
{
	const char *reason = sup_reason_name(vm->vm_reason);

	json_add_new(o, "stop_reason", reason ? json_object_new_string(reason) : NULL);
	json_add_new(o, "stop_detail",
	    vm->vm_detail ? json_object_new_string(vm->vm_detail) : NULL);
	json_add_new(o, "last_exit",
	    vm->vm_last_exit[0] ? json_object_new_string(vm->vm_last_exit) : NULL);
	json_add_new(o, "restarts", json_object_new_int((int)vm->vm_restarts));
	state_json_restart_fields(o, vm);
}

void
state_json_restart_fields(struct json_object *o, const struct vm *vm)
{
	uint64_t now = now_ms();
	double in;

	/* Backoff: when the next automatic restart is due (wall clock, s). */
	if (vm->vm_state == VS_BACKOFF && vm->vm_next_restart_ms) {
		in = vm->vm_next_restart_ms > now ?
		    (double)(vm->vm_next_restart_ms - now) / 1000.0 : 0.0;
		json_object_object_add(o, "restart_in", json_object_new_double(in));
		json_object_object_add(o, "next_restart",
		    json_object_new_double((double)time(NULL) + in));
	} else {
		json_object_object_add(o, "restart_in", NULL);
		json_object_object_add(o, "next_restart", NULL);
	}
	json_object_object_add(o, "panicked",
	    json_object_new_boolean(vm->vm_state == VS_PANICKED ||
	    (sup_has_process(vm) && vm->vm_pending == SR_GUEST_PANICKED)));
}

int
state_write(const char *dir, const struct vm *vm)
{
	struct json_object *o = json_object_new_object();
	const char *s;
	char path[4096], *text;
	int e;

	json_object_object_add(o, "name", json_object_new_string(vm->vm_name));
	json_object_object_add(o, "state", json_object_new_string(sup_state_name(vm->vm_state)));
	json_object_object_add(o, "pid", vm->vm_pid ? json_object_new_int(vm->vm_pid) : NULL);
	state_json_stop_fields(o, vm);
	json_object_object_add(o, "updated", json_object_new_int64((int64_t)time(NULL)));
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);

	if (xsnprintf(path, sizeof(path), "%s/%s.json", dir, vm->vm_name)) {
		json_object_put(o);
		return -ENAMETOOLONG;
	}
	text = xasprintf("%s\n", s);
	e = file_replace(path, text, strlen(text), 0644);
	free(text);
	json_object_put(o);
	return e;
}

int
state_read(const char *dir, struct vm *vm)
{
	struct json_object *o, *v;
	char path[4096];
	int r;

	if (xsnprintf(path, sizeof(path), "%s/%s.json", dir, vm->vm_name))
		return -ENAMETOOLONG;
	if (access(path, F_OK) == -1)
		return -errno;
	o = json_object_from_file(path);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return -EINVAL;
	}
	if (json_object_object_get_ex(o, "stop_reason", &v) && v &&
	    (r = sup_reason_lookup(json_object_get_string(v))) > 0)
		vm->vm_reason = (enum stop_reason)r;
	if (json_object_object_get_ex(o, "stop_detail", &v) && v) {
		free(vm->vm_detail);
		vm->vm_detail = xstrdup(json_object_get_string(v));
	}
	if (json_object_object_get_ex(o, "last_exit", &v) && v)
		snprintf(vm->vm_last_exit, sizeof(vm->vm_last_exit), "%s",
		    json_object_get_string(v));
	if (json_object_object_get_ex(o, "restarts", &v) && v)
		vm->vm_restarts = (unsigned)json_object_get_int(v);
	json_object_put(o);
	return 0;
}
