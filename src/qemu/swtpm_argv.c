/* swtpm's and QEMU's command lines for a VM's TPM: swtpm_argv.h. */
#include <stdlib.h>
#include <string.h>

#include "qemu/swtpm_argv.h"

void
swtpm_argv(int ctrl_fd, int state_fd, struct strv *out)
{
	strv_push(out, SWTPM_PATH);
	strv_push(out, "socket");
	strv_push(out, "--tpm2");
	/* fd= is a listening socket swtpm accepts on (swtpm(8), --ctrl). */
	strv_push(out, "--ctrl");
	strv_pushf(out, "type=unixio,fd=%d", ctrl_fd);
	strv_push(out, "--tpmstate");
	strv_pushf(out, "dir=/proc/self/fd/%d", state_fd);
	/* QEMU gone (its end of the channel closed): swtpm goes too. */
	strv_push(out, "--terminate");
	/*
	 * Errors only, to stdout (log_dir/NAME.swtpm.log): swtpm 0.7.1 refuses
	 * fd=2 (it exits 1 without a word).
	 */
	strv_push(out, "--log");
	strv_push(out, "fd=1,level=1");
}

/* PRE then DIR/NAME.SFX with its commas doubled (QemuOpts splits on one). */
void
qemu_push_path(struct strv *out, const char *pre, const char *dir, const char *name,
    const char *sfx)
{
	char *p = xasprintf("%s/%s.%s", dir, name, sfx);
	char *v = xmalloc(strlen(pre) + 2 * strlen(p) + 1), *o = v;

	o = stpcpy(o, pre);
	for (const char *c = p; *c; c++) {
		*o++ = *c;
		if (*c == ',')
			*o++ = ',';
	}
	*o = 0;
	strv_push(out, v);
	free(v);
	free(p);
}

static bool
is_x86(const struct hw_vm *vm)
{
	const char *t = vm->vm_type ? vm->vm_type : "system-x86_64";

	return strcmp(t, "system-x86_64") == 0 || strcmp(t, "system-i386") == 0;
}

void
qemu_argv_tpm(const struct hw_vm *vm, const struct qemu_env *env, struct strv *out)
{
	const char *m = vm->vm_machine;

	if (!vm->vm_tpm)
		return;
	strv_push(out, "-chardev");
	qemu_push_path(out, "socket,id=tpm0,path=", env->qe_run_dir, vm->vm_name,
	    SWTPM_SOCK_SUFFIX);
	strv_push(out, "-tpmdev");
	strv_push(out, "emulator,id=tpm0,chardev=tpm0");
	strv_push(out, "-device");
	if (!is_x86(vm))
		strv_push(out, "tpm-tis-device,tpmdev=tpm0");
	else if (m && strncmp(m, "q35", 3) == 0)
		strv_push(out, "tpm-crb,tpmdev=tpm0");
	else
		strv_push(out, "tpm-tis,tpmdev=tpm0");
}
