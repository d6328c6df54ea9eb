/*
 * child_clean() / child_pass() in a real forked child (issue 12): every fd
 * but the kept ones closed (kept ones given in any order, with gaps and a
 * high one), ignored signals back to default, the mask given, cwd "/", the
 * umask; exec passes exactly the kept fds. The child reports what it sees
 * through a pipe kept on purpose.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/child.h"
#include "tap.h"

/* In the child: which of fds 0..max are open, as "0 1 2 5 ..." on out. */
static void
report(int out, int max)
{
	char buf[4096];
	size_t n = 0;

	for (int fd = 0; fd <= max; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%d ", fd);
	if (write(out, buf, n) < 0)
		_exit(3);
}

static char *
read_all(int fd)
{
	static char buf[8192];
	size_t n = 0;
	ssize_t r;

	while ((r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = 0;
	return buf;
}

int
main(void)
{
	int p[2], a, b, c, high, keep[3], st;
	char want[128], *got;
	struct sigaction sa;
	sigset_t mask;
	pid_t pid;

	/* Leaks a careless parent might have: plain fds, one far up. */
	a = open("/dev/null", O_RDONLY);		/* not close-on-exec */
	b = open("/dev/null", O_RDONLY);
	c = open("/dev/null", O_RDONLY | O_CLOEXEC);
	high = dup2(a, 300);
	if (pipe(p) == -1 || a < 0 || b < 0 || c < 0 || high != 300)
		return 1;
	OK(chdir("/tmp") == 0, "parent in /tmp");
	umask(0);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);

	/* Kept: the pipe's write end and b, given out of order; a, c, 300, p[0] go. */
	keep[0] = b;
	keep[1] = p[1];
	keep[2] = -1;	/* ignored */
	pid = fork();
	if (pid == 0) {
		sigset_t cur;
		char cwd[64];

		if (child_clean(keep, 3, 077, &mask) != 0)
			_exit(2);
		report(p[1], 310);
		sigaction(SIGPIPE, NULL, &sa);
		sigprocmask(SIG_SETMASK, NULL, &cur);
		dprintf(p[1], "| sigpipe %s | usr1 %s | cwd %s | umask %03o | cloexec %d",
		    sa.sa_handler == SIG_DFL ? "default" : "ignored",
		    sigismember(&cur, SIGUSR1) ? "blocked" : "open",
		    getcwd(cwd, sizeof(cwd)) ? cwd : "?", (unsigned)umask(0),
		    fcntl(b, F_GETFD) & FD_CLOEXEC ? 1 : 0);
		_exit(0);
	}
	close(p[1]);
	got = read_all(p[0]);
	waitpid(pid, &st, 0);
	OK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child ran");
	snprintf(want, sizeof(want), "0 1 2 %d %d | sigpipe default | usr1 blocked | cwd / | "
	    "umask 077 | cloexec 1", b < p[1] ? b : p[1], b < p[1] ? p[1] : b);
	OK_STREQ(got, want, "only stdio and the kept fds, signals reset, cwd /, umask 077");
	close(p[0]);

	/* child_pass: exec passes exactly the kept ones (b, made close-on-exec first). */
	if (fcntl(b, F_SETFD, FD_CLOEXEC) == -1 || pipe(p) == -1)
		return 1;
	keep[0] = b;
	keep[1] = p[1];
	pid = fork();
	if (pid == 0) {
		char cmd[128];
		char *const argv[] = { "/bin/sh", "-c", cmd, NULL };

		snprintf(cmd, sizeof(cmd), "ls /proc/$$/fd >&%d; env >&%d", p[1], p[1]);
		if (child_clean(keep, 2, 022, NULL) != 0 || child_pass(keep, 2) != 0)
			_exit(2);
		execve(argv[0], argv, child_env());
		_exit(127);
	}
	close(p[1]);
	got = read_all(p[0]);
	waitpid(pid, &st, 0);
	snprintf(want, sizeof(want), "%d\n", b);
	OK(strstr(got, want) != NULL, "kept fd %d passed through exec", b);
	snprintf(want, sizeof(want), "\n%d\n", a);
	OK(strstr(got, want) == NULL && strstr(got, "\n300\n") == NULL,
	    "leaked fds %d and 300 gone after exec", a);
	OK(strstr(got, "\n" CHILD_PATH "\n") != NULL, "PATH is CHILD_PATH");
	OK(getenv("HOME") && !strstr(got, "HOME="), "nothing of ours (HOME) in its environment");
	close(p[0]);
	return TAP_DONE();
}
