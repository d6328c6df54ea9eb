/* OVMF builds and their QEMU arguments: see qemu_fw.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qemu/qemu_fw.h"

/*
 * Debian's ovmf ships the same pairs in /usr/share/qemu/firmware/ (JSON descriptors
 * 60-edk2-x86_64.json, 40-edk2-x86_64-secure-enrolled.json): the 4 MiB
 * builds, whose variable store is large enough for today's key databases.
 * A code file works only with the template of its own build.
 */
#define OVMF_DIR	"/usr/share/OVMF/"
static const struct qemu_fw fw_uefi = {
	OVMF_DIR "OVMF_CODE_4M.fd", OVMF_DIR "OVMF_VARS_4M.fd", false, "ovmf" };
/* Secure Boot on, Microsoft's keys enrolled (what signed shims are signed by). */
static const struct qemu_fw fw_secure = {
	OVMF_DIR "OVMF_CODE_4M.secboot.fd", OVMF_DIR "OVMF_VARS_4M.ms.fd", true, "ovmf" };

/* The fdset QEMU finds the variables in (-add-fd); one per QEMU process. */
#define NVRAM_SET	"1"
#define NVRAM_OPAQUE	"nvram"

const struct qemu_fw *
qemu_fw_of(enum hw_firmware fw)
{
	switch (fw) {
	case HW_FW_UEFI:
		return &fw_uefi;
	case HW_FW_UEFI_SECURE:
		return &fw_secure;
	default:
		return NULL;
	}
}

bool
qemu_fw_machine_ok(const struct hw_vm *vm)
{
	const char *m = vm->vm_machine;

	/* QEMU's default machine is pc (i440fx), which has no SMM lock for flash. */
	return m && (strncmp(m, "q35", 3) == 0 || strncmp(m, "pc-q35", 6) == 0);
}

int
qemu_fw_check(const struct hw_vm *vm, char *err, size_t errlen)
{
	const struct qemu_fw *f = qemu_fw_of(vm->vm_firmware);
	const char *files[2];

	if (!f)
		return 0;
	files[0] = f->fw_code;
	files[1] = f->fw_vars;
	for (int i = 0; i < 2; i++)
		if (access(files[i], R_OK) == -1) {
			int e = errno;

			snprintf(err, errlen, "firmware = %s: %s: %s (install Debian's %s package)",
			    hw_name_of(hw_firmware_names, (int)vm->vm_firmware), files[i],
			    strerror(e), f->fw_package);
			return -e;
		}
	return 0;
}

char *
qemu_fw_nvram_path(const char *state_dir, const char *name)
{
	return xasprintf("%s/%s.nvram.fd", state_dir ? state_dir : ".", name);
}

/* A path inside a QEMU option value: commas doubled (QemuOpts). */
static char *
esc(const char *s)
{
	char *o = xmalloc(2 * strlen(s) + 1), *p = o;

	for (; *s; s++) {
		*p++ = *s;
		if (*s == ',')
			*p++ = ',';
	}
	*p = '\0';
	return o;
}

int
qemu_fw_args(const struct hw_vm *vm, const char *state_dir, const int nvram_fds[2],
    struct strv *out, char *err, size_t errlen)
{
	const struct qemu_fw *f = qemu_fw_of(vm->vm_firmware);
	char *code, *vars, *path;

	if (!f)
		return 0;
	if (f->fw_smm && !qemu_fw_machine_ok(vm)) {
		snprintf(err, errlen, "firmware = uefi-secure needs machine = q35 (SMM), not %s",
		    vm->vm_machine ? vm->vm_machine : "QEMU's default pc");
		return -EINVAL;
	}
	if (f->fw_smm) {
		/* SMM keeps the guest OS from writing the variables around the firmware. */
		strv_push(out, "-machine");
		strv_push(out, "smm=on");
		strv_push(out, "-global");
		strv_push(out, "driver=cfi.pflash01,property=secure,value=on");
	}
	code = esc(f->fw_code);
	strv_push(out, "-drive");
	strv_pushf(out, "if=pflash,format=raw,unit=0,readonly=on,file=%s", code);
	free(code);
	if (nvram_fds[0] > 0 && nvram_fds[1] > 0) {
		strv_push(out, "-add-fd");
		strv_pushf(out, "fd=%d,set=" NVRAM_SET ",opaque=" NVRAM_OPAQUE "-rw", nvram_fds[0]);
		strv_push(out, "-add-fd");
		strv_pushf(out, "fd=%d,set=" NVRAM_SET ",opaque=" NVRAM_OPAQUE "-ro", nvram_fds[1]);
		vars = xstrdup("/dev/fdset/" NVRAM_SET);
	} else {
		path = qemu_fw_nvram_path(state_dir, vm->vm_name);
		vars = esc(path);
		free(path);
	}
	strv_push(out, "-drive");
	strv_pushf(out, "if=pflash,format=raw,unit=1,file=%s", vars);
	free(vars);
	return 0;
}

void
qemu_fw_nvram_fds(const struct strv *run, int nvram_fds[2])
{
	nvram_fds[0] = nvram_fds[1] = 0;
	for (size_t k = 0; k + 1 < run->sv_n; k++) {
		const char *v = run->sv_v[k + 1];

		if (strcmp(run->sv_v[k], "-add-fd") != 0 || strncmp(v, "fd=", 3) != 0)
			continue;
		if (strstr(v, ",opaque=" NVRAM_OPAQUE "-rw"))
			nvram_fds[0] = atoi(v + 3);
		else if (strstr(v, ",opaque=" NVRAM_OPAQUE "-ro"))
			nvram_fds[1] = atoi(v + 3);
	}
}
