/* One VM's own consistency: see validate.h. */
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hw/netboot.h"
#include "hw/validate.h"

#define IFNAME_MAX	15	/* IFNAMSIZ - 1 */

struct vctx {
	const struct hw_vm	*vm;
	struct diag		*d;
};

static void
bad(const struct vctx *v, const char *key, const char *cls, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
bad(const struct vctx *v, const char *key, const char *cls, const char *fmt, ...)
{
	struct hw_loc loc = hw_vm_optloc(v->vm, key);
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_add(v->d, DIAG_ERROR, loc.file, loc.line, v->vm->vm_name, cls, "%s", msg);
}

static bool
given(const struct hw_vm *vm, const char *key)
{
	for (size_t i = 0; i < vm->vm_n_optlocs; i++)
		if (strcmp(vm->vm_optlocs[i].ol_key, key) == 0)
			return true;
	return false;
}

/* A file QEMU will open: it must be there and not be a directory. */
static void
need_file(const struct vctx *v, const char *key, const char *what, const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		bad(v, key, DC_NOFILE, "%s %s: %s", what, path, strerror(errno));
	else if (S_ISDIR(st.st_mode))
		bad(v, key, DC_NOFILE, "%s %s: is a directory", what, path);
}

static void
check_smp(const struct vctx *v)
{
	const struct hw_smp *s = &v->vm->vm_smp;
	unsigned total = s->maxcpus ? s->maxcpus : s->cpus;
	unsigned prod = (s->sockets ? s->sockets : 1) * (s->cores ? s->cores : 1) *
	    (s->threads ? s->threads : 1);
	bool all = s->sockets && s->cores && s->threads;

	if (s->maxcpus && s->cpus > s->maxcpus)
		bad(v, "maxcpus", DC_CONFLICT, "maxcpus %u is less than smp %u",
		    s->maxcpus, s->cpus);
	if (!total)
		return;
	/* QEMU 7.2 refuses a topology that does not multiply out exactly. */
	if ((all && prod != total) || (!all && total % prod != 0))
		bad(v, s->sockets ? "sockets" : s->cores ? "cores" : "threads",
		    DC_CONFLICT, "sockets * cores * threads (%u) does not fit %s %u",
		    prod, s->maxcpus ? "maxcpus" : "smp", total);
}

static void
check_boot(const struct vctx *v)
{
	const struct hw_vm *vm = v->vm;

	const struct vm_policy *po = &vm->vm_policy;

	if (hw_halt_has(po, HW_HALT_COMMAND) && !po->po_halt_command)
		bad(v, "halt", DC_MISSING, "halt = command needs halt_command");
	if (!hw_halt_has(po, HW_HALT_COMMAND) && po->po_halt_command)
		bad(v, "halt_command", DC_CONFLICT, "halt_command is only used with halt = command");
	if (hw_halt_has(po, HW_HALT_AGENT) && !vm->vm_agent)
		bad(v, "halt", DC_CONFLICT, "halt step agent needs agent = yes");
	if (po->po_ready == HW_READY_AGENT && !vm->vm_agent)
		bad(v, "ready", DC_CONFLICT, "ready = agent needs agent = yes");
	if (vm->vm_initrd && !vm->vm_kernel)
		bad(v, "initrd", DC_CONFLICT, "initrd needs kernel");
	if (vm->vm_append && !vm->vm_kernel)
		bad(v, "append", DC_CONFLICT, "append needs kernel");
	if (vm->vm_memory % (1024 * 1024))
		bad(v, "memory", DC_VALUE, "memory must be a whole number of megabytes");
	if (po->po_balloon_target && !vm->vm_balloon)
		bad(v, "balloon_target", DC_CONFLICT, "balloon_target needs balloon = yes");
	else if (po->po_balloon_target > vm->vm_memory)
		bad(v, "balloon_target", DC_RANGE, "balloon_target %lluM is above memory %lluM",
		    (unsigned long long)(po->po_balloon_target >> 20),
		    (unsigned long long)(vm->vm_memory >> 20));
	/* The guest's RAM alone would pass it: the kernel kills QEMU at once. */
	if (po->po_limits.lim_memory_max && po->po_limits.lim_memory_max <= vm->vm_memory)
		bad(v, "memory_max", DC_RANGE, "memory_max %lluM is not above memory %lluM "
		    "(QEMU needs the guest's RAM and its own)",
		    (unsigned long long)(po->po_limits.lim_memory_max >> 20),
		    (unsigned long long)(vm->vm_memory >> 20));
	if (vm->vm_policy.po_restart_max_delay < vm->vm_policy.po_restart_delay)
		bad(v, "restart_max_delay", DC_CONFLICT,
		    "restart_max_delay %u is less than restart_delay %u",
		    vm->vm_policy.po_restart_max_delay, vm->vm_policy.po_restart_delay);
}

static void
check_disks(const struct vctx *v, bool fs)
{
	const struct hw_vm *vm = v->vm;
	char k[48];

	for (size_t i = 0; i < vm->vm_n_disks; i++) {
		const struct hw_disk *d = &vm->vm_disks[i];

		snprintf(k, sizeof(k), "disk%zu", i);
		if (!d->dk_file) {
			bad(v, k, DC_MISSING, "disk %zu has no file", i);
			continue;
		}
		if (d->dk_backing && d->dk_format == HW_FMT_RAW) {
			snprintf(k, sizeof(k), "disk%zu.backing", i);
			bad(v, k, DC_CONFLICT, "a disk with backing is a qcow2 overlay, not raw");
		}
		if (d->dk_media == HW_MEDIA_CDROM && (d->dk_size || d->dk_backing)) {
			snprintf(k, sizeof(k), "disk%zu.media", i);
			bad(v, k, DC_CONFLICT, "a cdrom cannot be created (size, backing)");
		}
		for (size_t j = 0; j < i && d->dk_index != HW_INDEX_AUTO; j++)
			if (vm->vm_disks[j].dk_index == d->dk_index &&
			    vm->vm_disks[j].dk_if == d->dk_if) {
				snprintf(k, sizeof(k), "disk%zu.index", i);
				bad(v, k, DC_CONFLICT, "two %s disks with index %d",
				    hw_name_of(hw_if_names, d->dk_if), d->dk_index);
			}
		if (!fs)
			continue;
		if (d->dk_backing) {
			snprintf(k, sizeof(k), "disk%zu.backing", i);
			need_file(v, k, "backing file", d->dk_backing);
		}
		/* A disk with size or backing is created at first start. */
		if (!d->dk_size && !d->dk_backing) {
			snprintf(k, sizeof(k), "disk%zu.file", i);
			need_file(v, k, "disk file", d->dk_file);
		}
	}
}

static void
check_nic(const struct vctx *v, size_t i, const struct hw_nic *n, bool fs)
{
	bool tap = n->nic_net == HW_NET_TAP || n->nic_net == HW_NET_BRIDGE;
	char k[48];

#define KEY(opt)	(snprintf(k, sizeof(k), "nic%zu%s", i, opt), k)
	if (n->nic_net == HW_NET_BRIDGE && !n->nic_bridge)
		bad(v, KEY(""), DC_MISSING, "net = bridge needs bridge");
	if (n->nic_net != HW_NET_BRIDGE && n->nic_bridge)
		bad(v, KEY(".bridge"), DC_CONFLICT, "bridge is only used with net = bridge");
	if (n->nic_net != HW_NET_USER && n->nic_n_hostfwd)
		bad(v, KEY(".hostfwd"), DC_CONFLICT, "hostfwd is only used with net = user");
	if (!tap && n->nic_ifname)
		bad(v, KEY(".ifname"), DC_CONFLICT, "ifname is only used with net = tap or bridge");
	if (!tap && (n->nic_script || n->nic_downscript))
		bad(v, KEY(n->nic_script ? ".script" : ".downscript"), DC_CONFLICT,
		    "script and downscript are only used with net = tap or bridge");
	if (!tap && n->nic_vhost)
		bad(v, KEY(".vhost"), DC_CONFLICT, "vhost is only used with net = tap or bridge");
	if (n->nic_ifname && strlen(n->nic_ifname) > IFNAME_MAX)
		bad(v, KEY(".ifname"), DC_VALUE, "ifname '%s' is longer than %d characters",
		    n->nic_ifname, IFNAME_MAX);
	if (fs && n->nic_script && access(n->nic_script, X_OK) < 0)
		bad(v, KEY(".script"), DC_NOFILE, "script %s: %s", n->nic_script, strerror(errno));
	if (fs && n->nic_downscript && access(n->nic_downscript, X_OK) < 0)
		bad(v, KEY(".downscript"), DC_NOFILE, "downscript %s: %s",
		    n->nic_downscript, strerror(errno));
	hw_check_netboot(v->vm, i, n, fs, v->d);
#undef KEY
}

/*
 * on_host_shutdown = save, told in advance what will be powered off
 * instead: a snapshot = yes disk loses its writes with QEMU (a restore
 * would resume against the base), and devices from extra_args may refuse
 * to migrate.
 */
static void
check_save(const struct vctx *v)
{
	const struct hw_vm *vm = v->vm;
	struct hw_loc loc = hw_vm_optloc(vm, "on_host_shutdown");

	if (vm->vm_policy.po_on_host_shutdown != HW_SHUTDOWN_SAVE)
		return;
	for (size_t i = 0; i < vm->vm_n_disks; i++)
		if (vm->vm_disks[i].dk_snapshot)
			diag_add(v->d, DIAG_WARNING, loc.file, loc.line, vm->vm_name, DC_NOSAVE,
			    "on_host_shutdown = save: disk %zu has snapshot = yes (its writes go "
			    "with QEMU): this VM is powered off, not saved", i);
	if (vm->vm_n_extra_args)
		diag_add(v->d, DIAG_WARNING, loc.file, loc.line, vm->vm_name, DC_NOSAVE,
		    "on_host_shutdown = save: devices from extra_args may not migrate; if "
		    "QEMU refuses, the VM is powered off instead");
}

void
hw_validate_vm(const struct hw_vm *vm, const char *emulator, struct diag *d)
{
	struct vctx v = { vm, d };
	bool fs = vm->vm_policy.po_enable;

	check_save(&v);
	check_smp(&v);
	check_boot(&v);
	check_disks(&v, fs);
	for (size_t i = 0; i < vm->vm_n_nics; i++)
		check_nic(&v, i, &vm->vm_nics[i], fs);
	/* "dynamic": a uid of its own, no passwd entry (service/uidmap.h). */
	if (vm->vm_runas && strcmp(vm->vm_runas, "dynamic") != 0 && !getpwnam(vm->vm_runas))
		bad(&v, "runas", DC_VALUE, "no such user '%s'", vm->vm_runas);
	if (!fs)
		return;
	if (vm->vm_kernel)
		need_file(&v, "kernel", "kernel", vm->vm_kernel);
	if (vm->vm_initrd)
		need_file(&v, "initrd", "initrd", vm->vm_initrd);
	if (vm->vm_cdrom)
		need_file(&v, "cdrom", "cdrom", vm->vm_cdrom);
	if (emulator && access(emulator, X_OK) < 0)
		bad(&v, given(vm, "type") ? "type" : "", DC_EMULATOR,
		    "emulator %s: %s", emulator,
		    errno == EACCES ? "not executable" : strerror(errno));
}
