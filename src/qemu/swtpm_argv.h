/*
 * The command lines of a VM's TPM 2.0 (tpm = on): swtpm's own, and the
 * QEMU options that connect its TPM front end to it. swtpm(8) runs one
 * emulator per VM; QEMU's tpm-emulator backend talks to its control
 * channel, a unix socket the daemon binds in run_dir (vmd/tpm.c).
 */
#ifndef VMS_SWTPM_ARGV_H
#define VMS_SWTPM_ARGV_H
#include "lib/util.h"
#include "hw/hw.h"
#include "qemu/qemu_argv.h"

/* Debian's swtpm (package swtpm). */
#define SWTPM_PATH	"/usr/bin/swtpm"
/* run_dir/NAME.SUFFIX: the control socket, and the pidfile the daemon writes. */
#define SWTPM_SOCK_SUFFIX	"swtpm"
#define SWTPM_PID_SUFFIX	"swtpm.pid"

/*
 * swtpm socket --tpm2 on the daemon's listening control socket ctrl_fd,
 * its state in the directory open as state_fd (reached as
 * /proc/self/fd/N: the VM's user need not search state_dir), ending when
 * QEMU closes the channel (--terminate). Appended to out.
 */
void swtpm_argv(int ctrl_fd, int state_fd, struct strv *out);
/* PRE then DIR/NAME.SFX, its commas doubled the QemuOpts way, appended to out. */
void qemu_push_path(struct strv *out, const char *pre, const char *dir,
    const char *name, const char *sfx);
/*
 * The QEMU side: -chardev socket (path run_dir/NAME.swtpm, QEMU the
 * client), -tpmdev emulator and the front end: tpm-crb on q35, tpm-tis on
 * other PC machines, tpm-tis-device elsewhere (Arm virt). Nothing without
 * vm_tpm.
 */
void qemu_argv_tpm(const struct hw_vm *vm, const struct qemu_env *env, struct strv *out);
#endif
