/* What a child inherits: see child.h. Async-signal-safe between fork and exec. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/child.h"

char *const *
child_env(void)
{
	static char *const env[] = { CHILD_PATH, NULL };

	return env;
}

/* The smallest fd in keep above lo, or -1. */
static int
next_kept(const int *keep, size_t n, int lo)
{
	int best = -1;

	for (size_t i = 0; i < n; i++)
		if (keep[i] > lo && (best == -1 || keep[i] < best))
			best = keep[i];
	return best;
}

/* close(2) every fd in [lo, hi]: close_range, else one by one up to the limit. */
static int
close_span(unsigned lo, unsigned hi)
{
	struct rlimit rl;

	if (lo > hi)
		return 0;
	if (close_range(lo, hi, 0) == 0)
		return 0;
	if (errno != ENOSYS)
		return -errno;
	/* Kernels before 5.9: no fd lies at or above RLIMIT_NOFILE's soft limit. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return -errno;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur <= hi)
		hi = rl.rlim_cur ? (unsigned)rl.rlim_cur - 1 : 0;
	for (unsigned fd = lo; fd <= hi && fd < (1u << 20); fd++)
		close((int)fd);
	return 0;
}

int
child_close_inherited(void)
{
	return close_span(3, ~0u);
}

/*
 * The kept fds stay where they are (QEMU's command line names them: fd=N),
 * so the gaps between them are closed rather than the fds moved down.
 */
static int
close_all_but(const int *keep, size_t n)
{
	int lo = 2, k, e;

	while ((k = next_kept(keep, n, lo)) != -1) {
		if ((e = close_span((unsigned)lo + 1, (unsigned)k - 1)))
			return e;
		lo = k;
	}
	return close_span((unsigned)lo + 1, UINT_MAX);
}

int
child_clean(const int *keep, size_t n_keep, mode_t mask, const sigset_t *sigmask)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigset_t none;
	int e;

	if ((e = close_all_but(keep, n_keep)))
		return e;
	/* Until child_pass(): a script run before exec must not get them. */
	for (size_t i = 0; i < n_keep; i++)
		if (keep[i] > 2 && fcntl(keep[i], F_SETFD, FD_CLOEXEC) == -1)
			return -errno;
	/* Handlers are reset by exec anyway; SIG_IGN (SIGPIPE, say) is not. */
	sigemptyset(&sa.sa_mask);
	for (int s = 1; s < NSIG; s++) {
		struct sigaction old;

		if (s == SIGKILL || s == SIGSTOP || sigaction(s, NULL, &old) == -1)
			continue;
		if (old.sa_handler == SIG_IGN && sigaction(s, &sa, NULL) == -1)
			return -errno;
	}
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, sigmask ? sigmask : &none, NULL) == -1)
		return -errno;
	if (chdir("/") == -1)
		return -errno;
	umask(mask);
	return 0;
}

int
child_pass(const int *keep, size_t n_keep)
{
	for (size_t i = 0; i < n_keep; i++)
		if (keep[i] > 2 && fcntl(keep[i], F_SETFD, 0) == -1)
			return -errno;
	return 0;
}

void
child_describe(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "signal %d", WTERMSIG(status));
	else
		snprintf(buf, len, "status %#x", status);
}
