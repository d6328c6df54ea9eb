/*
 * A UEFI VM's variable store, state_dir/NAME.nvram.fd (firmware = uefi,
 * uefi-secure): a copy of its OVMF build's template, made at the first
 * start, kept across restarts like a real machine's flash, never shared
 * between VMs, and removed only by `vmctl reset-nvram NAME`.
 */
#ifndef VMS_NVRAM_H
#define VMS_NVRAM_H
#include <stddef.h>

struct daemon;
struct vm;

/*
 * The store opened for QEMU to inherit, fds[0] read-write and fds[1]
 * read-only (qemu_fw.h says why both), created from the template when
 * missing. 0 with both set (close-on-exec; the spawn keeps them), or -errno
 * with err and none open.
 */
int nvram_open(struct daemon *d, const struct vm *vm, int fds[2], char *err, size_t errlen);
/* Close what nvram_open gave (-1: none). */
void nvram_close(int fds[2]);
/* vmctl reset-nvram: a VM that is down loses its store. 0 or -errno with err. */
int nvram_reset(struct daemon *d, struct vm *vm, char *err, size_t errlen);
#endif
