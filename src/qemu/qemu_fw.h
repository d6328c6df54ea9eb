/*
 * UEFI firmware (firmware = uefi, uefi-secure): which OVMF build a VM
 * boots, where its variable store lives, and the QEMU arguments for both.
 *
 * The code is Debian's `ovmf` package, read-only and shared; the variables
 * are a per-VM copy of the build's template, state_dir/NAME.nvram.fd, made
 * by the daemon at first start (vmd/nvram.c) and handed to QEMU as an open
 * fd: state_dir is the daemon's alone, so QEMU never opens it by name.
 */
#ifndef VMS_QEMU_FW_H
#define VMS_QEMU_FW_H
#include <stdbool.h>
#include <stddef.h>
#include "lib/util.h"
#include "hw/hw.h"

/* The OVMF build of one firmware choice; NULL for bios. */
struct qemu_fw {
	const char	*fw_code;	/* read-only code, pflash unit 0 */
	const char	*fw_vars;	/* template of a VM's variables */
	bool		 fw_smm;	/* Secure Boot build: needs q35 + SMM */
	const char	*fw_package;	/* the Debian package that ships it */
};

const struct qemu_fw *qemu_fw_of(enum hw_firmware fw);
/* The machine can run a Secure Boot build: q35 (or pc-q35-X.Y). */
bool qemu_fw_machine_ok(const struct hw_vm *vm);
/*
 * Both files of vm's firmware are there: 0, or -errno with err naming the
 * missing file and the package that provides it.
 */
int qemu_fw_check(const struct hw_vm *vm, char *err, size_t errlen);
/* state_dir/NAME.nvram.fd, newly allocated. */
char *qemu_fw_nvram_path(const char *state_dir, const char *name);
/*
 * The -drive pflash arguments (and -machine smm=on, -global for Secure
 * Boot): the variables from nvram_fds through -add-fd when both are > 0,
 * else by path (vmctl show --argv). QEMU's fdset hands out an fd only of the
 * access mode it asks for, and its block layer asks for a read-only one
 * before the read-write one: [0] read-write, [1] read-only, one file.
 */
int qemu_fw_args(const struct hw_vm *vm, const char *state_dir, const int nvram_fds[2],
    struct strv *out, char *err, size_t errlen);
/* The nvram fds a running QEMU's argv names (reload compares argvs), else 0. */
void qemu_fw_nvram_fds(const struct strv *run, int nvram_fds[2]);
#endif
