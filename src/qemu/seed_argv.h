/*
 * The cloud-init NoCloud seed (cloud_init section) as QEMU sees it: the
 * image the daemon writes at run_dir/NAME.cidata.img (vmd/cidata.c),
 * attached read-only as a virtio disk.
 */
#ifndef VMS_SEED_ARGV_H
#define VMS_SEED_ARGV_H
#include "lib/util.h"
#include "hw/hw.h"
#include "qemu/qemu_argv.h"

#define SEED_SUFFIX	"cidata.img"
/* What writes it (vmd/cidata.c): Debian's xorriso. */
#define SEED_XORRISO	"/usr/bin/xorriso"

/* -drive (raw, read-only) and -device virtio-blk-pci; nothing without cloud_init. */
void qemu_argv_seed(const struct hw_vm *vm, const struct qemu_env *env, struct strv *out);
#endif
