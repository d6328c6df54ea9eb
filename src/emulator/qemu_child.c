/* Between fork and exec of QEMU: see qemu_child.h. Async-signal-safe only. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emulator/qemu_child.h"
#include "emulator/qemu_priv.h"

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
		execv(c->cc_argv[0], c->cc_argv);
		_exit(127);
	}
	pfd.fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd.fd >= 0) {
		do
			r = poll(&pfd, 1, (int)timeout_ms);
		while (r == -1 && errno == EINTR);
		if (r == 0) {
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

void
qchild_prepare(const struct qchild *qc)
{
	for (size_t i = 0; qc && i < qc->qc_n_cmds; i++)
		run(&qc->qc_cmds[i], qc->qc_timeout_ms);
	/* After the commands: the scripts need not see the tap fds. */
	for (size_t i = 0; qc && i < qc->qc_n_keep; i++)
		if (fcntl(qc->qc_keep[i], F_SETFD, 0) == -1)
			_exit(126);
	/* After the commands too: an ifup script may need CAP_NET_ADMIN. */
	qpriv_drop_net_admin();
}
