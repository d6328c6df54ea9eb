/* A VM's swtpm: tpm.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/child.h"
#include "lib/json_add.h"
#include "lib/loop.h"
#include "lib/log.h"
#include "lib/usock.h"
#include "qemu/qemu_child.h"
#include "qemu/qemu_priv.h"
#include "qemu/qemu_proc.h"
#include "qemu/swtpm_argv.h"
#include "config/vmpriv.h"
#include "vmd/daemon.h"
#include "vmd/tpm.h"

struct vm_tpm {
	pid_t	 vt_pid;	/* 0: none */
	int	 vt_pidfd;	/* -1: none */
	bool	 vt_ending;	/* we stopped it: its exit is no news */
	char	*vt_error;	/* why the guest's TPM is gone (this run), or NULL */
	/* An end seen while QEMU ran, judged TPM_JUDGE_MS later: */
	uint64_t vt_timer;
	pid_t	 vt_dead;	/* that swtpm */
	pid_t	 vt_qemu;	/* the QEMU it served */
	char	 vt_how[48];
};

/*
 * swtpm --terminate ends as soon as QEMU closes the channel, which QEMU
 * does as it exits, before its own pidfd tells us: an end is the VM's
 * problem only if its QEMU still runs this long after.
 */
#define TPM_JUDGE_MS	1000

static struct vm_tpm *
get(struct vm *vm)
{
	if (!vm->vm_tpm) {
		vm->vm_tpm = xcalloc(1, sizeof(*vm->vm_tpm));
		vm->vm_tpm->vt_pidfd = -1;
	}
	return vm->vm_tpm;
}

/* run_dir/NAME.SFX (daemon_run_path's, without calling effects.c: no cycle). */
static char *
run_path(struct daemon *d, const struct vm *vm, const char *sfx)
{
	return xasprintf("%s/%s.%s", d->inv.inv_run_dir, vm->vm_name, sfx);
}

static char *
state_path(struct daemon *d, const struct vm *vm)
{
	return xasprintf("%s/%s.tpm", d->inv.inv_state_dir, vm->vm_name);
}

/*
 * state_dir/NAME.tpm, made (0700) or found, never through a symlink, and
 * given to the VM's user: opened here and passed to swtpm as an fd, so
 * that user needs no search right on state_dir (0750, the daemon's).
 */
static int
open_state(struct daemon *d, struct vm *vm, const struct qpriv *p, int *fd, char *err,
    size_t errlen)
{
	char *path = state_path(d, vm);
	struct stat st;
	int dfd, e = 0;

	dfd = open(d->inv.inv_state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1) {
		e = -errno;
		snprintf(err, errlen, "tpm: cannot open %s: %s", d->inv.inv_state_dir,
		    strerror(errno));
		goto out;
	}
	if (mkdirat(dfd, strrchr(path, '/') + 1, 0700) == -1 && errno != EEXIST) {
		e = -errno;
		snprintf(err, errlen, "tpm: cannot make %s: %s", path, strerror(errno));
		goto out;
	}
	*fd = openat(dfd, strrchr(path, '/') + 1,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd == -1) {
		e = -errno;
		snprintf(err, errlen, "tpm: cannot open %s: %s", path, errno == ENOTDIR ||
		    errno == ELOOP ? "not a directory" : strerror(errno));
		goto out;
	}
	/* Root's (just made) or already the VM's: any other owner is not ours to give. */
	if (fstat(*fd, &st) == -1) {
		e = -errno;
		snprintf(err, errlen, "tpm: %s: %s", path, strerror(errno));
	} else if (st.st_uid != 0 && st.st_uid != geteuid() &&
	    (!p->qp_switch || st.st_uid != p->qp_uid)) {
		e = -EPERM;
		snprintf(err, errlen, "tpm: %s: owned by another user (uid %u)", path,
		    (unsigned)st.st_uid);
	} else if ((p->qp_switch && fchown(*fd, p->qp_uid, p->qp_gid) == -1) ||
	    fchmod(*fd, 0700) == -1) {
		e = -errno;
		snprintf(err, errlen, "tpm: %s: %s", path, strerror(errno));
	}
	if (e) {
		close(*fd);
		*fd = -1;
	}
out:
	if (dfd != -1)
		close(dfd);
	free(path);
	return e;
}

/* The control socket, listening, connectable by the VM's user only. */
static int
open_ctrl(struct daemon *d, struct vm *vm, const struct qpriv *p, int *fd, char *err,
    size_t errlen)
{
	char *path = run_path(d, vm, SWTPM_SOCK_SUFFIX);
	int e = usock_bind(path, fd, err, errlen);

	if (!e && (listen(*fd, 4) == -1 ||
	    (p->qp_switch && fchownat(AT_FDCWD, path, p->qp_uid, p->qp_gid,
	    AT_SYMLINK_NOFOLLOW) == -1))) {
		e = -errno;
		snprintf(err, errlen, "tpm: %s: %s", path, strerror(errno));
		close(*fd);
		unlink(path);
	}
	free(path);
	return e;
}

static void
write_pidfile(struct daemon *d, struct vm *vm, pid_t pid)
{
	char *path = run_path(d, vm, SWTPM_PID_SUFFIX), buf[24];
	int fd, n;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	n = snprintf(buf, sizeof(buf), "%d\n", (int)pid);
	if (fd == -1 || write(fd, buf, (size_t)n) != n)
		log_vm(LOG_WARNING, vm->vm_name, "cannot write %s: %s (a restarted daemon "
		    "will not find this swtpm)", path, strerror(errno));
	if (fd != -1)
		close(fd);
	free(path);
}

static void
forget(struct daemon *d, struct vm *vm)
{
	struct vm_tpm *t = vm->vm_tpm;
	char *path;

	if (t->vt_pidfd != -1) {
		loop_del_fd(d->lp, t->vt_pidfd);
		close(t->vt_pidfd);
	}
	t->vt_pidfd = -1;
	t->vt_pid = 0;
	path = run_path(d, vm, SWTPM_PID_SUFFIX);
	unlink(path);
	free(path);
	path = run_path(d, vm, SWTPM_SOCK_SUFFIX);
	unlink(path);
	free(path);
}

/* Has vm's QEMU exited (its pidfd readable), though nobody reaped it yet? */
static bool
qemu_exited(const struct vm *vm)
{
	struct pollfd p = { .fd = vm->vm_pidfd, .events = POLLIN };

	return vm->vm_pidfd < 0 || poll(&p, 1, 0) != 0;
}

static void
judge_cb(struct loop *lp, void *arg)
{
	struct vm *vm = arg;
	struct vm_tpm *t = vm->vm_tpm;

	t->vt_timer = 0;
	if (t->vt_ending || !sup_has_process(vm) || vm->vm_pid != t->vt_qemu || qemu_exited(vm))
		return;
	/*
	 * QEMU runs on, its TPM backend gone: the guest's TPM commands fail
	 * until the VM restarts. The VM's problem, said as such.
	 */
	free(t->vt_error);
	t->vt_error = xasprintf("swtpm (pid %d) ended while the VM ran (%s): the guest's "
	    "TPM is gone until the VM restarts", (int)t->vt_dead, t->vt_how);
	log_vm(LOG_ERR, vm->vm_name, "%s; see %s/%s.swtpm.log", t->vt_error,
	    ((struct daemon *)vm->vm_ctx)->inv.inv_log_dir, vm->vm_name);
}

static void
pidfd_cb(struct loop *lp, int fd, uint32_t events, void *arg)
{
	struct vm *vm = arg;
	struct daemon *d = vm->vm_ctx;
	struct vm_tpm *t = vm->vm_tpm;
	char how[48] = "adopted: no wait status";
	int status = -1, r;

	r = qproc_reap(t->vt_pid, &status);
	if (r == 0)
		return;
	if (r > 0)
		child_describe(status, how, sizeof(how));
	if (!t->vt_ending && sup_has_process(vm)) {
		t->vt_dead = t->vt_pid;
		t->vt_qemu = vm->vm_pid;
		snprintf(t->vt_how, sizeof(t->vt_how), "%s", how);
		if (t->vt_timer)
			loop_cancel_timer(d->lp, t->vt_timer);
		t->vt_timer = loop_add_timer(d->lp, TPM_JUDGE_MS, judge_cb, vm);
	} else {
		log_vm(LOG_DEBUG, vm->vm_name, "swtpm (pid %d) ended (%s)", (int)t->vt_pid, how);
	}
	forget(d, vm);
	d->dirty = true;	/* a start waiting for the state directory may go */
}

int
tpm_start(struct daemon *d, struct vm *vm, const struct qpriv *priv, char *err,
    size_t errlen)
{
	struct strv argv = { 0 };
	struct vm_tpm *t;
	int keep[2] = { -1, -1 }, e;
	struct qchild qc = { .qc_keep = keep, .qc_n_keep = 2 };
	char *logp;

	if (!vm->vm_hw->vm_tpm)
		return 0;
	t = get(vm);
	if (t->vt_pid) {
		/* (The scheduler waits for it: tpm_busy.) */
		snprintf(err, errlen, "tpm: the last swtpm (pid %d) still runs", (int)t->vt_pid);
		return -EBUSY;
	}
	free(t->vt_error);
	t->vt_error = NULL;
	t->vt_ending = false;
	if ((e = open_state(d, vm, priv, &keep[1], err, errlen)))
		return e;
	if ((e = open_ctrl(d, vm, priv, &keep[0], err, errlen))) {
		close(keep[1]);
		return e;
	}
	swtpm_argv(keep[0], keep[1], &argv);
	logp = xasprintf("%s/%s.swtpm.log", d->inv.inv_log_dir, vm->vm_name);
	e = qproc_spawn_vm(argv.sv_v, logp, &d->child_mask, &qc, priv, &t->vt_pid,
	    &t->vt_pidfd, err, errlen);
	free(logp);
	strv_free(&argv);
	/* swtpm holds them now; the socket stays in run_dir for QEMU's connect. */
	close(keep[0]);
	close(keep[1]);
	if (!e && (e = loop_add_fd(d->lp, t->vt_pidfd, EPOLLIN, pidfd_cb, vm)) != 0) {
		snprintf(err, errlen, "tpm: cannot watch swtpm: %s", strerror(-e));
		qproc_signal(t->vt_pid, t->vt_pidfd, SIGKILL);
		/* Never a zombie: it dies at once, nothing else waits on it. */
		waitpid(t->vt_pid, NULL, 0);
		close(t->vt_pidfd);
		t->vt_pidfd = -1;
		t->vt_pid = 0;
	}
	if (e) {
		char *sock = run_path(d, vm, SWTPM_SOCK_SUFFIX);
		unlink(sock);
		free(sock);
		return e;
	}
	write_pidfile(d, vm, t->vt_pid);
	log_vm(LOG_INFO, vm->vm_name, "swtpm started, pid %d", (int)t->vt_pid);
	return 0;
}

void
tpm_stop(struct daemon *d, struct vm *vm)
{
	struct vm_tpm *t = vm->vm_tpm;

	if (!t)
		return;
	t->vt_ending = true;
	if (t->vt_timer)
		loop_cancel_timer(d->lp, t->vt_timer);
	t->vt_timer = 0;
	/* Usually gone already (--terminate); its exit comes through the pidfd. */
	if (t->vt_pid)
		qproc_signal(t->vt_pid, t->vt_pidfd, SIGTERM);
}

bool
tpm_busy(const struct vm *vm)
{
	return vm->vm_tpm && vm->vm_tpm->vt_pid;
}

/* The state directory swtpm was given, from its /proc/PID/fd: "dir=/proc/self/fd/N". */
static int
check_state_fd(struct daemon *d, struct vm *vm, pid_t pid, const struct strv *cmd,
    char *why, size_t len)
{
	char want[PATH_MAX], link[64], got[PATH_MAX], *sp = state_path(d, vm);
	const char *pre = "dir=/proc/self/fd/";
	size_t i;
	int e = -EINVAL;

	for (i = 0; i < cmd->sv_n; i++)
		if (strncmp(cmd->sv_v[i], pre, strlen(pre)) == 0)
			break;
	if (i < cmd->sv_n) {
		snprintf(link, sizeof(link), "fd/%.20s", cmd->sv_v[i] + strlen(pre));
		/* As its user if need be: the daemon keeps no CAP_SYS_PTRACE (dcaps.c). */
		e = qproc_link(pid, link, got, sizeof(got));
	}
	if (e || !realpath(sp, want)) {
		snprintf(why, len, "pid %d: no state directory found (%s)", (int)pid,
		    e ? strerror(-e) : strerror(errno));
		free(sp);
		return -EPERM;
	}
	free(sp);
	if (strcmp(got, want) != 0) {
		snprintf(why, len, "pid %d works on %.200s, not %.200s", (int)pid, got, want);
		return -EPERM;
	}
	return 0;
}

/* Is pid this VM's swtpm: the program, its user, its state directory? */
static int
identify(struct daemon *d, struct vm *vm, pid_t pid, char *why, size_t len)
{
	struct strv cmd = { 0 };
	char exe[PATH_MAX];
	struct qpriv p;
	uid_t uid;
	gid_t gid;
	int e;

	if ((e = qproc_exe(pid, exe, sizeof(exe))) != 0) {
		snprintf(why, len, "pid %d: %s", (int)pid, e == -ENOENT || e == -ESRCH ?
		    "not running" : strerror(-e));
		return e;
	}
	if (!qproc_exe_matches(exe, SWTPM_PATH)) {
		snprintf(why, len, "pid %d is %s, not %s", (int)pid, exe, SWTPM_PATH);
		return -EPERM;
	}
	if ((e = vmpriv_resolve(&d->inv, vm->vm_hw, false, &p, why, len)))
		return e;
	if ((e = qproc_ids(pid, &uid, &gid)) == 0 && uid != p.qp_uid) {
		snprintf(why, len, "pid %d runs as uid %u, not as the VM's user %s", (int)pid,
		    (unsigned)uid, p.qp_user);
		e = -EPERM;
	}
	qpriv_free(&p);
	if (!e && (e = qproc_cmdline(pid, &cmd)) == 0)
		e = check_state_fd(d, vm, pid, &cmd, why, len);
	strv_free(&cmd);
	return e;
}

void
tpm_adopt(struct daemon *d, struct vm *vm, bool qemu_adopted)
{
	char *pf = run_path(d, vm, SWTPM_PID_SUFFIX), why[PATH_MAX + 128];
	struct vm_tpm *t;
	pid_t pid;
	int fd, e;

	if (qproc_read_pidfile(pf, &pid) != 0) {
		free(pf);
		return;
	}
	free(pf);
	fd = qproc_pidfd_open(pid);
	/* Checked after the pidfd is open: a pid reused later cannot slip in. */
	e = fd < 0 ? fd : identify(d, vm, pid, why, sizeof(why));
	if (e) {
		if (fd >= 0)
			close(fd);
		log_vm(LOG_INFO, vm->vm_name, "not adopting swtpm of %s/%s.%s: %s",
		    d->inv.inv_run_dir, vm->vm_name, SWTPM_PID_SUFFIX,
		    fd < 0 ? "not running" : why);
		pf = run_path(d, vm, SWTPM_PID_SUFFIX);
		unlink(pf);
		free(pf);
		return;
	}
	t = get(vm);
	t->vt_pid = pid;
	t->vt_pidfd = fd;
	t->vt_ending = false;
	if (loop_add_fd(d->lp, fd, EPOLLIN, pidfd_cb, vm) != 0) {
		close(fd);
		t->vt_pidfd = -1;
		t->vt_pid = 0;
		log_vm(LOG_ERR, vm->vm_name, "cannot watch swtpm pid %d", (int)pid);
		return;
	}
	if (qemu_adopted) {
		log_vm(LOG_INFO, vm->vm_name, "found running swtpm pid %d: adopting it", (int)pid);
		return;
	}
	/* Its QEMU is gone: nothing will use it, and it locks the state directory. */
	log_vm(LOG_INFO, vm->vm_name, "stopping swtpm pid %d left without its QEMU", (int)pid);
	tpm_stop(d, vm);
}

void
tpm_release(struct daemon *d, struct vm *vm)
{
	struct vm_tpm *t = vm->vm_tpm;

	if (!t)
		return;
	if (t->vt_pidfd != -1) {
		loop_del_fd(d->lp, t->vt_pidfd);
		close(t->vt_pidfd);
	}
	if (t->vt_timer)
		loop_cancel_timer(d->lp, t->vt_timer);
	free(t->vt_error);
	free(t);
	vm->vm_tpm = NULL;
}

void
tpm_json(const struct vm *vm, struct json_object *o)
{
	const struct vm_tpm *t = vm->vm_tpm;
	struct json_object *j;

	if (!vm->vm_hw->vm_tpm)
		return;
	j = json_object_new_object();
	json_add_new(j, "pid", t && t->vt_pid ? json_object_new_int(t->vt_pid) : NULL);
	json_add_new(j, "error", t && t->vt_error ? json_object_new_string(t->vt_error) : NULL);
	json_add_new(o, "tpm", j);
}
