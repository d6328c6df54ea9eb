/* NIC models per emulator, asked in children of the loop: see nicmodels.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/child.h"
#include "lib/log.h"
#include "qemu/qemu_devices.h"
#include "qemu/qemu_priv.h"
#include "qemu/qemu_proc.h"
#include "lib/loop.h"
#include "vmd/nicmodels.h"

#define ASK_TIMEOUT_MS	5000
#define ASK_MAX		(256 * 1024)	/* QEMU 7.2 prints about 30 KiB */

/* One emulator binary: its answer, or the question under way. */
struct ask {
	struct ask	*a_next;
	struct nicm	*a_n;
	char		*a_path;
	struct stat	 a_st;		/* the binary asked: dev, ino, size, mtime */
	int		 a_rc;		/* -EAGAIN: asking; 0: a_models; else cannot say */
	struct strv	 a_models;
	pid_t		 a_pid;		/* 0: not running */
	int		 a_pidfd, a_pipe;
	int		 a_status;
	uint64_t	 a_timer, a_t0;
	bool		 a_killed;
	char		*a_buf;
	size_t		 a_len;
};

struct nicm {
	struct loop	*n_lp;
	sigset_t	 n_mask;
	nicm_done_fn	 n_done;
	void		*n_arg;
	struct ask	*n_asks;
};

struct nicm *
nicm_new(struct loop *lp, const sigset_t *child_mask, nicm_done_fn done, void *arg)
{
	struct nicm *n = xcalloc(1, sizeof(*n));

	n->n_lp = lp;
	n->n_mask = *child_mask;
	n->n_done = done;
	n->n_arg = arg;
	return n;
}

static bool
same_binary(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Stop the question under way, if any: its fds, its timer, the process. */
static void
ask_stop(struct ask *a)
{
	struct loop *lp = a->a_n->n_lp;

	if (a->a_pid) {
		qproc_signal(a->a_pid, a->a_pidfd, SIGKILL);
		while (waitpid(a->a_pid, NULL, 0) == -1 && errno == EINTR)
			;
		a->a_pid = 0;
	}
	if (a->a_pidfd >= 0) {
		loop_del_fd(lp, a->a_pidfd);
		close(a->a_pidfd);
	}
	if (a->a_pipe >= 0) {
		loop_del_fd(lp, a->a_pipe);
		close(a->a_pipe);
	}
	a->a_pidfd = a->a_pipe = -1;
	if (a->a_timer)
		loop_cancel_timer(lp, a->a_timer);
	a->a_timer = 0;
	free(a->a_buf);
	a->a_buf = NULL;
	a->a_len = 0;
}

/* Read what is there; at EOF (or past ASK_MAX) stop watching the pipe. */
static void
drain(struct ask *a)
{
	ssize_t r;

	while (a->a_pipe >= 0) {
		if (!a->a_buf)
			a->a_buf = xmalloc(ASK_MAX + 1);
		r = read(a->a_pipe, a->a_buf + a->a_len, ASK_MAX - a->a_len);
		if (r > 0)
			a->a_len += (size_t)r;
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && errno == EAGAIN)
			return;
		if (r <= 0 || a->a_len == ASK_MAX) {
			loop_del_fd(a->a_n->n_lp, a->a_pipe);
			close(a->a_pipe);
			a->a_pipe = -1;
		}
	}
}

static void
pipe_cb(struct loop *lp, int fd, uint32_t events, void *arg)
{
	drain(arg);
}

/* The process has ended: judge its answer, tell the daemon. */
static void
ask_finish(struct ask *a)
{
	char err[256], how[32];
	uint64_t ms = now_ms() - a->a_t0;

	drain(a);
	if (a->a_buf)
		a->a_buf[a->a_len] = '\0';
	child_describe(a->a_status, how, sizeof(how));
	if (a->a_killed) {
		a->a_rc = -ETIMEDOUT;
		log_warn("%s -device help: no answer in %d s, killed: NIC models not checked",
		    a->a_path, ASK_TIMEOUT_MS / 1000);
	} else if (!WIFEXITED(a->a_status) || WEXITSTATUS(a->a_status) != 0 || !a->a_buf) {
		a->a_rc = -ENOEXEC;
		log_warn("%s -device help failed (%s): NIC models not checked", a->a_path, how);
	} else {
		a->a_rc = qemu_nic_models_parse(a->a_buf, a->a_path, &a->a_models, err,
		    sizeof(err));
		if (a->a_rc)
			log_warn("%s: NIC models not checked", err);
		else
			log_info("%s -device help: %zu network devices (%llu ms)", a->a_path,
			    a->a_models.sv_n, (unsigned long long)ms);
	}
	ask_stop(a);
	if (a->a_n->n_done)
		a->a_n->n_done(a->a_n->n_arg);
}

static void
pidfd_cb(struct loop *lp, int fd, uint32_t events, void *arg)
{
	struct ask *a = arg;
	int r = qproc_reap(a->a_pid, &a->a_status);

	if (r == 0)
		return;
	if (r < 0)
		a->a_status = -1;
	a->a_pid = 0;
	ask_finish(a);
}

static void
timer_cb(struct loop *lp, void *arg)
{
	struct ask *a = arg;

	a->a_timer = 0;
	a->a_killed = true;
	qproc_signal(a->a_pid, a->a_pidfd, SIGKILL);	/* the pidfd reports the end */
}

/* In the child: only async-signal-safe calls. */
static void __attribute__((noreturn))
ask_child(const char *path, int out, const struct qpriv *p, const sigset_t *mask)
{
	char *const argv[] = { (char *)path, "-device", "help", NULL };
	const char *step;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null == -1 || dup2(null, 0) == -1 || dup2(out, 1) == -1 || dup2(null, 2) == -1)
		_exit(126);
	if (child_clean(NULL, 0, CHILD_UMASK_QEMU, mask) != 0 || qpriv_drop(p, &step) != 0)
		_exit(126);
	execve(path, argv, child_env());
	_exit(127);
}

/* Ask a->a_path, as runas. 0 (asking), or -errno (logged: cannot say). */
static int
ask_start(struct ask *a, const char *runas)
{
	struct loop *lp = a->a_n->n_lp;
	struct qpriv p;
	char err[256];
	int fds[2], e;

	if ((e = qpriv_resolve(runas, &p, err, sizeof(err))) != 0) {
		log_warn("%s -device help: %s: NIC models not checked", a->a_path, err);
		return e;
	}
	if (pipe2(fds, O_CLOEXEC) == -1) {
		e = -errno;
		qpriv_free(&p);
		log_warn("%s -device help: pipe: %s", a->a_path, strerror(-e));
		return e;
	}
	a->a_pid = fork();
	if (a->a_pid == 0)
		ask_child(a->a_path, fds[1], &p, &a->a_n->n_mask);
	e = a->a_pid == -1 ? -errno : 0;
	qpriv_free(&p);
	close(fds[1]);
	a->a_pipe = fds[0];
	if (e) {
		a->a_pid = 0;
		log_warn("%s -device help: fork: %s", a->a_path, strerror(-e));
		ask_stop(a);
		return e;
	}
	a->a_t0 = now_ms();
	a->a_killed = false;
	a->a_pidfd = qproc_pidfd_open(a->a_pid);
	if (a->a_pidfd < 0)
		e = a->a_pidfd;
	if (!e && fcntl(a->a_pipe, F_SETFL, O_NONBLOCK) == -1)
		e = -errno;
	if (!e)
		e = loop_add_fd(lp, a->a_pipe, EPOLLIN, pipe_cb, a);
	if (!e && (e = loop_add_fd(lp, a->a_pidfd, EPOLLIN, pidfd_cb, a)) != 0)
		loop_del_fd(lp, a->a_pipe);
	if (e) {
		log_warn("%s -device help: cannot watch it: %s", a->a_path, strerror(-e));
		ask_stop(a);
		return e;
	}
	a->a_timer = loop_add_timer(lp, ASK_TIMEOUT_MS, timer_cb, a);
	log_info("asking %s -device help for its NIC models (pid %d)", a->a_path, (int)a->a_pid);
	return 0;
}

int
nicm_lookup(struct nicm *n, const char *emulator, const char *runas,
    const struct strv **models)
{
	struct stat st;
	struct ask *a;

	if (stat(emulator, &st) == -1)
		return -errno;	/* reported as missing-emulator elsewhere */
	for (a = n->n_asks; a && strcmp(a->a_path, emulator) != 0; a = a->a_next)
		;
	if (!a) {
		a = xcalloc(1, sizeof(*a));
		a->a_n = n;
		a->a_path = xstrdup(emulator);
		a->a_pidfd = a->a_pipe = -1;
		a->a_rc = -ENOENT;
		a->a_next = n->n_asks;
		n->n_asks = a;
	} else if (a->a_rc == -EAGAIN) {
		return -EAGAIN;		/* (for this binary or the one before: asked again then) */
	} else if (same_binary(&a->a_st, &st)) {
		*models = &a->a_models;
		return a->a_rc;
	}
	strv_free(&a->a_models);
	a->a_st = st;
	a->a_rc = ask_start(a, runas);
	if (a->a_rc == 0)
		a->a_rc = -EAGAIN;
	else
		memset(&a->a_st, 0, sizeof(a->a_st));	/* not for good: asked again next time */
	*models = &a->a_models;
	return a->a_rc;
}

void
nicm_free(struct nicm *n)
{
	struct ask *a;

	if (!n)
		return;
	while ((a = n->n_asks) != NULL) {
		n->n_asks = a->a_next;
		ask_stop(a);
		strv_free(&a->a_models);
		free(a->a_path);
		free(a);
	}
	free(n);
}
