/*
 * Daemon start: every VM's runtime files are looked at, a QEMU of a
 * previous daemon is adopted (or its lock waited for: the table's
 * adopting state), and what its intent file says is resumed.
 */
#include <errno.h>
#include <string.h>

#include "lib/log.h"
#include "qemu/qemu_proc.h"
#include "vmd/autokill.h"
#include "vmd/daemon.h"
#include "vmd/machine.h"
#include "lib/loop.h"
#include "vmd/reload.h"
#include "vmd/state.h"
#include "vmd/tpm.h"
#include "vmd/vmcon.h"
#include "vmd/vmnet.h"
#include "config/vmpriv.h"

/* A locked VM without an identified QEMU: look again this often (how long: SUP_ADOPT_WAIT_MS). */
#define ADOPT_RETRY_MS	200

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
	if (daemon_watch_process(d, vm)) {
		close(fd);
		vm->vm_pidfd = -1;
		vm->vm_pid = 0;
		return -1;
	}
	sup_event(&d->sup, vm, VE_ADOPT, 0);
	machine_adopted(d, vm);
	reload_check_adopted(d, vm);
	if (qproc_age_ms(pid, &age) == 0 && age < vm->vm_started_ms)
		vm->vm_started_ms -= age;	/* uptime of the QEMU, not of us */
	autokill_adopted(d, vm);
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
	char *pf = daemon_run_path(d, vm, "pid"), *lf = daemon_run_path(d, vm, "lock");
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
	/* Its swtpm: adopted with its QEMU, stopped when that is gone. */
	if (r != AD_BUSY && vm->vm_hw->vm_tpm)
		tpm_adopt(d, vm, r == AD_ADOPTED);
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
	bool ak;
	size_t i;
	int e;

	d->sup.ops = &daemon_sup_ops;
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
		/* Started with --autokill: its connection is gone, so nothing it asked stands. */
		ak = autokill_orphaned(d, vm);
		if (ak && was.it_want != INTENT_NONE)
			was.it_want = INTENT_DOWN;
		/* What was wanted: a VM wanted down is adopted as such (vm_want). */
		vm->vm_want = was.it_want == INTENT_DOWN ? WANT_DOWN :
		    was.it_want == INTENT_NONE ? WANT_NONE : WANT_UP;
		vmcon_open(d, vm);
		r = adopt(d, vm, false);
		if (ak && r == AD_NONE) {
			/* Its QEMU died with the old daemon: down, not resumed. */
			log_vm(LOG_INFO, vm->vm_name, "was started with --autokill by a connection "
			    "that is gone: not resumed");
			autokill_forget(d, vm);
			daemon_intent_sync(d, vm);
		}
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
