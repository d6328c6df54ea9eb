/*
 * Unix stream sockets by path: every sockaddr_un in the tree is filled
 * here, so an over-long path is an error naming it, never a truncated
 * name that reaches another socket.
 *
 * The sockets between the daemon and QEMU (issue 12): the daemon binds
 * the listening sockets itself, in a directory only it may write, and hands
 * QEMU the fds (-chardev socket,fd=N); it then connects by path, never
 * through a symlink or a second link, and only to a listener whose
 * SO_PEERCRED pid is the VM's QEMU.
 */
#ifndef VMS_USOCK_H
#define VMS_USOCK_H
#include <errno.h>
#include <stddef.h>
#include <sys/types.h>

struct sockaddr_un;

/*
 * Fill sa (AF_UNIX) with path. 0, or -ENAMETOOLONG with err naming path
 * when it does not fit sun_path with its NUL (107 bytes on Linux).
 */
int usock_addr(struct sockaddr_un *sa, const char *path, char *err, size_t errlen);

/*
 * A client's connect to a server's socket (vmctl to the control socket):
 * blocking, close-on-exec, symlinks followed, no peer check; the server
 * decides who may talk to it (SO_PEERCRED). 0 with *fd set, or -errno with
 * err naming path.
 */
int usock_dial(const char *path, int *fd, char *err, size_t errlen);

/*
 * Bind a unix stream socket at path, mode 0600, without listening: QEMU
 * calls listen(2) on a server fd it is given (QEMU 7.2
 * util/qemu-sockets.c socket_listen, SOCKET_ADDRESS_TYPE_FD), which makes
 * it the peer a connecting daemon sees. Whatever was at path (a stale
 * socket, anything planted) is unlinked first, never followed. 0 with *fd
 * (close-on-exec) set, or -errno with err naming path.
 */
int usock_bind(const char *path, int *fd, char *err, size_t errlen);

/*
 * Connect (non-blocking socket) to the socket at path: opened O_PATH |
 * O_NOFOLLOW, refused unless it is a socket with a single link, connected
 * through /proc/self/fd so that nothing swapped in meanwhile is reached,
 * then refused unless the listener's SO_PEERCRED pid is peer (peer <= 0:
 * no pid check). Returns 0 with *fd set; -ENOENT, -ECONNREFUSED, -EAGAIN
 * while QEMU is not listening yet (worth retrying); -ELOOP (a symlink),
 * -ENOTSOCK, -EMLINK (another link), -EPERM (another peer) or -errno with
 * err filled: never worth retrying.
 */
int usock_connect(const char *path, pid_t peer, int *fd, char *err, size_t errlen);

/*
 * usock_connect to a socket someone else made (vmctl attach: a QEMU's own
 * QMP socket): the directories are walked as sp_open() walks them (a
 * symlink owned by neither root nor us is refused), and the socket must
 * be owned by owner or root, then as above. Never retried.
 */
int usock_connect_owned(const char *path, pid_t peer, uid_t owner, int *fd, char *err,
    size_t errlen);
/* A refusal of usock_connect that no retry can change. */
#define USOCK_REFUSED(e) ((e) == -ELOOP || (e) == -ENOTSOCK || (e) == -EMLINK || \
	(e) == -EPERM || (e) == -ENAMETOOLONG)
#endif
