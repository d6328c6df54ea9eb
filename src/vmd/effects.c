/*
 * The table's effects (struct sup_ops): spawn QEMU, talk QMP, signal,
 * arm timers, clean up after a process, persist state and intent. Also
 * the QMP and pidfd callbacks that turn what QEMU does into events.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>

#include "lib/fdbudget.h"
#include "lib/log.h"
#include "qemu/qemu_kvm.h"
#include "qemu/qemu_proc.h"
#include "qemu/qmp.h"
#include "vmd/daemon.h"
#include "vmd/machine.h"
#include "vmd/migrate.h"
#include "vmd/nvram.h"
#include "lib/loop.h"
#include "vmd/reload.h"
#include "vmd/state.h"
#include "vmd/vmcon.h"
#include "vmd/vmnet.h"
#include "config/vmpriv.h"
#include "vmd/vmsock.h"
#include "vmd/probe.h"
#include "vmd/agent.h"
#include "vmd/alert.h"
#include "vmd/metrics.h"
#include "vmd/autokill.h"
#include "vmd/balloon.h"
#include "vmd/savestate.h"
#include "vmd/snapshot.h"
#include "vmd/tpm.h"
#include "storage/img.h"

#define LOG_TAIL_BYTES	2000

char *
daemon_run_path(struct daemon *d, const struct vm *vm, const char *suffix)
{
	return xasprintf("%s/%s.%s", d->inv.inv_run_dir, vm->vm_name, suffix);
}

/* ---- QMP and process watchers ---- */

static void
set_run_state(struct vm *vm, const char *rs)
{
	struct daemon *d = vm->vm_ctx;

	if (strcmp(vm->vm_run_state, rs) == 0)
		return;
	log_vm(LOG_INFO, vm->vm_name, "run state %s -> %s",
	    vm->vm_run_state[0] ? vm->vm_run_state : "unknown", rs);
	snprintf(vm->vm_run_state, sizeof(vm->vm_run_state), "%s", rs);
	d->dirty = true;
	sup_event(&d->sup, vm, VE_RUN_STATE, 0);
}

/* query-status: {"status": RUN_STATE, "running": bool, ...} */
static void
run_state_reply_cb(void *arg, struct json_object *ret, const char *error)
{
	struct vm *vm = arg;
	struct json_object *st;

	if (error || !ret || !json_object_object_get_ex(ret, "status", &st) ||
	    !json_object_is_type(st, json_type_string)) {
		log_vm(LOG_WARNING, vm->vm_name, "query-status: %s", error ? error : "no status");
		return;
	}
	set_run_state(vm, json_object_get_string(st));
}

/* query-kvm: {"enabled": bool, "present": bool}: what QEMU really runs with. */
static void
kvm_reply_cb(void *arg, struct json_object *ret, const char *error)
{
	struct vm *vm = arg;
	struct json_object *en;

	if (error || !ret || !json_object_object_get_ex(ret, "enabled", &en))
		return;
	vm->vm_accel = json_object_get_boolean(en) ? HW_ACCEL_KVM : HW_ACCEL_TCG;
}

static void
ask_run_state(struct vm *vm)
{
	int e;

	if (!vm->vm_qmp || !qmp_is_ready(vm->vm_qmp))
		return;
	e = qmp_send(vm->vm_qmp, "query-status", NULL, run_state_reply_cb, vm);
	if (e)
		log_vm(LOG_WARNING, vm->vm_name, "cannot send query-status: %s", strerror(-e));
}

static void
qmp_ready_cb(void *arg)
{
	struct vm *vm = arg;
	struct daemon *d = vm->vm_ctx;

	vmcon_qmp_ready(d, vm);
	agent_open(d, vm);
	vm->vm_run_state[0] = 0;
	sup_event(&d->sup, vm, VE_QMP_READY, 0);
	d->dirty = true;	/* an adopted VM's pending stop may go now */
	/* The run state and accelerator from QEMU itself (adopted VMs too). */
	if (vm->vm_qmp && qmp_is_ready(vm->vm_qmp) &&
	    qmp_send(vm->vm_qmp, "query-kvm", NULL, kvm_reply_cb, vm) == 0)
		ask_run_state(vm);
	balloon_qmp_ready(d, vm);
}

static void
qmp_event_cb(void *arg, const char *name, struct json_object *data)
{
	struct vm *vm = arg;
	struct daemon *d = vm->vm_ctx;
	struct json_object *g = NULL, *r = NULL;

	if (strcmp(name, "SHUTDOWN") == 0) {
		bool guest = data && json_object_object_get_ex(data, "guest", &g) &&
		    json_object_get_boolean(g);
		if (data)
			json_object_object_get_ex(data, "reason", &r);
		log_vm(LOG_INFO, vm->vm_name, "QMP SHUTDOWN (%s%s%s)", guest ? "guest" : "host",
		    r ? ", " : "", r ? json_object_get_string(r) : "");
		sup_event(&d->sup, vm, guest ? VE_SHUTDOWN_GUEST : VE_SHUTDOWN_HOST, 0);
	} else if (strcmp(name, "GUEST_PANICKED") == 0) {
		log_vm(LOG_ERR, vm->vm_name, "guest panicked: %s",
		    data ? json_object_to_json_string(data) : "");
		/* QEMU paused it (-action panic=pause): on_panic decides. */
		snprintf(vm->vm_run_state, sizeof(vm->vm_run_state), "guest-panicked");
		sup_event(&d->sup, vm, VE_PANICKED, 0);
	} else if (strcmp(name, "STOP") == 0) {
		/* STOP says nothing of why: internal-error, paused, io-error... */
		log_vm(LOG_INFO, vm->vm_name, "QMP %s", name);
		ask_run_state(vm);
	} else if (strcmp(name, "RESUME") == 0 || strcmp(name, "WAKEUP") == 0) {
		log_vm(LOG_INFO, vm->vm_name, "QMP %s", name);
		set_run_state(vm, "running");
		agent_resumed(d, vm);
	} else if (strcmp(name, "SUSPEND") == 0) {
		log_vm(LOG_INFO, vm->vm_name, "QMP %s", name);
		set_run_state(vm, "suspended");
	} else if (strcmp(name, "JOB_STATUS_CHANGE") == 0) {
		struct json_object *id = NULL, *st = NULL;

		if (data && json_object_object_get_ex(data, "id", &id) &&
		    json_object_object_get_ex(data, "status", &st))
			snapshot_job_event(d, vm, json_object_get_string(id),
			    json_object_get_string(st));
	} else if (strcmp(name, "MIGRATION") == 0) {
		/* Our own save or restore (savestate.c): completed or failed. */
		const char *st = data && json_object_object_get_ex(data, "status", &r) ?
		    json_object_get_string(r) : "";
		log_vm(LOG_INFO, vm->vm_name, "QMP MIGRATION %s", st);
		if (vm->vm_state == VS_INCOMING || vm->vm_state == VS_MIGRATING)
			migrate_event(d, vm, st);	/* a live migration (migrate.c) */
		else if (strcmp(st, "completed") == 0)
			sup_event(&d->sup, vm, vm->vm_state == VS_RESTORING ? VE_RESTORED : VE_SAVED, 0);
		else if (strcmp(st, "failed") == 0 || strcmp(st, "cancelled") == 0) {
			free(vm->vm_detail);
			vm->vm_detail = xasprintf(vm->vm_state == VS_RESTORING ?
			    "QEMU refused the saved state (migration %s)" :
			    "QEMU could not save the state (migration %s)", st);
			sup_event(&d->sup, vm, vm->vm_state == VS_RESTORING ? VE_RESTORE_FAILED :
			    VE_SAVE_FAILED, 0);
		}
	} else if (strncmp(name, "BLOCK_JOB_", 10) == 0) {
		migrate_block_event(d, vm, name, data);	/* a migration's disk copy */
	} else if (strcmp(name, "BALLOON_CHANGE") == 0) {
		balloon_event(vm, data);
	} else if (strcmp(name, "POWERDOWN") == 0 || strcmp(name, "RESET") == 0) {
		log_vm(LOG_INFO, vm->vm_name, "QMP %s", name);
	} else {
		log_vm(LOG_DEBUG, vm->vm_name, "QMP event %s", name);
	}
}

static void
qmp_closed_cb(void *arg, const char *why)
{
	struct vm *vm = arg;
	struct daemon *d = vm->vm_ctx;

	log_vm(vm->vm_state == VS_RUNNING || vm->vm_state == VS_STARTING ?
	    LOG_WARNING : LOG_DEBUG, vm->vm_name, "%s", why);
	qmp_free(vm->vm_qmp);
	vm->vm_qmp = NULL;
	snapshot_abort(vm);
	sup_event(&d->sup, vm, VE_QMP_LOST, 0);
}

static const struct qmp_cb qmp_callbacks = { qmp_ready_cb, qmp_event_cb, qmp_closed_cb };

static void
qmp_reply_cb(void *arg, struct json_object *ret, const char *error)
{
	struct vm *vm = arg;

	if (error)
		log_vm(LOG_WARNING, vm->vm_name, "QMP command failed: %s", error);
	else if (ret && json_object_is_type(ret, json_type_string) &&
	    json_object_get_string_len(ret) > 0)
		/* human-monitor-command answers errors as plain text. */
		log_vm(LOG_WARNING, vm->vm_name, "monitor: %s", json_object_get_string(ret));
}

static void
pidfd_cb(struct loop *lp, int fd, uint32_t events, void *arg)
{
	struct vm *vm = arg;
	struct daemon *d = vm->vm_ctx;
	int status = -1, r;

	r = qproc_reap(vm->vm_pid, &status);
	if (r == 0)
		return;		/* readable before the zombie is reapable: wait */
	if (r < 0)
		status = -1;	/* adopted: not our child, no status */
	loop_del_fd(d->lp, fd);
	sup_event(&d->sup, vm, VE_EXITED, status);
	if (vm->vm_pidfd == fd) {
		/* The table had no use for the exit (cannot happen): still tidy up. */
		close(fd);
		vm->vm_pidfd = -1;
		vm->vm_pid = 0;
	}
}

int
daemon_watch_process(struct daemon *d, struct vm *vm)
{
	char *qp = daemon_run_path(d, vm, "qmp");
	int e;

	e = loop_add_fd(d->lp, vm->vm_pidfd, EPOLLIN, pidfd_cb, vm);
	if (e) {
		free(qp);
		return e;
	}
	vm->vm_qmp = qmp_new(vm->vm_name, &qmp_callbacks, vm);
	e = qmp_connect(vm->vm_qmp, d->lp, qp, vm->vm_pid, QMP_CONNECT_ATTEMPTS,
	    QMP_CONNECT_INTERVAL_MS);
	if (e)
		log_vm(LOG_ERR, vm->vm_name, "cannot connect QMP at %s: %s", qp, strerror(-e));
	free(qp);
	vmcon_up(d, vm);
	return 0;
}

int
daemon_watch_attached(struct daemon *d, struct vm *vm, const char *qmp_path, int qmp_fd)
{
	int e = loop_add_fd(d->lp, vm->vm_pidfd, EPOLLIN, pidfd_cb, vm);

	if (e) {
		close(qmp_fd);
		return e;
	}
	vm->vm_qmp = qmp_new(vm->vm_name, &qmp_callbacks, vm);
	e = qmp_connect_fd(vm->vm_qmp, d->lp, qmp_path, qmp_fd);
	if (e) {
		qmp_free(vm->vm_qmp);
		vm->vm_qmp = NULL;
		loop_del_fd(d->lp, vm->vm_pidfd);
	}
	return e;
}

/* ---- supervisor ops ---- */

/*
 * Disks with a size or a backing file are created at first start
 * (vmservice.conf(5)). An automatic format becomes qcow2: QEMU then probes
 * it without the raw-probing restrictions. An existing disk is only checked
 * to open, with its configured backing file; never the backing files its
 * header names, which its QEMU user may have rewritten (a FIFO there
 * blocked the loop, issue 12): QEMU opens those itself, as that user.
 * img_ensure() opens nothing through a symlink another user planted.
 */
static int
prepare_disks(struct vm *vm, char *err, size_t errlen)
{
	const struct hw_vm *hw = vm->vm_hw;
	size_t i;
	int created, e;

	for (i = 0; i < hw->vm_n_disks; i++) {
		const struct hw_disk *dk = &hw->vm_disks[i];
		enum img_fmt fmt = dk->dk_format == HW_FMT_RAW ? IMG_FMT_RAW :
		    dk->dk_format == HW_FMT_QCOW2 ? IMG_FMT_QCOW2 : IMG_FMT_AUTO;
		char why[512];

		if (!dk->dk_size && !dk->dk_backing)
			continue;
		e = img_ensure(dk->dk_file, fmt, dk->dk_size, dk->dk_backing, IMG_FMT_AUTO,
		    &created, why, sizeof(why));
		if (e) {
			snprintf(err, errlen, "disk %s: %s", dk->dk_file, why);
			return e;
		}
		if (created)
			log_vm(LOG_INFO, vm->vm_name, "created disk %s (%s%s%s)", dk->dk_file,
			    img_fmt_name(fmt == IMG_FMT_RAW ? fmt : IMG_FMT_QCOW2),
			    dk->dk_backing ? ", overlay of " : "",
			    dk->dk_backing ? dk->dk_backing : "");
	}
	return 0;
}

/* run_dir/NAME.lock, flocked: held by the QEMU of this VM while it lives. */
static int
take_lock(struct daemon *d, struct vm *vm, char *err, size_t errlen)
{
	char *lp = daemon_run_path(d, vm, "lock");
	int e;

	vm_drop_lock(vm);
	e = qproc_lock(lp, &vm->vm_lockfd);
	if (e == -EWOULDBLOCK) {
		snprintf(err, errlen, "%s is held: a QEMU for this VM already runs "
		    "(vmserviced did not adopt it), not starting a second one", lp);
		e = -EBUSY;
	} else if (e) {
		snprintf(err, errlen, "cannot lock %s: %s", lp, strerror(-e));
	}
	free(lp);
	return e;
}

/*
 * accel for this run: tcg as asked; kvm when the user QEMU runs as can use
 * /dev/kvm (else accel = kvm fails, accel = auto says why and uses TCG);
 * auto is TCG at once on a host where KVM already failed a guest.
 */
static int
choose_accel(struct daemon *d, struct vm *vm, const struct qpriv *priv, char *err,
    size_t errlen)
{
	enum hw_accel want = vm->vm_hw->vm_accel;
	char why[160];

	vm->vm_accel_note[0] = 0;
	vm->vm_accel = HW_ACCEL_TCG;
	if (want == HW_ACCEL_TCG)
		return 0;
	if (want == HW_ACCEL_AUTO && d->kvm_failed[0]) {
		snprintf(vm->vm_accel_note, sizeof(vm->vm_accel_note),
		    "kvm failed on this host: %.160s", d->kvm_failed);
		return 0;
	}
	if (qkvm_probe(priv, why, sizeof(why)) == 0) {
		vm->vm_accel = HW_ACCEL_KVM;
		return 0;
	}
	if (want == HW_ACCEL_KVM) {
		snprintf(err, errlen, "accel = kvm: %s", why);
		return -ENODEV;
	}
	snprintf(vm->vm_accel_note, sizeof(vm->vm_accel_note), "%s", why);
	log_vm(LOG_INFO, vm->vm_name, "accel = auto: %s; using TCG", why);
	return 0;
}

static int
op_spawn(void *ctx, struct vm *vm, char *err, size_t errlen)
{
	struct daemon *d = ctx;
	struct strv argv = { 0 };
	struct qemu_env env = d->env;
	struct qpriv priv;
	struct qemu_chr_fds chr;
	char *logp, *line;
	bool restoring, incoming;
	size_t i;
	int e, nvram[2] = { -1, -1 };

	/*
	 * Refused whole, never failing half-way (issue 20): the descriptors it
	 * will hold must fit first (sched.c holds VMs back while others start).
	 */
	e = fdb_room(FDB_PER_VM + FDB_PER_NIC * (unsigned)vm->vm_hw->vm_n_nics, err, errlen);
	if (e) {
		log_burst(&d->fd_refused_start, LOG_ERR, vm->vm_name, "not started: %s", err);
		return e;
	}
	/* Never two QEMUs for one VM (issue 6): the lock first, kept by QEMU. */
	e = take_lock(d, vm, err, errlen);
	if (e)
		return e;
	/* Who QEMU runs as (its own uid by default): KVM is decided for it. */
	e = vmpriv_resolve(&d->inv, vm->vm_hw, true, &priv, err, errlen);
	if (e) {
		vm_drop_lock(vm);
		return e;
	}
	e = choose_accel(d, vm, &priv, err, errlen);
	if (!e)
		e = prepare_disks(vm, err, errlen);
	if (e) {
		qpriv_free(&priv);
		vm_drop_lock(vm);
		return e;
	}
	env.qe_kvm_usable = vm->vm_accel == HW_ACCEL_KVM;
	/* Taps are opened here and inherited: QEMU needs no CAP_NET_ADMIN. */
	e = vmnet_up(vm, err, errlen);
	if (e) {
		qpriv_free(&priv);
		vm_drop_lock(vm);
		return e;
	}
	/* Issue 12: QEMU gets listening fds, and never a file in run_dir to replace. */
	e = vmsock_bind(d->inv.inv_run_dir, vm->vm_hw, &chr, err, errlen);
	if (e) {
		qpriv_free(&priv);
		vmnet_free(vm);
		vm_drop_lock(vm);
		return e;
	}
	env.qe_nic_fds = vm->vm_net->vn_fds;
	env.qe_n_nic_fds = vm->vm_net->vn_n;
	env.qe_chr_fds = &chr;
	/* UEFI: the VM's own variables, through an fd (state_dir is ours alone). */
	if (vm->vm_hw->vm_firmware != HW_FW_BIOS && !(e = nvram_open(d, vm, nvram, err, errlen)))
		memcpy(env.qe_nvram_fds, nvram, sizeof(nvram));
	if (!e)
		e = qemu_argv(vm->vm_hw, &env, &argv, err, errlen);
	/* A live migration's destination (migrate.c), or a saved state that still
	 * fits (issue 15): QEMU waits for its stream. */
	incoming = !e && vm->vm_mig && vm->vm_mig->mg_incoming;
	restoring = !e && !incoming && savestate_check(d, vm) == 1;
	if (restoring || incoming) {
		strv_push(&argv, "-incoming");
		strv_push(&argv, "defer");
		/* --copy-storage: paused on arrival until the source's disks are done. */
		if (incoming && vm->vm_mig->mg_copy)
			strv_push(&argv, "-S");
	} else if (!e && vm->vm_detail && strncmp(vm->vm_detail, "restore-failed", 14) == 0) {
		vm->vm_reason = SR_RESTORE_FAILED;
	}
	if (e) {
		qpriv_free(&priv);
		vmsock_close(&chr);
		nvram_close(nvram);
		vmnet_free(vm);
		vm_drop_lock(vm);
		strv_free(&argv);
		return e;
	}
	line = xstrdup("");
	for (i = 0; i < argv.sv_n; i++) {
		char *q = shell_quote(argv.sv_v[i]), *t = xasprintf("%s%s%s", line, i ? " " : "", q);
		free(q);
		free(line);
		line = t;
	}
	log_vm(LOG_DEBUG, vm->vm_name, "exec %s", line);
	free(line);
	logp = xasprintf("%s/%s.qemu.log", d->inv.inv_log_dir, vm->vm_name);
	vm->vm_log_offset = qproc_log_size(logp);
	/*
	 * Least privilege (issue 6): the runas user, its files, no
	 * capabilities. The child first runs the ifup scripts and keeps the
	 * tap fds (issue 7), then sheds privileges and execs QEMU.
	 */
	struct qchild qc = vm->vm_net->vn_child;
	int *keep = xcalloc(qc.qc_n_keep + 8, sizeof(*keep)), gate = -1;
	/* QEMU inherits the locked file: the lock lives exactly as long as it. */
	if (qc.qc_n_keep)
		memcpy(keep, qc.qc_keep, qc.qc_n_keep * sizeof(*keep));
	keep[qc.qc_n_keep++] = vm->vm_lockfd;
	qc.qc_n_keep = vmsock_keep(&chr, keep, qc.qc_n_keep);
	for (i = 0; i < 2; i++)
		if (nvram[i] >= 0)
			keep[qc.qc_n_keep++] = nvram[i];
	/* Its scope or cgroup before anything of it runs (machine.h). */
	e = machine_gate(d, vm, &gate, err, errlen);
	if (gate >= 0)
		keep[qc.qc_n_keep++] = gate;
	qc.qc_gate = gate;
	qc.qc_keep = keep;
	/* Its TPM first (tpm.h): QEMU connects to swtpm's socket at start-up. */
	if (!e && !(e = qpriv_prepare(&priv, vm->vm_hw, argv.sv_v, d->inv.inv_run_dir,
	    d->inv.inv_log_dir, err, errlen)) && !(e = tpm_start(d, vm, &priv, err, errlen)) &&
	    (e = qproc_spawn_vm(argv.sv_v, logp, &d->child_mask, &qc,
	    &priv, &vm->vm_pid, &vm->vm_pidfd, err, errlen)))
		tpm_stop(d, vm);
	qpriv_free(&priv);
	if (gate >= 0)
		close(gate);
	/* QEMU has its own: ours would keep the listener alive after QEMU died. */
	vmsock_close(&chr);
	nvram_close(nvram);
	free(keep);
	free(logp);
	strv_free(&argv);
	if (e) {
		machine_gone(d, vm);
		vmnet_free(vm);
		vm_drop_lock(vm);
		return e;
	}
	machine_spawned(d, vm);
	vm->vm_adopted = false;
	vm->vm_spawned_ms = now_ms();
	log_vm(LOG_INFO, vm->vm_name, "QEMU started, pid %d", (int)vm->vm_pid);
	e = daemon_watch_process(d, vm);
	if (e) {
		snprintf(err, errlen, "cannot watch pid %d: %s", (int)vm->vm_pid, strerror(-e));
		qproc_signal(vm->vm_pid, vm->vm_pidfd, SIGKILL);
		return e;
	}
	return incoming ? 2 : restoring ? 1 : 0;
}

static int
op_qmp(void *ctx, struct vm *vm, const char *cmd, struct json_object *args)
{
	if (!vm->vm_qmp || !qmp_is_ready(vm->vm_qmp)) {
		json_object_put(args);
		return -ENOTCONN;
	}
	log_vm(LOG_DEBUG, vm->vm_name, "QMP %s", cmd);
	return qmp_send(vm->vm_qmp, cmd, args, qmp_reply_cb, vm);
}

static int
op_signal(void *ctx, struct vm *vm, int sig)
{
	log_vm(LOG_DEBUG, vm->vm_name, "sending %s to pid %d", strsignal(sig), (int)vm->vm_pid);
	return qproc_signal(vm->vm_pid, vm->vm_pidfd, sig);
}

static void
vm_timer_cb(struct loop *lp, void *arg)
{
	struct vm *vm = arg;
	struct daemon *d = vm->vm_ctx;

	vm->vm_timer = 0;
	sup_event(&d->sup, vm, VE_TIMER, 0);
}

static void
op_disarm(void *ctx, struct vm *vm)
{
	struct daemon *d = ctx;

	if (vm->vm_timer)
		loop_cancel_timer(d->lp, vm->vm_timer);
	vm->vm_timer = 0;
}

static void
op_arm(void *ctx, struct vm *vm, unsigned ms)
{
	struct daemon *d = ctx;

	op_disarm(ctx, vm);
	vm->vm_timer = loop_add_timer(d->lp, ms, vm_timer_cb, vm);
}

static void
op_gone(void *ctx, struct vm *vm)
{
	struct daemon *d = ctx;
	char *p;

	qmp_free(vm->vm_qmp);
	vm->vm_qmp = NULL;
	machine_gone(d, vm);
	migrate_forget(d, vm);
	probe_stop(d, vm);
	snapshot_abort(vm);
	savestate_forget(d, vm);
	agent_close(d, vm);
	/* QEMU is gone, its disks flushed: the save counts now. */
	if (vm->vm_reason == SR_SAVED)
		savestate_commit(d, vm);
	if (vm->vm_pidfd != -1) {
		loop_del_fd(d->lp, vm->vm_pidfd);
		close(vm->vm_pidfd);
		vm->vm_pidfd = -1;
	}
	vm->vm_pid = 0;
	vm->vm_adopted = false;
	vm->vm_run_state[0] = 0;
	tpm_stop(d, vm);
	/* QEMU's copy went with it; ours goes now, so the lock is free. */
	vm_drop_lock(vm);
	if (vm->vm_net) {
		/* Downscripts, then the taps go with the daemon's last fd copy. */
		p = xasprintf("%s/%s.qemu.log", d->inv.inv_log_dir, vm->vm_name);
		vmnet_down(vm, d->scripts, p);
		free(p);
	}
	vmcon_down(vm, "the VM stopped");
	/* An attached QEMU's files are its own (and run_dir has none of its name). */
	if (vm->vm_attach)
		return;
	/* QEMU removes its pidfile on a clean exit, not after SIGKILL. */
	p = daemon_run_path(d, vm, "pid");
	unlink(p);
	free(p);
	p = daemon_run_path(d, vm, "qmp");
	unlink(p);
	free(p);
	p = daemon_run_path(d, vm, "qga");
	unlink(p);
	free(p);
	reload_vm_gone(d, vm);
}

static char *
op_exit_detail(void *ctx, struct vm *vm)
{
	struct daemon *d = ctx;
	char *p, *tail;

	/* An attached QEMU's stderr is wherever its starter put it. */
	if (vm->vm_attach)
		return NULL;
	p = xasprintf("%s/%s.qemu.log", d->inv.inv_log_dir, vm->vm_name);
	tail = qproc_log_tail(p, vm->vm_log_offset, LOG_TAIL_BYTES);

	free(p);
	return tail;
}

static void
op_changed(void *ctx, struct vm *vm, enum vm_state old, const char *why)
{
	struct daemon *d = ctx;
	int e;

	/* Uptime counts from QMP ready (booting), not from readiness. */
	if ((vm->vm_state == VS_RUNNING || vm->vm_state == VS_BOOTING) &&
	    old != VS_RUNNING && old != VS_PANICKED && old != VS_BOOTING && old != VS_NOT_READY)
		vm->vm_started_ms = now_ms();
	if (vm->vm_probe && !probe_wanted(vm))
		probe_stop(d, vm);
	if (old == VS_RESTORING && vm->vm_state == VS_RUNNING)
		savestate_done(d, vm);
	if (old == VS_SAVING && vm->vm_state != VS_SAVING)
		savestate_forget(d, vm);
	/*
	 * Down for good (not the stopped between a restart's two runs): an
	 * autokill record has nothing left to kill.
	 */
	if (sup_is_down(vm) && vm->vm_want != WANT_UP)
		autokill_forget(d, vm);
	/* An attached VM is transient: nothing in state_dir outlives the daemon. */
	e = vm->vm_attach ? 0 : state_write(d->inv.inv_state_dir, vm);
	if (e)
		log_vm(LOG_WARNING, vm->vm_name, "cannot write state file in %s: %s",
		    d->inv.inv_state_dir, strerror(-e));
	daemon_intent_sync(d, vm);
	d->dirty = true;
	if (d->event_hook)
		d->event_hook(d->event_arg, vm, (int)old, why);
	alert_transition(d, vm, (int)old, why);
	metrics_changed(d);
}

static uint64_t
op_now(void *ctx)
{
	return now_ms();
}

/* A VM that crashes while the daemon exits stays down (the table: one wanted down too). */
static bool
op_may_restart(void *ctx, struct vm *vm)
{
	struct daemon *d = ctx;

	return !d->exiting;
}

static int
op_save(void *ctx, struct vm *vm, char *err, size_t errlen)
{
	return savestate_begin(ctx, vm, err, errlen);
}

static int
op_restore(void *ctx, struct vm *vm, char *err, size_t errlen)
{
	return savestate_restore(ctx, vm, err, errlen);
}

static void
op_restore_failed(void *ctx, struct vm *vm, const char *why)
{
	savestate_reject(ctx, vm, why);
}

static int
op_migrate_out(void *ctx, struct vm *vm, char *err, size_t errlen)
{
	return migrate_out(ctx, vm, err, errlen);
}

static int
op_migrate_in(void *ctx, struct vm *vm, char *err, size_t errlen)
{
	return migrate_in(ctx, vm, err, errlen);
}

static int
op_agent_halt(void *ctx, struct vm *vm)
{
	return agent_halt(ctx, vm);
}

static void
op_probe(void *ctx, struct vm *vm)
{
	probe_start(ctx, vm);
}

/* KVM cannot run guests here (vmserviced(8), ACCELERATION). */
static void
op_kvm_failed(void *ctx, struct vm *vm, const char *detail)
{
	struct daemon *d = ctx;
	const char *nl;
	size_t n;

	if (d->kvm_failed[0])
		return;
	if (!detail || !*detail)
		detail = "QEMU said nothing";
	nl = strchr(detail, '\n');
	n = nl ? (size_t)(nl - detail) : strlen(detail);
	if (n >= sizeof(d->kvm_failed))
		n = sizeof(d->kvm_failed) - 1;
	memcpy(d->kvm_failed, detail, n);
	d->kvm_failed[n] = 0;
	log_err("KVM cannot run guests on this host (%s, seen on %s): VMs with accel = auto "
	    "run under TCG until the daemon restarts", d->kvm_failed, vm->vm_name);
	alert_raise(d, vm, AL_KVM_FALLBACK, d->kvm_failed);
}

const struct sup_ops daemon_sup_ops = {
	op_spawn, op_qmp, op_signal, op_arm, op_disarm, op_gone, op_exit_detail, op_changed,
	op_now, op_may_restart, op_kvm_failed, op_agent_halt, op_probe, op_save, op_restore,
	op_restore_failed, op_migrate_out, op_migrate_in,
};
