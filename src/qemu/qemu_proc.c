/* fork/exec, pidfd, signals and wait statuses for QEMU processes. */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/child.h"
#include "lib/util.h"
#include "qemu/qemu_child.h"
#include "qemu/qemu_priv.h"
#include "qemu/qemu_proc.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

int
qproc_pidfd_open(pid_t pid)
{
	/* glibc 2.36 has a wrapper, but the raw call works everywhere. */
	long fd = syscall(SYS_pidfd_open, pid, 0);

	if (fd < 0)
		return -errno;
	if (fcntl((int)fd, F_SETFD, FD_CLOEXEC) == -1) {
		int e = errno;
		close((int)fd);
		return -e;
	}
	return (int)fd;
}

int
qproc_signal(pid_t pid, int pidfd, int sig)
{
	if (pidfd >= 0) {
		if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) == 0)
			return 0;
		if (errno != ENOSYS)
			return -errno;
	}
	if (pid <= 0)
		return -ESRCH;
	return kill(pid, sig) == -1 ? -errno : 0;
}

/* In the child, between fork and exec: only async-signal-safe calls. */
static void __attribute__((noreturn))
child(char *const argv[], int logfd, const sigset_t *mask, const struct qchild *qc,
    const struct qpriv *priv)
{
	static const char pre[] = "vmserviced: cannot execute ";
	static const char pre_priv[] = "vmserviced: cannot drop privileges: ";
	static const char pre_clean[] = "vmserviced: cannot clean up the child: ";
	const char *msg, *step = "";
	int null, e;

	setsid();
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null == -1 || dup2(null, 0) == -1 || dup2(logfd, 1) == -1 ||
	    dup2(logfd, 2) == -1)
		_exit(126);
	/* Nothing of the daemon's caller: only the fds passed on purpose (issue 12). */
	if ((e = child_clean(qc ? qc->qc_keep : NULL, qc ? qc->qc_n_keep : 0,
	    CHILD_UMASK_QEMU, mask)) != 0) {
		msg = strerror(-e);
		if (write(2, pre_clean, sizeof(pre_clean) - 1) < 0 ||
		    write(2, msg, strlen(msg)) < 0 || write(2, "\n", 1) < 0)
			_exit(126);
		_exit(126);
	}
	/* Scripts and fds first: the scripts may need the daemon's privileges. */
	qchild_prepare(qc);
	if (priv && (e = qpriv_drop(priv, &step)) != 0) {
		msg = strerror(-e);
		if (write(2, pre_priv, sizeof(pre_priv) - 1) < 0 || write(2, step, strlen(step)) < 0 ||
		    write(2, ": ", 2) < 0 || write(2, msg, strlen(msg)) < 0 || write(2, "\n", 1) < 0)
			_exit(126);
		_exit(126);
	}
	qchild_check_dirs(qc);
	execve(argv[0], argv, child_env());
	msg = strerror(errno);
	if (write(2, pre, sizeof(pre) - 1) < 0 || write(2, argv[0], strlen(argv[0])) < 0 ||
	    write(2, ": ", 2) < 0 || write(2, msg, strlen(msg)) < 0 || write(2, "\n", 1) < 0)
		_exit(127);
	_exit(127);
}

int
qproc_spawn(char *const argv[], const char *logpath, const sigset_t *child_mask,
    pid_t *pid, int *pidfd, char *err, size_t errlen)
{
	return qproc_spawn_vm(argv, logpath, child_mask, NULL, NULL, pid, pidfd, err, errlen);
}

/*
 * The log QEMU's stdout and stderr go to: a regular file only, opened
 * O_NONBLOCK (opening a FIFO for writing waits for a reader, and the
 * daemon's loop must not), then made blocking again for QEMU.
 */
static int
open_log(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd, fl, e;

	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY |
	    O_NONBLOCK, 0640);
	if (fd == -1) {
		e = errno;
		/* ENXIO: a FIFO without a reader (or a device without its driver). */
		snprintf(err, errlen, "cannot open %s: %s", path,
		    e == ENXIO ? "not a regular file" : strerror(e));
		return -e;
	}
	if (fstat(fd, &st) == -1 || (fl = fcntl(fd, F_GETFL)) == -1 ||
	    (S_ISREG(st.st_mode) && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1)) {
		e = errno;
		close(fd);
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(e));
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(err, errlen, "cannot open %s: not a regular file", path);
		return -EINVAL;
	}
	return fd;
}

int
qproc_spawn_vm(char *const argv[], const char *logpath, const sigset_t *child_mask,
    const struct qchild *qc, const struct qpriv *priv, pid_t *pid, int *pidfd,
    char *err, size_t errlen)
{
	int logfd, fd, e;
	pid_t p;

	if ((logfd = open_log(logpath, err, errlen)) < 0)
		return logfd;
	p = fork();
	if (p == -1) {
		e = errno;
		close(logfd);
		snprintf(err, errlen, "fork: %s", strerror(e));
		return -e;
	}
	if (p == 0)
		child(argv, logfd, child_mask, qc, priv);
	close(logfd);
	fd = qproc_pidfd_open(p);
	if (fd < 0) {
		/* Cannot watch it: do not leave an unsupervised QEMU behind. */
		kill(p, SIGKILL);
		waitpid(p, NULL, 0);
		snprintf(err, errlen, "pidfd_open: %s", strerror(-fd));
		return fd;
	}
	*pid = p;
	*pidfd = fd;
	return 0;
}

int
qproc_reap(pid_t pid, int *status)
{
	pid_t r;

	do
		r = waitpid(pid, status, WNOHANG);
	while (r == -1 && errno == EINTR);
	if (r == -1)
		return -errno;
	return r == pid ? 1 : 0;
}

off_t
qproc_log_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : 0;
}

char *
qproc_log_tail(const char *path, off_t from, size_t max)
{
	struct stat st;
	char *buf, *s;
	off_t off;
	ssize_t n;
	int fd;

	/* O_NONBLOCK, a regular file only: a FIFO would hold the loop. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size == 0) {
		close(fd);
		return NULL;
	}
	off = st.st_size > (off_t)max ? st.st_size - (off_t)max : 0;
	if (off < from) {
		if (from >= st.st_size) {
			close(fd);
			return NULL;
		}
		off = from;
		max = (size_t)(st.st_size - from);
		from = -1;	/* starts at a line: keep the first one */
	}
	buf = xmalloc(max + 1);
	n = pread(fd, buf, max, off);
	close(fd);
	if (n <= 0) {
		free(buf);
		return NULL;
	}
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '\r'))
		buf[--n] = 0;
	s = buf;
	if (off > 0 && from != -1 && (s = strchr(buf, '\n')) != NULL)
		s++;
	else
		s = buf;
	if (!*s) {
		free(buf);
		return NULL;
	}
	s = xstrdup(s);
	free(buf);
	return s;
}

int
qproc_ident_from_argv(char *const argv[], struct qproc_ident *id)
{
	size_t i;

	memset(id, 0, sizeof(*id));
	if (!argv[0])
		return -EINVAL;
	id->qi_exe = argv[0];
	for (i = 1; argv[i] && argv[i + 1]; i++) {
		if (strcmp(argv[i], "-name") == 0)
			id->qi_name = argv[i + 1];
		else if (strcmp(argv[i], "-pidfile") == 0)
			id->qi_pidfile = argv[i + 1];
	}
	return id->qi_name && id->qi_pidfile ? 0 : -EINVAL;
}

/* path with symlinks resolved; a missing file by its resolved directory. */
static int
resolve(const char *path, char *out, size_t len)
{
	char dir[PATH_MAX], rdir[PATH_MAX];
	const char *base;

	if (realpath(path, rdir)) {
		if (strlen(rdir) >= len)
			return -ENAMETOOLONG;
		memcpy(out, rdir, strlen(rdir) + 1);
		return 0;
	}
	base = strrchr(path, '/');
	if (!base || (size_t)(base - path) >= sizeof(dir))
		return -ENOENT;
	memcpy(dir, path, (size_t)(base - path));
	dir[base - path] = 0;
	if (!realpath(dir[0] ? dir : "/", rdir))
		return -errno;
	if (xsnprintf(out, len, "%s/%s", strcmp(rdir, "/") == 0 ? "" : rdir, base + 1))
		return -ENAMETOOLONG;
	return 0;
}

bool
qproc_exe_matches(const char *link, const char *path)
{
	static const char deleted[] = " (deleted)";
	char want[PATH_MAX];
	size_t n;

	if (resolve(path, want, sizeof(want)) != 0)
		return false;
	n = strlen(want);
	if (strncmp(link, want, n) != 0)
		return false;
	return link[n] == 0 || strcmp(link + n, deleted) == 0;
}

/* "Uid:" / "Gid:" real ids of pid, from /proc/PID/status. */
static int
proc_ids(pid_t pid, uid_t *uid, gid_t *gid)
{
	char path[64], line[256];
	unsigned long u = 0, g = 0;
	int got = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (!(fp = fopen(path, "re")))
		return -errno;
	while (fgets(line, sizeof(line), fp)) {
		if (sscanf(line, "Uid: %lu", &u) == 1)
			got |= 1;
		else if (sscanf(line, "Gid: %lu", &g) == 1)
			got |= 2;
	}
	fclose(fp);
	if (got != 3)
		return -EINVAL;
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	return 0;
}

int
qproc_ids(pid_t pid, uid_t *uid, gid_t *gid)
{
	return proc_ids(pid, uid, gid);
}

/*
 * readlink /proc/PID/exe. A QEMU running as its runas user is another
 * user's process: rather than keep CAP_SYS_PTRACE, the daemon looks with
 * that user's filesystem ids (the /proc check uses them, and setfsuid only
 * needs the CAP_SETUID we keep for runas anyway).
 */
static int
proc_link(pid_t pid, const char *what, char *buf, size_t len)
{
	char path[96];
	ssize_t n;
	uid_t uid = 0, ouid;
	gid_t gid = 0, ogid;
	int e;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	n = readlink(path, buf, len - 1);
	if (n == -1 && (errno == EACCES || errno == EPERM) && proc_ids(pid, &uid, &gid) == 0) {
		ogid = (gid_t)setfsgid(gid);
		ouid = (uid_t)setfsuid(uid);
		n = readlink(path, buf, len - 1);
		e = errno;
		setfsuid(ouid);
		setfsgid(ogid);
		errno = e;
	}
	if (n == -1)
		return -errno;
	buf[n] = 0;
	return 0;
}

/* The argument after opt in a NUL-separated cmdline, or NULL. */
static const char *
arg_after(const char *buf, size_t n, const char *opt)
{
	size_t i, l;

	for (i = 0; i < n; i += l + 1) {
		l = strlen(buf + i);
		if (strcmp(buf + i, opt) == 0 && i + l + 1 < n)
			return buf + i + l + 1;
	}
	return NULL;
}

/* /proc/PID/cmdline (NUL-separated, at most 256 KiB): 0 with *buf, *n set, or -errno. */
static int
read_cmdline(pid_t pid, char **buf, size_t *n)
{
	size_t max = 256 * 1024;
	char path[64];
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -errno;
	*buf = xmalloc(max + 1);
	*n = 0;
	while (*n < max && (r = read(fd, *buf + *n, max - *n)) != 0) {
		if (r == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		*n += (size_t)r;
	}
	close(fd);
	(*buf)[*n] = 0;
	return 0;
}

int
qproc_cmdline(pid_t pid, struct strv *out)
{
	char *buf;
	size_t n, i;
	int e = read_cmdline(pid, &buf, &n);

	if (e)
		return e;
	for (i = 0; i < n; i += strlen(buf + i) + 1)
		strv_push(out, buf + i);
	free(buf);
	return n ? 0 : -ESRCH;	/* empty: a zombie */
}

int
qproc_check_ident(pid_t pid, const struct qproc_ident *id, char *why, size_t len)
{
	char path[64], exe[PATH_MAX + 16], *buf;
	const char *a;
	size_t n = 0;
	int e;

	if (pid <= 1 || (kill(pid, 0) == -1 && errno == ESRCH)) {
		snprintf(why, len, "pid %d is not running", (int)pid);
		return -ESRCH;
	}
	if ((e = proc_link(pid, "exe", exe, sizeof(exe))) != 0) {
		snprintf(why, len, "pid %d: cannot read its executable: %s", (int)pid,
		    strerror(-e));
		return e == -ENOENT ? -ESRCH : e;
	}
	if (!qproc_exe_matches(exe, id->qi_exe)) {
		snprintf(why, len, "pid %d runs %s, not %s", (int)pid, exe, id->qi_exe);
		return -EPERM;
	}
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	if ((e = read_cmdline(pid, &buf, &n)) != 0) {
		snprintf(why, len, "pid %d: %s: %s", (int)pid, path, strerror(-e));
		return e == -ENOENT ? -ESRCH : e;
	}
	if (!(a = arg_after(buf, n, "-name")) || strcmp(a, id->qi_name) != 0) {
		snprintf(why, len, "pid %d is not QEMU with -name %s", (int)pid, id->qi_name);
		e = -EPERM;
	} else if (!(a = arg_after(buf, n, "-pidfile")) || strcmp(a, id->qi_pidfile) != 0) {
		snprintf(why, len, "pid %d is not QEMU with -pidfile %s", (int)pid, id->qi_pidfile);
		e = -EPERM;
	}
	free(buf);
	return e;
}

int
qproc_lock(const char *path, int *fd)
{
	struct stat st;
	int f, e, tries = 0;

again:
	/*
	 * Read-only: flock needs no more, and QEMU inherits this fd, so a
	 * planted file must not become writable through it.
	 */
	f = open(path, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
	    0600);
	if (f == -1)
		return -errno;
	if (fstat(f, &st) == -1) {
		e = errno;
		close(f);
		return -e;
	}
	/*
	 * Planted by someone else (a QEMU user may write to run_dir) to hold
	 * it against us: not our lock. Ours are never someone else's, so
	 * removing it cannot break a real lock. A second hard link (issue
	 * 12) makes it another file, maybe root's, that QEMU would inherit.
	 */
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || st.st_nlink != 1) {
		close(f);
		if (tries++ || (unlink(path) == -1 && errno != ENOENT))
			return -EPERM;
		goto again;
	}
	while (flock(f, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EINTR)
			continue;
		e = errno;
		close(f);
		return e == EWOULDBLOCK ? -EWOULDBLOCK : -e;
	}
	*fd = f;
	return 0;
}

int
qproc_age_ms(pid_t pid, uint64_t *age)
{
	char path[64], buf[1024], *p;
	unsigned long long start;
	double up;
	long hz = sysconf(_SC_CLK_TCK);
	ssize_t n;
	int fd, i;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0 || hz <= 0)
		return -EINVAL;
	buf[n] = 0;
	/* comm may hold spaces and parens: fields restart after the last ')'. */
	p = strrchr(buf, ')');
	if (!p)
		return -EINVAL;
	/* p+2 is field 3 (state); starttime is field 22. */
	for (p += 2, i = 3; i < 22 && p; i++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p || sscanf(p, "%llu", &start) != 1)
		return -EINVAL;
	fp = fopen("/proc/uptime", "re");
	if (!fp)
		return -errno;
	i = fscanf(fp, "%lf", &up);
	fclose(fp);
	if (i != 1)
		return -EINVAL;
	up = up * 1000.0 - (double)start * 1000.0 / (double)hz;
	*age = up > 0 ? (uint64_t)up : 0;
	return 0;
}

int
qproc_read_pidfile(const char *path, pid_t *pid)
{
	char buf[32];
	ssize_t n;
	long v;
	char *end;

	/* A regular file only: a FIFO would hold the loop. */
	n = file_read_small(path, O_NOFOLLOW, buf, sizeof(buf));
	if (n < 0 && n != -EINVAL)
		return (int)n;
	if (n <= 0)
		return -EINVAL;
	v = strtol(buf, &end, 10);
	if (v <= 1 || (*end && *end != '\n'))
		return -EINVAL;
	*pid = (pid_t)v;
	return 0;
}

int
qproc_exe(pid_t pid, char *buf, size_t len)
{
	return proc_link(pid, "exe", buf, len);
}

int
qproc_link(pid_t pid, const char *what, char *buf, size_t len)
{
	return proc_link(pid, what, buf, len);
}
