/* qemu_proc with real processes (not QEMU): spawn, pidfd, signal, reap, log tail. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emulator/qemu_proc.h"
#include "tap.h"

static int
wait_exit(pid_t pid, int pidfd, int *status)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	if (poll(&p, 1, 5000) != 1)
		return -1;
	return qproc_reap(pid, status);
}

int
main(void)
{
	char dir[] = "/tmp/test_qproc.XXXXXX", log[256], err[256], *tail;
	char *echo[] = { "/bin/echo", "hello from the child", NULL };
	char *sleeper[] = { "/bin/sleep", "30", NULL };
	char *missing[] = { "/nonexistent/qemu-system-x86_64", "-name", "x", NULL };
	sigset_t mask;
	pid_t pid;
	int pidfd, status, fd;

	sigemptyset(&mask);
	if (!mkdtemp(dir))
		return 1;
	snprintf(log, sizeof(log), "%s/vm.qemu.log", dir);

	OK(qproc_spawn(echo, log, &mask, &pid, &pidfd, err, sizeof(err)) == 0, "spawn echo");
	OK(wait_exit(pid, pidfd, &status) == 1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "pidfd fires and the exit status is reaped");
	close(pidfd);
	tail = qproc_log_tail(log, 0, 2000);
	OK_STREQ(tail, "hello from the child", "stdout appended to the log");
	free(tail);

	off_t off = qproc_log_size(log);
	OK(qproc_spawn(missing, log, &mask, &pid, &pidfd, err, sizeof(err)) == 0,
	    "spawn of a missing binary forks fine");
	OK(wait_exit(pid, pidfd, &status) == 1 && WEXITSTATUS(status) == 127, "exec failure: exit 127");
	close(pidfd);
	tail = qproc_log_tail(log, off, 2000);
	OK(tail && strstr(tail, "cannot execute /nonexistent/qemu-system-x86_64: No such file") &&
	    !strstr(tail, "hello"), "exec failure named in the log, earlier runs left out: %s",
	    tail ? tail : "(null)");
	free(tail);
	OK(qproc_log_tail(log, qproc_log_size(log), 2000) == NULL, "nothing new: no tail");

	OK(qproc_spawn(sleeper, log, &mask, &pid, &pidfd, err, sizeof(err)) == 0, "spawn sleep");
	for (int i = 0; i < 100 && getsid(pid) != pid; i++)
		usleep(10000);	/* the child calls setsid() right after fork */
	OK(getsid(pid) == pid, "child is in its own session");
	OK(qproc_signal(pid, pidfd, SIGTERM) == 0, "SIGTERM through the pidfd");
	OK(wait_exit(pid, pidfd, &status) == 1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM,
	    "killed by SIGTERM");
	OK(qproc_signal(pid, pidfd, SIGKILL) == -ESRCH, "signal after reaping: ESRCH, no PID reuse race");
	close(pidfd);
	{
		char b[32];
		qproc_describe(status, b, sizeof(b));
		OK_STREQ(b, "signal 15", "wait status described");
	}

	/* A log that is a symlink is refused (O_NOFOLLOW). */
	snprintf(err, sizeof(err), "%s/link.log", dir);
	OK(symlink("/etc/passwd", err) == 0, "symlink made");
	OK(qproc_spawn(echo, err, &mask, &pid, &pidfd, log, sizeof(log)) == -ELOOP,
	    "symlinked log refused");

	/* The long tail starts at a line boundary. */
	snprintf(log, sizeof(log), "%s/big.log", dir);
	fd = open(log, O_WRONLY | O_CREAT, 0644);
	for (int i = 0; i < 1000; i++)
		dprintf(fd, "line %d\n", i);
	close(fd);
	tail = qproc_log_tail(log, 0, 100);
	OK(tail && strncmp(tail, "line ", 5) == 0 && strstr(tail, "line 999") &&
	    tail[strlen(tail) - 1] == '9', "tail cut at a line start: %.20s...", tail ? tail : "");
	free(tail);

	OK(qproc_cmdline_has_name(getpid(), "nosuchname") == false, "cmdline check: no -name here");
	{
		uint64_t age = 0;
		OK(qproc_age_ms(getpid(), &age) == 0 && age < 60000, "own age from /proc: %llu ms",
		    (unsigned long long)age);
		OK(qproc_age_ms(1, &age) == 0 && age > 0, "pid 1 is older");
	}
	{
		char *rm[] = { "/bin/rm", "-rf", dir, NULL };
		snprintf(log, sizeof(log), "/dev/null");
		if (qproc_spawn(rm, log, &mask, &pid, &pidfd, err, sizeof(err)) == 0) {
			wait_exit(pid, pidfd, &status);
			close(pidfd);
		}
	}
	return TAP_DONE();
}
