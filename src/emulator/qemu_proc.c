/* fork/exec, pidfd, signals and wait statuses for QEMU processes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "emulator/qemu_child.h"
#include "emulator/qemu_proc.h"

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
child(char *const argv[], int logfd, const sigset_t *mask, const struct qchild *qc)
{
	static const char pre[] = "vmserviced: cannot execute ";
	const char *msg;
	int null;

	setsid();
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null == -1 || dup2(null, 0) == -1 || dup2(logfd, 1) == -1 ||
	    dup2(logfd, 2) == -1)
		_exit(126);
	sigprocmask(SIG_SETMASK, mask, NULL);
	qchild_prepare(qc);
	execv(argv[0], argv);
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
	return qproc_spawn_fds(argv, logpath, child_mask, NULL, pid, pidfd, err, errlen);
}

int
qproc_spawn_fds(char *const argv[], const char *logpath, const sigset_t *child_mask,
    const struct qchild *qc, pid_t *pid, int *pidfd, char *err, size_t errlen)
{
	int logfd, fd, e;
	pid_t p;

	logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (logfd == -1) {
		e = errno;
		snprintf(err, errlen, "cannot open %s: %s", logpath, strerror(e));
		return -e;
	}
	p = fork();
	if (p == -1) {
		e = errno;
		close(logfd);
		snprintf(err, errlen, "fork: %s", strerror(e));
		return -e;
	}
	if (p == 0)
		child(argv, logfd, child_mask, qc);
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

void
qproc_describe(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "signal %d", WTERMSIG(status));
	else
		snprintf(buf, len, "status %#x", status);
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

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || st.st_size == 0) {
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

bool
qproc_cmdline_has_name(pid_t pid, const char *name)
{
	char path[64], buf[65536];
	size_t nl = strlen(name), i;
	bool prev_name = false;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	for (i = 0; i < (size_t)n; i += strlen(buf + i) + 1) {
		const char *a = buf + i;
		if (prev_name && strncmp(a, name, nl) == 0 && (a[nl] == 0 || a[nl] == ','))
			return true;
		if (strncmp(a, "guest=", 6) == 0 && prev_name &&
		    strncmp(a + 6, name, nl) == 0 && (a[6 + nl] == 0 || a[6 + nl] == ','))
			return true;
		prev_name = strcmp(a, "-name") == 0;
	}
	return false;
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
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EINVAL;
	buf[n] = 0;
	v = strtol(buf, &end, 10);
	if (v <= 1 || (*end && *end != '\n'))
		return -EINVAL;
	*pid = (pid_t)v;
	return 0;
}
