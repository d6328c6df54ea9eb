/* A VM's QEMU as a machine of the host: scope or cgroup, limits (machine.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-login.h>

#include "hw/machname.h"
#include "lib/cgroup2.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/util.h"
#include "vmd/daemon.h"
#include "vmd/machine.h"
#include "vmd/machined.h"

#define CG2_GROUP	"vmservice"	/* /sys/fs/cgroup/vmservice/NAME */
/* A restarted VM's old machine may still be registered for a moment. */
#define RETRY_MS	200
#define RETRIES		10

struct machines {
	struct cg_probe	 probe;
	struct mbus	*bus;
	char		*self_unit;	/* the daemon's unit (Before= of the scopes), or NULL */
};

struct vm_machine {
	int		 gate;		/* write end of the child's gate, or -1 */
	sd_bus_slot	*slot;		/* a bus call under way */
	uint64_t	 retry_timer;
	unsigned	 tries;
	char		 scope[HW_SCOPE_MAX];	/* "" when none known */
};

void
machines_init(struct daemon *d)
{
	struct machines *m = xcalloc(1, sizeof(*m));
	char err[256], *unit = NULL;

	cg_probe(&m->probe);
	if (m->probe.cp_backend == CG_SYSTEMD) {
		m->bus = mbus_open(d->lp, err, sizeof(err));
		if (!m->bus) {
			log_warn("VMs are not registered with systemd-machined: %s", err);
			m->probe.cp_backend = CG_NONE;
			snprintf(m->probe.cp_why, sizeof(m->probe.cp_why), "%s", err);
		} else if (sd_pid_get_unit(0, &unit) >= 0 && strstr(unit, ".service")) {
			m->self_unit = unit;
			unit = NULL;
		}
		free(unit);
	}
	log_info("VMs' resource limits: %s%s%s", cg_backend_name(m->probe.cp_backend),
	    m->probe.cp_backend == CG_NONE ? ", not applied: " : "", m->probe.cp_why);
	d->machines = m;
}

void
machines_free(struct daemon *d)
{
	if (!d->machines)
		return;
	mbus_free(d->machines->bus);
	free(d->machines->self_unit);
	free(d->machines);
	d->machines = NULL;
}

const char *
machines_backend(const struct daemon *d)
{
	return cg_backend_name(d->machines ? d->machines->probe.cp_backend : CG_NONE);
}

const char *
machine_scope(const struct vm *vm)
{
	return vm->vm_machine ? vm->vm_machine->scope : "";
}

static struct vm_machine *
get(struct vm *vm)
{
	if (!vm->vm_machine) {
		vm->vm_machine = xcalloc(1, sizeof(*vm->vm_machine));
		vm->vm_machine->gate = -1;
	}
	return vm->vm_machine;
}

static void
open_gate(struct vm *vm)
{
	struct vm_machine *m = vm->vm_machine;

	if (!m || m->gate < 0)
		return;
	/* The child gone already: EPIPE (SIGPIPE is blocked), nothing to open. */
	if (write(m->gate, "g", 1) != 1 && errno != EPIPE)
		log_vm(LOG_WARNING, vm->vm_name, "cannot open its QEMU's gate: %s",
		    strerror(errno));
	close(m->gate);
	m->gate = -1;
}

/* ---- cgroup v2, no systemd ---- */

static int
write_at(int dir, const char *file, const char *val)
{
	int fd = openat(dir, file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;
	int e = 0;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (n < 0)
		e = -errno;
	close(fd);
	return e;
}

/* /sys/fs/cgroup/vmservice/NAME as a directory fd (made if missing), or -errno. */
static int
group_dir(const struct machines *ms, const char *name, bool make, char *err, size_t errlen)
{
	char ctl[64] = "";
	int root, top, g = -1, e;

	if ((root = open(CG2_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		snprintf(err, errlen, "%s: %s", CG2_ROOT, strerror(errno));
		return -errno;
	}
	if (make && mkdirat(root, CG2_GROUP, 0755) < 0 && errno != EEXIST) {
		e = -errno;
		snprintf(err, errlen, "%s/%s: %s", CG2_ROOT, CG2_GROUP, strerror(errno));
		close(root);
		return e;
	}
	/* The controllers the limits need, for the group and its children. */
	if (make) {
		snprintf(ctl, sizeof(ctl), "%s%s%s", ms->probe.cp_ctrl & CG_CPU ? "+cpu " : "",
		    ms->probe.cp_ctrl & CG_MEMORY ? "+memory " : "",
		    ms->probe.cp_ctrl & CG_IO ? "+io" : "");
		if ((e = write_at(root, "cgroup.subtree_control", ctl)) < 0)
			log_warn("%s/cgroup.subtree_control: %s: %s", CG2_ROOT, ctl, strerror(-e));
	}
	top = openat(root, CG2_GROUP, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	e = -errno;
	close(root);
	if (top < 0) {
		snprintf(err, errlen, "%s/%s: %s", CG2_ROOT, CG2_GROUP, strerror(-e));
		return e;
	}
	if (make && (e = write_at(top, "cgroup.subtree_control", ctl)) < 0)
		log_warn("%s/%s/cgroup.subtree_control: %s: %s", CG2_ROOT, CG2_GROUP, ctl,
		    strerror(-e));
	if (make && mkdirat(top, name, 0755) < 0 && errno != EEXIST) {
		e = -errno;
		snprintf(err, errlen, "%s/%s/%s: %s", CG2_ROOT, CG2_GROUP, name, strerror(errno));
		close(top);
		return e;
	}
	g = openat(top, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	e = -errno;
	close(top);
	if (g < 0)
		snprintf(err, errlen, "%s/%s/%s: %s", CG2_ROOT, CG2_GROUP, name, strerror(-e));
	return g < 0 ? e : g;
}

/* The four files; unset limits back to the kernel's defaults. */
static int
group_limits(int g, const struct hw_limits *l, unsigned ctrl, char *err, size_t errlen)
{
	char v[64];
	int e;

	if (ctrl & CG_CPU) {
		snprintf(v, sizeof(v), "%u", l->lim_cpu_weight ? l->lim_cpu_weight : 100);
		if ((e = write_at(g, "cpu.weight", v)) < 0)
			goto fail_cpu_weight;
		if (l->lim_cpu_quota)
			snprintf(v, sizeof(v), "%u 100000", l->lim_cpu_quota * 1000);
		else
			snprintf(v, sizeof(v), "max 100000");
		if ((e = write_at(g, "cpu.max", v)) < 0) {
			snprintf(err, errlen, "cpu.max: %s", strerror(-e));
			return e;
		}
	}
	if (ctrl & CG_MEMORY) {
		if (l->lim_memory_max)
			snprintf(v, sizeof(v), "%llu", (unsigned long long)l->lim_memory_max);
		else
			snprintf(v, sizeof(v), "max");
		if ((e = write_at(g, "memory.max", v)) < 0) {
			snprintf(err, errlen, "memory.max: %s", strerror(-e));
			return e;
		}
	}
	if (ctrl & CG_IO) {
		snprintf(v, sizeof(v), "default %u", l->lim_io_weight ? l->lim_io_weight : 100);
		if ((e = write_at(g, "io.weight", v)) < 0) {
			snprintf(err, errlen, "io.weight: %s", strerror(-e));
			return e;
		}
	}
	return 0;
fail_cpu_weight:
	snprintf(err, errlen, "cpu.weight: %s", strerror(-e));
	return e;
}

static void
cg2_spawned(struct daemon *d, struct vm *vm)
{
	struct machines *ms = d->machines;
	char err[256], pid[24];
	int g, e;

	g = group_dir(ms, vm->vm_name, true, err, sizeof(err));
	if (g >= 0) {
		e = group_limits(g, &vm->vm_hw->vm_policy.po_limits, ms->probe.cp_ctrl, err,
		    sizeof(err));
		snprintf(pid, sizeof(pid), "%d", (int)vm->vm_pid);
		if (!e && (e = write_at(g, "cgroup.procs", pid)) < 0)
			snprintf(err, sizeof(err), "cgroup.procs: %s", strerror(-e));
		close(g);
		g = e;
	}
	if (g < 0)
		log_vm(LOG_WARNING, vm->vm_name, "limits not applied: %s", err);
	else
		log_vm(LOG_INFO, vm->vm_name, "in cgroup %s/%s/%s", CG2_ROOT, CG2_GROUP,
		    vm->vm_name);
	open_gate(vm);
}

/* ---- systemd-machined ---- */

static void create(struct daemon *d, struct vm *vm);

static void
retry_cb(struct loop *lp, void *arg)
{
	struct vm *vm = arg;

	vm->vm_machine->retry_timer = 0;
	create(vm->vm_ctx, vm);
}

static void
created_cb(void *arg, int e, const char *msg)
{
	struct vm *vm = arg;
	struct daemon *d = vm->vm_ctx;
	struct vm_machine *m = vm->vm_machine;
	char mach[HW_MACHNAME_MAX];

	m->slot = sd_bus_slot_unref(m->slot);
	hw_machine_name(vm->vm_name, mach, sizeof(mach));
	if ((e == -EEXIST || (msg && strstr(msg, "already exists"))) && ++m->tries < RETRIES) {
		/* The last QEMU's machine, not yet gone: machined lets go of it soon. */
		m->retry_timer = loop_add_timer(d->lp, RETRY_MS, retry_cb, vm);
		return;
	}
	if (e) {
		log_vm(LOG_WARNING, vm->vm_name, "not registered with systemd-machined, its "
		    "limits not applied: %s", msg ? msg : strerror(-e));
	} else {
		hw_machine_scope(mach, m->scope, sizeof(m->scope));
		log_vm(LOG_INFO, vm->vm_name, "machine %s, scope %s", mach, m->scope);
	}
	open_gate(vm);
}

static void
create(struct daemon *d, struct vm *vm)
{
	struct machines *ms = d->machines;
	struct vm_machine *m = vm->vm_machine;
	char mach[HW_MACHNAME_MAX];
	int e;

	if (vm->vm_pid <= 0) {	/* gone meanwhile */
		open_gate(vm);
		return;
	}
	hw_machine_name(vm->vm_name, mach, sizeof(mach));
	e = mbus_create_machine(ms->bus, mach, vm->vm_hw->vm_uuid, vm->vm_pid,
	    &vm->vm_hw->vm_policy.po_limits, ms->self_unit, created_cb, vm, &m->slot);
	if (e < 0) {
		log_vm(LOG_WARNING, vm->vm_name, "not registered with systemd-machined, its "
		    "limits not applied: %s", strerror(-e));
		open_gate(vm);
	}
}

static void
set_cb(void *arg, int e, const char *msg)
{
	struct vm *vm = arg;

	vm->vm_machine->slot = sd_bus_slot_unref(vm->vm_machine->slot);
	if (e)
		log_vm(LOG_WARNING, vm->vm_name, "new limits not applied to %s: %s",
		    vm->vm_machine->scope, msg ? msg : strerror(-e));
	else
		log_vm(LOG_INFO, vm->vm_name, "new limits applied to %s", vm->vm_machine->scope);
}

/* ---- the daemon's calls ---- */

int
machine_gate(struct daemon *d, struct vm *vm, int *gate, char *err, size_t errlen)
{
	struct vm_machine *m;
	int p[2];

	*gate = -1;
	if (!d->machines || d->machines->probe.cp_backend == CG_NONE) {
		if (hw_limits_set(&vm->vm_hw->vm_policy.po_limits))
			log_vm(LOG_WARNING, vm->vm_name, "limits not applied: %s",
			    d->machines ? d->machines->probe.cp_why : "not probed");
		return 0;
	}
	/* cgroup2 without limits: no group of its own needed. */
	if (d->machines->probe.cp_backend == CG_CGROUP2 &&
	    !hw_limits_set(&vm->vm_hw->vm_policy.po_limits))
		return 0;
	m = get(vm);
	if (m->gate >= 0)
		close(m->gate);
	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -errno;
	}
	m->gate = p[1];
	m->tries = 0;
	m->scope[0] = 0;
	*gate = p[0];
	return 0;
}

void
machine_spawned(struct daemon *d, struct vm *vm)
{
	if (!vm->vm_machine || vm->vm_machine->gate < 0)
		return;
	if (d->machines->probe.cp_backend == CG_CGROUP2)
		cg2_spawned(d, vm);
	else
		create(d, vm);
}

void
machine_adopted(struct daemon *d, struct vm *vm)
{
	char *unit = NULL;

	if (!d->machines || d->machines->probe.cp_backend != CG_SYSTEMD || vm->vm_pid <= 0)
		return;
	if (sd_pid_get_unit(vm->vm_pid, &unit) >= 0 && strncmp(unit, "machine-", 8) == 0) {
		snprintf(get(vm)->scope, sizeof(vm->vm_machine->scope), "%s", unit);
		log_vm(LOG_INFO, vm->vm_name, "keeps its scope %s", unit);
	}
	free(unit);
}

void
machine_limits_changed(struct daemon *d, struct vm *vm)
{
	struct machines *ms = d->machines;
	struct vm_machine *m = vm->vm_machine;
	char err[256];
	int g, e;

	if (!ms || vm->vm_pid <= 0)
		return;
	switch (ms->probe.cp_backend) {
	case CG_NONE:
		log_vm(LOG_WARNING, vm->vm_name, "new limits not applied: %s", ms->probe.cp_why);
		return;
	case CG_CGROUP2:
		g = group_dir(ms, vm->vm_name, false, err, sizeof(err));
		if (g >= 0) {
			e = group_limits(g, &vm->vm_hw->vm_policy.po_limits, ms->probe.cp_ctrl,
			    err, sizeof(err));
			close(g);
			g = e;
		}
		if (g < 0)
			log_vm(LOG_WARNING, vm->vm_name, "new limits not applied (restart "
			    "applies them): %s", err);
		else
			log_vm(LOG_INFO, vm->vm_name, "new limits applied");
		return;
	case CG_SYSTEMD:
		if (!m || !m->scope[0] || m->slot) {
			log_vm(LOG_WARNING, vm->vm_name, "new limits not applied: %s",
			    m && m->slot ? "its registration is under way" :
			    "its QEMU is in no scope (restart applies them)");
			return;
		}
		e = mbus_set_limits(ms->bus, m->scope, &vm->vm_hw->vm_policy.po_limits, set_cb,
		    vm, &m->slot);
		if (e < 0)
			log_vm(LOG_WARNING, vm->vm_name, "new limits not applied: %s",
			    strerror(-e));
		return;
	}
}

void
machine_gone(struct daemon *d, struct vm *vm)
{
	struct vm_machine *m = vm->vm_machine;
	int top;

	if (!m)
		return;
	m->slot = sd_bus_slot_unref(m->slot);
	if (m->retry_timer)
		loop_cancel_timer(d->lp, m->retry_timer);
	m->retry_timer = 0;
	open_gate(vm);
	m->scope[0] = 0;
	if (d->machines && d->machines->probe.cp_backend == CG_CGROUP2) {
		top = open(CG2_ROOT "/" CG2_GROUP, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (top >= 0) {
			if (unlinkat(top, vm->vm_name, AT_REMOVEDIR) < 0 && errno != ENOENT)
				log_vm(LOG_DEBUG, vm->vm_name, "cgroup not removed: %s",
				    strerror(errno));
			close(top);
		}
	}
}

void
machine_release(struct daemon *d, struct vm *vm)
{
	struct vm_machine *m = vm->vm_machine;

	if (!m)
		return;
	m->slot = sd_bus_slot_unref(m->slot);
	if (m->retry_timer)
		loop_cancel_timer(d->lp, m->retry_timer);
	open_gate(vm);
	free(m);
	vm->vm_machine = NULL;
}
