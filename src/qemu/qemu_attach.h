/*
 * What `vmctl attach` must know of a QEMU that vmservice did not start
 * (issue 16): is the running program a QEMU system emulator, and where is
 * its QMP monitor's unix socket. Read from /proc/PID/exe and
 * /proc/PID/cmdline; QEMU's option syntax stays in this layer.
 */
#ifndef VMS_QEMU_ATTACH_H
#define VMS_QEMU_ATTACH_H
#include <stdbool.h>
#include <stddef.h>

/*
 * link is what /proc/PID/exe reads: a qemu-system-TARGET binary (also
 * " (deleted)", upgraded while it runs)?
 */
bool qattach_is_system_exe(const char *link);
/*
 * The path of the first QMP monitor in argv (n words) served on a unix
 * socket: `-qmp unix:PATH,server...` (also -qmp-pretty), or `-chardev
 * socket,id=X,path=PATH,server=on` with `-mon chardev=X,mode=control`.
 * 0 with *path (allocated), or -ENOENT with why naming what was found
 * instead (a client socket, TCP, an fd, an abstract socket, nothing).
 */
int qattach_qmp_path(char *const argv[], size_t n, char **path, char *why, size_t len);
#endif
