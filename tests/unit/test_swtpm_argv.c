/*
 * The TPM's and the cloud-init seed's command lines (issue 18): swtpm's
 * argv, and what qemu_argv() adds for tpm = on (the front end by machine)
 * and for a cloud_init section; paths with commas doubled the QemuOpts way.
 */
#include <stdlib.h>
#include <string.h>

#include "qemu/seed_argv.h"
#include "qemu/swtpm_argv.h"
#include "tap.h"

/* argv as one string, words separated by a space. */
static char *
joined(const struct strv *sv)
{
	size_t len = 1;
	char *s;

	for (size_t i = 0; i < sv->sv_n; i++)
		len += strlen(sv->sv_v[i]) + 1;
	s = xcalloc(1, len);
	for (size_t i = 0; i < sv->sv_n; i++)
		strcat(strcat(s, sv->sv_v[i]), " ");
	return s;
}

static char *
vm_argv(const char *machine, const char *type, bool tpm, bool seed, const char *run_dir)
{
	struct qemu_env env = { .qe_emulator_dir = "/usr/bin", .qe_run_dir = run_dir,
	    .qe_log_dir = "/l" };
	struct hw_vm vm = { .vm_name = "v", .vm_type = (char *)type, .vm_machine = (char *)machine,
	    .vm_memory = 64 << 20, .vm_serial = HW_PORT_NONE, .vm_monitor = HW_PORT_NONE,
	    .vm_vnc = HW_VNC_NONE, .vm_tpm = tpm };
	struct strv sv = { 0 };
	char err[256] = "", *s;

	vm.vm_cloud_init.ci_on = seed;
	if (qemu_argv(&vm, &env, &sv, err, sizeof(err)) != 0) {
		strv_free(&sv);
		return xasprintf("error: %s", err);
	}
	s = joined(&sv);
	strv_free(&sv);
	return s;
}

int
main(void)
{
	struct strv sv = { 0 };
	char *s;

	swtpm_argv(5, 6, &sv);
	s = joined(&sv);
	OK(strcmp(s, "/usr/bin/swtpm socket --tpm2 --ctrl type=unixio,fd=5 --tpmstate "
	    "dir=/proc/self/fd/6 --terminate --log fd=1,level=1 ") == 0, "swtpm argv: %s", s);
	free(s);
	strv_free(&sv);

	s = vm_argv("q35", NULL, true, false, "/run/vms");
	OK(strstr(s, " -chardev socket,id=tpm0,path=/run/vms/v.swtpm -tpmdev "
	    "emulator,id=tpm0,chardev=tpm0 -device tpm-crb,tpmdev=tpm0 ") != NULL,
	    "q35: tpm-crb on swtpm's socket");
	free(s);
	s = vm_argv("pc", NULL, true, false, "/run/vms");
	OK(strstr(s, " -device tpm-tis,tpmdev=tpm0 ") != NULL, "pc: tpm-tis");
	free(s);
	s = vm_argv(NULL, NULL, true, false, "/run/vms");
	OK(strstr(s, " -device tpm-tis,tpmdev=tpm0 ") != NULL, "default machine (pc): tpm-tis");
	free(s);
	s = vm_argv("virt", "system-aarch64", true, false, "/run/vms");
	OK(strstr(s, " -device tpm-tis-device,tpmdev=tpm0 ") != NULL, "aarch64 virt: tpm-tis-device");
	free(s);
	s = vm_argv("pc", NULL, false, false, "/run/vms");
	OK(!strstr(s, "tpm") && !strstr(s, "cidata"), "neither without tpm and cloud_init");
	free(s);

	s = vm_argv("pc", NULL, false, true, "/run/vms");
	OK(strstr(s, " -drive format=raw,if=none,id=cidata,readonly=on,file=/run/vms/v.cidata.img "
	    "-device virtio-blk-pci,drive=cidata,id=cidata ") != NULL, "the seed: read-only virtio");
	free(s);
	s = vm_argv("pc", NULL, true, true, "/run/a,b");
	OK(strstr(s, "file=/run/a,,b/v.cidata.img ") && strstr(s, "path=/run/a,,b/v.swtpm "),
	    "a comma in run_dir is doubled in both");
	free(s);
	return TAP_DONE();
}
