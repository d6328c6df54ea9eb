/*
 * vmctl attach NAME PID (attach.h): the checks, then the VM enters the
 * table (VE_ATTACH) with its pidfd watched and its QMP connected.
 *
 * The QEMU may be hostile, and we are root: everything about it is read
 * from /proc, never from what it says; its pid is pinned by a pidfd opened
 * before the /proc reads and checked alive after them (a pid reused in
 * between is caught); its QMP socket is connected without following a
 * symlink another user planted, only when the socket is owned by the
 * QEMU's uid or root, and only when the listener is that very process
 * (SO_PEERCRED). vmserviced(8), SECURITY.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/usock.h"
#include "lib/util.h"
#include "qemu/qemu_attach.h"
#include "qemu/qemu_proc.h"
#include "vmd/attach.h"
#include "vmd/daemon.h"

/* name: free, or held by an attached VM that is down (returned: it gives way). */
static int
check_name(struct daemon *d, const char *name, struct vm **old, char *err, size_t errlen)
{
	struct vm *vm;

	*old = NULL;
	if (!inv_valid_vm_name(name)) {
		snprintf(err, errlen, "bad VM name '%s' (letters, digits, '.', '_', '-', "
		    "starting with a letter or digit, at most 64)", name);
		return -EINVAL;
	}
	if (inv_find_vm(&d->inv, name)) {
		snprintf(err, errlen, "vm %s is in the inventory: attach under another name", name);
		return -EEXIST;
	}
	vm = daemon_find_vm(d, name);
	if (vm && (!vm->vm_attach || !sup_is_down(vm))) {
		if (vm->vm_pid)
			snprintf(err, errlen, "vm %s is already supervised (pid %d)", name,
			    (int)vm->vm_pid);
		else
			snprintf(err, errlen, "vm %s is already supervised", name);
		return -EEXIST;
	}
	*old = vm;
	return 0;
}

/*
 * /proc/PID/exe is refused to us (no CAP_SYS_PTRACE, dcaps.c) for a process
 * holding capabilities we dropped: a QEMU started from a root shell. Such
 * a process is root's, more privileged than the daemon, so what its argv[0]
 * says is taken (nothing it could lie about gains it anything); a process
 * of another user is never taken at its word. 0 with exe filled, or -errno.
 */
static int
exe_of_privileged(pid_t pid, const char *argv0, char *exe, size_t len, int why, char *err,
    size_t errlen)
{
	uid_t uid;
	gid_t gid;
	int e = qproc_ids(pid, &uid, &gid);

	if (e || uid != 0 || !argv0) {
		snprintf(err, errlen, "pid %d: cannot read /proc/%d/exe: %s", (int)pid, (int)pid,
		    strerror(-why));
		return why;
	}
	snprintf(exe, len, "%s", argv0);
	return 0;
}

/* pid: not one of ours, alive, a root-installed qemu-system binary. */
static int
check_exe(struct daemon *d, pid_t pid, const char *argv0, char *exe, size_t len, char *err,
    size_t errlen)
{
	char proc[64];
	struct stat st;
	bool told = false;
	size_t i;
	int e;

	for (i = 0; i < d->n_vms; i++)
		if (d->vms[i]->vm_pid == pid && sup_has_process(d->vms[i])) {
			snprintf(err, errlen, "pid %d is already supervised as vm %s", (int)pid,
			    d->vms[i]->vm_name);
			return -EEXIST;
		}
	if ((e = qproc_exe(pid, exe, len)) == -EACCES || e == -EPERM) {
		if ((e = exe_of_privileged(pid, argv0, exe, len, e, err, errlen)) != 0)
			return e;
		told = true;
	} else if (e) {
		snprintf(err, errlen, "pid %d: cannot read /proc/%d/exe: %s", (int)pid, (int)pid,
		    strerror(-e));
		return e;
	}
	if (!qattach_is_system_exe(exe)) {
		snprintf(err, errlen, "pid %d runs %s, not a QEMU system emulator "
		    "(qemu-system-*)", (int)pid, exe);
		return -EPERM;
	}
	if (told)
		return 0;	/* root's, with capabilities we lack: its own word */
	/* The file it runs (through /proc: a binary replaced since is still seen). */
	snprintf(proc, sizeof(proc), "/proc/%d/exe", (int)pid);
	if (stat(proc, &st) == -1) {
		e = -errno;
		snprintf(err, errlen, "pid %d: %s: %s", (int)pid, proc, strerror(-e));
		return e;
	}
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		snprintf(err, errlen, "pid %d runs %s, which is not an installed QEMU (owned by "
		    "uid %u, mode %04o: only root's, not writable by others)", (int)pid, exe,
		    (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

/* Its QMP socket on its command line, connected (usock_connect_owned). */
static int
connect_qmp(const char *run_dir, pid_t pid, struct strv *argv, char **path, int *fd,
    char *err, size_t errlen)
{
	char why[512];
	uid_t uid;
	gid_t gid;
	int e;

	if (qattach_qmp_path(argv->sv_v, argv->sv_n, path, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "pid %d: %s", (int)pid, why);
		return -ENOENT;
	}
	if ((*path)[0] != '/') {
		snprintf(err, errlen, "pid %d: its QMP socket %s is relative to its working "
		    "directory: attach needs an absolute path", (int)pid, *path);
		return -EINVAL;
	}
	/* run_dir's sockets are the daemon's own VMs' (bound by it, or by an older version). */
	if (strncmp(*path, run_dir, strlen(run_dir)) == 0 && (*path)[strlen(run_dir)] == '/') {
		snprintf(err, errlen, "pid %d: its QMP socket %s is in run_dir: a QEMU of "
		    "vmservice's own, not one to attach", (int)pid, *path);
		return -EEXIST;
	}
	if ((e = qproc_ids(pid, &uid, &gid)) != 0) {
		snprintf(err, errlen, "pid %d: cannot read its uid: %s", (int)pid, strerror(-e));
		return e;
	}
	e = usock_connect_owned(*path, pid, uid, fd, why, sizeof(why));
	if (e)
		snprintf(err, errlen, "pid %d: QMP: %s", (int)pid, why);
	return e;
}

/* The VM named name gives way to a new attach of that name. */
static void
drop_old(struct daemon *d, struct vm *old)
{
	size_t i, j;

	for (i = 0; i < d->n_vms; i++) {
		if (d->vms[i] != old)
			continue;
		for (j = i; j + 1 < d->n_vms; j++)
			d->vms[j] = d->vms[j + 1];
		d->n_vms--;
		vm_release(d, old);
		return;
	}
}

int
attach_vm(struct daemon *d, const char *name, pid_t pid, char *err, size_t errlen)
{
	struct strv argv = { 0 };
	char exe[PATH_MAX + 16], *path = NULL;
	struct vm_attach *at;
	struct vm *vm, *old;
	int pidfd, fd = -1, e;

	if (d->exiting) {
		snprintf(err, errlen, "vmserviced is shutting down");
		return -ESHUTDOWN;
	}
	if ((e = check_name(d, name, &old, err, errlen)) != 0)
		return e;
	if (pid <= 1) {
		snprintf(err, errlen, "pid %d: not a process that can be attached", (int)pid);
		return -EINVAL;
	}
	/* Pinned first: the /proc reads below are of this process or fail. */
	pidfd = qproc_pidfd_open(pid);
	if (pidfd < 0) {
		snprintf(err, errlen, "pid %d: %s", (int)pid, pidfd == -ESRCH ? "no such process" :
		    strerror(-pidfd));
		return pidfd;
	}
	if ((e = qproc_cmdline(pid, &argv)) != 0)
		snprintf(err, errlen, "pid %d: cannot read /proc/%d/cmdline: %s", (int)pid,
		    (int)pid, e == -ESRCH ? "it is exiting" : strerror(-e));
	if (!e)
		e = check_exe(d, pid, argv.sv_v[0], exe, sizeof(exe), err, errlen);
	if (!e)
		e = connect_qmp(d->inv.inv_run_dir, pid, &argv, &path, &fd, err, errlen);
	if (!e && (e = qproc_signal(pid, pidfd, 0)) != 0)
		snprintf(err, errlen, "pid %d exited while being checked", (int)pid);
	if (e) {
		if (fd >= 0)
			close(fd);
		close(pidfd);
		strv_free(&argv);
		free(path);
		return e;
	}
	if (old)
		drop_old(d, old);
	at = attach_new(name, d->inv.inv_halt_timeout, d->inv.inv_term_timeout);
	at->at_exe = xstrdup(exe);
	at->at_qmp = path;
	at->at_argv = argv.sv_v;	/* the strv's words, kept */
	at->at_argc = argv.sv_n;
	vm = xcalloc(1, sizeof(*vm));
	sup_vm_init(vm, &at->at_hw);
	vm->vm_attach = at;
	vm->vm_ctx = d;
	vm->vm_pid = pid;
	vm->vm_pidfd = pidfd;
	e = daemon_watch_attached(d, vm, path, fd);
	if (e) {
		snprintf(err, errlen, "pid %d: cannot watch it: %s", (int)pid, strerror(-e));
		vm_release(d, vm);	/* closes the pidfd; QEMU runs on */
		return e;
	}
	d->vms = xrealloc(d->vms, (d->n_vms + 1) * sizeof(*d->vms));
	d->vms[d->n_vms++] = vm;
	log_vm(LOG_INFO, name, "attaching pid %d (%s), QMP at %s", (int)pid, exe, path);
	sup_event(&d->sup, vm, VE_ATTACH, 0);
	d->dirty = true;
	return 0;
}
