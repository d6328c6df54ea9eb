/* Scripts as children of the loop: see scripts.h. */
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
#include "qemu/qemu_proc.h"
#include "lib/loop.h"
#include "vmd/scripts.h"

struct job {
	struct job		*j_next;
	struct scripts		*j_s;
	char			*j_vm;
	char			*j_log;
	struct script_cmd	*j_cmds;
	size_t			 j_n;
	size_t			 j_i;		/* the command running (or next) */
	int			*j_hold;
	size_t			 j_n_hold;
	unsigned		 j_timeout_ms;
	pid_t			 j_pid;		/* 0: none running */
	int			 j_pidfd;
	uint64_t		 j_timer;
	uint64_t		 j_t0;		/* when j_pid started (now_ms) */
	bool			 j_killed;	/* by the deadline */
};

struct scripts {
	struct loop	*s_lp;
	sigset_t	 s_mask;
	scripts_done_fn	 s_done;
	void		*s_arg;
	struct job	*s_jobs;
};

struct scripts *
scripts_new(struct loop *lp, const sigset_t *child_mask, scripts_done_fn done, void *arg)
{
	struct scripts *s = xcalloc(1, sizeof(*s));

	s->s_lp = lp;
	s->s_mask = *child_mask;
	s->s_done = done;
	s->s_arg = arg;
	return s;
}

static void
free_cmds(struct script_cmd *cmds, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		strv_free(&cmds[i].sc_argv);
		strv_free(&cmds[i].sc_env);
		free(cmds[i].sc_what);
	}
	free(cmds);
}

static void
close_all(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
}

static void
job_free(struct job *j)
{
	if (j->j_pidfd >= 0) {
		loop_del_fd(j->j_s->s_lp, j->j_pidfd);
		close(j->j_pidfd);
	}
	if (j->j_timer)
		loop_cancel_timer(j->j_s->s_lp, j->j_timer);
	close_all(j->j_hold, j->j_n_hold);
	free_cmds(j->j_cmds, j->j_n);
	free(j->j_vm);
	free(j->j_log);
	free(j);
}

/* The job's last command ended: its fds go (the taps with them). */
static void
job_done(struct job *j)
{
	struct scripts *s = j->j_s;
	struct job **pp;

	for (pp = &s->s_jobs; *pp && *pp != j; pp = &(*pp)->j_next)
		;
	if (*pp)
		*pp = j->j_next;
	job_free(j);
	if (s->s_done)
		s->s_done(s->s_arg);
}

/* In the child: only async-signal-safe calls. */
static void __attribute__((noreturn))
script_child(const struct script_cmd *c, int logfd, const sigset_t *mask)
{
	int null;

	/* A session of its own: the deadline kills the script and what it started. */
	setsid();
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null == -1 || dup2(null, 0) == -1 || dup2(logfd >= 0 ? logfd : null, 1) == -1 ||
	    dup2(logfd >= 0 ? logfd : null, 2) == -1)
		_exit(126);
	if (child_clean(NULL, 0, CHILD_UMASK_SCRIPT, mask) != 0)
		_exit(126);
	execve(c->sc_argv.sv_v[0], c->sc_argv.sv_v, c->sc_env.sv_v);
	_exit(127);
}

static void
kill_group(pid_t pid)
{
	if (kill(-pid, SIGKILL) == -1)
		kill(pid, SIGKILL);
}

static void job_next(struct job *j);

static void
pidfd_cb(struct loop *lp, int fd, uint32_t events, void *arg)
{
	struct job *j = arg;
	const struct script_cmd *c = &j->j_cmds[j->j_i];
	char how[32];
	int st = 0, r = qproc_reap(j->j_pid, &st);
	double secs;

	if (r == 0)
		return;		/* readable before the zombie is reapable: wait */
	loop_del_fd(lp, fd);
	close(fd);
	j->j_pidfd = -1;
	if (j->j_timer)
		loop_cancel_timer(lp, j->j_timer);
	j->j_timer = 0;
	j->j_pid = 0;
	secs = (double)(now_ms() - j->j_t0) / 1000.0;
	if (r < 0)
		log_vm(LOG_WARNING, j->j_vm, "%s: cannot reap: %s", c->sc_what, strerror(-r));
	else if (j->j_killed)
		log_vm(LOG_WARNING, j->j_vm, "%s: still running after %u s, killed", c->sc_what,
		    j->j_timeout_ms / 1000);
	else if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		log_vm(LOG_INFO, j->j_vm, "%s: exit 0 after %.1f s", c->sc_what, secs);
	else {
		child_describe(st, how, sizeof(how));
		log_vm(LOG_WARNING, j->j_vm, "%s failed (%s%s) after %.1f s", c->sc_what, how,
		    WIFEXITED(st) && WEXITSTATUS(st) == 127 ? ": cannot execute" : "", secs);
	}
	j->j_i++;
	job_next(j);
}

static void
timer_cb(struct loop *lp, void *arg)
{
	struct job *j = arg;

	j->j_timer = 0;
	if (!j->j_pid)
		return;
	j->j_killed = true;
	kill_group(j->j_pid);	/* the pidfd reports the end */
}

/*
 * The log the script writes to, or -1 (its output then goes to /dev/null,
 * as said in the log). A regular file only, opened O_NONBLOCK: opening a
 * FIFO for writing waits for a reader, and the loop must not.
 */
static int
open_log(const struct job *j, const struct script_cmd *c)
{
	const char *why;
	struct stat st;
	int fd, fl;

	fd = open(j->j_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY |
	    O_NONBLOCK, 0640);
	if (fd == -1) {
		/* ENXIO: a FIFO without a reader (or a device without its driver). */
		log_vm(LOG_WARNING, j->j_vm, "%s: output not logged: %s: %s", c->sc_what, j->j_log,
		    errno == ENXIO ? "not a regular file" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1)
		why = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		why = "not a regular file";
	/* (The script inherits the file's flags: it writes as to any log.) */
	else if ((fl = fcntl(fd, F_GETFL)) == -1 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1)
		why = strerror(errno);
	else
		return fd;
	log_vm(LOG_WARNING, j->j_vm, "%s: output not logged: %s: %s", c->sc_what, j->j_log, why);
	close(fd);
	return -1;
}

/* Fork and watch command j_i. 0, or -errno (logged; nothing left running). */
static int
job_spawn(struct job *j)
{
	const struct script_cmd *c = &j->j_cmds[j->j_i];
	struct loop *lp = j->j_s->s_lp;
	int logfd, e;
	pid_t pid;

	logfd = open_log(j, c);
	pid = fork();
	if (pid == -1) {
		e = -errno;
		if (logfd >= 0)
			close(logfd);
		log_vm(LOG_WARNING, j->j_vm, "%s: fork: %s", c->sc_what, strerror(-e));
		return e;
	}
	if (pid == 0)
		script_child(c, logfd, &j->j_s->s_mask);
	if (logfd >= 0)
		close(logfd);
	j->j_pid = pid;
	j->j_t0 = now_ms();
	j->j_killed = false;
	j->j_pidfd = qproc_pidfd_open(pid);
	e = j->j_pidfd < 0 ? j->j_pidfd : loop_add_fd(lp, j->j_pidfd, EPOLLIN, pidfd_cb, j);
	if (e) {
		/* Cannot watch it: end it now rather than leave it unsupervised. */
		kill_group(pid);
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			;
		if (j->j_pidfd >= 0)
			close(j->j_pidfd);
		j->j_pidfd = -1;
		j->j_pid = 0;
		log_vm(LOG_WARNING, j->j_vm, "%s: cannot watch pid %d: %s", c->sc_what, (int)pid,
		    strerror(-e));
		return e;
	}
	j->j_timer = loop_add_timer(lp, j->j_timeout_ms, timer_cb, j);
	log_vm(LOG_INFO, j->j_vm, "running %s (pid %d)", c->sc_what, (int)pid);
	return 0;
}

/* Start the next command that can be started, or end the job. */
static void
job_next(struct job *j)
{
	for (; j->j_i < j->j_n; j->j_i++)
		if (job_spawn(j) == 0)
			return;
	job_done(j);
}

void
scripts_run(struct scripts *s, const char *vm, struct script_cmd *cmds, size_t n,
    int *hold, size_t n_hold, const char *logpath, unsigned timeout_ms)
{
	struct job *j;

	if (n == 0 || !s) {
		if (n)
			log_vm(LOG_WARNING, vm, "downscripts not run: no place to run them");
		close_all(hold, n_hold);
		free_cmds(cmds, n);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->j_s = s;
	j->j_vm = xstrdup(vm);
	j->j_log = xstrdup(logpath);
	j->j_cmds = cmds;
	j->j_n = n;
	j->j_hold = hold;
	j->j_n_hold = n_hold;
	j->j_timeout_ms = timeout_ms;
	j->j_pidfd = -1;
	j->j_next = s->s_jobs;
	s->s_jobs = j;
	job_next(j);
}

bool
scripts_busy(const struct scripts *s, const char *vm)
{
	for (const struct job *j = s ? s->s_jobs : NULL; j; j = j->j_next)
		if (strcmp(j->j_vm, vm) == 0)
			return true;
	return false;
}

size_t
scripts_running(const struct scripts *s)
{
	size_t n = 0;

	for (const struct job *j = s ? s->s_jobs : NULL; j; j = j->j_next)
		n++;
	return n;
}

void
scripts_free(struct scripts *s)
{
	struct job *j;

	if (!s)
		return;
	while ((j = s->s_jobs) != NULL) {
		s->s_jobs = j->j_next;
		job_free(j);
	}
	free(s);
}
