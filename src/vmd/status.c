/* One VM as JSON: what `vmctl status` and waiting requests answer. */

#include "lib/json_add.h"
#include "vmd/agent.h"
#include "vmd/attach.h"
#include "vmd/balloon.h"
#include "vmd/savestate.h"
#include "vmd/daemon.h"
#include "vmd/machine.h"
#include "vmd/migrate.h"
#include "vmd/reload.h"
#include "vmd/state.h"
#include "vmd/tpm.h"

/* What the VM's QEMU runs with; before its first run, what was asked. */
const char *
daemon_accel_name(struct daemon *d, const struct vm *vm)
{
	enum hw_accel a = vm->vm_accel != HW_ACCEL_AUTO ? vm->vm_accel : vm->vm_hw->vm_accel;

	return a == HW_ACCEL_KVM ? "kvm" : a == HW_ACCEL_TCG ? "tcg" : "auto";
}

static struct json_object *
port_or_null(int port)
{
	return port < 0 ? NULL : json_object_new_int(port);
}

struct json_object *
daemon_vm_json(struct daemon *d, const struct vm *vm)
{
	struct json_object *o = json_object_new_object();
	const struct hw_vm *hw = vm->vm_hw;
	bool up = sup_has_process(vm) && vm->vm_state != VS_STARTING;

	json_add_new(o, "name", json_object_new_string(vm->vm_name));
	/* Down with a state to restore at its next start: "saved". */
	/* Down because it runs elsewhere now: "migrated" (start --force). */
	json_add_new(o, "state", json_object_new_string(vm->vm_state == VS_STOPPED &&
	    vm->vm_reason == SR_SAVED && savestate_exists(d, vm) ? "saved" :
	    sup_is_down(vm) && vm->vm_reason == SR_MIGRATED ? "migrated" :
	    sup_display_state(vm)));
	json_add_new(o, "run_state", vm->vm_run_state[0] && sup_has_process(vm) ?
	    json_object_new_string(vm->vm_run_state) : NULL);
	json_add_new(o, "pid", vm->vm_pid ? json_object_new_int(vm->vm_pid) : NULL);
	migrate_status(vm, o);
	json_add_new(o, "scope", *machine_scope(vm) ? json_object_new_string(machine_scope(vm)) : NULL);
	json_add_new(o, "uptime", up && vm->vm_started_ms ?
	    json_object_new_double((double)(now_ms() - vm->vm_started_ms) / 1000.0) : NULL);
	json_add_new(o, "accel", json_object_new_string(daemon_accel_name(d, vm)));
	json_add_new(o, "accel_note", vm->vm_accel_note[0] ?
	    json_object_new_string(vm->vm_accel_note) : NULL);
	json_add_new(o, "enabled", json_object_new_boolean(hw->vm_policy.po_enable));
	json_add_new(o, "autostart", json_object_new_boolean(hw->vm_policy.po_autostart));
	json_add_new(o, "serial", port_or_null(hw->vm_serial));
	json_add_new(o, "monitor", port_or_null(hw->vm_monitor));
	if (hw->vm_vnc < 0) {
		json_add_new(o, "vnc", NULL);
	} else {
		char *v = xasprintf("%s:%d", d->inv.inv_listen ? d->inv.inv_listen : "127.0.0.1",
		    5900 + hw->vm_vnc);
		json_add_new(o, "vnc", json_object_new_string(v));
		free(v);
	}
	json_add_new(o, "progress", vm->vm_state == VS_SAVING && vm->vm_save_pct >= 0 ?
	    json_object_new_int(vm->vm_save_pct) : NULL);
	state_json_stop_fields(o, vm);
	agent_json(vm, o);
	balloon_json(vm, o);
	reload_vm_json(vm, o);
	attach_json(vm, o);
	tpm_json(vm, o);
	return o;
}
