/*
 * An rc-script VM's QEMU options (qemu_NAME="...") as inventory options.
 *
 * QEMU's own rules decide: an option string is "key=value,..." where a
 * doubled comma is a literal one and the first element may be the value of
 * an implied key (QemuOpts, util/qemu-option.c); legacy -net NICs and
 * backends pair by vlan (QEMU <= 2.12; vlan 0 by default), -netdev and
 * -device by id; a bare word is -hda. An option we know but whose value we
 * cannot express goes to extra_args whole; a key we do not know inside an
 * option we translate is dropped, with a warning naming it (extra_args
 * could not carry it: a disk there would not be handed to the VM's user).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/rc_priv.h"
#include "config/rcq_priv.h"

/* ---- machine ------------------------------------------------------------ */

static void
h_m(struct rq *q)
{
	struct kv kv;
	const char *size;
	size_t digits;

	rcq_kv_split(q->arg, "size", &kv);
	size = rcq_kv_get(&kv, "size");
	digits = size ? strspn(size, "0123456789") : 0;
	if (rcq_kv_unused(&kv) || !digits || digits > 12 ||
	    (size[digits] && (size[digits + 1] || !strchr("MGTmgt", size[digits])))) {
		rcq_to_extra(q, "not a plain size");
	} else {
		char *m = size[digits] ? xasprintf("%.*s%c", (int)digits, size,
		    toupper((unsigned char)size[digits])) : xasprintf("%sM", size);
		free(q->vm->v_memory);
		q->vm->v_memory = m;
	}
	rcq_kv_free(&kv);
}

static void
h_smp(struct rq *q)
{
	static const char *const keys[] = { "cpus", "sockets", "cores", "threads", "maxcpus" };
	const char *v[5];
	struct kv kv;
	char *rest;

	rcq_kv_split(q->arg, "cpus", &kv);
	for (size_t i = 0; i < 5; i++)
		v[i] = rcq_kv_get(&kv, keys[i]);
	rest = rcq_kv_rest(&kv);
	for (size_t i = 0; i < 5 && !rest; i++)
		if (v[i] && !rcq_is_uint(v[i]))
			rest = xstrdup(keys[i]);
	if (rest)
		rcq_to_extra(q, "not a count and topology vmservice knows");
	else
		for (size_t i = 0; i < 5; i++)
			if (v[i])
				rci_set(&q->vm->v_smp[i], v[i]);
	free(rest);
	rcq_kv_free(&kv);
}

static void
set_accel(struct rq *q, const char *a)
{
	/* "kvm:tcg" is QEMU's fallback list: vmservice's auto. */
	if (strcmp(a, "kvm") == 0 || strcmp(a, "tcg") == 0)
		rci_set(&q->vm->v_accel, a);
	else if (strcmp(a, "kvm:tcg") == 0)
		rci_set(&q->vm->v_accel, "auto");
	else
		rci_warn(q->vm, q->line, "%s %s: accelerator %s: dropped (kvm or tcg only)",
		    q->opt, q->arg, a);
}

static void h_enable_kvm(struct rq *q) { rci_set(&q->vm->v_accel, "kvm"); }
static void h_no_kvm(struct rq *q) { rci_set(&q->vm->v_accel, "tcg"); }

static void
h_accel(struct rq *q)
{
	struct kv kv;
	const char *a;

	rcq_kv_split(q->arg, "accel", &kv);
	if ((a = rcq_kv_get(&kv, "accel")) != NULL)
		set_accel(q, a);
	rcq_rest_dropped(q, &kv);
	rcq_kv_free(&kv);
}

static void
h_machine(struct rq *q)
{
	struct kv kv;
	const char *t, *a;
	char *rest;

	rcq_kv_split(q->arg, "type", &kv);
	t = rcq_kv_get(&kv, "type");
	a = rcq_kv_get(&kv, "accel");
	if (t && !rcq_is_word(t)) {
		rcq_to_extra(q, "not a machine name");
		rcq_kv_free(&kv);
		return;
	}
	if (t)
		rci_set(&q->vm->v_machine, t);
	if (a)
		set_accel(q, a);
	if ((rest = rcq_kv_rest(&kv)) != NULL) {
		/* QEMU merges -machine options: the rest can stand alone. */
		char *more = NULL;
		for (size_t i = 0; i < kv.n; i++) {
			char *s;
			if (!kv.k[i][0])
				continue;
			s = xasprintf("%s%s%s%s%s", more ? more : "", more ? "," : "", kv.k[i],
			    kv.v[i] ? "=" : "", kv.v[i] ? kv.v[i] : "");
			free(more);
			more = s;
		}
		strv_push(&q->vm->v_extra, "-machine");
		strv_push(&q->vm->v_extra, more);
		rci_warn(q->vm, q->line, "%s %s: %s kept in extra_args as -machine %s", q->opt,
		    q->arg, rest, more);
		free(more);
		free(rest);
	}
	rcq_kv_free(&kv);
}

static void
h_cpu(struct rq *q)
{
	if (rcq_is_word(q->arg))
		rci_set(&q->vm->v_cpu, q->arg);
	else
		rcq_to_extra(q, "a model with flags");
}

static void h_kernel(struct rq *q) { rci_set(&q->vm->v_kernel, q->arg); }
static void h_initrd(struct rq *q) { rci_set(&q->vm->v_initrd, q->arg); }
static void h_append(struct rq *q) { rci_set(&q->vm->v_append, q->arg); }

static void
h_boot(struct rq *q)
{
	struct kv kv;
	const char *order, *once, *menu;
	bool ok = true;

	rcq_kv_split(q->arg, "order", &kv);
	order = rcq_kv_get(&kv, "order");
	once = rcq_kv_get(&kv, "once");
	menu = rcq_kv_get(&kv, "menu");
	for (const char *s = order; s && *s && ok; s++)
		ok = *s >= 'a' && *s <= 'p' && !strchr(s + 1, *s);
	for (const char *s = once; s && *s && ok; s++)
		ok = *s >= 'a' && *s <= 'p' && !strchr(s + 1, *s);
	if (rcq_kv_unused(&kv) || !ok || (order && !*order) || (once && !*once) ||
	    (menu && rcq_parse_onoff(menu) == RCI_UNSET)) {
		rcq_to_extra(q, "not an order, once and menu vmservice knows");
	} else {
		if (order)
			rci_set(&q->vm->v_boot_order, order);
		if (once)
			rci_set(&q->vm->v_boot_once, once);
		if (menu)
			q->vm->v_boot_menu = rcq_parse_onoff(menu) == 1;
	}
	rcq_kv_free(&kv);
}

/* ---- disks -------------------------------------------------------------- */

static struct rci_disk *
new_disk(struct rci_vm *vm, const char *file, int order, int line)
{
	struct rci_disk *d;

	vm->v_disks = xrealloc(vm->v_disks, (vm->v_n_disks + 1) * sizeof(*d));
	d = &vm->v_disks[vm->v_n_disks++];
	memset(d, 0, sizeof(*d));
	d->rd_file = file ? xstrdup(file) : NULL;
	d->rd_readonly = d->rd_snapshot = RCI_UNSET;
	/* Ties (a bare word and -hda) keep the command line's order. */
	d->rd_order = order * 1000 + (int)vm->v_n_disks;
	d->rd_line = line;
	return d;
}

static void
h_hd(struct rq *q)
{
	struct rci_disk *d = new_disk(q->vm, q->arg, q->opt[3] - 'a', q->line);

	rci_set(&d->rd_if, "ide");
}

static void
h_bare(struct rq *q)
{
	struct rci_disk *d = new_disk(q->vm, q->arg, 0, q->line);

	rci_set(&d->rd_if, "ide");
}

static void
h_drive(struct rq *q)
{
	static const char *const ifs[] = { "ide", "virtio", "scsi", "none", NULL };
	static const char *const fmts[] = { "raw", "qcow2", NULL };
	static const char *const caches[] = { "writeback", "none", "writethrough",
	    "directsync", "unsafe", NULL };
	const char *file, *ifc, *fmt, *cache, *media, *ro, *snap, *index, *id;
	struct rci_disk *d;
	struct kv kv;

	rcq_kv_split(q->arg, NULL, &kv);
	file = rcq_kv_get(&kv, "file");
	ifc = rcq_kv_get(&kv, "if");
	fmt = rcq_kv_get(&kv, "format");
	cache = rcq_kv_get(&kv, "cache");
	media = rcq_kv_get(&kv, "media");
	ro = rcq_kv_get(&kv, "readonly");
	snap = rcq_kv_get(&kv, "snapshot");
	index = rcq_kv_get(&kv, "index");
	id = rcq_kv_get(&kv, "id");
	if (!file || !*file || (ifc && !rcq_in_list(ifc, ifs)) || (fmt && !rcq_in_list(fmt, fmts)) ||
	    (media && strcmp(media, "disk") && strcmp(media, "cdrom"))) {
		rcq_to_extra(q, !file || !*file ? "a drive without a file" :
		    "an interface, format or media vmservice has no name for");
		rcq_kv_free(&kv);
		return;
	}
	d = new_disk(q->vm, file, index && rcq_is_uint(index) ? atoi(index) : 100 +
	    (int)q->vm->v_n_disks, q->line);
	/* QEMU's default interface for -drive is IDE on a PC. */
	rci_set(&d->rd_if, ifc ? ifc : "ide");
	if (fmt)
		rci_set(&d->rd_format, fmt);
	if (cache && rcq_in_list(cache, caches))
		rci_set(&d->rd_cache, cache);
	else if (cache)
		rci_warn(q->vm, q->line, "%s: cache=%s: dropped", q->opt, cache);
	if (media)
		rci_set(&d->rd_media, media);
	if (ro)
		d->rd_readonly = rcq_parse_onoff(ro);
	if (snap)
		d->rd_snapshot = rcq_parse_onoff(snap);
	if (ifc && strcmp(ifc, "none") == 0)
		rci_set(&d->rd_id, id ? id : "");
	rcq_kv_get(&kv, "boot");	/* ignored by QEMU since 1.0 */
	rcq_rest_dropped(q, &kv);
	rcq_kv_free(&kv);
}

static void
h_cdrom(struct rq *q)
{
	if (!q->vm->v_cdrom) {
		rci_set(&q->vm->v_cdrom, q->arg);
	} else {
		struct rci_disk *d = new_disk(q->vm, q->arg, 2, q->line);
		rci_set(&d->rd_if, "ide");
		rci_set(&d->rd_media, "cdrom");
	}
}

static void h_snapshot(struct rq *q) { q->vm->v_snapshot = true; }

/* -device DRIVER,drive=ID: the interface of the -drive if=none named ID. */
static bool
device_disk(struct rq *q, const char *drv, struct kv *kv)
{
	static const struct { const char *drv, *ifc, *media; } map[] = {
		{ "virtio-blk-pci", "virtio", "disk" }, { "virtio-blk", "virtio", "disk" },
		{ "ide-hd", "ide", "disk" }, { "ide-drive", "ide", "disk" },
		{ "ide-cd", "ide", "cdrom" }, { "scsi-hd", "scsi", "disk" },
		{ "scsi-disk", "scsi", "disk" }, { "scsi-cd", "scsi", "cdrom" },
		{ "nvme", "nvme", "disk" },
	};
	const char *id = rcq_kv_get(kv, "drive"), *bi;
	struct rci_disk *d = NULL;

	for (size_t i = 0; id && i < q->vm->v_n_disks; i++)
		if (q->vm->v_disks[i].rd_id && strcmp(q->vm->v_disks[i].rd_id, id) == 0)
			d = &q->vm->v_disks[i];
	for (size_t i = 0; d && i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcmp(map[i].drv, drv) != 0)
			continue;
		rci_set(&d->rd_if, map[i].ifc);
		if (strcmp(map[i].media, "cdrom") == 0)
			rci_set(&d->rd_media, "cdrom");
		free(d->rd_id);
		d->rd_id = NULL;
		/* The inventory's index is the device's boot priority. */
		if ((bi = rcq_kv_get(kv, "bootindex")) != NULL && rcq_is_uint(bi))
			rci_set(&d->rd_index, bi);
		rcq_kv_get(kv, "id");
		rcq_kv_get(kv, "bus");
		rcq_kv_get(kv, "unit");
		rcq_rest_dropped(q, kv);
		return true;
	}
	return false;
}

static void
h_device(struct rq *q)
{
	static const char *const balloons[] = { "virtio-balloon-pci", "virtio-balloon", NULL };
	static const char *const scsi_ctl[] = { "virtio-scsi-pci", "virtio-scsi", NULL };
	struct kv kv;
	const char *drv, *netdev;
	char key[96];

	rcq_kv_split(q->arg, "driver", &kv);
	drv = rcq_kv_get(&kv, "driver");
	if (!drv) {
		rcq_to_extra(q, "no driver");
	} else if ((netdev = rcq_kv_get(&kv, "netdev")) != NULL) {
		snprintf(key, sizeof(key), "id %s", netdev);
		rcq_nic_front(q, key, drv, rcq_kv_get(&kv, "mac"));
		rcq_kv_get(&kv, "id");
		rcq_rest_dropped(q, &kv);
	} else if (device_disk(q, drv, &kv)) {
		/* done */
	} else if (rcq_in_list(drv, balloons)) {
		q->vm->v_balloon = true;
	} else if (strcmp(drv, "usb-tablet") == 0) {
		q->vm->v_tablet = true;
	} else if (rcq_in_list(drv, scsi_ctl)) {
		rcq_dropped(q, "vmservice adds its own virtio-scsi controller for if = scsi disks");
	} else {
		rcq_to_extra(q, "a device vmservice has no option for");
	}
	rcq_kv_free(&kv);
}

static void h_nodefaults(struct rq *q) { q->vm->v_nodefaults = true; }

static void
h_drop(struct rq *q)
{
	rcq_dropped(q, "vmservice sets it itself");
}

/* ---- the table ----------------------------------------------------------- */

struct qopt {
	const char	*name;
	bool		 arg;
	void		(*fn)(struct rq *q);
};

static const struct qopt qopts[] = {
	{ "-m", true, h_m }, { "-smp", true, h_smp },
	{ "-enable-kvm", false, h_enable_kvm }, { "-no-kvm", false, h_no_kvm },
	{ "-accel", true, h_accel }, { "-machine", true, h_machine }, { "-M", true, h_machine },
	{ "-cpu", true, h_cpu },
	{ "-kernel", true, h_kernel }, { "-initrd", true, h_initrd }, { "-append", true, h_append },
	{ "-boot", true, h_boot },
	{ "-hda", true, h_hd }, { "-hdb", true, h_hd }, { "-hdc", true, h_hd }, { "-hdd", true, h_hd },
	{ "-drive", true, h_drive }, { "-cdrom", true, h_cdrom }, { "-snapshot", false, h_snapshot },
	{ "-net", true, rcq_h_net }, { "-netdev", true, rcq_h_netdev }, { "-nic", true, rcq_h_nic },
	{ "-chardev", true, rcq_h_chardev },
	{ "-device", true, h_device }, { "-redir", true, rcq_h_redir },
	{ "-serial", true, rcq_h_serial }, { "-monitor", true, rcq_h_monitor }, { "-vnc", true, rcq_h_vnc },
	{ "-k", true, rcq_h_k }, { "-vga", true, rcq_h_vga }, { "-std-vga", false, rcq_h_std_vga },
	{ "-usbdevice", true, rcq_h_usbdevice }, { "-balloon", true, rcq_h_balloon },
	{ "-localtime", false, rcq_h_localtime },
	/* What vmservice does itself (the rc-script added the first four). */
	{ "-name", true, h_drop }, { "-pidfile", true, h_drop }, { "-daemonize", false, h_drop },
	{ "-nographic", false, h_drop }, { "-display", true, h_drop },
	{ "-nodefaults", false, h_nodefaults }, { "-no-user-config", false, h_drop },
	{ "-nodefconfig", false, h_drop }, { "-qmp", true, h_drop }, { "-mon", true, rcq_h_mon },
	{ "-sandbox", true, h_drop }, { "-runas", true, h_drop }, { "-chroot", true, h_drop },
	{ "-uuid", true, h_drop }, { "-msg", true, h_drop }, { "-S", false, h_drop },
	{ "-D", true, h_drop }, { "-incoming", true, h_drop },
	/* Options without an argument we only pass on (so the next word is not taken). */
	{ "-usb", false, NULL }, { "-no-acpi", false, NULL }, { "-no-hpet", false, NULL },
	{ "-no-reboot", false, NULL }, { "-no-shutdown", false, NULL },
	{ "-full-screen", false, NULL }, { "-no-fd-bootchk", false, NULL },
	{ "-win2k-hack", false, NULL }, { "-rtc-td-hack", false, NULL },
	{ "-no-kvm-irqchip", false, NULL }, { "-no-kvm-pit", false, NULL },
	{ "-s", false, NULL }, { "-no-quit", false, NULL }, { "-alt-grab", false, NULL },
	{ "-ctrl-grab", false, NULL }, { "-no-frame", false, NULL },
	{ NULL, false, NULL }
};

void
rci_qemu_options(struct rci_vm *vm, const struct strv *words, const int *lines)
{
	for (size_t i = 0; i < words->sv_n; i++) {
		const char *w = words->sv_v[i];
		const struct qopt *o;
		char opt[64];
		struct rq q = { vm, opt, NULL, lines[i] };

		if (w[0] != '-' || !w[1]) {
			/* QEMU takes a bare word as -hda. */
			q.opt = "-hda";
			q.arg = w;
			h_bare(&q);
			continue;
		}
		/* --opt is -opt. */
		snprintf(opt, sizeof(opt), "%s", w[1] == '-' ? w + 1 : w);
		for (o = qopts; o->name && strcmp(o->name, opt) != 0; o++)
			;
		if (o->name ? o->arg : i + 1 < words->sv_n && words->sv_v[i + 1][0] != '-')
			q.arg = i + 1 < words->sv_n ? words->sv_v[++i] : NULL;
		if (o->name && o->arg && !q.arg) {
			rci_warn(vm, q.line, "%s without its argument: dropped", opt);
			continue;
		}
		if (o->name && o->fn)
			o->fn(&q);
		else
			rcq_to_extra(&q, o->name ? "no inventory option for it" :
			    "not an option import-rc knows");
	}
}

/* IDE disks in the places -hda..-hdd (or index=) gave them; the rest after. */
static int
by_order(const void *a, const void *b)
{
	const struct rci_disk *x = a, *y = b;

	return (x->rd_order > y->rd_order) - (x->rd_order < y->rd_order);
}

void
rci_qemu_finish(struct rci_vm *vm)
{
	unsigned k = 0;
	size_t i;

	if (vm->v_n_disks)
		qsort(vm->v_disks, vm->v_n_disks, sizeof(*vm->v_disks), by_order);
	for (i = 0; i < vm->v_n_disks; i++) {
		struct rci_disk *d = &vm->v_disks[i];
		if (d->rd_id) {
			rci_warn(vm, d->rd_line, "-drive %s: if=none without a -device using "
			    "it: taken as if = virtio", d->rd_file);
			rci_set(&d->rd_if, "virtio");
		}
		if (vm->v_snapshot && d->rd_snapshot == RCI_UNSET)
			d->rd_snapshot = 1;
	}
	/* No -net at all: QEMU's default is one NIC on user networking. */
	if (vm->v_n_nics == 0 && !vm->v_net_none && !vm->v_nodefaults) {
		struct rq q = { vm, "-net", "nic", vm->v_line };
		struct kv kv = { .n = 0 };

		rcq_nic_front(&q, "vlan 0", NULL, NULL);
		rcq_nic_back(&q, "vlan 0", "user", &kv);
		rci_note(vm, vm->v_line, "no -net: QEMU's default NIC (-net nic -net user)");
	}
	if (vm->v_net_none && vm->v_n_nics) {
		rci_warn(vm, vm->v_line, "-net none next to other -net options: -net none ignored");
		vm->v_net_none = false;
	}
	for (i = 0; i < vm->v_n_nics; i++) {
		struct rci_nic *n = &vm->v_nics[i];

		if (!n->rn_front) {
			rci_warn(vm, n->rn_line, "a %s backend without a NIC: no NIC for it",
			    n->rn_net);
			continue;
		}
		if (!n->rn_back) {
			rci_warn(vm, n->rn_line, "a NIC without a backend: net = none (vmservice "
			    "then adds no device)");
			rci_set(&n->rn_net, "none");
		}
		/* QEMU's default model on a PC, and its default MACs. */
		if (!n->rn_model)
			rci_set(&n->rn_model, vm->v_machine && strstr(vm->v_machine, "q35") ?
			    "e1000e" : "e1000");
		/* QEMU counts only the NICs it gives a MAC (net.c). */
		if (!n->rn_mac) {
			n->rn_mac = xasprintf("52:54:00:12:34:%02x", 0x56 + k++);
			n->rn_default_mac = true;
		}
	}
	for (i = 0; i < vm->v_n_chardevs; i++) {
		if (vm->v_chardevs[i].ch_used)
			continue;
		strv_push(&vm->v_extra, "-chardev");
		strv_push(&vm->v_extra, vm->v_chardevs[i].ch_arg);
		rci_warn(vm, vm->v_chardevs[i].ch_line, "-chardev %s: not a serial port or "
		    "monitor: kept in extra_args", vm->v_chardevs[i].ch_arg);
	}
	if (vm->v_redir.sv_n) {
		struct rci_nic *u = NULL;
		for (i = 0; i < vm->v_n_nics && !u; i++)
			if (vm->v_nics[i].rn_front && vm->v_nics[i].rn_net &&
			    strcmp(vm->v_nics[i].rn_net, "user") == 0)
				u = &vm->v_nics[i];
		for (i = 0; u && i < vm->v_redir.sv_n; i++)
			strv_push(&u->rn_hostfwd, vm->v_redir.sv_v[i]);
		if (!u)
			rci_warn(vm, vm->v_redir_line, "-redir without a user-networking NIC: "
			    "dropped");
	}
}
