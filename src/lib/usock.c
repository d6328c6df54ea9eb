/* Daemon-bound unix sockets for QEMU, and peer-checked connects to them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/safe_path.h"
#include "lib/usock.h"

int
usock_addr(struct sockaddr_un *sa, const char *path, char *err, size_t errlen)
{
	size_t n = strlen(path);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (n >= sizeof(sa->sun_path)) {
		snprintf(err, errlen, "socket path too long (%zu bytes, at most %zu): %s", n,
		    sizeof(sa->sun_path) - 1, path);
		return -ENAMETOOLONG;
	}
	memcpy(sa->sun_path, path, n + 1);
	return 0;
}

int
usock_dial(const char *path, int *fd, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	int s, e;

	if ((e = usock_addr(&sa, path, err, errlen)) != 0)
		return e;
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s == -1 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		e = errno;
		if (s != -1)
			close(s);
		snprintf(err, errlen, "cannot connect to %s: %s", path, strerror(e));
		return -e;
	}
	*fd = s;
	return 0;
}

int
usock_bind(const char *path, int *fd, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	int s, e;

	if ((e = usock_addr(&sa, path, err, errlen)) != 0)
		return e;
	if (unlink(path) == -1 && errno != ENOENT) {
		e = errno;
		snprintf(err, errlen, "cannot remove %s: %s", path, strerror(e));
		return -e;
	}
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s == -1) {
		e = errno;
		snprintf(err, errlen, "socket for %s: %s", path, strerror(e));
		return -e;
	}
	/*
	 * bind(2) creates the file with the socket inode's mode minus the
	 * umask (net/unix/af_unix.c): only the daemon may connect, not the
	 * QEMU users (who could otherwise reach another VM's monitor).
	 */
	if (fchmod(s, 0600) == -1 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		e = errno;
		close(s);
		snprintf(err, errlen, "cannot bind %s: %s", path, strerror(e));
		return -e;
	}
	*fd = s;
	return 0;
}

/*
 * p: the socket's inode, opened O_PATH | O_NOFOLLOW (closed here). Refused
 * unless a socket with a single link (owned by owner or root when owner is
 * not (uid_t)-1); connected through /proc/self/fd so that nothing swapped
 * in meanwhile is reached; the listener's SO_PEERCRED pid must be peer.
 */
static int
connect_opened(int p, const char *path, pid_t peer, uid_t owner, int *fd, char *err,
    size_t errlen)
{
	struct sockaddr_un sa;
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	struct stat st;
	char via[64];
	int s, e;

	e = fstat(p, &st) == -1 ? -errno : S_ISLNK(st.st_mode) ? -ELOOP :
	    !S_ISSOCK(st.st_mode) ? -ENOTSOCK : st.st_nlink != 1 ? -EMLINK : 0;
	if (!e && owner != (uid_t)-1 && st.st_uid != owner && st.st_uid != 0) {
		close(p);
		snprintf(err, errlen, "%s is owned by uid %u, neither by uid %u nor root; "
		    "not connecting", path, (unsigned)st.st_uid, (unsigned)owner);
		return -EPERM;
	}
	if (e) {
		close(p);
		snprintf(err, errlen, "%s: %s; not connecting", path, e == -ELOOP ?
		    "a symlink" : e == -EMLINK ? "a socket with another hard link" :
		    strerror(-e));
		return e;
	}
	snprintf(via, sizeof(via), "/proc/self/fd/%d", p);
	usock_addr(&sa, via, err, errlen);	/* fits: "/proc/self/fd/" and an int */
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* A unix connect completes at once or fails at once (EAGAIN: backlog full). */
	if (s == -1 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		e = errno;
		if (s != -1)
			close(s);
		close(p);
		snprintf(err, errlen, "cannot connect to %s: %s", path, strerror(e));
		return -e;
	}
	close(p);
	/* The listener's credentials, taken when it called listen(2). */
	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) == -1) {
		e = errno;
		close(s);
		snprintf(err, errlen, "%s: SO_PEERCRED: %s", path, strerror(e));
		return -e;
	}
	if (peer > 0 && cr.pid != peer) {
		close(s);
		snprintf(err, errlen, "%s is served by pid %d (uid %u), not by QEMU pid %d; "
		    "not connecting", path, (int)cr.pid, (unsigned)cr.uid, (int)peer);
		return -EPERM;
	}
	*fd = s;
	return 0;
}

int
usock_connect(const char *path, pid_t peer, int *fd, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	int p, e;

	if ((e = usock_addr(&sa, path, err, errlen)) != 0)
		return e;
	/* O_PATH | O_NOFOLLOW opens a symlink itself: fstat tells. */
	p = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (p == -1) {
		e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	return connect_opened(p, path, peer, (uid_t)-1, fd, err, errlen);
}

int
usock_connect_owned(const char *path, pid_t peer, uid_t owner, int *fd, char *err,
    size_t errlen)
{
	const char *base;
	int dir, p, e;

	/* The directories as sp_open walks them: no link another user planted. */
	dir = sp_open_parent(path, &base, err, errlen);
	if (dir < 0)
		return dir;
	p = openat(dir, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	e = errno;
	close(dir);
	if (p == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	return connect_opened(p, path, peer, owner, fd, err, errlen);
}
