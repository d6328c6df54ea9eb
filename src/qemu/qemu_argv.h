/*
 * The QEMU command line for one VM: a model in, an argv array out. No shell
 * is ever involved; option values containing commas are escaped QEMU's way
 * (",,").
 */
#ifndef VMS_QEMU_ARGV_H
#define VMS_QEMU_ARGV_H
#include <stdbool.h>
#include "lib/util.h"
#include "hw/hw.h"

/*
 * A NIC's backend opened by the daemon (net = bridge, tap): QEMU inherits
 * the fds and needs no CAP_NET_ADMIN. -1: none.
 */
struct qemu_nic_fds {
	int		 qn_tap_fd;
	int		 qn_vhost_fd;
};

/*
 * The listening sockets of the QMP, serial and HMP chardevs, bound by the
 * daemon in run_dir (issue 12): QEMU gets the fds and never creates or
 * replaces a file there. -1: none (QEMU binds the path= itself).
 */
struct qemu_chr_fds {
	int		 qs_qmp;
	int		 qs_serial;
	int		 qs_hmp;
	int		 qs_qga;	/* agent = yes */
};

/* What the command line needs from the service around the VM. */
struct qemu_env {
	const char	*qe_emulator_dir;	/* qemu-<type> lives here */
	const char	*qe_run_dir;		/* NAME.pid, NAME.qmp, NAME.serial, NAME.hmp */
	const char	*qe_log_dir;		/* NAME.console.spool (QEMU's serial log) */
	const char	*qe_listen;		/* VNC bind address */
	bool		 qe_kvm_usable;		/* resolves accel = auto (qemu_kvm.h) */
	/*
	 * Indexed like vm_nics; NULL (or an entry's qn_tap_fd -1): QEMU opens
	 * the backend itself (-netdev tap,ifname= / bridge,br=), the standalone
	 * form `vmctl show --argv` prints.
	 */
	const struct qemu_nic_fds *qe_nic_fds;
	size_t		 qe_n_nic_fds;
	/* NULL: path= sockets in run_dir, the stand-alone form `vmctl show --argv` prints. */
	const struct qemu_chr_fds *qe_chr_fds;
	/*
	 * firmware = uefi: the VM's variable store, opened by the daemon and
	 * inherited, read-write and read-only (qemu_fw.h); 0 (unset): named by
	 * path in qe_state_dir.
	 */
	int		 qe_nvram_fds[2];
	const char	*qe_state_dir;
	/* Zero (the default) means -sandbox on,...: opting out is explicit. */
	bool		 qe_no_sandbox;
};

/* "<emulator_dir>/qemu-<type>", newly allocated. */
char *qemu_emulator_path(const struct hw_vm *vm, const struct qemu_env *env);
/* accel = auto resolved against env->qe_kvm_usable. */
enum hw_accel qemu_accel(const struct hw_vm *vm, const struct qemu_env *env);
/* The machine gets a pvpanic device (x86 PC machines), so on_panic applies. */
bool qemu_has_pvpanic(const struct hw_vm *vm);
/*
 * Append the full argv (argv[0] = emulator path) to out. Returns 0, or
 * -EINVAL with a message in err when the model cannot be expressed.
 */
int qemu_argv(const struct hw_vm *vm, const struct qemu_env *env,
    struct strv *out, char *err, size_t errlen);
/* From a running QEMU's argv: the tap/vhost fds of NIC i, the chardev socket fds (-1: none). */
void qemu_argv_nic_fds(const struct strv *run, unsigned i, struct qemu_nic_fds *f);
void qemu_argv_chr_fds(const struct strv *run, struct qemu_chr_fds *c);
#endif
