/* -sandbox is on unless the service opts out (qemu_env.qe_no_sandbox). */
#include <string.h>

#include "qemu/qemu_argv.h"
#include "tap.h"

static int
find(const struct strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->sv_n; i++)
		if (strcmp(sv->sv_v[i], s) == 0)
			return (int)i;
	return -1;
}

int
main(void)
{
	struct hw_vm vm = { .vm_name = "s", .vm_memory = 128ULL << 20,
	    .vm_serial = HW_PORT_NONE, .vm_monitor = HW_PORT_NONE, .vm_vnc = HW_VNC_NONE };
	struct qemu_env env = { .qe_emulator_dir = "/usr/bin", .qe_run_dir = "/run/v",
	    .qe_log_dir = "/var/log/v" };
	struct strv sv = { 0 };
	char err[256];
	int i;

	OK(qemu_argv(&vm, &env, &sv, err, sizeof(err)) == 0, "argv builds");
	i = find(&sv, "-sandbox");
	OK(i > 0 && (size_t)i + 1 < sv.sv_n && strcmp(sv.sv_v[i + 1],
	    "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny") == 0,
	    "sandbox on by default, every deny");
	strv_free(&sv);
	memset(&sv, 0, sizeof(sv));
	env.qe_no_sandbox = true;
	OK(qemu_argv(&vm, &env, &sv, err, sizeof(err)) == 0, "argv builds without");
	OK(find(&sv, "-sandbox") == -1, "qe_no_sandbox: no -sandbox");
	strv_free(&sv);
	return TAP_DONE();
}
