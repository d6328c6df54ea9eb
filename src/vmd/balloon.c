/* The memory balloon: balloon.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/json_add.h"
#include "lib/log.h"
#include "lib/util.h"
#include "qemu/qmp.h"
#include "vmd/balloon.h"
#include "vmd/daemon.h"

/* Below this a guest is more likely to die than to run: the inventory's memory minimum. */
#define BALLOON_MIN	(16ull << 20)

int
balloon_parse(const char *s, uint64_t *bytes)
{
	uint64_t v;

	if (parse_size(s, &v) < 0)
		return -EINVAL;
	/* memory = 512 is 512 MiB (as QEMU's -m): the same here. */
	if (s[strspn(s, "0123456789")] == 0) {
		if (v > (UINT64_MAX >> 20))
			return -EINVAL;
		v <<= 20;
	}
	*bytes = v;
	return 0;
}

/* The guest's CPUs may run and its QMP answers. */
static bool
balloon_live(const struct vm *vm)
{
	return vm->vm_qmp && qmp_is_ready(vm->vm_qmp) && (vm->vm_state == VS_RUNNING ||
	    vm->vm_state == VS_BOOTING || vm->vm_state == VS_NOT_READY);
}

struct json_object *
balloon_request(struct vm *vm, uint64_t bytes, char *err, size_t errlen)
{
	const struct hw_vm *hw = vm->vm_hw;
	struct json_object *args;

	if (!hw->vm_balloon) {
		snprintf(err, errlen, "vm %s has no balloon device (balloon = yes in its section, "
		    "then a restart)", vm->vm_name);
		return NULL;
	}
	if (!balloon_live(vm)) {
		snprintf(err, errlen, "vm %s is %s: only a running VM's balloon can move",
		    vm->vm_name, sup_display_state(vm));
		return NULL;
	}
	if (bytes > hw->vm_memory) {
		snprintf(err, errlen, "vm %s: balloon size %lluM is above its memory (%lluM)",
		    vm->vm_name, (unsigned long long)(bytes >> 20),
		    (unsigned long long)(hw->vm_memory >> 20));
		return NULL;
	}
	if (bytes < BALLOON_MIN) {
		snprintf(err, errlen, "vm %s: balloon size %lluK is below %lluM", vm->vm_name,
		    (unsigned long long)(bytes >> 10), BALLOON_MIN >> 20);
		return NULL;
	}
	/* QEMU's balloon cannot fail past these checks: what was asked is the target. */
	vm->vm_balloon_target = bytes;
	args = json_object_new_object();
	json_object_object_add(args, "value", json_object_new_int64((int64_t)bytes));
	log_vm(LOG_INFO, vm->vm_name, "balloon: target %lluM of %lluM",
	    (unsigned long long)(bytes >> 20), (unsigned long long)(hw->vm_memory >> 20));
	return args;
}

static void
set_actual(struct vm *vm, struct json_object *o)
{
	struct json_object *a;

	if (o && json_object_object_get_ex(o, "actual", &a) &&
	    json_object_is_type(a, json_type_int) && json_object_get_int64(a) > 0)
		vm->vm_balloon_actual = (uint64_t)json_object_get_int64(a);
}

static void
query_reply(void *arg, struct json_object *ret, const char *error)
{
	struct vm *vm = arg;

	if (error)
		log_vm(LOG_WARNING, vm->vm_name, "query-balloon: %s", error);
	else
		set_actual(vm, ret);
}

static void
target_reply(void *arg, struct json_object *ret, const char *error)
{
	struct vm *vm = arg;

	if (error)
		log_vm(LOG_WARNING, vm->vm_name, "balloon_target: %s", error);
}

void
balloon_qmp_ready(struct daemon *d, struct vm *vm)
{
	const struct hw_vm *hw = vm->vm_hw;
	uint64_t want = hw->vm_policy.po_balloon_target;
	struct json_object *args;
	char err[256];

	vm->vm_balloon_actual = 0;
	vm->vm_balloon_target = 0;
	if (!hw->vm_balloon || !vm->vm_qmp || !qmp_is_ready(vm->vm_qmp))
		return;
	if (qmp_send(vm->vm_qmp, "query-balloon", NULL, query_reply, vm))
		return;
	/*
	 * An adopted QEMU's balloon is where someone left it, and a restored
	 * guest's is in its saved state: only a QEMU this daemon just booted
	 * starts from the inventory (which QEMU then holds for the guest's
	 * driver, however late it loads).
	 */
	if (vm->vm_adopted || (vm->vm_state != VS_RUNNING && vm->vm_state != VS_BOOTING))
		return;
	vm->vm_balloon_target = hw->vm_memory;
	if (!want || want == hw->vm_memory)
		return;
	args = balloon_request(vm, want, err, sizeof(err));
	if (!args) {
		log_vm(LOG_WARNING, vm->vm_name, "balloon_target not applied: %s", err);
		return;
	}
	if (qmp_send(vm->vm_qmp, "balloon", args, target_reply, vm))
		log_vm(LOG_WARNING, vm->vm_name, "balloon_target not sent");
}

void
balloon_event(struct vm *vm, struct json_object *data)
{
	/* A guest moves it; QEMU sends at most one a second: debug only. */
	set_actual(vm, data);
	log_vm(LOG_DEBUG, vm->vm_name, "balloon: the guest has %lluM",
	    (unsigned long long)(vm->vm_balloon_actual >> 20));
}

void
balloon_json(const struct vm *vm, struct json_object *o)
{
	struct json_object *b;

	if (!vm->vm_hw->vm_balloon || !sup_has_process(vm) || !vm->vm_balloon_actual) {
		json_add_new(o, "balloon", NULL);
		return;
	}
	b = json_object_new_object();
	json_add_new(b, "actual", json_object_new_int64((int64_t)vm->vm_balloon_actual));
	json_add_new(b, "target", vm->vm_balloon_target ?
	    json_object_new_int64((int64_t)vm->vm_balloon_target) : NULL);
	json_add_new(o, "balloon", b);
}
