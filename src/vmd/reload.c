/*
 * Reload (see reload.h). A VM whose running QEMU would differ from the new
 * inventory gets a struct vm_reload: vm_hw then points at a mix of the
 * configuration QEMU was started with and the changes that need no new
 * QEMU (rv_mix), and the new configuration waits in rv_next until the
 * process is gone (reload_vm_gone). Superseded inventories stay alive for
 * as long as any VM points into one (rl_old, freed by gc()).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/json_add.h"
#include "lib/log.h"
#include "lib/util.h"
#include "qemu/qemu_argv.h"
#include "qemu/qemu_fw.h"
#include "qemu/qemu_proc.h"
#include "qemu/qmp.h"
#include "vmd/daemon.h"
#include "vmd/machine.h"
#include "lib/loop.h"
#include "vmd/nicmodels.h"
#include "vmd/metrics.h"
#include "vmd/reload.h"
#include "vmd/state.h"
#include "vmd/vmcon.h"
#include "vmd/vmnet.h"

struct vm_reload {
	const struct hw_vm *rv_base;	/* what its QEMU was started with */
	const struct hw_vm *rv_soft;	/* where the at-once changes come from */
	const struct hw_vm *rv_next;	/* applied once down; NULL: removed */
	struct hw_vm	 rv_mix;	/* rv_base + rv_soft's at-once fields */
	/* The inventory whose globals (emulator_dir, console settings) its
	   QEMU and consoles were set up with: kept alive like rv_base's. */
	const struct inventory *rv_inv;
	char		*rv_why;	/* what differs, for status and the log */
	bool		 rv_consoles;	/* reopen the consoles when applying */
	bool		 rv_adopted;	/* an adopted QEMU not started from rv_base */
};

#define ADOPTED_WHY	"the running QEMU was started with a different configuration"


struct reload {
	struct inventory **rl_old;	/* superseded, still pointed into */
	size_t		 rl_n_old;
	struct vm_reload **rl_dead;	/* applied: freed at the next idle pass */
	size_t		 rl_n_dead;
	bool		 rl_pending;	/* waits for an emulator's NIC models */
	struct json_object *rl_result;	/* the last reload's response */
};

static struct reload *
rl_of(struct daemon *d)
{
	if (!d->reload)
		d->reload = xcalloc(1, sizeof(*d->reload));
	return d->reload;
}

static bool
str_eq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static void
add_why(char *why, size_t len, const char *what)
{
	size_t n = strlen(why);

	snprintf(why + n, len - n, "%s%s", n ? ", " : "", what);
}

/* Log one line and add it to a response array. vm may be NULL. */
static void __attribute__((format(printf, 4, 5)))
note(struct json_object *arr, int prio, const char *vm, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (vm) {
		log_vm(prio, vm, "reload: %s", msg);
		char *s = xasprintf("vm %s: %s", vm, msg);
		json_object_array_add(arr, json_object_new_string(s));
		free(s);
	} else {
		log_msg(prio, "reload: %s", msg);
		json_object_array_add(arr, json_object_new_string(msg));
	}
}

/* ---- what differs ---- */

static bool
strv_differ(const struct strv *a, const struct strv *b)
{
	size_t i;

	if (a->sv_n != b->sv_n)
		return true;
	for (i = 0; i < a->sv_n; i++)
		if (strcmp(a->sv_v[i], b->sv_v[i]) != 0)
			return true;
	return false;
}

static bool
argv_differs(const struct hw_vm *a, const struct qemu_env *ea, const struct hw_vm *b,
    const struct qemu_env *eb)
{
	struct qemu_env xa = *ea, xb = *eb;
	struct strv va = { 0 }, vb = { 0 };
	char err[256];
	bool differ = true;

	/* The standalone form: tap and chardev fd numbers are not configuration. */
	xa.qe_nic_fds = xb.qe_nic_fds = NULL;
	xa.qe_n_nic_fds = xb.qe_n_nic_fds = 0;
	xa.qe_chr_fds = xb.qe_chr_fds = NULL;
	if (qemu_argv(a, &xa, &va, err, sizeof(err)) == 0 &&
	    qemu_argv(b, &xb, &vb, err, sizeof(err)) == 0)
		differ = strv_differ(&va, &vb);
	strv_free(&va);
	strv_free(&vb);
	return differ;
}

/* The daemon's telnet endpoints and console logs (vmcon.c) of a VM. */
static bool
consoles_differ(const struct inventory *ia, const struct hw_vm *a,
    const struct inventory *ib, const struct hw_vm *b)
{
	return a->vm_serial != b->vm_serial || a->vm_monitor != b->vm_monitor ||
	    (b->vm_monitor != HW_PORT_NONE &&
	    !str_eq(ia->inv_monitor_listen, ib->inv_monitor_listen)) ||
	    ia->inv_console_scrollback != ib->inv_console_scrollback ||
	    ia->inv_console_log_size != ib->inv_console_log_size ||
	    ia->inv_console_log_keep != ib->inv_console_log_keep ||
	    ia->inv_console_idle_timeout != ib->inv_console_idle_timeout;
}

/*
 * What a QEMU started for a would need changed to be one started for b:
 * its argv, or what the daemon sets up around it. Empty: nothing.
 */
static void
hard_diff(const struct inventory *ia, const struct qemu_env *ea, const struct hw_vm *a,
    const struct inventory *ib, const struct qemu_env *eb, const struct hw_vm *b,
    char *why, size_t len)
{
	size_t i;

	why[0] = '\0';
	if (argv_differs(a, ea, b, eb))
		add_why(why, len, "QEMU command line");
	if (a->vm_serial != b->vm_serial)
		add_why(why, len, "serial port");
	if (a->vm_monitor != b->vm_monitor || (b->vm_monitor != HW_PORT_NONE &&
	    !str_eq(ia->inv_monitor_listen, ib->inv_monitor_listen)))
		add_why(why, len, "monitor port");
	if (ia->inv_console_scrollback != ib->inv_console_scrollback ||
	    ia->inv_console_log_size != ib->inv_console_log_size ||
	    ia->inv_console_log_keep != ib->inv_console_log_keep)
		add_why(why, len, "console settings");
	if (!str_eq(a->vm_vnc_password_file, b->vm_vnc_password_file))
		add_why(why, len, "vnc_password_file");
	if (!str_eq(a->vm_runas, b->vm_runas))
		add_why(why, len, "runas");
	for (i = 0; i < a->vm_n_nics && a->vm_n_nics == b->vm_n_nics; i++)
		if (!str_eq(a->vm_nics[i].nic_script, b->vm_nics[i].nic_script) ||
		    !str_eq(a->vm_nics[i].nic_downscript, b->vm_nics[i].nic_downscript)) {
			add_why(why, len, "nic scripts");
			break;
		}
}

/*
 * The changes a running VM takes at once (vmservice.conf(5), RELOAD):
 * nothing here reaches QEMU (on_panic is the daemon's answer to a paused
 * guest: QEMU always runs with panic=pause): the policy section of
 * struct hw_vm (hw.h), whole. A new option of that kind goes there.
 */
static void
mix_soft(struct hw_vm *m, const struct hw_vm *base, const struct hw_vm *soft)
{
	*m = *base;
	m->vm_policy = soft->vm_policy;
}

static bool
soft_differs(const struct hw_vm *a, const struct hw_vm *b)
{
	return vm_policy_differs(&a->vm_policy, &b->vm_policy);
}

/* ---- per-VM state ---- */

static void
set_hw(struct vm *vm, const struct hw_vm *hw)
{
	vm->vm_hw = hw;
	vm->vm_name = hw->vm_name;
}

static void
rv_free(struct vm_reload *rv)
{
	if (!rv)
		return;
	free(rv->rv_why);
	free(rv);
}

/*
 * Detach vm's reload state once vm_hw points elsewhere. Freed at the next
 * idle pass, not now: the supervisor action that made the VM go may still
 * hold the old vm_hw (rv_mix).
 */
static void
rv_retire(struct daemon *d, struct vm *vm)
{
	struct reload *rl = rl_of(d);

	if (!vm->vm_reload)
		return;
	rl->rl_dead = xrealloc(rl->rl_dead, (rl->rl_n_dead + 1) * sizeof(*rl->rl_dead));
	rl->rl_dead[rl->rl_n_dead++] = vm->vm_reload;
	vm->vm_reload = NULL;
}

/*
 * vm's reload state, created from its current configuration if need be:
 * without one, its QEMU and consoles were set up with prev's globals.
 */
static struct vm_reload *
rv_get(struct vm *vm, const struct inventory *prev)
{
	struct vm_reload *rv = vm->vm_reload;

	if (rv)
		return rv;
	rv = vm->vm_reload = xcalloc(1, sizeof(*rv));
	rv->rv_base = rv->rv_soft = vm->vm_hw;
	rv->rv_inv = prev;
	return rv;
}

/*
 * Make vm's consoles match its configuration: close them when they changed
 * or the VM is disabled, then open what an enabled VM lacks. Two steps, so
 * that VMs trading ports all close before any opens.
 */
static void
consoles_close(struct daemon *d, struct vm *vm, bool changed)
{
	if (!vm->vm_con_serial && !vm->vm_con_monitor)
		return;
	if (!changed && vm->vm_hw->vm_policy.po_enable)
		return;
	vmcon_close(vm);
}

static void
consoles_open(struct daemon *d, struct vm *vm)
{
	if (vm->vm_hw->vm_policy.po_enable && !vm->vm_con_serial && !vm->vm_con_monitor)
		vmcon_open(d, vm);
}

static void
consoles_apply(struct daemon *d, struct vm *vm, bool changed)
{
	consoles_close(d, vm, changed);
	consoles_open(d, vm);
}

/*
 * The normal way down (halt, SIGTERM, SIGKILL), after the VMs after it:
 * the table cancels a wait, forgets a restart, or leaves the stop to
 * sched_stops(); ev: VE_WIND_DOWN (disabled) or VE_REMOVE (gone).
 */
static void
stop_safely(struct daemon *d, struct vm *vm, enum vm_event ev)
{
	sup_event(&d->sup, vm, ev, 0);
	daemon_intent_sync(d, vm);
	d->dirty = true;
}

/* ---- superseded inventories ---- */

static bool
points_into(const struct inventory *inv, const struct hw_vm *hw)
{
	uintptr_t p = (uintptr_t)hw, lo = (uintptr_t)inv->inv_vms;

	return hw && p >= lo && p < lo + inv->inv_n_vms * sizeof(*inv->inv_vms);
}

static bool
rv_points_into(const struct inventory *inv, const struct vm_reload *rv)
{
	return rv->rv_inv == inv || points_into(inv, rv->rv_base) ||
	    points_into(inv, rv->rv_soft) || points_into(inv, rv->rv_next);
}

static bool
inv_in_use(struct daemon *d, const struct inventory *inv)
{
	struct reload *rl = rl_of(d);
	size_t i;

	for (i = 0; i < d->n_vms; i++) {
		const struct vm *vm = d->vms[i];
		if (points_into(inv, vm->vm_hw) ||
		    (vm->vm_reload && rv_points_into(inv, vm->vm_reload)))
			return true;
	}
	for (i = 0; i < rl->rl_n_dead; i++)
		if (rv_points_into(inv, rl->rl_dead[i]))
			return true;
	return false;
}

static void
gc(struct daemon *d)
{
	struct reload *rl = rl_of(d);
	size_t i = 0;

	while (i < rl->rl_n_old) {
		if (inv_in_use(d, rl->rl_old[i])) {
			i++;
			continue;
		}
		inv_free(rl->rl_old[i]);
		free(rl->rl_old[i]);
		rl->rl_old[i] = rl->rl_old[--rl->rl_n_old];
	}
}

/* ---- applying a new inventory ---- */

/*
 * Where things live cannot move under running VMs and their clients:
 * d->inv keeps the old values (the strings d->env points to move with
 * them), prev gets the new ones.
 */
static void
keep_global(const char *opt, char **cur, char **prev, const char *def,
    struct json_object *warns)
{
	char *t;

	if (!str_eq(*cur, *prev))
		note(warns, LOG_WARNING, NULL, "%s changed (%s -> %s): that needs a daemon "
		    "restart; still using %s", opt, *prev ? *prev : def, *cur ? *cur : def,
		    *prev ? *prev : def);
	t = *cur;
	*cur = *prev;
	*prev = t;
}

static void
remove_vm(struct daemon *d, struct vm *vm, const struct inventory *prev,
    struct json_object *chg)
{
	struct vm_reload *rv = vm->vm_reload;

	if (rv && !rv->rv_next)
		return;		/* removed by an earlier reload, still going */
	rv = rv_get(vm, prev);
	rv->rv_next = NULL;
	rv->rv_consoles = false;
	free(rv->rv_why);
	rv->rv_why = xstrdup("removed from the inventory");
	mix_soft(&rv->rv_mix, rv->rv_base, rv->rv_soft);
	rv->rv_mix.vm_policy.po_enable = false;
	rv->rv_mix.vm_policy.po_autostart = false;
	rv->rv_mix.vm_policy.po_restart = HW_RESTART_NO;	/* going, whatever happens */
	if (rv->rv_mix.vm_policy.po_on_panic == HW_PANIC_RESTART)
		rv->rv_mix.vm_policy.po_on_panic = HW_PANIC_POWEROFF;
	set_hw(vm, &rv->rv_mix);
	if (sup_is_down(vm))
		note(chg, LOG_INFO, vm->vm_name, "removed");
	else
		note(chg, LOG_INFO, vm->vm_name, "removed: stopping it (%s now)",
		    sup_state_name(vm->vm_state));
	/* Down: removed at once; else stopped in order, never restarted. */
	stop_safely(d, vm, VE_REMOVE);
	d->dirty = true;
}

/* No QEMU runs: vm simply takes nh. */
static void
update_down(struct daemon *d, struct vm *vm, const struct inventory *prev,
    const struct qemu_env *oenv, struct hw_vm *nh, struct json_object *chg)
{
	const struct hw_vm *cur = vm->vm_hw;
	bool was_enabled = cur->vm_policy.po_enable, con;
	char why[256];

	hard_diff(prev, oenv, cur, &d->inv, &d->env, nh, why, sizeof(why));
	con = consoles_differ(prev, cur, &d->inv, nh);
	if (why[0] || soft_differs(cur, nh) || vm->vm_reload)
		note(chg, LOG_INFO, vm->vm_name, "updated (%s)", sup_state_name(vm->vm_state));
	rv_retire(d, vm);
	set_hw(vm, nh);
	consoles_close(d, vm, con);	/* apply() opens them again */
	if (!nh->vm_policy.po_enable && was_enabled && !sup_is_down(vm)) {
		note(chg, LOG_INFO, vm->vm_name, "disabled: start cancelled");
		stop_safely(d, vm, VE_WIND_DOWN);
	}
}

/* A QEMU runs (or is starting or stopping). */
static void
update_running(struct daemon *d, struct vm *vm, const struct inventory *prev,
    const struct qemu_env *oenv, struct hw_vm *nh, struct json_object *chg)
{
	struct vm_reload *rv = vm->vm_reload;
	const struct hw_vm *base = rv ? rv->rv_base : vm->vm_hw;
	const struct hw_vm *soft = rv ? rv->rv_soft : vm->vm_hw;
	bool was_enabled = rv && !rv->rv_next ? false : vm->vm_hw->vm_policy.po_enable, con;
	const struct inventory *binv = rv ? rv->rv_inv : prev;
	struct qemu_env benv = *oenv;
	struct hw_limits lim = vm->vm_hw->vm_policy.po_limits;
	char why[256];

	benv.qe_emulator_dir = binv->inv_emulator_dir;
	if (rv && !rv->rv_next)
		sup_event(&d->sup, vm, VE_UNREMOVE, 0);	/* runs on if its stop was not sent */
	hard_diff(binv, &benv, base, &d->inv, &d->env, nh, why, sizeof(why));
	if (rv && rv->rv_adopted) {
		/* rv_base is a guess: the QEMU is known to differ from it. */
		char tmp[sizeof(why)];
		snprintf(tmp, sizeof(tmp), "%s", why);
		snprintf(why, sizeof(why), "%s%s%.150s", ADOPTED_WHY, tmp[0] ? ", " : "", tmp);
	}
	con = consoles_differ(binv, base, &d->inv, nh);
	if (!why[0]) {
		/* Its QEMU already is what nh describes. */
		if (rv && rv->rv_next)
			note(chg, LOG_INFO, vm->vm_name, "no longer restart-pending");
		else if (rv)
			note(chg, LOG_INFO, vm->vm_name, "back in the inventory");
		if (soft_differs(soft, nh))
			note(chg, LOG_INFO, vm->vm_name, "updated (applied now)");
		rv_retire(d, vm);
		set_hw(vm, nh);
	} else {
		rv = rv_get(vm, prev);
		if (!rv->rv_why || strcmp(rv->rv_why, why) != 0 || !rv->rv_next)
			note(chg, LOG_INFO, vm->vm_name, "restart-pending (%s): `vmctl restart %s` "
			    "applies it", why, vm->vm_name);
		rv->rv_soft = rv->rv_next = nh;
		rv->rv_consoles = con;
		free(rv->rv_why);
		rv->rv_why = xstrdup(why);
		mix_soft(&rv->rv_mix, rv->rv_base, nh);
		set_hw(vm, &rv->rv_mix);
	}
	/* Limits are policy: applied to the running QEMU's scope or cgroup now. */
	if (hw_limits_differ(&lim, &vm->vm_hw->vm_policy.po_limits))
		machine_limits_changed(d, vm);
	if (was_enabled && !nh->vm_policy.po_enable) {
		note(chg, LOG_INFO, vm->vm_name, "disabled: stopping it");
		stop_safely(d, vm, VE_WIND_DOWN);
	}
}

static void
add_vm(struct daemon *d, struct hw_vm *nh, struct json_object *chg)
{
	struct vm *vm = xcalloc(1, sizeof(*vm));

	sup_vm_init(vm, nh);
	vm->vm_ctx = d;
	state_read(d->inv.inv_state_dir, vm);
	d->vms = xrealloc(d->vms, (d->n_vms + 1) * sizeof(*d->vms));
	d->vms[d->n_vms++] = vm;
	if (nh->vm_policy.po_enable)
		vmcon_open(d, vm);
	note(chg, LOG_INFO, vm->vm_name, "added%s", nh->vm_policy.po_enable ? "" : " (disabled)");
}

/* d->vms in the new inventory's order; removed VMs last. */
static void
reorder(struct daemon *d)
{
	struct vm **v = xcalloc(d->n_vms, sizeof(*v));
	size_t i, j, n = 0;

	for (i = 0; i < d->inv.inv_n_vms; i++)
		for (j = 0; j < d->n_vms; j++)
			if (d->vms[j] &&
			    strcmp(d->vms[j]->vm_name, d->inv.inv_vms[i].vm_name) == 0 &&
			    !(d->vms[j]->vm_reload && !d->vms[j]->vm_reload->rv_next)) {
				v[n++] = d->vms[j];
				d->vms[j] = NULL;
				break;
			}
	for (j = 0; j < d->n_vms; j++)
		if (d->vms[j])
			v[n++] = d->vms[j];
	free(d->vms);
	d->vms = v;
}

static struct json_object *
refuse(struct json_object *o, const char *msg, struct json_object *errs)
{
	json_object_object_add(o, "ok", json_object_new_boolean(false));
	json_object_object_add(o, "error", json_object_new_string(msg));
	if (errs)
		json_object_object_add(o, "errors", errs);
	return o;
}

/* The inventory is valid: make the daemon match it. */
static void
apply(struct daemon *d, struct inventory *ninv, struct json_object *chg,
    struct json_object *warns)
{
	struct reload *rl = rl_of(d);
	struct inventory *prev = xmalloc(sizeof(*prev));
	struct qemu_env oenv = d->env;
	struct vm **start;
	size_t i, n_start = 0, n_old = d->n_vms;
	char err[512];

	*prev = d->inv;
	d->inv = *ninv;
	keep_global("run_dir", &d->inv.inv_run_dir, &prev->inv_run_dir, "?", warns);
	keep_global("state_dir", &d->inv.inv_state_dir, &prev->inv_state_dir, "?", warns);
	keep_global("log_dir", &d->inv.inv_log_dir, &prev->inv_log_dir, "?", warns);
	keep_global("listen", &d->inv.inv_listen, &prev->inv_listen, "127.0.0.1", warns);
	d->env.qe_emulator_dir = d->inv.inv_emulator_dir;
	metrics_changed(d);	/* maybe a new metrics_file */
	rl->rl_old = xrealloc(rl->rl_old, (rl->rl_n_old + 1) * sizeof(*rl->rl_old));
	rl->rl_old[rl->rl_n_old++] = prev;

	start = xcalloc(d->inv.inv_n_vms + 1, sizeof(*start));
	for (i = 0; i < n_old; i++) {
		struct vm *vm = d->vms[i];
		struct hw_vm *nh = inv_find_vm(&d->inv, vm->vm_name);
		bool was_on = vm->vm_hw->vm_policy.po_enable;

		if (vm->vm_attach)
			continue;	/* not the inventory's (attached_names) */
		if (!nh)
			remove_vm(d, vm, prev, chg);
		else if (sup_has_process(vm))
			update_running(d, vm, prev, &oenv, nh, chg);
		else
			update_down(d, vm, prev, &oenv, nh, chg);
		/* Enabled by this reload: as if new. */
		if (nh && !was_on && nh->vm_policy.po_enable && nh->vm_policy.po_autostart)
			start[n_start++] = vm;
	}
	for (i = 0; i < d->inv.inv_n_vms; i++) {
		struct hw_vm *nh = &d->inv.inv_vms[i];
		if (daemon_find_vm(d, nh->vm_name))
			continue;
		add_vm(d, nh, chg);
		if (nh->vm_policy.po_enable && nh->vm_policy.po_autostart)
			start[n_start++] = d->vms[d->n_vms - 1];
	}
	for (i = 0; i < n_old; i++)
		if (!sup_has_process(d->vms[i]) && !d->vms[i]->vm_attach)
			consoles_open(d, d->vms[i]);
	reorder(d);
	/* After every VM has its new configuration: `after` is the new one. */
	for (i = 0; i < n_start; i++) {
		enum vm_state st = start[i]->vm_state;
		if (st == VS_WAITING || st == VS_STARTING || st == VS_RUNNING || st == VS_PANICKED ||
		    st == VS_BOOTING || st == VS_NOT_READY)
			continue;	/* pulled in by an earlier one */
		if (daemon_start_vm(d, start[i], err, sizeof(err)) == 0)
			note(chg, LOG_INFO, start[i]->vm_name, "starting (autostart)");
		else
			note(warns, LOG_ERR, start[i]->vm_name, "not started: %s", err);
	}
	free(start);
	/* Stops cancelled by it (a VM back in the inventory) are no intent. */
	for (i = 0; i < d->n_vms; i++)
		daemon_intent_sync(d, d->vms[i]);
	gc(d);
	d->dirty = true;
}

/*
 * An attached VM (vmctl attach) named by the new inventory: a running one
 * keeps its name, so the reload is refused; a stopped one gives way.
 */
static int
attached_names(struct daemon *d, const struct inventory *ninv, char *msg, size_t len)
{
	size_t i = 0, j;

	while (i < d->n_vms) {
		struct vm *vm = d->vms[i];

		if (!vm->vm_attach || !inv_find_vm(ninv, vm->vm_name)) {
			i++;
			continue;
		}
		if (!sup_is_down(vm)) {
			snprintf(msg, len, "%s: vm %s is an attached QEMU (vmctl attach, pid %d): "
			    "stop it before adding %s to the inventory; nothing changed",
			    d->conf_path, vm->vm_name, (int)vm->vm_pid, vm->vm_name);
			return -EBUSY;
		}
		log_vm(LOG_INFO, vm->vm_name, "attached VM dropped: the inventory has its name now");
		for (j = i; j + 1 < d->n_vms; j++)
			d->vms[j] = d->vms[j + 1];
		d->n_vms--;
		vm_release(d, vm);
	}
	return 0;
}

/* inv_opts io_models: the answers of nicmodels.h, never a wait. */
static int
emulator_models(void *arg, const char *emulator, const struct strv **models)
{
	struct daemon *d = arg;

	return d->nicm ? nicm_lookup(d->nicm, emulator, d->inv.inv_runas, models) : -ENOEXEC;
}

static struct json_object *
run(struct daemon *d)
{
	struct json_object *o, *errs, *warns, *chg;
	struct inv_opts opts = { .io_models = emulator_models, .io_arg = d };
	struct inventory ninv = { 0 };
	struct diag dg = { 0 };
	char msg[512];
	size_t i;
	int e;

	if (d->exiting) {
		log_warn("reload refused: vmserviced is shutting down");
		return refuse(json_object_new_object(), "vmserviced is shutting down", NULL);
	}
	log_info("reloading %s", d->conf_path);
	e = inv_load_opts(d->conf_path, &ninv, &dg, &opts);
	if (opts.io_pending) {
		/* Judged once the emulator has answered, as check-config would. */
		log_info("reload waits for an emulator's list of NIC models");
		if (!e)
			inv_free(&ninv);
		diag_free(&dg);
		rl_of(d)->rl_pending = true;
		return NULL;
	}
	o = json_object_new_object();
	errs = json_object_new_array();
	warns = json_object_new_array();
	for (i = 0; i < dg.dg_n; i++) {
		char *s = diag_format(&dg.dg_items[i]);
		bool is_err = dg.dg_items[i].di_sev == DIAG_ERROR;

		log_msg(is_err ? LOG_ERR : LOG_WARNING, "%s", s);
		json_object_array_add(is_err ? errs : warns, json_object_new_string(s));
		free(s);
	}
	if (e) {
		snprintf(msg, sizeof(msg), "%s: %zu error%s; nothing changed, the daemon keeps "
		    "the inventory it has", d->conf_path, dg.dg_errors,
		    dg.dg_errors == 1 ? "" : "s");
		if (dg.dg_errors == 0)
			snprintf(msg, sizeof(msg), "%s: %s; nothing changed", d->conf_path,
			    strerror(-e));
		log_err("reload failed: %s", msg);
		diag_free(&dg);
		json_object_put(warns);
		return refuse(o, msg, errs);
	}
	diag_free(&dg);
	if (attached_names(d, &ninv, msg, sizeof(msg)) != 0) {
		log_err("reload failed: %s", msg);
		inv_free(&ninv);
		json_object_put(warns);
		return refuse(o, msg, errs);
	}
	json_object_put(errs);
	chg = json_object_new_array();
	apply(d, &ninv, chg, warns);
	log_info("reloaded %s: %zu VMs, %zu change%s", d->conf_path, d->inv.inv_n_vms,
	    json_object_array_length(chg), json_object_array_length(chg) == 1 ? "" : "s");
	json_object_object_add(o, "ok", json_object_new_boolean(true));
	json_object_object_add(o, "changes", chg);
	json_object_object_add(o, "warnings", warns);
	return o;
}

struct json_object *
reload_run(struct daemon *d)
{
	struct reload *rl = rl_of(d);
	struct json_object *o;

	if (rl->rl_pending) {
		/* It reads the file when it resumes: this one is the same reload. */
		log_info("reload: one is already waiting for an emulator, joining it");
		return NULL;
	}
	o = run(d);
	if (o) {
		json_object_put(rl->rl_result);
		rl->rl_result = json_object_get(o);
	}
	return o;
}

bool
reload_pending(const struct daemon *d)
{
	return d->reload && d->reload->rl_pending;
}

struct json_object *
reload_result(struct daemon *d)
{
	struct reload *rl = rl_of(d);

	if (!rl->rl_result)
		return refuse(json_object_new_object(), "no reload has finished", NULL);
	return json_object_get(rl->rl_result);
}

void
reload_resume(struct daemon *d)
{
	if (!reload_pending(d))
		return;
	d->reload->rl_pending = false;
	json_object_put(reload_run(d));
}

/* ---- the VM's side ---- */


void
reload_check_adopted(struct daemon *d, struct vm *vm)
{
	struct strv run = { 0 }, cur = { 0 };
	struct qemu_env env = d->env;
	struct qemu_nic_fds *fds;
	struct qemu_chr_fds chr;
	struct vm_reload *rv;
	char err[256];
	unsigned i, n = (unsigned)vm->vm_hw->vm_n_nics;
	int e;

	e = qproc_cmdline(vm->vm_pid, &run);
	if (e) {
		log_vm(LOG_WARNING, vm->vm_name, "cannot read the command line of pid %d: %s",
		    (int)vm->vm_pid, strerror(-e));
		strv_free(&run);
		return;
	}
	/*
	 * The argv op_spawn() would give it now, with the tap and chardev fds
	 * the running QEMU got (their numbers are not configuration, as in
	 * argv_differs).
	 */
	fds = xcalloc(n + 1, sizeof(*fds));
	for (i = 0; i < n; i++)
		qemu_argv_nic_fds(&run, i, &fds[i]);
	env.qe_nic_fds = fds;
	env.qe_n_nic_fds = n;
	/* Likewise the daemon-bound chardev sockets (issue 12). */
	qemu_argv_chr_fds(&run, &chr);
	env.qe_chr_fds = &chr;
	/* And the variable store's fd (firmware = uefi). */
	qemu_fw_nvram_fds(&run, env.qe_nvram_fds);
	e = qemu_argv(vm->vm_hw, &env, &cur, err, sizeof(err));
	/*
	 * A QEMU of an earlier version bound its own sockets (path=): still
	 * reachable (usock_connect checks it), but only a restart gives it
	 * sockets of the daemon's.
	 */
	if (!e && chr.qs_qmp < 0)
		log_vm(LOG_WARNING, vm->vm_name, "its QEMU created its own sockets in run_dir "
		    "(started by an earlier vmserviced)");
	if (e)
		log_vm(LOG_WARNING, vm->vm_name, "cannot build its command line: %s", err);
	else if (strv_differ(&run, &cur) || chr.qs_qmp < 0) {
		rv = rv_get(vm, &d->inv);
		rv->rv_next = vm->vm_hw;
		rv->rv_adopted = true;
		free(rv->rv_why);
		rv->rv_why = xstrdup(ADOPTED_WHY);
		log_vm(LOG_WARNING, vm->vm_name, "restart-pending: %s; `vmctl restart %s` "
		    "applies the current one", ADOPTED_WHY, vm->vm_name);
	}
	free(fds);
	strv_free(&run);
	strv_free(&cur);
}

void
reload_vm_gone(struct daemon *d, struct vm *vm)
{
	struct vm_reload *rv = vm->vm_reload;
	bool con;

	if (!rv) {
		if (!vm->vm_hw->vm_policy.po_enable)
			consoles_apply(d, vm, false);
		return;
	}
	if (!rv->rv_next) {
		d->dirty = true;	/* removed: reload_idle() drops it */
		return;
	}
	log_vm(LOG_INFO, vm->vm_name, "applying the reloaded configuration (%s)", rv->rv_why);
	con = rv->rv_consoles;
	set_hw(vm, rv->rv_next);
	rv_retire(d, vm);
	consoles_apply(d, vm, con);
	d->dirty = true;
}

/* vm is down and out of the inventory: forget it everywhere, free it. */
static void
drop(struct daemon *d, struct vm *vm)
{
	log_vm(LOG_INFO, vm->vm_name, "removed from the daemon");
	daemon_intent_forget(d, vm);
	rv_free(vm->vm_reload);
	vm->vm_reload = NULL;
	vm_release(d, vm);
}

void
reload_idle(struct daemon *d)
{
	struct reload *rl = d->reload;
	size_t i = 0, j;

	if (!rl)
		return;
	while (i < d->n_vms) {
		struct vm *vm = d->vms[i];

		/* The table says when a removed VM is down for good. */
		if (vm->vm_state != VS_REMOVED) {
			i++;
			continue;
		}
		drop(d, vm);
		for (j = i; j + 1 < d->n_vms; j++)
			d->vms[j] = d->vms[j + 1];
		d->n_vms--;
		d->dirty = true;
	}
	for (i = 0; i < rl->rl_n_dead; i++)
		rv_free(rl->rl_dead[i]);
	free(rl->rl_dead);
	rl->rl_dead = NULL;
	rl->rl_n_dead = 0;
	gc(d);
}

void
reload_vm_json(const struct vm *vm, struct json_object *o)
{
	const struct vm_reload *rv = vm->vm_reload;
	bool pending = rv && rv->rv_next;

	json_add_new(o, "restart_pending", json_object_new_boolean(pending));
	json_add_new(o, "pending_change",
	    pending ? json_object_new_string(rv->rv_why) : NULL);
	json_add_new(o, "removed", json_object_new_boolean(rv && !rv->rv_next));
}

void
reload_vm_free(struct vm *vm)
{
	rv_free(vm->vm_reload);
	vm->vm_reload = NULL;
}

void
reload_free(struct daemon *d)
{
	struct reload *rl = d->reload;
	size_t i;

	if (!rl)
		return;
	for (i = 0; i < rl->rl_n_dead; i++)
		rv_free(rl->rl_dead[i]);
	for (i = 0; i < rl->rl_n_old; i++) {
		inv_free(rl->rl_old[i]);
		free(rl->rl_old[i]);
	}
	free(rl->rl_dead);
	free(rl->rl_old);
	json_object_put(rl->rl_result);
	free(rl);
	d->reload = NULL;
}
