/*
 * The record an attached VM carries (attach.h): a hardware record with
 * only its name and the policy the table reads, and what /proc said of its
 * QEMU when it was attached. Data only: attach.c fills it, status shows
 * it, vm_release frees it.
 */
#include <stdlib.h>

#include "lib/json_add.h"
#include "lib/util.h"
#include "vmd/attach.h"
#include "vmd/supervisor.h"

struct vm_attach *
attach_new(const char *name, unsigned halt_timeout, unsigned term_timeout)
{
	struct vm_attach *at = xcalloc(1, sizeof(*at));
	struct hw_vm *hw = &at->at_hw;

	hw->vm_name = xstrdup(name);
	hw->vm_type = xstrdup("?");
	hw->vm_accel = HW_ACCEL_AUTO;	/* what query-kvm says replaces it */
	hw->vm_serial = HW_PORT_NONE;
	hw->vm_monitor = HW_PORT_NONE;
	hw->vm_vnc = HW_VNC_NONE;
	hw->vm_policy.po_enable = true;
	/* The ladder every VM has by default: ACPI, pressed again every 3 s. */
	hw->vm_policy.po_halt[0] = HW_HALT_ACPI;
	hw->vm_policy.po_n_halt = 1;
	hw->vm_policy.po_acpi_repeat = 3;
	hw->vm_policy.po_halt_timeout = halt_timeout;
	hw->vm_policy.po_term_timeout = term_timeout;
	hw->vm_policy.po_on_host_shutdown = HW_SHUTDOWN_POWEROFF;
	/* We cannot start it again: no restart, and a panic is left to the admin. */
	hw->vm_policy.po_restart = HW_RESTART_NO;
	hw->vm_policy.po_on_panic = HW_PANIC_PAUSE;
	return at;
}

void
attach_json(const struct vm *vm, struct json_object *o)
{
	const struct vm_attach *at = vm->vm_attach;
	struct json_object *a;
	size_t i;

	json_add_new(o, "attached", json_object_new_boolean(at != NULL));
	if (!at)
		return;
	a = json_object_new_array();
	for (i = 0; i < at->at_argc; i++)
		json_object_array_add(a, json_object_new_string(at->at_argv[i]));
	json_add_new(o, "argv", a);
	json_add_new(o, "exe", json_object_new_string(at->at_exe));
	json_add_new(o, "qmp_socket", json_object_new_string(at->at_qmp));
}

void
attach_free(struct vm *vm)
{
	struct vm_attach *at = vm->vm_attach;
	size_t i;

	if (!at)
		return;
	for (i = 0; i < at->at_argc; i++)
		free(at->at_argv[i]);
	free(at->at_argv);
	free(at->at_exe);
	free(at->at_qmp);
	free(at->at_hw.vm_name);
	free(at->at_hw.vm_type);
	free(at);
	vm->vm_attach = NULL;
}
