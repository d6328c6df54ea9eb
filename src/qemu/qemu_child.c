/* Between fork and exec of QEMU: see qemu_child.h. Async-signal-safe only. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/child.h"
#include "qemu/qemu_child.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static void
say(const char *s)
{
	if (write(2, s, strlen(s)) < 0)
		return;
}

static void
say_num(long n)
{
	char b[24];
	int i = (int)sizeof(b);

	b[--i] = '\0';
	if (n < 0)
		n = -n;
	do
		b[--i] = (char)('0' + n % 10);
	while ((n /= 10) && i > 0);
	say(b + i);
}

void
qchild_check_dirs(const struct qchild *qc)
{
	for (size_t i = 0; qc && i < qc->qc_n_dirs; i++) {
		if (access(qc->qc_dirs[i], R_OK | X_OK) == 0)
			continue;
		say("vmserviced: tftp directory ");
		say(qc->qc_dirs[i]);
		say(": ");
		say(strerror(errno));
		say(" (as the VM's QEMU user)\n");
		_exit(QCHILD_CMD_FAILED);
	}
}

static void __attribute__((noreturn))
fail(const struct qchild_cmd *c, const char *how, long n, const char *tail)
{
	say("vmserviced: ");
	say(c->cc_what);
	say(" failed (");
	say(how);
	if (n >= 0)
		say_num(n);
	say(tail);
	say(")\n");
	_exit(QCHILD_CMD_FAILED);
}

/* Run one command and wait for it, at most timeout_ms. */
static void
run(const struct qchild_cmd *c, unsigned timeout_ms)
{
	struct pollfd pfd = { .events = POLLIN };
	int st, r;
	pid_t pid = fork();

	if (pid == -1)
		fail(c, "fork: error ", errno, "");
	if (pid == 0) {
		/* Its own group: the timeout kills what the script started too. */
		setpgid(0, 0);
		umask(CHILD_UMASK_SCRIPT);
		execve(c->cc_argv[0], c->cc_argv, c->cc_envp ? c->cc_envp : child_env());
		_exit(127);
	}
	setpgid(pid, pid);	/* (either side may run first) */
	pfd.fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd.fd >= 0) {
		do
			r = poll(&pfd, 1, (int)timeout_ms);
		while (r == -1 && errno == EINTR);
		if (r == 0) {
			if (kill(-pid, SIGKILL) == -1)
				kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			fail(c, "still running after ", (long)timeout_ms / 1000, " s, killed");
		}
		close(pfd.fd);
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			fail(c, "waitpid: error ", errno, "");
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return;
	if (WIFEXITED(st))
		fail(c, "exit ", WEXITSTATUS(st), WEXITSTATUS(st) == 127 ? ": cannot execute" : "");
	fail(c, "signal ", WIFSIGNALED(st) ? WTERMSIG(st) : -1, "");
}

/*
 * The daemon creates taps and passes their fds (issue 7), so QEMU never
 * needs CAP_NET_ADMIN, even when it stays root (no runas switch): drop it
 * from the bounding, ambient and inheritable sets so the exec'd program
 * cannot hold it. Raw prctl/capget/capset: async-signal-safe. Best effort:
 * a daemon without CAP_SETPCAP cannot shrink the bounding set, but then it
 * is not root-with-everything either. qpriv_drop() later drops the rest.
 */
static int
drop_net_admin(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	int rc = 0;

	/*
	 * execve gives root P'(permitted) = bounding | inheritable | ambient
	 * (file capabilities of root are "all"): clear the bit in all three.
	 */
	if (prctl(PR_CAPBSET_DROP, CAP_NET_ADMIN, 0, 0, 0) == -1)
		rc = -errno;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, CAP_NET_ADMIN, 0, 0) == -1 &&
	    errno != EINVAL && !rc)
		rc = -errno;
	if (syscall(SYS_capget, &h, d) == -1)
		return rc ? rc : -errno;
	d[CAP_TO_INDEX(CAP_NET_ADMIN)].inheritable &= ~CAP_TO_MASK(CAP_NET_ADMIN);
	if (syscall(SYS_capset, &h, d) == -1 && !rc)
		rc = -errno;
	return rc;
}

/* Wait until the daemon has put us in the VM's scope or cgroup. */
static void
gate(int fd)
{
	static const char msg[] = "vmserviced: the daemon went away before the VM's scope "
	    "was made\n";
	char c;
	ssize_t n;

	do
		n = read(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1) {
		if (write(2, msg, sizeof(msg) - 1) < 0)
			_exit(126);
		_exit(126);
	}
}

void
qchild_prepare(const struct qchild *qc)
{
	if (qc && qc->qc_gate > 0)
		gate(qc->qc_gate);
	for (size_t i = 0; qc && i < qc->qc_n_cmds; i++)
		run(&qc->qc_cmds[i], qc->qc_timeout_ms);
	/* After the commands: the scripts need not see the tap fds. */
	if (qc && child_pass(qc->qc_keep, qc->qc_n_keep) != 0)
		_exit(126);
	/* Not QEMU's: closed by exec. */
	if (qc && qc->qc_gate > 0 && fcntl(qc->qc_gate, F_SETFD, FD_CLOEXEC) == -1)
		_exit(126);
	/* After the commands too: an ifup script may need CAP_NET_ADMIN. */
	drop_net_admin();
}
