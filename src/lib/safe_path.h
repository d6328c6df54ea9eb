/*
 * Opening a path that someone else may be able to change (issue 12).
 *
 * A root daemon that opens, creates or chowns DIR/disk.qcow2 follows every
 * symlink on the way: a QEMU user who can write a directory of that path
 * replaces DIR by a link to /etc and has us create, chown or read
 * /etc/disk.qcow2. sp_open() resolves a path one component at a time
 * (openat2 RESOLVE_NO_SYMLINKS when the path has no symlink at all, the
 * common case) and follows a symlink only when root or the caller's own
 * euid owns it: a link another user planted is refused, wherever it is on
 * the way. Links the administrator made (/var/run -> /run, a disk directory
 * on another file system) keep working. (A user cannot give a link to root:
 * lchown needs CAP_CHOWN; fs.protected_hardlinks stops hard links to it.)
 */
#ifndef VMS_SAFE_PATH_H
#define VMS_SAFE_PATH_H
#include <stddef.h>
#include <sys/types.h>

/*
 * open(path, flags, mode) resolved as above; the last component is opened
 * with O_NOFOLLOW (a trusted link there is followed by the walk). O_CLOEXEC
 * and O_NOCTTY are added. Returns the fd or -errno; on error err names the
 * path and the component (a refused link: -ELOOP, its owner named).
 */
int sp_open(const char *path, int flags, mode_t mode, char *err, size_t errlen);

/*
 * The directory that holds path's last component, resolved as above, as an
 * O_PATH fd; *base points into path at that component. For unlinkat and
 * renameat beside an image without following anything. fd or -errno.
 */
int sp_open_parent(const char *path, const char **base, char *err, size_t errlen);
/*
 * A program the root daemon runs itself (notify_command): path resolved
 * (realpath) into resolved[PATH_MAX]; it must be a regular executable file,
 * and it and every directory above it owned by root or by us and writable
 * by nobody else (a group- or world-writable directory only when sticky,
 * like /tmp): nobody but root can swap what we exec. 0 or -errno with err.
 */
int sp_trusted_program(const char *path, char *resolved, char *err, size_t errlen);
#endif
