/*
 * Driving the VMs: the supervisor's ops (spawn, QMP, signals, timers,
 * runtime files), adoption at start-up, and the scheduler that lets waiting
 * VMs start (after, start_parallel, start_delay) and stopping VMs stop
 * (reverse after order).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "qemu/qemu_child.h"
#include "qemu/qemu_kvm.h"
#include "qemu/qemu_priv.h"
#include "qemu/qemu_proc.h"
#include "qemu/qmp.h"
#include "vmd/daemon.h"
#include "vmd/intent.h"
#include "lib/loop.h"
#include "vmd/notify.h"
#include "vmd/reload.h"
#include "vmd/scripts.h"
#include "vmd/state.h"
#include "vmd/vmcon.h"
#include "vmd/vmnet.h"
#include "config/vmpriv.h"
#include "vmd/vmsock.h"
#include "storage/img.h"

#define LOG_TAIL_BYTES	2000
/* A locked VM without an identified QEMU: look again this often, this long. */
#define ADOPT_RETRY_MS	200	/* (how long: SUP_ADOPT_WAIT_MS, the table's timer) */


static char *
run_path(struct daemon *d, const struct vm *vm, const char *suffix)
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
	vm->vm_run_state[0] = 0;
	sup_event(&d->sup, vm, VE_QMP_READY, 0);
	d->dirty = true;	/* an adopted VM's pending stop may go now */
	/* The run state and accelerator from QEMU itself (adopted VMs too). */
	if (vm->vm_qmp && qmp_is_ready(vm->vm_qmp) &&
	    qmp_send(vm->vm_qmp, "query-kvm", NULL, kvm_reply_cb, vm) == 0)
		ask_run_state(vm);
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
	} else if (strcmp(name, "SUSPEND") == 0) {
		log_vm(LOG_INFO, vm->vm_name, "QMP %s", name);
		set_run_state(vm, "suspended");
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

static int
watch_process(struct daemon *d, struct vm *vm)
{
	char *qp = run_path(d, vm, "qmp");
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
	char *lp = run_path(d, vm, "lock");
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
	size_t i;
	int e;

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
	e = qemu_argv(vm->vm_hw, &env, &argv, err, errlen);
	if (e) {
		qpriv_free(&priv);
		vmsock_close(&chr);
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
	int *keep = xcalloc(qc.qc_n_keep + 4, sizeof(*keep));
	/* QEMU inherits the locked file: the lock lives exactly as long as it. */
	if (qc.qc_n_keep)
		memcpy(keep, qc.qc_keep, qc.qc_n_keep * sizeof(*keep));
	keep[qc.qc_n_keep++] = vm->vm_lockfd;
	qc.qc_n_keep = vmsock_keep(&chr, keep, qc.qc_n_keep);
	qc.qc_keep = keep;
	if (!(e = qpriv_prepare(&priv, vm->vm_hw, argv.sv_v, d->inv.inv_run_dir,
	    d->inv.inv_log_dir, err, errlen)))
		e = qproc_spawn_vm(argv.sv_v, logp, &d->child_mask, &qc,
		    &priv, &vm->vm_pid, &vm->vm_pidfd, err, errlen);
	qpriv_free(&priv);
	/* QEMU has its own: ours would keep the listener alive after QEMU died. */
	vmsock_close(&chr);
	free(keep);
	free(logp);
	strv_free(&argv);
	if (e) {
		vmnet_free(vm);
		vm_drop_lock(vm);
		return e;
	}
	vm->vm_adopted = false;
	vm->vm_spawned_ms = now_ms();
	log_vm(LOG_INFO, vm->vm_name, "QEMU started, pid %d", (int)vm->vm_pid);
	e = watch_process(d, vm);
	if (e) {
		snprintf(err, errlen, "cannot watch pid %d: %s", (int)vm->vm_pid, strerror(-e));
		qproc_signal(vm->vm_pid, vm->vm_pidfd, SIGKILL);
		return e;
	}
	return 0;
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
	if (vm->vm_pidfd != -1) {
		loop_del_fd(d->lp, vm->vm_pidfd);
		close(vm->vm_pidfd);
		vm->vm_pidfd = -1;
	}
	vm->vm_pid = 0;
	vm->vm_adopted = false;
	vm->vm_run_state[0] = 0;
	/* QEMU's copy went with it; ours goes now, so the lock is free. */
	vm_drop_lock(vm);
	if (vm->vm_net) {
		/* Downscripts, then the taps go with the daemon's last fd copy. */
		p = xasprintf("%s/%s.qemu.log", d->inv.inv_log_dir, vm->vm_name);
		vmnet_down(vm, d->scripts, p);
		free(p);
	}
	vmcon_down(vm, "the VM stopped");
	/* QEMU removes its pidfile on a clean exit, not after SIGKILL. */
	p = run_path(d, vm, "pid");
	unlink(p);
	free(p);
	p = run_path(d, vm, "qmp");
	unlink(p);
	free(p);
	reload_vm_gone(d, vm);
}

static char *
op_exit_detail(void *ctx, struct vm *vm)
{
	struct daemon *d = ctx;
	char *p = xasprintf("%s/%s.qemu.log", d->inv.inv_log_dir, vm->vm_name);
	char *tail = qproc_log_tail(p, vm->vm_log_offset, LOG_TAIL_BYTES);

	free(p);
	return tail;
}

static void
op_changed(void *ctx, struct vm *vm, enum vm_state old, const char *why)
{
	struct daemon *d = ctx;
	int e;

	if (vm->vm_state == VS_RUNNING && old != VS_RUNNING && old != VS_PANICKED)
		vm->vm_started_ms = now_ms();
	e = state_write(d->inv.inv_state_dir, vm);
	if (e)
		log_vm(LOG_WARNING, vm->vm_name, "cannot write state file in %s: %s",
		    d->inv.inv_state_dir, strerror(-e));
	daemon_intent_sync(d, vm);
	d->dirty = true;
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
}

static const struct sup_ops daemon_ops = {
	op_spawn, op_qmp, op_signal, op_arm, op_disarm, op_gone, op_exit_detail, op_changed,
	op_now, op_may_restart, op_kvm_failed,
};

enum adopt_result {
	AD_NONE,	/* no QEMU of this VM runs: free to start */
	AD_ADOPTED,	/* its QEMU runs and is ours again */
	AD_BUSY,	/* something holds its lock that we cannot identify (yet) */
};

/*
 * A restarted daemon resumes what its predecessor was doing (after
 * adoption, before anything else): a VM wanted down whose QEMU was adopted
 * is stopped the safe way, from the halt method on (again, if it was past
 * it); a VM wanted up without a QEMU is started (daemon_autostart); a
 * restart under way stops the QEMU it was for, then starts a new one.
 */
static void
intent_resume(struct daemon *d, struct vm *vm, enum adopt_result r,
    const struct vm_intent *it)
{
	char err[256];

	if (it->it_want == INTENT_NONE)
		return;
	log_vm(LOG_INFO, vm->vm_name, "was wanted %s when vmserviced last stopped",
	    intent_name(it->it_want));
	if (r == AD_ADOPTED && it->it_want == INTENT_DOWN) {
		/* Adopted wanted down: sched_stops() stops it in order, like stop all. */
		d->dirty = true;
	} else if (r == AD_ADOPTED && it->it_want == INTENT_RESTART &&
	    it->it_pid == vm->vm_pid) {
		if (daemon_restart_vm(d, vm, err, sizeof(err)) != 0)
			log_vm(LOG_ERR, vm->vm_name, "not restarted: %s", err);
	}
}

/* ---- set-up ---- */

/*
 * Does pid run as the VM's QEMU user (issue 12)? A process of another
 * user that carries the VM's -name and -pidfile (another VM's QEMU, say,
 * started with a copied command line) is not adopted: we would hand it the
 * VM's consoles and monitor.
 */
static int
check_owner(struct daemon *d, struct vm *vm, pid_t pid, char *why, size_t len)
{
	struct qpriv p;
	uid_t uid;
	gid_t gid;
	int e;

	if ((e = vmpriv_resolve(&d->inv, vm->vm_hw, false, &p, why, len)))
		return e;
	if ((e = qproc_ids(pid, &uid, &gid)) != 0)
		snprintf(why, len, "pid %d: cannot read its uid: %s", (int)pid, strerror(-e));
	else if (uid != p.qp_uid) {
		snprintf(why, len, "pid %d runs as uid %u, not as this VM's user %s",
		    (int)pid, (unsigned)uid, p.qp_user);
		e = -EPERM;
	}
	qpriv_free(&p);
	return e;
}

/*
 * Is pid, named by the pidfile, this VM's QEMU? Opens the pidfd first and
 * checks the pid still answers through it after the /proc checks, so a pid
 * reused in between cannot slip through. 0 with *pidfd set, or -errno with
 * why filled.
 */
static int
identify(struct daemon *d, struct vm *vm, pid_t pid, int *pidfd, char *why, size_t len)
{
	struct strv argv = { 0 };
	struct qproc_ident id;
	int fd, e;

	e = qemu_argv(vm->vm_hw, &d->env, &argv, why, len);
	if (!e && (e = qproc_ident_from_argv(argv.sv_v, &id)) != 0)
		snprintf(why, len, "no -name/-pidfile in this VM's QEMU command line");
	if (e) {
		strv_free(&argv);
		return e;
	}
	fd = qproc_pidfd_open(pid);
	if (fd < 0) {
		snprintf(why, len, "pid %d: %s", (int)pid, fd == -ESRCH ? "not running" :
		    strerror(-fd));
		strv_free(&argv);
		return fd;
	}
	e = qproc_check_ident(pid, &id, why, len);
	strv_free(&argv);
	if (!e)
		e = check_owner(d, vm, pid, why, len);
	if (!e && (e = qproc_signal(pid, fd, 0)) == -EPERM)
		e = 0;		/* alive, only not ours to signal */
	if (e == -ESRCH)
		snprintf(why, len, "pid %d exited while being checked", (int)pid);
	if (e) {
		close(fd);
		return e;
	}
	*pidfd = fd;
	return 0;
}

static int
adopt_pid(struct daemon *d, struct vm *vm, pid_t pid, int fd)
{
	uint64_t age;

	log_vm(LOG_INFO, vm->vm_name, "found running QEMU pid %d: adopting it", (int)pid);
	vm->vm_pid = pid;
	vm->vm_pidfd = fd;
	if (watch_process(d, vm)) {
		close(fd);
		vm->vm_pidfd = -1;
		vm->vm_pid = 0;
		return -1;
	}
	sup_event(&d->sup, vm, VE_ADOPT, 0);
	reload_check_adopted(d, vm);
	if (qproc_age_ms(pid, &age) == 0 && age < vm->vm_started_ms)
		vm->vm_started_ms -= age;	/* uptime of the QEMU, not of us */
	return 0;
}

/*
 * A QEMU from a previous daemon still running (issue 6)? Adopted only when
 * the pidfile's pid is alive, runs the emulator and carries this VM's
 * -name and -pidfile. Otherwise the lock decides: free means no QEMU of
 * this VM lives (a pidfile left is stale and removed); held means one is
 * starting (no pidfile yet) or cannot be identified: never start another.
 * quiet: a retry, only changes are logged.
 */
static enum adopt_result
adopt(struct daemon *d, struct vm *vm, bool quiet)
{
	char *pf = run_path(d, vm, "pid"), *lf = run_path(d, vm, "lock");
	char why[512] = "no pidfile";
	enum adopt_result r = AD_NONE;
	bool have_pid;
	pid_t pid = 0;
	int fd, e;

	have_pid = qproc_read_pidfile(pf, &pid) == 0;
	if (!have_pid && access(pf, F_OK) == 0)
		snprintf(why, sizeof(why), "no pid in it");
	if (have_pid && identify(d, vm, pid, &fd, why, sizeof(why)) == 0) {
		r = adopt_pid(d, vm, pid, fd) == 0 ? AD_ADOPTED : AD_NONE;
		goto out;
	}
	e = qproc_lock(lf, &fd);
	if (e == 0) {
		/* Nobody holds it, and we must not either until we spawn. */
		close(fd);
		if (have_pid || access(pf, F_OK) == 0) {
			log_vm(LOG_INFO, vm->vm_name, "removing stale pidfile %s (%s)", pf, why);
			unlink(pf);
		}
	} else if (e == -EWOULDBLOCK) {
		r = AD_BUSY;
		if (!quiet)
			log_vm(LOG_WARNING, vm->vm_name, "%s is held but no QEMU of this VM is "
			    "identified (%s): waiting for it, not starting another", lf, why);
	} else {
		log_vm(LOG_ERR, vm->vm_name, "cannot check %s: %s", lf, strerror(-e));
	}
out:
	free(pf);
	free(lf);
	return r;
}

/* Adoption settled after a wait: what was asked meanwhile is in vm_want. */
static void
adopt_settle(struct daemon *d, struct vm *vm, enum adopt_result r)
{
	char err[256];

	if (r == AD_ADOPTED) {
		/* As at start-up: its taps are in use, its downscripts due. */
		vmnet_clean_leftovers(d->vms, d->n_vms);
	} else if (r == AD_NONE) {
		sup_event(&d->sup, vm, VE_ADOPT_NONE, 0);
		/* Through the request path: it pulls in the VMs it is after. */
		if (vm->vm_want == WANT_UP && daemon_start_vm(d, vm, err, sizeof(err)) != 0)
			log_vm(LOG_ERR, vm->vm_name, "not started: %s", err);
	}
	d->dirty = true;
}

static void
adopt_retry_cb(struct loop *lp, void *arg)
{
	struct daemon *d = arg;
	enum adopt_result r;
	bool more = false;
	size_t i;

	d->adopt_timer = 0;
	for (i = 0; i < d->n_vms; i++) {
		struct vm *vm = d->vms[i];
		if (vm->vm_state != VS_ADOPTING)
			continue;
		r = adopt(d, vm, true);
		if (r == AD_BUSY) {
			more = true;	/* until the table's adopting timer fails it */
			continue;
		}
		adopt_settle(d, vm, r);
	}
	if (more)
		d->adopt_timer = loop_add_timer(d->lp, ADOPT_RETRY_MS, adopt_retry_cb, d);
}

int
daemon_init_vms(struct daemon *d)
{
	struct vm_intent was;
	enum adopt_result r;
	size_t i;
	int e;

	d->sup.ops = &daemon_ops;
	d->sup.ctx = d;
	d->n_vms = d->inv.inv_n_vms;
	d->vms = xcalloc(d->n_vms, sizeof(*d->vms));
	for (i = 0; i < d->n_vms; i++) {
		struct vm *vm = d->vms[i] = xcalloc(1, sizeof(*vm));
		sup_vm_init(vm, &d->inv.inv_vms[i]);
		vm->vm_ctx = d;
		state_read(d->inv.inv_state_dir, vm);
		if (!vm->vm_hw->vm_policy.po_enable)
			continue;
		e = intent_read(d->inv.inv_run_dir, vm->vm_name, &vm->vm_intent);
		if (e)
			log_vm(LOG_WARNING, vm->vm_name, "ignoring %s/%s.intent: %s",
			    d->inv.inv_run_dir, vm->vm_name, e == -EPERM ?
			    "not a regular file of ours" : strerror(-e));
		/* (Adoption rewrites vm_intent: "restart" becomes "up" there.) */
		was = vm->vm_intent;
		/* What was wanted: a VM wanted down is adopted as such (vm_want). */
		vm->vm_want = was.it_want == INTENT_DOWN ? WANT_DOWN :
		    was.it_want == INTENT_NONE ? WANT_NONE : WANT_UP;
		vmcon_open(d, vm);
		r = adopt(d, vm, false);
		if (r == AD_BUSY) {
			sup_event(&d->sup, vm, VE_ADOPT_WAIT, 0);
			if (!d->adopt_timer)
				d->adopt_timer = loop_add_timer(d->lp, ADOPT_RETRY_MS,
				    adopt_retry_cb, d);
		}
		intent_resume(d, vm, r, &was);
	}
	/* After adoption: the adopted VMs' taps are in use, the rest are leftovers. */
	vmnet_clean_leftovers(d->vms, d->n_vms);
	d->dirty = true;
	return 0;
}

void
daemon_free_vms(struct daemon *d)
{
	size_t i;

	for (i = 0; i < d->n_vms; i++) {
		reload_vm_free(d->vms[i]);
		vm_release(d, d->vms[i]);
	}
	free(d->vms);
	d->vms = NULL;
	d->n_vms = 0;
	if (d->adopt_timer)
		loop_cancel_timer(d->lp, d->adopt_timer);
	d->adopt_timer = 0;
}

void
daemon_autostart(struct daemon *d)
{
	char err[256];
	size_t i;

	for (i = 0; i < d->n_vms; i++) {
		struct vm *vm = d->vms[i];
		enum intent w = vm->vm_intent.it_want;
		/* After a crash, what was asked; at boot (no intent), autostart. */
		bool up = w == INTENT_NONE ? vm->vm_hw->vm_policy.po_autostart : w != INTENT_DOWN;

		if (vm->vm_hw->vm_policy.po_enable && up && sup_is_down(vm) &&
		    daemon_start_vm(d, vm, err, sizeof(err)) != 0)
			log_vm(LOG_ERR, vm->vm_name, "not started: %s", err);
	}
}

/* ---- scheduling ---- */

static bool
is_after(const struct vm *vm, const char *name)
{
	size_t i;

	for (i = 0; i < vm->vm_hw->vm_policy.po_n_after; i++)
		if (strcmp(vm->vm_hw->vm_policy.po_after[i], name) == 0)
			return true;
	return false;
}

/* Stop pending VMs once every VM that runs after them is down. */
static void
sched_stops(struct daemon *d)
{
	size_t i, j;

	for (i = 0; i < d->n_vms; i++) {
		struct vm *vm = d->vms[i];
		bool blocked = false;

		if (!sup_stop_pending(vm))
			continue;
		/* Adopted, QMP still connecting: the halt method needs it. */
		if (vm->vm_state != VS_STARTING && vm->vm_qmp && !qmp_is_ready(vm->vm_qmp))
			continue;
		for (j = 0; j < d->n_vms && !blocked; j++)
			if (j != i && !sup_is_down(d->vms[j]) &&
			    is_after(d->vms[j], vm->vm_name))
				blocked = true;
		if (blocked)
			continue;
		sup_event(&d->sup, vm, VE_STOP, 0);
	}
}

static void
sched_timer_cb(struct loop *lp, void *arg)
{
	struct daemon *d = arg;

	d->sched_timer = 0;
	d->dirty = true;
}

/* 1: ready, 0: not yet, -1: can never be (vm_detail set). */
static int
deps_ready(struct daemon *d, struct vm *vm)
{
	size_t i;

	/* Its last run's downscripts first: they still hold its taps' names. */
	if (scripts_busy(d->scripts, vm->vm_name))
		return 0;
	for (i = 0; i < vm->vm_hw->vm_policy.po_n_after; i++) {
		struct vm *dep = daemon_find_vm(d, vm->vm_hw->vm_policy.po_after[i]);
		if (!dep)
			continue;	/* the inventory validated names */
		if (dep->vm_state == VS_RUNNING || dep->vm_state == VS_PANICKED)
			continue;
		if (sup_is_down(dep) || sup_stop_pending(dep)) {
			free(vm->vm_detail);
			vm->vm_detail = xasprintf("vm %s, which it is after, is %s",
			    dep->vm_name, sup_state_name(dep->vm_state));
			return -1;
		}
		return 0;
	}
	return 1;
}

static void
sched_starts(struct daemon *d)
{
	unsigned starting = 0, limit = d->inv.inv_start_parallel, delay;
	uint64_t now = now_ms();
	size_t i;
	int r;

	for (i = 0; i < d->n_vms; i++)
		if (d->vms[i]->vm_state == VS_STARTING)
			starting++;
	for (i = 0; i < d->n_vms; i++) {
		struct vm *vm = d->vms[i];

		if (vm->vm_state != VS_WAITING)
			continue;
		r = deps_ready(d, vm);
		if (r < 0) {
			sup_event(&d->sup, vm, VE_DEPS_FAILED, 0);
			continue;
		}
		if (r == 0)
			continue;
		if (limit && starting >= limit)
			break;
		if (now < d->next_start_ms) {
			if (!d->sched_timer)
				d->sched_timer = loop_add_timer(d->lp, d->next_start_ms - now,
				    sched_timer_cb, d);
			break;
		}
		sup_event(&d->sup, vm, VE_DEPS_READY, 0);
		if (vm->vm_state == VS_STARTING) {
			starting++;
			delay = d->inv.inv_start_delay;
			if (vm->vm_hw->vm_policy.po_start_delay > delay)
				delay = vm->vm_hw->vm_policy.po_start_delay;
			d->next_start_ms = now + delay * 1000ull;
		}
	}
}

static void
extend_cb(struct loop *lp, void *arg)
{
	struct daemon *d = arg;

	/* Keep the service manager from SIGKILLing us while VMs flush. */
	notify_extend(15 * 1000000ull);
	d->extend_timer = loop_add_timer(d->lp, 5000, extend_cb, d);
}

static void
update_status(struct daemon *d)
{
	unsigned running = 0, enabled = 0, down = 0;
	char buf[sizeof(d->last_status)];
	size_t i;

	for (i = 0; i < d->n_vms; i++) {
		if (!d->vms[i]->vm_hw->vm_policy.po_enable)
			continue;
		enabled++;
		running += d->vms[i]->vm_state == VS_RUNNING;
		down += sup_is_down(d->vms[i]);
	}
	if (d->exiting)
		snprintf(buf, sizeof(buf), "stopping: %u/%u VMs still up", enabled - down, enabled);
	else
		snprintf(buf, sizeof(buf), "%u/%u VMs running", running, enabled);
	if (strcmp(buf, d->last_status) != 0) {
		memcpy(d->last_status, buf, sizeof(buf));
		notify_status("%s", buf);
	}
}

void
daemon_idle(struct loop *lp, void *arg)
{
	struct daemon *d = arg;
	size_t i;
	int rounds;
	bool all_down = true;

	/* Each pass may change states, which may unblock another VM. */
	for (rounds = 0; d->dirty && rounds < 16; rounds++) {
		d->dirty = false;
		sched_stops(d);
		sched_starts(d);
	}
	if (d->idle_hook)
		d->idle_hook(d->idle_arg);
	reload_idle(d);
	update_status(d);
	if (!d->exiting)
		return;
	if (!d->extend_timer && notify_enabled())
		extend_cb(lp, d);
	for (i = 0; i < d->n_vms; i++)
		if (!sup_is_down(d->vms[i]))
			all_down = false;	/* (adopting too: a QEMU being adopted is stopped next) */
	/* Downscripts are waited for: each has a deadline, so the wait is bounded. */
	if (scripts_running(d->scripts))
		all_down = false;
	if (all_down) {
		log_info("all VMs are stopped");
		/* A clean exit: the next daemon starts as at boot (autostart). */
		for (i = 0; i < d->n_vms; i++)
			daemon_intent_forget(d, d->vms[i]);
		loop_stop(lp);
	}
}

/* ---- status ---- */

/* What the VM's QEMU runs with; before its first run, what was asked. */
const char *
daemon_accel_name(struct daemon *d, const struct vm *vm)
{
	enum hw_accel a = vm->vm_accel != HW_ACCEL_AUTO ? vm->vm_accel : vm->vm_hw->vm_accel;

	return a == HW_ACCEL_KVM ? "kvm" : a == HW_ACCEL_TCG ? "tcg" : "auto";
}

static struct json_object *
port_or_null(int port)
{
	return port < 0 ? NULL : json_object_new_int(port);
}

struct json_object *
daemon_vm_json(struct daemon *d, const struct vm *vm)
{
	struct json_object *o = json_object_new_object();
	const struct hw_vm *hw = vm->vm_hw;
	bool up = sup_has_process(vm) && vm->vm_state != VS_STARTING;

	json_object_object_add(o, "name", json_object_new_string(vm->vm_name));
	json_object_object_add(o, "state", json_object_new_string(sup_display_state(vm)));
	json_object_object_add(o, "run_state", vm->vm_run_state[0] && sup_has_process(vm) ?
	    json_object_new_string(vm->vm_run_state) : NULL);
	json_object_object_add(o, "pid", vm->vm_pid ? json_object_new_int(vm->vm_pid) : NULL);
	json_object_object_add(o, "uptime", up && vm->vm_started_ms ?
	    json_object_new_double((double)(now_ms() - vm->vm_started_ms) / 1000.0) : NULL);
	json_object_object_add(o, "accel", json_object_new_string(daemon_accel_name(d, vm)));
	json_object_object_add(o, "accel_note", vm->vm_accel_note[0] ?
	    json_object_new_string(vm->vm_accel_note) : NULL);
	json_object_object_add(o, "enabled", json_object_new_boolean(hw->vm_policy.po_enable));
	json_object_object_add(o, "autostart", json_object_new_boolean(hw->vm_policy.po_autostart));
	json_object_object_add(o, "serial", port_or_null(hw->vm_serial));
	json_object_object_add(o, "monitor", port_or_null(hw->vm_monitor));
	if (hw->vm_vnc < 0) {
		json_object_object_add(o, "vnc", NULL);
	} else {
		char *v = xasprintf("%s:%d", d->inv.inv_listen ? d->inv.inv_listen : "127.0.0.1",
		    5900 + hw->vm_vnc);
		json_object_object_add(o, "vnc", json_object_new_string(v));
		free(v);
	}
	state_json_stop_fields(o, vm);
	reload_vm_json(vm, o);
	return o;
}
