/*
 * Who is at the other end of an accepted TCP connection, when it comes from
 * this host (issue 12): the owner uid and inode of the peer's own socket,
 * asked of the kernel with NETLINK_SOCK_DIAG (inet_diag_req_v2 with the
 * exact 4-tuple), and whether a given process holds that socket.
 *
 * A guest on `net = user` reaches the host's 127.0.0.1 at 10.0.2.2: its
 * connection arrives from a socket QEMU opened, owned by the QEMU user and
 * held in QEMU's fd table. That is what the console guard (conguard.c)
 * looks for.
 */
#ifndef VMS_PEER_H
#define VMS_PEER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct peer_info {
	bool		 pi_found;	/* the peer socket exists on this host */
	bool		 pi_loopback;	/* the peer address is 127/8, ::1 or mapped */
	uid_t		 pi_uid;	/* owner of the peer socket (when found) */
	uint64_t	 pi_ino;	/* its inode: "socket:[INO]" in /proc/PID/fd */
	char		 pi_addr[64];	/* "127.0.0.1:41234", "[::1]:41234" */
};

/*
 * Look up the peer of the connected TCP socket fd. Returns 0 with
 * pi_found false when no such socket exists here (a remote host, or a peer
 * already gone), 0 with pi_found true and its uid and inode, or -errno with
 * err filled when the kernel could not be asked.
 */
int peer_lookup(int fd, struct peer_info *pi, char *err, size_t errlen);

/*
 * Does process pid hold socket inode ino (a "socket:[ino]" link in
 * /proc/PID/fd)? Returns 1, 0, or -errno (pid gone, /proc unreadable).
 */
int peer_pid_holds(pid_t pid, uint64_t ino);

/* The real uid of process pid (/proc/PID/status), or -errno. */
int peer_pid_uid(pid_t pid, uid_t *uid);
#endif
