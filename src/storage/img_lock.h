/*
 * QEMU's image locks (block/file-posix.c): one-byte OFD read locks at
 * 100 + bit for each permission a user holds, and at 200 + bit for each it
 * does not share with others; a user tests the opposite bytes for
 * conflicts. Taking the same locks makes a running QEMU and vmimg keep out
 * of each other's images, as qemu-img does.
 */
#ifndef VMS_STORAGE_IMG_LOCK_H
#define VMS_STORAGE_IMG_LOCK_H
#include <stddef.h>

#include "storage/img.h"

/*
 * Lock im's file for reading (write = 0: others may read, not write) or
 * for changing it (write = 1: others may not even read consistently).
 * The locks go with the file descriptor (img_close). 0, -EBUSY with a
 * message naming the conflict, or -errno.
 */
int img_lock(struct img *im, int write, char *err, size_t errlen);
#endif
