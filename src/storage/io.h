/* Whole-buffer pread/pwrite on a file descriptor (EINTR and short I/O). */
#ifndef VMS_STORAGE_IO_H
#define VMS_STORAGE_IO_H
#include <stddef.h>
#include <stdint.h>

/* 0, -errno, or -ENODATA when the file ends before len bytes. */
int io_pread(int fd, void *buf, size_t len, uint64_t off);
/* Like io_pread, but bytes past the end of the file read as zeros. */
int io_pread_zfill(int fd, void *buf, size_t len, uint64_t off);
int io_pwrite(int fd, const void *buf, size_t len, uint64_t off);
#endif
