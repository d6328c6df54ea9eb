/*
 * peer.c against real sockets on loopback: the owner uid and the inode of
 * the connecting socket, over IPv4, IPv6 and a dual-stack listener, for a
 * socket of ours and one of another user (when root).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/peer.h"
#include "tap.h"

/* A listener on addr (numeric) port 0; its port in *port. */
static int
listener(int family, const char *addr, int *port)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl = sizeof(ss);
	int fd, zero = 0;

	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET)
		inet_pton(AF_INET, addr, &s4->sin_addr);
	else
		inet_pton(AF_INET6, addr, &s6->sin6_addr);
	if (bind(fd, (struct sockaddr *)&ss, family == AF_INET ? sizeof(*s4) : sizeof(*s6)) ||
	    listen(fd, 4) || getsockname(fd, (struct sockaddr *)&ss, &sl)) {
		close(fd);
		return -1;
	}
	*port = ntohs(family == AF_INET ? s4->sin_port : s6->sin6_port);
	return fd;
}

static int
connect_to(int family, const char *addr, int port)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET) {
		inet_pton(AF_INET, addr, &s4->sin_addr);
		s4->sin_port = htons((uint16_t)port);
	} else {
		inet_pton(AF_INET6, addr, &s6->sin6_addr);
		s6->sin6_port = htons((uint16_t)port);
	}
	if (fd == -1 || connect(fd, (struct sockaddr *)&ss,
	    family == AF_INET ? sizeof(*s4) : sizeof(*s6)) == -1) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

static void
pair(const char *what, int lfam, const char *laddr, int cfam, const char *caddr)
{
	struct peer_info pi;
	struct stat st;
	char err[256] = "";
	int l, c, a, port, rc;

	l = listener(lfam, laddr, &port);
	c = l == -1 ? -1 : connect_to(cfam, caddr, port);
	a = c == -1 ? -1 : accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (a == -1) {
		OK(0, "%s: a connection (%s)", what, strerror(errno));
		return;
	}
	fstat(c, &st);
	rc = peer_lookup(a, &pi, err, sizeof(err));
	OK(rc == 0, "%s: lookup succeeds (%s)", what, err);
	OK(pi.pi_found, "%s: the peer socket is found", what);
	OK(pi.pi_loopback, "%s: the peer is loopback (%s)", what, pi.pi_addr);
	OK(pi.pi_uid == geteuid(), "%s: owner uid %u is ours", what, (unsigned)pi.pi_uid);
	OK(pi.pi_ino == (uint64_t)st.st_ino, "%s: inode %llu is the client socket's %llu", what,
	    (unsigned long long)pi.pi_ino, (unsigned long long)st.st_ino);
	OK(peer_pid_holds(getpid(), pi.pi_ino) == 1, "%s: this process holds it", what);
	/* The accepted socket is ours too, but it is not the peer. */
	fstat(a, &st);
	OK(pi.pi_ino != (uint64_t)st.st_ino, "%s: not our own end", what);
	close(a);
	close(c);
	close(l);
}

/* A client of another user (nobody): its uid, and not held by us. */
static void
other_user(void)
{
	struct peer_info pi;
	char err[256] = "", b;
	int l, a, port, sync[2], st;
	pid_t pid;

	if (geteuid() != 0) {
		printf("ok - # SKIP another user's socket: not root\n");
		return;
	}
	l = listener(AF_INET, "127.0.0.1", &port);
	if (l == -1 || pipe(sync)) {
		OK(0, "listener");
		return;
	}
	pid = fork();
	if (pid == 0) {
		int c;

		close(sync[0]);
		if (setgid(65534) || setuid(65534))
			_exit(2);
		c = connect_to(AF_INET, "127.0.0.1", port);
		/* Hold the socket until the parent has looked. */
		if (c == -1 || write(sync[1], "x", 1) != 1)
			_exit(3);
		pause();
		_exit(0);
	}
	close(sync[1]);
	if (read(sync[0], &b, 1) != 1) {
		OK(0, "child connected");
		return;
	}
	a = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	OK(peer_lookup(a, &pi, err, sizeof(err)) == 0 && pi.pi_found, "nobody's socket found (%s)",
	    err);
	OK(pi.pi_uid == 65534, "owner uid is nobody's (%u)", (unsigned)pi.pi_uid);
	OK(peer_pid_holds(pid, pi.pi_ino) == 1, "the child holds it");
	OK(peer_pid_holds(getpid(), pi.pi_ino) == 0, "we do not");
	{
		uid_t u = 0;
		OK(peer_pid_uid(pid, &u) == 0 && u == 65534, "the child's uid from /proc");
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	close(a);
	close(l);
	close(sync[0]);
}

/* A peer that is gone: an error, never "found" with stale data (the caller fails closed). */
static void
gone(void)
{
	struct peer_info pi;
	char err[256] = "";
	int l, c, a, port, rc;

	l = listener(AF_INET, "127.0.0.1", &port);
	c = connect_to(AF_INET, "127.0.0.1", port);
	a = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	/* An abortive close (RST): the client socket leaves the tables at once. */
	struct linger lg = { 1, 0 };
	setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(c);
	usleep(10000);
	rc = peer_lookup(a, &pi, err, sizeof(err));
	OK(rc < 0 && !pi.pi_found, "a peer reset and gone is an error (%s)", err);
	close(a);
	close(l);
}

int
main(void)
{
	pair("IPv4", AF_INET, "127.0.0.1", AF_INET, "127.0.0.1");
	pair("IPv4 127.0.0.2", AF_INET, "127.0.0.2", AF_INET, "127.0.0.2");
	if (listener(AF_INET6, "::1", &(int){ 0 }) >= 0) {
		pair("IPv6", AF_INET6, "::1", AF_INET6, "::1");
		pair("dual-stack, IPv4 client", AF_INET6, "::", AF_INET, "127.0.0.1");
	} else {
		printf("ok - # SKIP IPv6: no ::1 here\n");
	}
	other_user();
	gone();
	OK(peer_pid_holds(999999999, 1) < 0, "no such process: an error, not a no");
	return TAP_DONE();
}
