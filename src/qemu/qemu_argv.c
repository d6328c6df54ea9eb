/*
 * Model -> QEMU 7.2 argv. Devices are declared explicitly on top of
 * -nodefaults, each backend (-drive if=none, -netdev, -chardev) wired to its
 * front end (-device) by id, so the guest sees exactly what the inventory
 * says and nothing QEMU would add by itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qemu/qemu_argv.h"
#include "qemu/qemu_fw.h"
#include "qemu/seed_argv.h"
#include "qemu/swtpm_argv.h"

/* Upper bound of one option string (-drive, -chardev ...) we build. */
#define OPT_MAX 8192

/*
 * An option value being assembled as "k=v,k=v". Values are escaped QEMU's
 * way: a literal comma is doubled, because QEMU's option parser splits on
 * single commas (QemuOpts, util/qemu-option.c).
 */
struct optbuf {
	char	 buf[OPT_MAX];
	size_t	 len;
	int	 overflow;
};

static void
ob_raw(struct optbuf *ob, const char *s)
{
	size_t n = strlen(s);

	if (ob->len + n + 1 > sizeof(ob->buf)) {
		ob->overflow = 1;
		return;
	}
	memcpy(ob->buf + ob->len, s, n + 1);
	ob->len += n;
}

static void
ob_esc(struct optbuf *ob, const char *s)
{
	for (; *s; s++) {
		char c[3] = { *s, 0, 0 };
		if (*s == ',')
			c[1] = ',';
		ob_raw(ob, c);
	}
}

/* Append ",key=value" (or "key=value" first), escaping the value. */
static void
ob_kv(struct optbuf *ob, const char *key, const char *val)
{
	if (ob->len)
		ob_raw(ob, ",");
	ob_raw(ob, key);
	ob_raw(ob, "=");
	ob_esc(ob, val);
}

static void
ob_kvf(struct optbuf *ob, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
ob_kvf(struct optbuf *ob, const char *key, const char *fmt, ...)
{
	char val[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	ob_kv(ob, key, val);
}

static void
ob_init(struct optbuf *ob, const char *first)
{
	ob->len = 0;
	ob->overflow = 0;
	ob->buf[0] = '\0';
	if (first)
		ob_raw(ob, first);
}

/* Push "-opt" and the option string; report an over-long one. */
static int
push_opt(struct strv *out, const char *opt, struct optbuf *ob, char *err, size_t errlen)
{
	if (ob->overflow) {
		snprintf(err, errlen, "%s value longer than %d bytes", opt, OPT_MAX);
		return -EINVAL;
	}
	strv_push(out, opt);
	strv_push(out, ob->buf);
	return 0;
}

char *
qemu_emulator_path(const struct hw_vm *vm, const struct qemu_env *env)
{
	return xasprintf("%s/qemu-%s", env->qe_emulator_dir,
	    vm->vm_type ? vm->vm_type : "system-x86_64");
}

enum hw_accel
qemu_accel(const struct hw_vm *vm, const struct qemu_env *env)
{
	if (vm->vm_accel != HW_ACCEL_AUTO)
		return vm->vm_accel;
	return env->qe_kvm_usable ? HW_ACCEL_KVM : HW_ACCEL_TCG;
}

static char *
run_path(const struct qemu_env *env, const char *vm, const char *sfx)
{
	return xasprintf("%s/%s.%s", env->qe_run_dir, vm, sfx);
}

/*
 * -chardev socket,id=ID,path=PATH|fd=N,server=on,wait=off[,logfile=...].
 * fd >= 0: the daemon's listening socket (bound at PATH, which QEMU never
 * sees); QEMU listens on it and accepts the daemon's connections.
 */
static int
add_socket_chardev(struct strv *out, const char *id, const char *path, int fd,
    const char *logfile, char *err, size_t errlen)
{
	struct optbuf ob;

	ob_init(&ob, "socket");
	ob_kv(&ob, "id", id);
	if (fd >= 0)
		ob_kvf(&ob, "fd", "%d", fd);
	else
		ob_kv(&ob, "path", path);
	/* QEMU listens; wait=off so it does not block until we connect. */
	ob_raw(&ob, ",server=on,wait=off");
	if (logfile) {
		ob_kv(&ob, "logfile", logfile);
		ob_raw(&ob, ",logappend=on");
	}
	return push_opt(out, "-chardev", &ob, err, errlen);
}

static int
add_identity(const struct hw_vm *vm, const struct qemu_env *env, struct strv *out,
    char *err, size_t errlen)
{
	char uuid[37];
	struct optbuf ob;
	char *p;
	int rc;

	ob_init(&ob, NULL);
	ob_kv(&ob, "guest", vm->vm_name);
	if ((rc = push_opt(out, "-name", &ob, err, errlen)))
		return rc;
	hw_format_uuid(vm->vm_uuid, uuid);
	strv_push(out, "-uuid");
	strv_push(out, uuid);
	strv_push(out, "-no-user-config");
	strv_push(out, "-nodefaults");
	strv_push(out, "-msg");
	strv_push(out, "timestamp=on");
	/*
	 * seccomp (issue 6): no exec of helpers (the daemon runs nic scripts),
	 * no setuid, no obsolete syscalls, no scheduler or cgroup games.
	 */
	if (!env->qe_no_sandbox) {
		strv_push(out, "-sandbox");
		strv_push(out, "on,obsolete=deny,elevateprivileges=deny,spawn=deny,"
		    "resourcecontrol=deny");
	}
	/* QEMU writes and locks the pidfile itself: a second QEMU fails. */
	p = run_path(env, vm->vm_name, "pid");
	strv_push(out, "-pidfile");
	strv_push(out, p);
	free(p);
	return 0;
}

static int
add_machine(const struct hw_vm *vm, const struct qemu_env *env, struct strv *out,
    char *err, size_t errlen)
{
	const struct hw_smp *s = &vm->vm_smp;
	struct optbuf ob;
	int rc;

	if (vm->vm_machine) {
		ob_init(&ob, NULL);
		ob_esc(&ob, vm->vm_machine);
		if ((rc = push_opt(out, "-machine", &ob, err, errlen)))
			return rc;
	}
	strv_push(out, "-accel");
	strv_push(out, qemu_accel(vm, env) == HW_ACCEL_KVM ? "kvm" : "tcg");
	if (vm->vm_cpu) {
		ob_init(&ob, NULL);
		ob_esc(&ob, vm->vm_cpu);
		if ((rc = push_opt(out, "-cpu", &ob, err, errlen)))
			return rc;
	}
	if (s->cpus || s->sockets || s->cores || s->threads || s->maxcpus) {
		ob_init(&ob, NULL);
		if (s->cpus)
			ob_kvf(&ob, "cpus", "%u", s->cpus);
		if (s->sockets)
			ob_kvf(&ob, "sockets", "%u", s->sockets);
		if (s->cores)
			ob_kvf(&ob, "cores", "%u", s->cores);
		if (s->threads)
			ob_kvf(&ob, "threads", "%u", s->threads);
		if (s->maxcpus)
			ob_kvf(&ob, "maxcpus", "%u", s->maxcpus);
		if ((rc = push_opt(out, "-smp", &ob, err, errlen)))
			return rc;
	}
	if (vm->vm_memory) {
		if (vm->vm_memory % (1 << 20)) {
			snprintf(err, errlen, "memory %llu is not a whole number of MiB",
			    (unsigned long long)vm->vm_memory);
			return -EINVAL;
		}
		strv_push(out, "-m");
		strv_pushf(out, "%lluM", (unsigned long long)(vm->vm_memory >> 20));
	}
	return 0;
}

static int
add_boot(const struct hw_vm *vm, struct strv *out, char *err, size_t errlen)
{
	const struct hw_boot *b = &vm->vm_boot;
	struct optbuf ob;
	int rc;

	if (vm->vm_kernel) {
		strv_push(out, "-kernel");
		strv_push(out, vm->vm_kernel);
	}
	if (vm->vm_initrd) {
		strv_push(out, "-initrd");
		strv_push(out, vm->vm_initrd);
	}
	if (vm->vm_append) {
		strv_push(out, "-append");
		strv_push(out, vm->vm_append);
	}
	if (!b->order && !b->once && !b->menu)
		return 0;
	ob_init(&ob, NULL);
	if (b->order)
		ob_kv(&ob, "order", b->order);
	if (b->once)
		ob_kv(&ob, "once", b->once);
	if (b->menu)
		ob_raw(&ob, ob.len ? ",menu=on" : "menu=on");
	if ((rc = push_opt(out, "-boot", &ob, err, errlen)))
		return rc;
	return 0;
}

/* Where the next IDE device goes: pc has 2 buses x 2 units, q35 AHCI 6 x 1. */
static int
ide_slot(const struct hw_vm *vm, unsigned k, struct optbuf *ob, char *err, size_t errlen)
{
	/* q35 and its versions (pc-q35-7.2): AHCI, one device per IDE bus. */
	int ahci = vm->vm_machine && strstr(vm->vm_machine, "q35") != NULL;
	unsigned max = ahci ? 6 : 4;

	if (k >= max) {
		snprintf(err, errlen, "more than %u IDE devices on machine %s", max,
		    vm->vm_machine ? vm->vm_machine : "pc");
		return -EINVAL;
	}
	if (ahci)
		ob_kvf(ob, "bus", "ide.%u", k);
	else {
		ob_kvf(ob, "bus", "ide.%u", k / 2);
		ob_kvf(ob, "unit", "%u", k % 2);
	}
	return 0;
}

struct disk_ctx {
	unsigned	 ide;		/* IDE devices placed so far */
	bool		 scsi_ctl;	/* virtio-scsi controller added */
};

static int
add_disk(const struct hw_vm *vm, const struct hw_disk *dk, unsigned i,
    struct disk_ctx *dc, struct strv *out, char *err, size_t errlen)
{
	bool cd = dk->dk_media == HW_MEDIA_CDROM;
	struct optbuf ob;
	char id[32];
	int rc;

	snprintf(id, sizeof(id), "disk%u", i);
	ob_init(&ob, NULL);
	ob_kv(&ob, "file", dk->dk_file);
	if (dk->dk_format != HW_FMT_AUTO)
		ob_kv(&ob, "format", hw_name_of(hw_fmt_names, dk->dk_format));
	ob_raw(&ob, ",if=none");
	ob_kv(&ob, "id", id);
	if (cd)
		ob_raw(&ob, ",media=cdrom");
	if (!cd)
		ob_kv(&ob, "cache", hw_name_of(hw_cache_names, dk->dk_cache));
	if (dk->dk_readonly || cd)
		ob_raw(&ob, ",readonly=on");
	if (dk->dk_snapshot)
		ob_raw(&ob, ",snapshot=on");
	if ((rc = push_opt(out, "-drive", &ob, err, errlen)))
		return rc;

	switch (dk->dk_if) {
	case HW_IF_VIRTIO:
		if (cd) {
			snprintf(err, errlen, "disk %u (%s): a cdrom cannot be on virtio; "
			    "use if = ide or scsi", i, dk->dk_file);
			return -EINVAL;
		}
		ob_init(&ob, "virtio-blk-pci");
		break;
	case HW_IF_IDE:
		if (dk->dk_readonly && !cd) {
			/* QEMU's ide-hd refuses read-only block nodes. */
			snprintf(err, errlen, "disk %u (%s): an IDE hard disk cannot be "
			    "read-only; use if = virtio or scsi", i, dk->dk_file);
			return -EINVAL;
		}
		ob_init(&ob, cd ? "ide-cd" : "ide-hd");
		if ((rc = ide_slot(vm, dc->ide++, &ob, err, errlen)))
			return rc;
		break;
	case HW_IF_SCSI:
		if (!dc->scsi_ctl) {
			strv_push(out, "-device");
			strv_push(out, "virtio-scsi-pci,id=scsi0");
			dc->scsi_ctl = true;
		}
		ob_init(&ob, cd ? "scsi-cd" : "scsi-hd");
		ob_raw(&ob, ",bus=scsi0.0");
		break;
	case HW_IF_NVME:
		if (cd) {
			snprintf(err, errlen, "disk %u (%s): a cdrom cannot be on nvme", i,
			    dk->dk_file);
			return -EINVAL;
		}
		ob_init(&ob, "nvme");
		ob_kvf(&ob, "serial", "%s-%u", vm->vm_name, i);
		break;
	}
	ob_kv(&ob, "drive", id);
	ob_kv(&ob, "id", id);
	/* "index" in the inventory is the device's boot priority. */
	if (dk->dk_index != HW_INDEX_AUTO)
		ob_kvf(&ob, "bootindex", "%d", dk->dk_index);
	return push_opt(out, "-device", &ob, err, errlen);
}

static int
add_disks(const struct hw_vm *vm, struct strv *out, char *err, size_t errlen)
{
	struct disk_ctx dc = { 0 };
	unsigned i;
	int rc;

	for (i = 0; i < vm->vm_n_disks; i++)
		if ((rc = add_disk(vm, &vm->vm_disks[i], i, &dc, out, err, errlen)))
			return rc;
	if (vm->vm_cdrom) {
		struct hw_disk cd = {
			.dk_file = vm->vm_cdrom, .dk_format = HW_FMT_RAW,
			.dk_if = HW_IF_IDE, .dk_index = HW_INDEX_AUTO,
			.dk_media = HW_MEDIA_CDROM, .dk_readonly = true,
		};
		if ((rc = add_disk(vm, &cd, i, &dc, out, err, errlen)))
			return rc;
	}
	return 0;
}

/*
 * The daemon opened the tap (and maybe vhost-net): hand QEMU the fds.
 * QEMU refuses ifname, script and vnet_hdr next to fd=; it probes the
 * fd's IFF_VNET_HDR itself.
 */
static void
add_tap_fds(struct optbuf *ob, const char *id, const struct qemu_nic_fds *fds)
{
	ob_init(ob, "tap");
	ob_kv(ob, "id", id);
	ob_kvf(ob, "fd", "%d", fds->qn_tap_fd);
	if (fds->qn_vhost_fd >= 0) {
		ob_raw(ob, ",vhost=on");
		ob_kvf(ob, "vhostfd", "%d", fds->qn_vhost_fd);
	}
}

static int
add_nic(const struct hw_vm *vm, const struct qemu_env *env, const struct hw_nic *nic,
    unsigned i, struct strv *out, char *err, size_t errlen)
{
	const struct qemu_nic_fds *fds = NULL;
	char id[32], mac[18];
	struct optbuf ob;
	uint8_t m[6];
	int rc;

	if (nic->nic_net == HW_NET_NONE)
		return 0;	/* declared but not connected: no device at all */
	snprintf(id, sizeof(id), "net%u", i);
	if (env->qe_nic_fds && i < env->qe_n_nic_fds && env->qe_nic_fds[i].qn_tap_fd >= 0)
		fds = &env->qe_nic_fds[i];
	if (fds && (nic->nic_net == HW_NET_TAP || nic->nic_net == HW_NET_BRIDGE))
		add_tap_fds(&ob, id, fds);
	else switch (nic->nic_net) {
	case HW_NET_USER:
		ob_init(&ob, "user");
		ob_kv(&ob, "id", id);
		for (size_t f = 0; f < nic->nic_n_hostfwd; f++)
			ob_kv(&ob, "hostfwd", nic->nic_hostfwd[f]);
		/* QEMU's TFTP server reads the directory as the VM's user. */
		if (nic->nic_tftp)
			ob_kv(&ob, "tftp", nic->nic_tftp);
		if (nic->nic_bootfile)
			ob_kv(&ob, "bootfile", nic->nic_bootfile);
		break;
	case HW_NET_TAP:
		ob_init(&ob, "tap");
		ob_kv(&ob, "id", id);
		if (nic->nic_ifname)
			ob_kv(&ob, "ifname", nic->nic_ifname);
		/* Scripts are run by the daemon, never by QEMU. */
		ob_raw(&ob, ",script=no,downscript=no");
		if (nic->nic_vhost)
			ob_raw(&ob, ",vhost=on");
		break;
	case HW_NET_BRIDGE:
		ob_init(&ob, "bridge");
		ob_kv(&ob, "id", id);
		ob_kv(&ob, "br", nic->nic_bridge ? nic->nic_bridge : "br0");
		break;
	case HW_NET_NONE:
		break;
	}
	if ((rc = push_opt(out, "-netdev", &ob, err, errlen)))
		return rc;

	ob_init(&ob, NULL);
	ob_esc(&ob, nic->nic_model ? nic->nic_model : "virtio-net-pci");
	ob_kv(&ob, "netdev", id);
	if (nic->nic_mac_set)
		memcpy(m, nic->nic_mac, 6);
	else
		hw_derive_mac(vm->vm_name, i, m);
	hw_format_mac(m, mac);
	ob_kv(&ob, "mac", mac);
	ob_kv(&ob, "id", id);
	return push_opt(out, "-device", &ob, err, errlen);
}

/*
 * Serial, HMP and QMP: unix sockets in run_dir, QEMU the server, on the
 * daemon's listening fds when it passes them.
 */
/* The chardev socket run_dir/VM.SFX (or the daemon's fd for it) as id. */
static int
add_run_chardev(struct strv *out, const struct qemu_env *env, const char *vm,
    const char *sfx, const char *id, int fd, const char *log, char *err, size_t errlen)
{
	char *path = run_path(env, vm, sfx);
	int rc = add_socket_chardev(out, id, path, fd, log, err, errlen);

	free(path);
	return rc;
}

static int
add_chardevs(const struct hw_vm *vm, const struct qemu_env *env, struct strv *out,
    char *err, size_t errlen)
{
	const struct qemu_chr_fds none = { -1, -1, -1, -1 };
	const struct qemu_chr_fds *fds = env->qe_chr_fds ? env->qe_chr_fds : &none;
	char *log;
	int rc;

	if ((rc = add_run_chardev(out, env, vm->vm_name, "qmp", "qmp", fds->qs_qmp, NULL,
	    err, errlen)))
		return rc;
	strv_push(out, "-mon");
	strv_push(out, "chardev=qmp,mode=control");

	/*
	 * The serial port always exists: the daemon proxies it to telnet and
	 * writes the rotated NAME.console.log. QEMU also logs it, to a spool
	 * the daemon empties as it reads the socket, so output printed while
	 * the daemon is down is kept and later moved into the log (console.c).
	 * Two writers on one file would duplicate every line.
	 */
	log = xasprintf("%s/%s.console.spool", env->qe_log_dir, vm->vm_name);
	rc = add_run_chardev(out, env, vm->vm_name, "serial", "serial0", fds->qs_serial, log,
	    err, errlen);
	free(log);
	if (rc)
		return rc;
	strv_push(out, "-serial");
	strv_push(out, "chardev:serial0");

	/* HMP is root on the host in disguise: only when asked for. */
	if (vm->vm_monitor != HW_PORT_NONE) {
		if ((rc = add_run_chardev(out, env, vm->vm_name, "hmp", "hmp", fds->qs_hmp, NULL,
		    err, errlen)))
			return rc;
		strv_push(out, "-mon");
		strv_push(out, "chardev=hmp,mode=readline");
	}

	/* The guest agent: the port name its qemu-ga looks for (qemu-ga(8)). */
	if (vm->vm_agent) {
		if ((rc = add_run_chardev(out, env, vm->vm_name, "qga", "qga0", fds->qs_qga, NULL,
		    err, errlen)))
			return rc;
		strv_push(out, "-device");
		strv_push(out, "virtio-serial-pci,id=vser0");
		strv_push(out, "-device");
		strv_push(out, "virtserialport,bus=vser0.0,chardev=qga0,name=org.qemu.guest_agent.0");
	}
	return 0;
}

static int
add_display(const struct hw_vm *vm, const struct qemu_env *env, struct strv *out,
    char *err, size_t errlen)
{
	const char *l = env->qe_listen ? env->qe_listen : "127.0.0.1";

	/* Never a local window: a service has no screen. */
	strv_push(out, "-display");
	strv_push(out, "none");
	strv_push(out, "-vga");
	strv_push(out, vm->vm_vga ? vm->vm_vga : "std");
	if (vm->vm_vnc != HW_VNC_NONE) {
		strv_push(out, "-vnc");
		/*
		 * The password itself is set over QMP (set_password) once QEMU
		 * is up: argv is world-readable in /proc. password=on refuses
		 * every client until then. Always: without vnc_password_file
		 * the daemon sets a generated one (vmcon.c), as a guest on user
		 * networking reaches 127.0.0.1 too (issue 12).
		 */
		strv_pushf(out, strchr(l, ':') ? "[%s]:%d,password=on" : "%s:%d,password=on",
		    l, vm->vm_vnc);
	}
	if (vm->vm_keymap) {
		strv_push(out, "-k");
		strv_push(out, vm->vm_keymap);
	}
	return 0;
}

/*
 * A pvpanic device lets the guest report a panic (QMP GUEST_PANICKED);
 * QEMU then pauses it and the daemon applies on_panic. QEMU's default
 * (panic=shutdown) would make the panic look like a clean exit. The ISA
 * device needs a PC machine (pc*, q35*, isapc, or the default): other
 * machines ("none", "microvm", other targets) get neither.
 */
bool
qemu_has_pvpanic(const struct hw_vm *vm)
{
	const char *t = vm->vm_type ? vm->vm_type : "system-x86_64", *m = vm->vm_machine;

	if (strcmp(t, "system-x86_64") != 0 && strcmp(t, "system-i386") != 0)
		return false;
	return !m || strncmp(m, "pc", 2) == 0 || strncmp(m, "q35", 3) == 0 ||
	    strcmp(m, "isapc") == 0;
}

static void
add_panic(const struct hw_vm *vm, struct strv *out)
{
	if (!qemu_has_pvpanic(vm))
		return;
	strv_push(out, "-device");
	strv_push(out, "pvpanic,id=pvpanic0");
	strv_push(out, "-action");
	strv_push(out, "panic=pause");
}

static void
add_misc(const struct hw_vm *vm, struct strv *out)
{
	if (vm->vm_usb_tablet) {
		strv_push(out, "-device");
		strv_push(out, "qemu-xhci,id=usb");
		strv_push(out, "-device");
		strv_push(out, "usb-tablet,bus=usb.0,id=tablet0");
	}
	if (vm->vm_balloon) {
		strv_push(out, "-device");
		strv_push(out, "virtio-balloon-pci,id=balloon0");
	}
}

int
qemu_argv(const struct hw_vm *vm, const struct qemu_env *env, struct strv *out,
    char *err, size_t errlen)
{
	char *emu;
	int rc;

	if (!vm->vm_name || !*vm->vm_name) {
		snprintf(err, errlen, "VM without a name");
		return -EINVAL;
	}
	emu = qemu_emulator_path(vm, env);
	strv_push(out, emu);
	free(emu);
	if ((rc = add_identity(vm, env, out, err, errlen)) ||
	    (rc = add_machine(vm, env, out, err, errlen)) ||
	    (rc = qemu_fw_args(vm, env->qe_state_dir, env->qe_nvram_fds, out, err, errlen)) ||
	    (rc = add_boot(vm, out, err, errlen)) ||
	    (rc = add_disks(vm, out, err, errlen)))
		return rc;
	for (unsigned i = 0; i < vm->vm_n_nics; i++)
		if ((rc = add_nic(vm, env, &vm->vm_nics[i], i, out, err, errlen)))
			return rc;
	qemu_argv_seed(vm, env, out);
	if ((rc = add_chardevs(vm, env, out, err, errlen)) ||
	    (rc = add_display(vm, env, out, err, errlen)))
		return rc;
	qemu_argv_tpm(vm, env, out);
	add_panic(vm, out);
	add_misc(vm, out);
	/* The escape hatch goes last, so it can add to what we declared. */
	/* An internal snapshot of the qcow2 disks to start from (vmctl snapshot). */
	if (vm->vm_loadvm) {
		strv_push(out, "-loadvm");
		strv_push(out, vm->vm_loadvm);
	}
	for (size_t i = 0; i < vm->vm_n_extra_args; i++)
		strv_push(out, vm->vm_extra_args[i]);
	return 0;
}

/*
 * What a running QEMU's argv (ours, read back from /proc) says about the
 * fds it was given: reload compares argvs with the fd numbers the running
 * QEMU got, since those are not configuration.
 */
void
qemu_argv_nic_fds(const struct strv *run, unsigned i, struct qemu_nic_fds *f)
{
	char id[32];
	const char *p;
	size_t k;

	f->qn_tap_fd = f->qn_vhost_fd = -1;
	snprintf(id, sizeof(id), ",id=net%u,", i);
	for (k = 0; k + 1 < run->sv_n; k++) {
		const char *v = run->sv_v[k + 1];
		if (strcmp(run->sv_v[k], "-netdev") != 0 || strncmp(v, "tap,", 4) != 0 ||
		    !strstr(v + 3, id))
			continue;
		if ((p = strstr(v, ",fd=")) != NULL)
			f->qn_tap_fd = atoi(p + 4);
		if ((p = strstr(v, ",vhostfd=")) != NULL)
			f->qn_vhost_fd = atoi(p + 9);
	}
}

static int
chr_fd(const struct strv *run, const char *id)
{
	char pre[64];
	size_t k;

	snprintf(pre, sizeof(pre), "socket,id=%s,fd=", id);
	for (k = 0; k + 1 < run->sv_n; k++)
		if (strcmp(run->sv_v[k], "-chardev") == 0 &&
		    strncmp(run->sv_v[k + 1], pre, strlen(pre)) == 0)
			return atoi(run->sv_v[k + 1] + strlen(pre));
	return -1;
}

void
qemu_argv_chr_fds(const struct strv *run, struct qemu_chr_fds *c)
{
	c->qs_qmp = chr_fd(run, "qmp");
	c->qs_serial = chr_fd(run, "serial0");
	c->qs_hmp = chr_fd(run, "hmp");
	c->qs_qga = chr_fd(run, "qga0");
}
