/*
 * A VM's host-side networking, owned by the daemon (issue 7): for net =
 * bridge and net = tap the daemon creates the tap, runs the VM's ifup
 * script with the interface name, and QEMU inherits the open fd. The daemon
 * keeps its copy of each fd until the VM is gone, so downscripts still see
 * the interface (as with QEMU's own downscript); closing the last copy
 * removes the tap. If both the daemon and QEMU die, the kernel closes every
 * copy and nothing is left.
 */
#ifndef VMS_SERVICE_VMNET_H
#define VMS_SERVICE_VMNET_H
#include <net/if.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "qemu/qemu_argv.h"
#include "qemu/qemu_child.h"
#include "vmd/scripts.h"
#include "vmd/supervisor.h"
#include "vmd/tap.h"

/* A script gets this long before it is killed (and a start fails). */
#define VMNET_SCRIPT_TIMEOUT_MS	10000

struct vm_net {
	struct tap		*vn_taps;	/* indexed like vm_nics */
	struct qemu_nic_fds	*vn_fds;	/* the same fds, for qemu_argv */
	size_t			 vn_n;
	bool			 vn_scripts_ran;	/* downscripts are due */

	/* For the QEMU child: the ifup scripts and the fds it inherits. */
	struct qchild		 vn_child;
	struct qchild_cmd	*vn_cmds;
	struct script_cmd	*vn_cmd_strs;	/* owns what vn_cmds points to */
	int			*vn_keep;
	const char		**vn_dirs;	/* borrowed from vm_hw's nics */
};


/*
 * Before spawning vm: open its taps, and prepare vm_net->vn_child, which
 * the QEMU child runs (qproc_spawn_vm): the ifup scripts, each with the
 * interface name as argv[1], never through a shell, so the daemon's loop
 * does not wait for them; a failing one ends that child with its message in
 * NAME.qemu.log (start-failed). On failure nothing is left and err names the
 * NIC and the cause. 0 or -errno.
 */
int vmnet_up(struct vm *vm, char *err, size_t errlen);
/*
 * The VM is gone: its downscripts become a job of scr (scripts.h): run one
 * after another in the loop, at most VMNET_SCRIPT_TIMEOUT_MS each, output
 * to logpath, the taps held open until the last has ended. Never waits.
 * Then vm_net is freed. Idempotent.
 */
void vmnet_down(struct vm *vm, struct scripts *scr, const char *logpath);
/* Close without scripts (daemon exit: a running QEMU keeps its copies). */
void vmnet_free(struct vm *vm);

/*
 * At daemon start, after adoption: delete TAP_PREFIX taps that nobody holds
 * open (held ones have a live holder and stay); adopted VMs (vm_pid != 0)
 * get their downscripts marked due.
 */
void vmnet_clean_leftovers(struct vm **vms, size_t n);
#endif
