/*
 * A VM's chardev sockets (issue 12): run_dir/NAME.qmp, NAME.serial,
 * with a monitor NAME.hmp, with agent = yes NAME.qga, bound by the daemon in its own directory right
 * before a spawn and passed to QEMU as listening fds. The daemon keeps no
 * copy once QEMU has them: the path stays, and reconnects (after a daemon
 * restart too) reach QEMU through it, checked by usock_connect().
 */
#ifndef VMS_SERVICE_VMSOCK_H
#define VMS_SERVICE_VMSOCK_H
#include <stddef.h>

#include "qemu/qemu_argv.h"
#include "hw/hw.h"

/* Bind them; on failure none is left open and err names the path. 0 or -errno. */
int vmsock_bind(const char *run_dir, const struct hw_vm *hw, struct qemu_chr_fds *fds,
    char *err, size_t errlen);
/* Append the open fds to keep (room for 4); returns the new count. */
size_t vmsock_keep(const struct qemu_chr_fds *fds, int *keep, size_t n);
/* Close the daemon's copies (QEMU has its own after the spawn). */
void vmsock_close(struct qemu_chr_fds *fds);
#endif
