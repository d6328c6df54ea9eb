/* A VM's taps and ifup/ifdown scripts: see vmnet.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/child.h"
#include "lib/log.h"
#include "lib/util.h"
#include "qemu/qemu_proc.h"
#include "vmd/vmnet.h"

static bool
uses_tap(const struct hw_nic *nic)
{
	return nic->nic_net == HW_NET_BRIDGE || nic->nic_net == HW_NET_TAP;
}


/*
 * A script's whole environment (issue 12): nothing of the daemon's, only
 * CHILD_PATH and what vmservice.conf(5) documents. The interface name is
 * also argv[1], as QEMU gives it.
 */
static void
script_env(struct strv *env, const struct hw_vm *hw, unsigned i, const char *ifname)
{
	const struct hw_nic *nic = &hw->vm_nics[i];

	strv_push(env, CHILD_PATH);
	strv_pushf(env, "VMSERVICE_VM=%s", hw->vm_name);
	strv_pushf(env, "VMSERVICE_NIC=%u", i);
	strv_pushf(env, "VMSERVICE_IFNAME=%s", ifname);
	if (nic->nic_net == HW_NET_BRIDGE && nic->nic_bridge)
		strv_pushf(env, "VMSERVICE_BRIDGE=%s", nic->nic_bridge);
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

	hw_nic_ifname(vm->vm_hw, i, name);
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
	vn->vn_cmd_strs = xcalloc(n ? n : 1, sizeof(*vn->vn_cmd_strs));
	vn->vn_keep = xcalloc(2 * n + 1, sizeof(*vn->vn_keep));
	vn->vn_dirs = xcalloc(n ? n : 1, sizeof(*vn->vn_dirs));
	for (size_t i = 0; i < n; i++) {
		tap_init(&vn->vn_taps[i]);
		vn->vn_fds[i].qn_tap_fd = vn->vn_fds[i].qn_vhost_fd = -1;
	}
	return vn;
}

/* Queue nic i's ifup script for the QEMU child. */
static void
add_script(struct vm_net *vn, const struct hw_vm *hw, unsigned i, const char *ifname)
{
	struct qchild_cmd *c = &vn->vn_cmds[vn->vn_child.qc_n_cmds];
	struct script_cmd *sc = &vn->vn_cmd_strs[vn->vn_child.qc_n_cmds++];
	const char *path = hw->vm_nics[i].nic_script;

	strv_push(&sc->sc_argv, path);
	strv_push(&sc->sc_argv, ifname);
	script_env(&sc->sc_env, hw, i, ifname);
	sc->sc_what = xasprintf("nic %u: script %s %s", i, path, ifname);
	/* Complete strvs: their arrays no longer move. */
	c->cc_argv = sc->sc_argv.sv_v;
	c->cc_envp = sc->sc_env.sv_v;
	c->cc_what = sc->sc_what;
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

		/* QEMU reads it as the VM's user: the child checks it as that user. */
		if (hw->vm_nics[i].nic_tftp)
			vn->vn_dirs[vn->vn_child.qc_n_dirs++] = hw->vm_nics[i].nic_tftp;
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
			add_script(vn, hw, i, t->tp_name);
	}
	vn->vn_child.qc_keep = vn->vn_keep;
	vn->vn_child.qc_cmds = vn->vn_cmds;
	vn->vn_child.qc_timeout_ms = VMNET_SCRIPT_TIMEOUT_MS;
	vn->vn_child.qc_dirs = vn->vn_dirs;
	/* From here on the child may run the scripts: downscripts are due. */
	vn->vn_scripts_ran = true;
	return 0;
}

void
vmnet_down(struct vm *vm, struct scripts *scr, const char *logpath)
{
	const struct hw_vm *hw = vm->vm_hw;
	struct vm_net *vn = vm->vm_net;
	struct script_cmd *cmds;
	int *hold;
	size_t n = 0, n_hold = 0;
	char name[IF_NAMESIZE];

	if (!vn)
		return;
	cmds = xcalloc(hw->vm_n_nics + 1, sizeof(*cmds));
	for (unsigned i = 0; vn->vn_scripts_ran && i < hw->vm_n_nics; i++) {
		const struct hw_nic *nic = &hw->vm_nics[i];

		if (!uses_tap(nic) || !nic->nic_downscript)
			continue;
		hw_nic_ifname(hw, i, name);
		strv_push(&cmds[n].sc_argv, nic->nic_downscript);
		strv_push(&cmds[n].sc_argv, name);
		script_env(&cmds[n].sc_env, hw, i, name);
		cmds[n++].sc_what = xasprintf("nic %u: downscript %s %s", i, nic->nic_downscript,
		    name);
	}
	/* The job holds the taps, so each script still sees its interface. */
	hold = xcalloc(2 * vn->vn_n + 1, sizeof(*hold));
	for (size_t i = 0; n && i < vn->vn_n; i++) {
		struct tap *t = &vn->vn_taps[i];

		if (t->tp_fd >= 0)
			hold[n_hold++] = t->tp_fd;
		if (t->tp_vhost_fd >= 0)
			hold[n_hold++] = t->tp_vhost_fd;
		t->tp_fd = t->tp_vhost_fd = -1;
	}
	vmnet_free(vm);
	scripts_run(scr, hw->vm_name, cmds, n, hold, n_hold, logpath, VMNET_SCRIPT_TIMEOUT_MS);
}

void
vmnet_free(struct vm *vm)
{
	struct vm_net *vn = vm->vm_net;

	if (!vn)
		return;
	for (size_t i = 0; i < vn->vn_n; i++)
		tap_close(&vn->vn_taps[i]);
	for (size_t k = 0; k < vn->vn_child.qc_n_cmds; k++) {
		strv_free(&vn->vn_cmd_strs[k].sc_argv);
		strv_free(&vn->vn_cmd_strs[k].sc_env);
		free(vn->vn_cmd_strs[k].sc_what);
	}
	free(vn->vn_cmd_strs);
	free(vn->vn_cmds);
	free(vn->vn_keep);
	free(vn->vn_dirs);
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
			hw_nic_ifname(vms[v]->vm_hw, i, own);
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
