/* A VM's taps and ifup/ifdown scripts: see vmnet.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "emulator/qemu_proc.h"
#include "service/vmnet.h"

static bool
uses_tap(const struct hw_nic *nic)
{
	return nic->nic_net == HW_NET_BRIDGE || nic->nic_net == HW_NET_TAP;
}

void
vmnet_ifname(const struct hw_vm *hw, unsigned i, char name[IF_NAMESIZE])
{
	const struct hw_nic *nic = &hw->vm_nics[i];

	if (nic->nic_ifname)
		snprintf(name, IF_NAMESIZE, "%.*s", IF_NAMESIZE - 1, nic->nic_ifname);
	else
		tap_derive_name(hw->vm_name, i, name);
}

/* In the child: only async-signal-safe calls. */
static void __attribute__((noreturn))
script_child(const char *path, const char *ifname, int logfd, const sigset_t *mask)
{
	char *const argv[] = { (char *)path, (char *)ifname, NULL };
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (null == -1 || dup2(null, 0) == -1 || (logfd >= 0 && (dup2(logfd, 1) == -1 ||
	    dup2(logfd, 2) == -1)))
		_exit(126);
	sigprocmask(SIG_SETMASK, mask, NULL);
	execv(path, argv);
	_exit(127);
}

/*
 * Run path with the interface name as argv[1], never through a shell.
 * Waits for it (pidfd + poll, bounded): ifup scripts are short, and the VM
 * must not start before its interface is ready.
 */
static int
run_script(const char *vm, const char *what, const char *path, const char *ifname,
    const char *logpath, const sigset_t *mask, char *err, size_t errlen)
{
	struct pollfd pfd = { .events = POLLIN };
	char how[32];
	int logfd, st = 0, r;
	pid_t pid;

	logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
	pid = fork();
	if (pid == -1) {
		r = -errno;
		if (logfd >= 0)
			close(logfd);
		snprintf(err, errlen, "%s %s: fork: %s", what, path, strerror(-r));
		return r;
	}
	if (pid == 0)
		script_child(path, ifname, logfd, mask);
	if (logfd >= 0)
		close(logfd);
	log_vm(LOG_INFO, vm, "running %s %s %s", what, path, ifname);
	pfd.fd = qproc_pidfd_open(pid);
	if (pfd.fd >= 0) {
		do
			r = poll(&pfd, 1, VMNET_SCRIPT_TIMEOUT_MS);
		while (r == -1 && errno == EINTR);
		close(pfd.fd);
		if (r == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			snprintf(err, errlen, "%s %s %s: still running after %d s, killed",
			    what, path, ifname, VMNET_SCRIPT_TIMEOUT_MS / 1000);
			return -ETIMEDOUT;
		}
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR) {
			snprintf(err, errlen, "%s %s: waitpid: %s", what, path, strerror(errno));
			return -errno;
		}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	qproc_describe(st, how, sizeof(how));
	snprintf(err, errlen, "%s %s %s failed (%s%s)", what, path, ifname, how,
	    WIFEXITED(st) && WEXITSTATUS(st) == 127 ? ": cannot execute" : "");
	return -ECHILD;
}

/* QEMU dup2()s onto 0-2 in the child: inherited fds must lie above. */
static int
above_stdio(int fd)
{
	int n;

	if (fd < 0 || fd > 2)
		return fd;
	n = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return n;
}

static int
open_nic(struct vm *vm, unsigned i, char *err, size_t errlen)
{
	const struct hw_nic *nic = &vm->vm_hw->vm_nics[i];
	struct vm_net *vn = vm->vm_net;
	struct tap *t = &vn->vn_taps[i];
	char name[IF_NAMESIZE], why[384];
	unsigned flags = 0;
	int e;

	vmnet_ifname(vm->vm_hw, i, name);
	/*
	 * A tap we name ourselves must be new; a given ifname on net = tap
	 * may be a persistent tap prepared for this VM (ip tuntap add).
	 */
	if (nic->nic_net == HW_NET_BRIDGE || !nic->nic_ifname)
		flags |= TAP_EXCL;
	if (!nic->nic_model || strncmp(nic->nic_model, "virtio-net", 10) == 0 || nic->nic_vhost)
		flags |= TAP_VNET_HDR;
	if (nic->nic_vhost)
		flags |= TAP_VHOST;
	e = tap_open(t, name, nic->nic_net == HW_NET_BRIDGE ? nic->nic_bridge : NULL, flags,
	    why, sizeof(why));
	if (e) {
		snprintf(err, errlen, "nic %u: %s", i, why);
		return e;
	}
	t->tp_fd = above_stdio(t->tp_fd);
	t->tp_vhost_fd = above_stdio(t->tp_vhost_fd);
	if (t->tp_fd < 0) {
		snprintf(err, errlen, "nic %u: tap %s: fcntl: %s", i, name, strerror(errno));
		return -errno;
	}
	if (nic->nic_vhost && t->tp_vhost_fd < 0)
		log_vm(LOG_WARNING, vm->vm_name, "nic %u: vhost = on but no /dev/vhost-net: "
		    "virtio-net runs in QEMU", i);
	vn->vn_fds[i].qn_tap_fd = t->tp_fd;
	vn->vn_fds[i].qn_vhost_fd = t->tp_vhost_fd;
	log_vm(LOG_INFO, vm->vm_name, "nic %u: tap %s%s%s%s", i, t->tp_name,
	    nic->nic_net == HW_NET_BRIDGE ? " on bridge " : "",
	    nic->nic_net == HW_NET_BRIDGE ? nic->nic_bridge : "",
	    t->tp_vhost_fd >= 0 ? ", vhost-net" : "");
	return 0;
}

static struct vm_net *
vn_new(size_t n)
{
	struct vm_net *vn = xcalloc(1, sizeof(*vn));

	vn->vn_n = n;
	vn->vn_taps = xcalloc(n ? n : 1, sizeof(*vn->vn_taps));
	vn->vn_fds = xcalloc(n ? n : 1, sizeof(*vn->vn_fds));
	vn->vn_cmds = xcalloc(n ? n : 1, sizeof(*vn->vn_cmds));
	vn->vn_keep = xcalloc(2 * n + 1, sizeof(*vn->vn_keep));
	for (size_t i = 0; i < n; i++) {
		tap_init(&vn->vn_taps[i]);
		vn->vn_fds[i].qn_tap_fd = vn->vn_fds[i].qn_vhost_fd = -1;
	}
	return vn;
}

/* Queue nic i's ifup script for the QEMU child (link_scripts() points to it). */
static void
add_script(struct vm_net *vn, unsigned i, const char *path, const char *ifname)
{
	vn->vn_child.qc_n_cmds++;
	/* Three strings per command: path, ifname, what it is for messages. */
	strv_push(&vn->vn_strs, path);
	strv_push(&vn->vn_strs, ifname);
	strv_pushf(&vn->vn_strs, "nic %u: script %s %s", i, path, ifname);
}

/* strv may move its array while growing: point the commands in at the end. */
static void
link_scripts(struct vm_net *vn)
{
	for (size_t k = 0; k < vn->vn_child.qc_n_cmds; k++) {
		char **argv = xcalloc(3, sizeof(*argv));

		argv[0] = vn->vn_strs.sv_v[3 * k];
		argv[1] = vn->vn_strs.sv_v[3 * k + 1];
		vn->vn_cmds[k].cc_argv = argv;
		vn->vn_cmds[k].cc_what = vn->vn_strs.sv_v[3 * k + 2];
	}
}

int
vmnet_up(struct vm *vm, char *err, size_t errlen)
{
	const struct hw_vm *hw = vm->vm_hw;
	struct vm_net *vn;
	unsigned i;
	int e;

	vmnet_free(vm);
	vn = vm->vm_net = vn_new(hw->vm_n_nics);
	for (i = 0; i < hw->vm_n_nics; i++) {
		const struct tap *t = &vn->vn_taps[i];

		if (!uses_tap(&hw->vm_nics[i]))
			continue;
		if ((e = open_nic(vm, i, err, errlen))) {
			vmnet_free(vm);
			return e;
		}
		vn->vn_keep[vn->vn_child.qc_n_keep++] = t->tp_fd;
		if (t->tp_vhost_fd >= 0)
			vn->vn_keep[vn->vn_child.qc_n_keep++] = t->tp_vhost_fd;
		if (hw->vm_nics[i].nic_script)
			add_script(vn, i, hw->vm_nics[i].nic_script, t->tp_name);
	}
	link_scripts(vn);
	vn->vn_child.qc_keep = vn->vn_keep;
	vn->vn_child.qc_cmds = vn->vn_cmds;
	vn->vn_child.qc_timeout_ms = VMNET_SCRIPT_TIMEOUT_MS;
	/* From here on the child may run the scripts: downscripts are due. */
	vn->vn_scripts_ran = true;
	return 0;
}

void
vmnet_down(struct vm *vm, const char *logpath, const sigset_t *child_mask)
{
	const struct hw_vm *hw = vm->vm_hw;
	struct vm_net *vn = vm->vm_net;
	char name[IF_NAMESIZE], why[512];

	if (!vn)
		return;
	for (unsigned i = 0; vn->vn_scripts_ran && i < hw->vm_n_nics; i++) {
		const struct hw_nic *nic = &hw->vm_nics[i];

		if (!uses_tap(nic) || !nic->nic_downscript)
			continue;
		vmnet_ifname(hw, i, name);
		if (run_script(hw->vm_name, "downscript", nic->nic_downscript, name, logpath,
		    child_mask, why, sizeof(why)))
			log_vm(LOG_WARNING, hw->vm_name, "nic %u: %s", i, why);
	}
	vmnet_free(vm);
}

void
vmnet_free(struct vm *vm)
{
	struct vm_net *vn = vm->vm_net;

	if (!vn)
		return;
	for (size_t i = 0; i < vn->vn_n; i++)
		tap_close(&vn->vn_taps[i]);
	for (size_t k = 0; k < vn->vn_child.qc_n_cmds; k++)
		free((void *)vn->vn_cmds[k].cc_argv);
	free(vn->vn_cmds);
	free(vn->vn_keep);
	strv_free(&vn->vn_strs);
	free(vn->vn_taps);
	free(vn->vn_fds);
	free(vn);
	vm->vm_net = NULL;
}

/* True when name is the tap of a NIC of an adopted (running) VM. */
static bool
adopted_tap(struct vm *const *vms, size_t n, const char *name)
{
	char own[IF_NAMESIZE];

	for (size_t v = 0; v < n; v++)
		for (unsigned i = 0; vms[v]->vm_pid && i < vms[v]->vm_hw->vm_n_nics; i++) {
			if (!uses_tap(&vms[v]->vm_hw->vm_nics[i]))
				continue;
			vmnet_ifname(vms[v]->vm_hw, i, own);
			if (strcmp(own, name) == 0)
				return true;
		}
	return false;
}

/*
 * A TAP_PREFIX tap that nobody holds is a persistent orphan: it goes. One
 * that is held has a live holder (ours are never persistent): an adopted
 * QEMU, or a process this daemon does not know (a QEMU whose pidfile was
 * lost, another vmserviced on this host). Deleting it would cut that
 * process's network without stopping it, so it stays, and a VM wanting the
 * name fails to start with "in use".
 */
void
vmnet_clean_leftovers(struct vm **vms, size_t n)
{
	struct strv taps = { 0 };
	char err[256];
	int e;

	for (size_t v = 0; v < n; v++)
		if (vms[v]->vm_pid && !vms[v]->vm_net) {
			/* The previous daemon ran its scripts: downscripts are due. */
			vms[v]->vm_net = vn_new(0);
			vms[v]->vm_net->vn_scripts_ran = true;
		}
	if ((e = tap_list(TAP_PREFIX, &taps))) {
		log_warn("cannot list network interfaces: %s", strerror(-e));
		return;
	}
	for (size_t i = 0; i < taps.sv_n; i++) {
		const char *t = taps.sv_v[i];

		if (adopted_tap(vms, n, t))
			continue;
		if (tap_held(t) == 1) {
			log_warn("tap %s is held open by a process that is not a VM of this "
			    "daemon: left alone", t);
			continue;
		}
		if ((e = tap_delete(t, err, sizeof(err))))
			log_warn("leftover tap %s: %s", t, err);
		else
			log_info("deleted leftover tap %s", t);
	}
	strv_free(&taps);
}
