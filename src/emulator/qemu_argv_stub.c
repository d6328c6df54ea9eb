/* TEMPORARY stand-in until qemu_argv.c is merged from main; deleted then. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "emulator/qemu_argv.h"

char *
qemu_emulator_path(const struct hw_vm *vm, const struct qemu_env *env)
{
	return xasprintf("%s/qemu-%s", env->qe_emulator_dir, vm->vm_type);
}

bool
qemu_kvm_usable(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

int
qemu_argv(const struct hw_vm *vm, const struct qemu_env *env,
    struct strv *out, char *err, size_t errlen)
{
	char *emu = qemu_emulator_path(vm, env);

	strv_push(out, emu);
	strv_pushf(out, "-name");
	strv_pushf(out, "%s", vm->vm_name);
	free(emu);
	return 0;
}
