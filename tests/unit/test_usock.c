/*
 * Unit tests for src/lib/usock.c (issue 12): the daemon's sockets for
 * QEMU and the checks on every connect, with real sockets and a forked
 * child standing in for QEMU (it calls listen(2) on the fd it inherited, as
 * QEMU does with -chardev socket,fd=N,server=on).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/loop.h"
#include "lib/usock.h"
#include "lib/usock_retry.h"
#include "lib/util.h"
#include "tap.h"

static char dir[] = "/tmp/vms-usock.XXXXXX";
static char buf[8][256];

static const char *
path(int i, const char *name)
{
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

/* A non-blocking listener of our own at p: the "root-only service". */
static int
listener(const char *p)
{
	struct sockaddr_un sa;
	char err[512];
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (usock_addr(&sa, p, err, sizeof(err)) != 0 || s == -1 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) == -1 || listen(s, 8) == -1)
		return -1;
	return s;
}

/* Connections waiting on listener s (accepted and closed). */
static int
pending(int s)
{
	int n = 0, c;

	while ((c = accept(s, NULL, NULL)) != -1) {
		close(c);
		n++;
	}
	return n;
}

/* "QEMU": a child that listens on fd, reports through a pipe, then waits. */
static pid_t
fake_qemu(int fd)
{
	int p[2];
	char c;
	pid_t pid;

	if (pipe(p) == -1)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (listen(fd, 4) == -1 || write(p[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	if (pid == -1 || read(p[0], &c, 1) != 1)
		pid = -1;
	close(p[0]);
	return pid;
}

/* Over-long paths never reach the socket at their truncated name. */
static void
too_long(void)
{
	char trunc[sizeof(((struct sockaddr_un *)0)->sun_path)], lp[300], err[512], want[400];
	size_t n = sizeof(trunc) - 1;	/* 107: the longest name that fits */
	struct stat st0, st1;
	ino_t ino;
	int svc, fd = -1, e;

	snprintf(trunc, sizeof(trunc), "%s/", dir);
	memset(trunc + strlen(trunc), 't', n - strlen(trunc));
	trunc[n] = '\0';
	snprintf(lp, sizeof(lp), "%s%s", trunc, "-and-more");
	svc = listener(trunc);
	OK(svc >= 0 && strlen(trunc) == n, "a listener at a %zu-byte path (the most sun_path holds)",
	    strlen(trunc));
	/* Reachable by its own name: so a truncated fill would reach it too. */
	e = usock_dial(trunc, &fd, err, sizeof(err));
	OK(e == 0 && pending(svc) == 1, "usock_dial reaches it by its name (%s)", e ? err : "ok");
	if (e == 0)
		close(fd);
	snprintf(want, sizeof(want), "socket path too long (%zu bytes, at most %zu): %s",
	    strlen(lp), n, lp);

	e = usock_dial(lp, &fd, err, sizeof(err));
	OK(e == -ENAMETOOLONG, "usock_dial of its name + \"-and-more\": ENAMETOOLONG (%d)", e);
	OK_STREQ(err, want, "... the message names the whole path");
	e = usock_connect(lp, 0, &fd, err, sizeof(err));
	OK(e == -ENAMETOOLONG && USOCK_REFUSED(e), "usock_connect: ENAMETOOLONG, not retried");
	OK_STREQ(err, want, "... named");
	OK(lstat(trunc, &st0) == 0, "the socket at the truncated name is there");
	ino = st0.st_ino;
	e = usock_bind(lp, &fd, err, sizeof(err));
	OK(e == -ENAMETOOLONG, "usock_bind: ENAMETOOLONG (%d)", e);
	OK_STREQ(err, want, "... named");
	OK(lstat(trunc, &st1) == 0 && st1.st_ino == ino && S_ISSOCK(st1.st_mode),
	    "... and the socket at the truncated name was not unlinked or replaced");
	OK(pending(svc) == 0, "the listener at the truncated name saw no connection");
	close(svc);
	unlink(trunc);
	/* Nothing is created at a truncated name either. */
	e = usock_bind(lp, &fd, err, sizeof(err));
	OK(e == -ENAMETOOLONG && lstat(trunc, &st1) == -1 && errno == ENOENT,
	    "usock_bind creates nothing at the truncated name");
}

/* ---- usock_retry: connecting from the loop while a server starts ---- */

struct outcome {
	struct loop	*lp;
	int		 calls, fd, e;
	char		 err[600];
	uint64_t	 at;
};

static void
got(void *arg, int fd, int e, const char *err)
{
	struct outcome *o = arg;

	o->calls++;
	o->fd = fd;
	o->e = e;
	snprintf(o->err, sizeof(o->err), "%s", err ? err : "");
	o->at = now_ms();
	loop_stop(o->lp);
}

static void
stop_cb(struct loop *lp, void *arg)
{
	loop_stop(lp);
}

/* Run the loop until an outcome, or ms at most. */
static void
run(struct loop *lp, uint64_t ms)
{
	uint64_t t = loop_add_timer(lp, ms, stop_cb, NULL);

	loop_run(lp);
	loop_cancel_timer(lp, t);
}

struct late {
	const char	*path;
	int		 fd;
};

static void
listen_late(struct loop *lp, void *arg)
{
	struct late *l = arg;

	l->fd = listener(l->path);
}

/* symlink: a link to a live listener, svc. */
static void
retries(const char *symlink_path, int svc)
{
	struct loop *lp = loop_new();
	struct usock_retry ur = { 0 };
	struct outcome o = { .lp = lp };
	struct late l = { .fd = -1 };
	char p1[256], p2[256], want[600];
	uint64_t t0;

	snprintf(p1, sizeof(p1), "%s/late.sock", dir);
	snprintf(p2, sizeof(p2), "%s/never.sock", dir);

	/* QEMU listens only after a while: tries until then, then connects. */
	l.path = p1;
	loop_add_timer(lp, 120, listen_late, &l);
	t0 = now_ms();
	usock_retry_start(&ur, lp, p1, 0, 100, 0, 20, got, &o);
	OK(o.calls == 0 && usock_retry_busy(&ur), "busy until an outcome");
	run(lp, 5000);
	OK(o.calls == 1 && o.fd >= 0 && l.fd >= 0, "connected once the server listens (%s)",
	    !o.calls ? "no outcome" : o.fd >= 0 ? "ok" : o.err);
	OK(o.at >= t0 + 120 && pending(l.fd) == 1 && !usock_retry_busy(&ur),
	    "... after it appeared (%llu ms), one connection made",
	    (unsigned long long)(o.at - t0));
	if (o.fd >= 0)
		close(o.fd);

	/* Nobody ever listens: attempts tries, interval apart, then the outcome. */
	o.calls = 0;
	t0 = now_ms();
	usock_retry_start(&ur, lp, p2, 0, 4, 0, 40, got, &o);
	run(lp, 5000);
	snprintf(want, sizeof(want), "cannot connect to %s: %s", p2, strerror(ENOENT));
	OK(o.calls == 1 && o.fd == -1 && o.e == -ENOENT, "4 tries, none listening: ENOENT (%d)", o.e);
	OK(o.at >= t0 + 3 * 40, "... given up after 3 intervals, not before (%llu ms)",
	    (unsigned long long)(o.at - t0));
	OK_STREQ(o.err, want, "... the message names the path");

	/* A refusal ends it at the first try: a symlink is never retried. */
	o.calls = 0;
	t0 = now_ms();
	usock_retry_start(&ur, lp, symlink_path, 0, 100, 0, 1000, got, &o);
	run(lp, 5000);
	OK(o.calls == 1 && o.e == -ELOOP && o.at < t0 + 1000,
	    "a symlink: ELOOP at the first try, no retry (%d after %llu ms)", o.e,
	    (unsigned long long)(o.at - t0));
	OK(pending(svc) == 0, "... and its target saw no connection");

	/* Stopped: no outcome, nothing left in the loop. */
	o.calls = 0;
	usock_retry_start(&ur, lp, p2, 0, 100, 0, 10, got, &o);
	usock_retry_stop(&ur);
	run(lp, 150);
	OK(o.calls == 0 && !usock_retry_busy(&ur), "stopped: no outcome");

	/* Started again: the earlier attempt is abandoned, one outcome only. */
	usock_retry_start(&ur, lp, p2, 0, 100, 0, 10, got, &o);
	usock_retry_start(&ur, lp, p1, 0, 100, 0, 10, got, &o);
	OK(o.calls == 0 && pending(l.fd) == 0,
	    "no try inside the caller, even with the server listening: the first is from the loop");
	run(lp, 5000);
	OK(o.calls == 1 && o.fd >= 0 && pending(l.fd) == 1, "restarted: one outcome, the new path");
	run(lp, 150);
	OK(o.calls == 1, "... and nothing from the abandoned one");
	if (o.fd >= 0)
		close(o.fd);
	close(l.fd);
	unlink(p1);
	loop_free(lp);
}

/*
 * usock_connect_owned (vmctl attach): a socket someone else made, reached
 * only through directories and links root or we own, only when owned by
 * the QEMU's uid or root. buf[0] is served by the fake QEMU q.
 */
static void
owned(pid_t q)
{
	char err[512], via[320], lnk[300];
	int c = -1, e;

	e = usock_connect_owned(buf[0], q, 4242, &c, err, sizeof(err));
	OK(e == 0, "owned: root's socket, the QEMU its listener (%s)", e ? err : "ok");
	if (e == 0)
		close(c);
	if (geteuid() != 0) {
		printf("ok - owned: chown checks # SKIP not root\n");
		return;
	}
	OK(chown(buf[0], 4242, 4242) == 0, "owned: the socket becomes uid 4242's");
	e = usock_connect_owned(buf[0], q, 4242, &c, err, sizeof(err));
	OK(e == 0, "owned: the QEMU's uid's socket (%s)", e ? err : "ok");
	if (e == 0)
		close(c);
	e = usock_connect_owned(buf[0], q, 4343, &c, err, sizeof(err));
	OK(e == -EPERM && strstr(err, "owned by uid 4242, neither by uid 4343 nor root"),
	    "owned: another user's socket refused: %s", err);
	OK(chown(buf[0], 0, 0) == 0, "owned: root's again");
	snprintf(lnk, sizeof(lnk), "%s/dirlink", dir);
	snprintf(via, sizeof(via), "%s/v.qmp", lnk);
	OK(symlink(dir, lnk) == 0, "owned: a directory symlink to it");
	e = usock_connect_owned(via, q, 4242, &c, err, sizeof(err));
	OK(e == 0, "owned: through root's own link (%s)", e ? err : "ok");
	if (e == 0)
		close(c);
	OK(lchown(lnk, 4242, 4242) == 0, "owned: the link becomes uid 4242's");
	e = usock_connect_owned(via, q, 4242, &c, err, sizeof(err));
	OK(e == -ELOOP, "owned: through another user's link refused (%d: %s)", e, err);
	unlink(lnk);
}

int
main(void)
{
	char err[512], longp[200];
	struct stat st;
	int fd = -1, c = -1, svc, e;
	pid_t q;

	if (!mkdtemp(dir)) {
		printf("not ok - mkdtemp\n");
		return 1;
	}

	/* Bound by the daemon: a socket only it may connect to, not listening yet. */
	e = usock_bind(path(0, "v.qmp"), &fd, err, sizeof(err));
	OK(e == 0, "bind run_dir/v.qmp (%s)", e ? err : "ok");
	OK(lstat(buf[0], &st) == 0 && S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == 0600,
	    "a socket, mode 0600 (got %o)", (unsigned)st.st_mode & 0777);
	OK(fcntl(fd, F_GETFD) == FD_CLOEXEC, "close-on-exec until handed to QEMU");
	e = usock_connect(buf[0], 0, &c, err, sizeof(err));
	OK(e == -ECONNREFUSED && !USOCK_REFUSED(e), "nobody listening yet: ECONNREFUSED, "
	    "worth retrying (%d)", e);

	/* QEMU listens on the fd it got: it is the peer the daemon sees. */
	q = fake_qemu(fd);
	close(fd);
	OK(q > 0, "the fake QEMU listens");
	e = usock_connect(buf[0], q, &c, err, sizeof(err));
	OK(e == 0, "connect to the VM's QEMU (%s)", e ? err : "ok");
	if (e == 0)
		close(c);
	e = usock_connect(buf[0], getpid(), &c, err, sizeof(err));
	OK(e == -EPERM && USOCK_REFUSED(e), "a listener that is not the VM's QEMU: EPERM");
	OK(strstr(err, "is served by pid") && strstr(err, "not connecting"), "... named: %s", err);

	/* The daemon listening itself would be its own peer: never accepted. */
	e = usock_bind(path(1, "self.sock"), &fd, err, sizeof(err));
	OK(e == 0 && listen(fd, 4) == 0, "a listener of the daemon's own");
	e = usock_connect(buf[1], q, &c, err, sizeof(err));
	OK(e == -EPERM, "refused when the QEMU pid is expected (%d)", e);
	close(fd);

	/* A root-only service, and links to it planted where a socket was. */
	svc = listener(path(2, "victim.sock"));
	OK(svc >= 0, "a root-only service listens");
	OK(symlink(buf[2], path(3, "v.serial")) == 0, "plant a symlink v.serial -> victim");
	e = usock_connect(buf[3], 0, &c, err, sizeof(err));
	OK(e == -ELOOP && USOCK_REFUSED(e), "the symlink is refused: ELOOP (%d)", e);
	OK_STREQ(err, strcat(strcpy(longp, buf[3]), ": a symlink; not connecting"), "... named");
	OK(link(buf[2], path(4, "v.hmp")) == 0, "plant a hard link v.hmp = victim");
	e = usock_connect(buf[4], 0, &c, err, sizeof(err));
	OK(e == -EMLINK && USOCK_REFUSED(e), "the second link is refused: EMLINK (%d)", e);
	OK(pending(svc) == 0, "the service never saw a connection");
	retries(buf[3], svc);
	/* (The daemon's connect with the pid check, through the same links, as well.) */
	OK(usock_connect(buf[3], q, &c, err, sizeof(err)) == -ELOOP &&
	    usock_connect(buf[4], q, &c, err, sizeof(err)) == -EMLINK && pending(svc) == 0,
	    "with a peer to check: refused before connecting too");

	/* Not a socket, missing, too long. */
	fd = open(path(5, "file"), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	close(fd);
	e = usock_connect(buf[5], 0, &c, err, sizeof(err));
	OK(e == -ENOTSOCK && USOCK_REFUSED(e), "a regular file: ENOTSOCK (%d)", e);
	e = usock_connect(path(6, "missing"), 0, &c, err, sizeof(err));
	OK(e == -ENOENT && !USOCK_REFUSED(e), "missing: ENOENT, worth retrying (%d)", e);
	memset(longp, 'x', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	longp[0] = '/';
	OK(usock_connect(longp, 0, &c, err, sizeof(err)) == -ENAMETOOLONG &&
	    usock_bind(longp, &fd, err, sizeof(err)) == -ENAMETOOLONG, "too long: ENAMETOOLONG");

	/*
	 * A path one byte too long for sun_path, whose first 107 bytes name a
	 * live socket: a truncating fill would reach that socket. Every entry
	 * point must refuse with ENAMETOOLONG naming the whole path instead.
	 */
	too_long();

	/* Binding over a planted link removes the link, never its target. */
	OK(symlink(buf[5], path(7, "w.qmp")) == 0, "plant w.qmp -> a file");
	e = usock_bind(buf[7], &fd, err, sizeof(err));
	OK(e == 0 && lstat(buf[7], &st) == 0 && S_ISSOCK(st.st_mode), "bind replaces the link");
	OK(lstat(buf[5], &st) == 0 && S_ISREG(st.st_mode), "... and leaves the target alone");
	close(fd);

	owned(q);

	kill(q, SIGKILL);
	waitpid(q, NULL, 0);
	close(svc);
	for (int i = 0; i < 8; i++)
		unlink(buf[i]);
	rmdir(dir);
	return TAP_DONE();
}
