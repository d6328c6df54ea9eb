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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/rc_priv.h"

/* An option string split QEMU's way. */
#define KV_MAX	64
struct kv {
	char	*k[KV_MAX], *v[KV_MAX];
	size_t	 n;
};

static void
kv_split(const char *s, const char *implied, struct kv *kv)
{
	char *buf = xmalloc(strlen(s) + 1);

	kv->n = 0;
	while (kv->n < KV_MAX - 1) {
		size_t n = 0;
		char *eq;

		for (; *s && !(*s == ',' && s[1] != ','); s++) {
			buf[n++] = *s;
			if (*s == ',')
				s++;	/* ",," is one literal comma */
		}
		buf[n] = '\0';
		eq = strchr(buf, '=');
		if (kv->n == 0 && implied && !eq) {
			kv->k[0] = xstrdup(implied);
			kv->v[0] = xstrdup(buf);
		} else if (eq) {
			kv->k[kv->n] = xstrndup(buf, (size_t)(eq - buf));
			kv->v[kv->n] = xstrdup(eq + 1);
		} else {
			kv->k[kv->n] = xstrdup(buf);	/* a flag: "server" */
			kv->v[kv->n] = NULL;
		}
		kv->n++;
		if (!*s)
			break;
		s++;
	}
	if (*s) {
		/* More than anyone writes: a key no handler takes, so it is reported. */
		kv->k[kv->n] = xstrdup("(the rest)");
		kv->v[kv->n++] = xstrdup(s);
	}
	free(buf);
}

static void
kv_free(struct kv *kv)
{
	for (size_t i = 0; i < kv->n; i++) {
		free(kv->k[i]);
		free(kv->v[i]);
	}
	kv->n = 0;
}

/* The value of key, marking it used; NULL when absent. */
static const char *
kv_get(struct kv *kv, const char *key)
{
	for (size_t i = 0; i < kv->n; i++)
		if (kv->k[i][0] && strcmp(kv->k[i], key) == 0) {
			kv->k[i][0] = '\0';
			return kv->v[i] ? kv->v[i] : "";
		}
	return NULL;
}

/* The keys not used, "a, b", or NULL. */
static char *
kv_rest(const struct kv *kv)
{
	char *r = NULL;

	for (size_t i = 0; i < kv->n; i++) {
		char *t;
		if (!kv->k[i][0])
			continue;
		t = xasprintf("%s%s%s", r ? r : "", r ? ", " : "", kv->k[i]);
		free(r);
		r = t;
	}
	return r;
}

static bool
kv_unused(const struct kv *kv)
{
	for (size_t i = 0; i < kv->n; i++)
		if (kv->k[i][0])
			return true;
	return false;
}

/* What one handler gets. */
struct rq {
	struct rci_vm	*vm;
	const char	*opt;	/* "-m" */
	const char	*arg;	/* NULL for an option without one */
	int		 line;
};

static void
to_extra(struct rq *q, const char *why)
{
	strv_push(&q->vm->v_extra, q->opt);
	if (q->arg)
		strv_push(&q->vm->v_extra, q->arg);
	rci_warn(q->vm, q->line, "%s%s%s: %s: kept in extra_args", q->opt, q->arg ? " " : "",
	    q->arg ? q->arg : "", why);
}

static void
dropped(struct rq *q, const char *why)
{
	rci_warn(q->vm, q->line, "%s%s%s: dropped: %s", q->opt, q->arg ? " " : "",
	    q->arg ? q->arg : "", why);
}

/* Keys of kv nobody used: a warning naming them. */
static void
rest_dropped(struct rq *q, const struct kv *kv)
{
	char *r = kv_rest(kv);

	if (r)
		rci_warn(q->vm, q->line, "%s %s: %s not translated: dropped", q->opt, q->arg, r);
	free(r);
}

static bool
is_word(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._+-", *s))
			return false;
	return true;
}

static bool
is_uint(const char *s)
{
	return s && *s && strspn(s, "0123456789") == strlen(s) && strlen(s) < 9;
}

static int
parse_onoff(const char *s)
{
	static const char *const on[] = { "on", "yes", "true", "1", "", NULL };
	static const char *const off[] = { "off", "no", "false", "0", NULL };

	for (size_t i = 0; on[i]; i++)
		if (strcmp(s, on[i]) == 0)
			return 1;
	for (size_t i = 0; off[i]; i++)
		if (strcmp(s, off[i]) == 0)
			return 0;
	return RCI_UNSET;
}

static bool
in_list(const char *s, const char *const *l)
{
	for (; *l; l++)
		if (strcmp(s, *l) == 0)
			return true;
	return false;
}

/* ---- machine ------------------------------------------------------------ */

static void
h_m(struct rq *q)
{
	struct kv kv;
	const char *size;
	size_t digits;

	kv_split(q->arg, "size", &kv);
	size = kv_get(&kv, "size");
	digits = size ? strspn(size, "0123456789") : 0;
	if (kv_unused(&kv) || !digits || digits > 12 ||
	    (size[digits] && (size[digits + 1] || !strchr("MGTmgt", size[digits])))) {
		to_extra(q, "not a plain size");
	} else {
		char *m = size[digits] ? xasprintf("%.*s%c", (int)digits, size,
		    toupper((unsigned char)size[digits])) : xasprintf("%sM", size);
		free(q->vm->v_memory);
		q->vm->v_memory = m;
	}
	kv_free(&kv);
}

static void
h_smp(struct rq *q)
{
	static const char *const keys[] = { "cpus", "sockets", "cores", "threads", "maxcpus" };
	const char *v[5];
	struct kv kv;
	char *rest;

	kv_split(q->arg, "cpus", &kv);
	for (size_t i = 0; i < 5; i++)
		v[i] = kv_get(&kv, keys[i]);
	rest = kv_rest(&kv);
	for (size_t i = 0; i < 5 && !rest; i++)
		if (v[i] && !is_uint(v[i]))
			rest = xstrdup(keys[i]);
	if (rest)
		to_extra(q, "not a count and topology vmservice knows");
	else
		for (size_t i = 0; i < 5; i++)
			if (v[i])
				rci_set(&q->vm->v_smp[i], v[i]);
	free(rest);
	kv_free(&kv);
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

	kv_split(q->arg, "accel", &kv);
	if ((a = kv_get(&kv, "accel")) != NULL)
		set_accel(q, a);
	rest_dropped(q, &kv);
	kv_free(&kv);
}

static void
h_machine(struct rq *q)
{
	struct kv kv;
	const char *t, *a;
	char *rest;

	kv_split(q->arg, "type", &kv);
	t = kv_get(&kv, "type");
	a = kv_get(&kv, "accel");
	if (t && !is_word(t)) {
		to_extra(q, "not a machine name");
		kv_free(&kv);
		return;
	}
	if (t)
		rci_set(&q->vm->v_machine, t);
	if (a)
		set_accel(q, a);
	if ((rest = kv_rest(&kv)) != NULL) {
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
	kv_free(&kv);
}

static void
h_cpu(struct rq *q)
{
	if (is_word(q->arg))
		rci_set(&q->vm->v_cpu, q->arg);
	else
		to_extra(q, "a model with flags");
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

	kv_split(q->arg, "order", &kv);
	order = kv_get(&kv, "order");
	once = kv_get(&kv, "once");
	menu = kv_get(&kv, "menu");
	for (const char *s = order; s && *s && ok; s++)
		ok = *s >= 'a' && *s <= 'p' && !strchr(s + 1, *s);
	for (const char *s = once; s && *s && ok; s++)
		ok = *s >= 'a' && *s <= 'p' && !strchr(s + 1, *s);
	if (kv_unused(&kv) || !ok || (order && !*order) || (once && !*once) ||
	    (menu && parse_onoff(menu) == RCI_UNSET)) {
		to_extra(q, "not an order, once and menu vmservice knows");
	} else {
		if (order)
			rci_set(&q->vm->v_boot_order, order);
		if (once)
			rci_set(&q->vm->v_boot_once, once);
		if (menu)
			q->vm->v_boot_menu = parse_onoff(menu) == 1;
	}
	kv_free(&kv);
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

	kv_split(q->arg, NULL, &kv);
	file = kv_get(&kv, "file");
	ifc = kv_get(&kv, "if");
	fmt = kv_get(&kv, "format");
	cache = kv_get(&kv, "cache");
	media = kv_get(&kv, "media");
	ro = kv_get(&kv, "readonly");
	snap = kv_get(&kv, "snapshot");
	index = kv_get(&kv, "index");
	id = kv_get(&kv, "id");
	if (!file || !*file || (ifc && !in_list(ifc, ifs)) || (fmt && !in_list(fmt, fmts)) ||
	    (media && strcmp(media, "disk") && strcmp(media, "cdrom"))) {
		to_extra(q, !file || !*file ? "a drive without a file" :
		    "an interface, format or media vmservice has no name for");
		kv_free(&kv);
		return;
	}
	d = new_disk(q->vm, file, index && is_uint(index) ? atoi(index) : 100 +
	    (int)q->vm->v_n_disks, q->line);
	/* QEMU's default interface for -drive is IDE on a PC. */
	rci_set(&d->rd_if, ifc ? ifc : "ide");
	if (fmt)
		rci_set(&d->rd_format, fmt);
	if (cache && in_list(cache, caches))
		rci_set(&d->rd_cache, cache);
	else if (cache)
		rci_warn(q->vm, q->line, "%s: cache=%s: dropped", q->opt, cache);
	if (media)
		rci_set(&d->rd_media, media);
	if (ro)
		d->rd_readonly = parse_onoff(ro);
	if (snap)
		d->rd_snapshot = parse_onoff(snap);
	if (ifc && strcmp(ifc, "none") == 0)
		rci_set(&d->rd_id, id ? id : "");
	kv_get(&kv, "boot");	/* ignored by QEMU since 1.0 */
	rest_dropped(q, &kv);
	kv_free(&kv);
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
	const char *id = kv_get(kv, "drive"), *bi;
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
		if ((bi = kv_get(kv, "bootindex")) != NULL && is_uint(bi))
			rci_set(&d->rd_index, bi);
		kv_get(kv, "id");
		kv_get(kv, "bus");
		kv_get(kv, "unit");
		rest_dropped(q, kv);
		return true;
	}
	return false;
}

/* ---- network ------------------------------------------------------------ */

/* The NIC a front (-net nic, -device) or a backend joins, by its key. */
static struct rci_nic *
nic_for(struct rci_vm *vm, const char *key, bool front, int line)
{
	struct rci_nic *n;

	for (size_t i = 0; i < vm->v_n_nics; i++) {
		n = &vm->v_nics[i];
		if (strcmp(n->rn_key, key) == 0 && !(front ? n->rn_front : n->rn_back)) {
			if (front)
				n->rn_line = line;
			return n;
		}
	}
	vm->v_nics = xrealloc(vm->v_nics, (vm->v_n_nics + 1) * sizeof(*n));
	n = &vm->v_nics[vm->v_n_nics++];
	memset(n, 0, sizeof(*n));
	n->rn_key = xstrdup(key);
	n->rn_line = line;
	return n;
}

static void
nic_front(struct rq *q, const char *key, const char *model, const char *mac)
{
	struct rci_nic *n = nic_for(q->vm, key, true, q->line);

	n->rn_front = true;
	/* Legacy -net nic,model=virtio is the device virtio-net-pci. */
	if (model && strcmp(model, "virtio") == 0)
		model = "virtio-net-pci";
	if (model && is_word(model))
		rci_set(&n->rn_model, model);
	else if (model)
		rci_warn(q->vm, q->line, "%s: model %s: dropped", q->opt, model);
	if (mac)
		rci_set(&n->rn_mac, mac);
}

/*
 * A tap's script: "no" is none; without one QEMU ran its default, which
 * is kept only if this host has it (the daemon refuses a missing one).
 */
static void
tap_script(struct rq *q, char **field, const char *given, const char *dflt)
{
	if (given && strcmp(given, "no") == 0)
		return;
	if (!given && access(dflt, X_OK) < 0) {
		rci_note(q->vm, q->line, "QEMU's default %s: not on this host, left out", dflt);
		return;
	}
	rci_set(field, given ? given : dflt);
}

/* A backend: tap, user or bridge; false for the others. */
static bool
nic_back(struct rq *q, const char *key, const char *type, struct kv *kv)
{
	const char *v;
	struct rci_nic *n;

	if (strcmp(type, "tap") && strcmp(type, "user") && strcmp(type, "bridge"))
		return false;
	n = nic_for(q->vm, key, false, q->line);
	n->rn_back = true;
	rci_set(&n->rn_net, type);
	if (strcmp(type, "tap") == 0) {
		if ((v = kv_get(kv, "ifname")) != NULL && is_word(v))
			rci_set(&n->rn_ifname, v);
		/*
		 * QEMU ran /etc/qemu-ifup and /etc/qemu-ifdown unless told
		 * "no"; the daemon runs them now (rcimport.c checks they exist).
		 */
		tap_script(q, &n->rn_script, kv_get(kv, "script"), "/etc/qemu-ifup");
		tap_script(q, &n->rn_downscript, kv_get(kv, "downscript"), "/etc/qemu-ifdown");
		if ((v = kv_get(kv, "vhost")) != NULL)
			n->rn_vhost = parse_onoff(v) == 1;
	} else if (strcmp(type, "user") == 0) {
		while ((v = kv_get(kv, "hostfwd")) != NULL)
			strv_push(&n->rn_hostfwd, v);
	} else {
		rci_set(&n->rn_bridge, (v = kv_get(kv, "br")) ? v : "br0");
		kv_get(kv, "helper");
	}
	kv_get(kv, "name");
	kv_get(kv, "id");
	rest_dropped(q, kv);
	return true;
}

static void
h_net(struct rq *q)
{
	struct kv kv;
	const char *type, *vlan;
	char key[64];

	kv_split(q->arg, "type", &kv);
	type = kv_get(&kv, "type");
	vlan = kv_get(&kv, "vlan");
	snprintf(key, sizeof(key), "vlan %s", vlan ? vlan : "0");
	if (!type) {
		to_extra(q, "no type");
	} else if (strcmp(type, "none") == 0) {
		q->vm->v_net_none = true;
	} else if (strcmp(type, "nic") == 0) {
		const char *model = kv_get(&kv, "model"), *mac = kv_get(&kv, "macaddr");
		nic_front(q, key, model, mac);
		kv_get(&kv, "name");
		kv_get(&kv, "id");
		rest_dropped(q, &kv);
	} else if (!nic_back(q, key, type, &kv)) {
		to_extra(q, "a network backend vmservice has no name for");
	}
	kv_free(&kv);
}

static void
h_netdev(struct rq *q)
{
	struct kv kv;
	const char *type, *id;
	char key[96];

	kv_split(q->arg, "type", &kv);
	type = kv_get(&kv, "type");
	id = kv_get(&kv, "id");
	snprintf(key, sizeof(key), "id %s", id ? id : "");
	if (!type || !id || !nic_back(q, key, type, &kv))
		to_extra(q, "a network backend vmservice has no name for");
	kv_free(&kv);
}

/* -nic TYPE,model=,mac=,...: a backend and its NIC in one (QEMU 2.12). */
static void
h_nic(struct rq *q)
{
	const char *type, *model, *mac;
	struct kv kv;
	char key[32];

	kv_split(q->arg, "type", &kv);
	type = kv_get(&kv, "type");
	model = kv_get(&kv, "model");
	mac = kv_get(&kv, "mac");
	snprintf(key, sizeof(key), "nic %zu", q->vm->v_n_nics);
	if (type && strcmp(type, "none") == 0)
		q->vm->v_net_none = true;
	else if (!type || !nic_back(q, key, type, &kv))
		to_extra(q, "a network backend vmservice has no name for");
	else
		nic_front(q, key, model, mac);
	kv_free(&kv);
}

static void
h_device(struct rq *q)
{
	static const char *const balloons[] = { "virtio-balloon-pci", "virtio-balloon", NULL };
	static const char *const scsi_ctl[] = { "virtio-scsi-pci", "virtio-scsi", NULL };
	struct kv kv;
	const char *drv, *netdev;
	char key[96];

	kv_split(q->arg, "driver", &kv);
	drv = kv_get(&kv, "driver");
	if (!drv) {
		to_extra(q, "no driver");
	} else if ((netdev = kv_get(&kv, "netdev")) != NULL) {
		snprintf(key, sizeof(key), "id %s", netdev);
		nic_front(q, key, drv, kv_get(&kv, "mac"));
		kv_get(&kv, "id");
		rest_dropped(q, &kv);
	} else if (device_disk(q, drv, &kv)) {
		/* done */
	} else if (in_list(drv, balloons)) {
		q->vm->v_balloon = true;
	} else if (strcmp(drv, "usb-tablet") == 0) {
		q->vm->v_tablet = true;
	} else if (in_list(drv, scsi_ctl)) {
		dropped(q, "vmservice adds its own virtio-scsi controller for if = scsi disks");
	} else {
		to_extra(q, "a device vmservice has no option for");
	}
	kv_free(&kv);
}

static void
h_redir(struct rq *q)
{
	/* -redir [tcp|udp]:hostport:[guestaddr]:guestport (gone in QEMU 3.1). */
	char proto[8] = "tcp", host[16], guest[64] = "", gport[16];
	const char *s = q->arg;

	if (strncmp(s, "tcp:", 4) == 0 || strncmp(s, "udp:", 4) == 0) {
		snprintf(proto, sizeof(proto), "%.3s", s);
		s += 4;
	}
	if (sscanf(s, "%15[0-9]:%63[^:]:%15[0-9]", host, guest, gport) != 3 &&
	    sscanf(s, "%15[0-9]::%15[0-9]", host, gport) != 2) {
		to_extra(q, "not [tcp|udp]:hostport:[guestaddr]:guestport");
		return;
	}
	strv_pushf(&q->vm->v_redir, "%s::%s-%s:%s", proto, host, guest, gport);
	q->vm->v_redir_line = q->line;
}

/* ---- consoles and display ----------------------------------------------- */

/* "telnet:HOST:PORT,server,nowait" (or tcp:): the port, else -1. */
static int
telnet_port(struct rq *q, const char *s, bool *raw_tcp)
{
	char host[256], rest[256] = "";
	unsigned port;
	int n;

	*raw_tcp = strncmp(s, "tcp:", 4) == 0;
	if (strncmp(s, "telnet:", 7) != 0 && !*raw_tcp)
		return -1;
	s += *raw_tcp ? 4 : 7;
	host[0] = '\0';
	if (*s == ':')
		n = sscanf(s, ":%u%255s", &port, rest) >= 1;
	else
		n = sscanf(s, "%255[^:]:%u%255s", host, &port, rest) >= 2;
	if (!n || port < 1 || port > 65535)
		return -1;
	if (!strstr(rest, "server"))
		return -1;	/* QEMU connecting out: nothing to listen on */
	if (*host && strcmp(host, "localhost") && strcmp(host, "127.0.0.1") &&
	    strcmp(host, "::1"))
		rci_warn(q->vm, q->line, "%s %s: listened on %s; vmservice listens on the "
		    "global `listen` address (and monitors on monitor_listen)", q->opt, q->arg,
		    host);
	return (int)port;
}

/*
 * -chardev socket,id=ID,host=H,port=P,server=on,wait=off[,telnet=on]: kept
 * by id for a -serial chardev:ID or -mon chardev=ID; used by neither, it
 * goes to extra_args at the end (another device uses it).
 */
static void
h_chardev(struct rq *q)
{
	const char *type, *id, *port, *server, *host;
	struct rci_chardev *c;
	struct kv kv;

	kv_split(q->arg, "backend", &kv);
	type = kv_get(&kv, "backend");
	id = kv_get(&kv, "id");
	port = kv_get(&kv, "port");
	server = kv_get(&kv, "server");
	host = kv_get(&kv, "host");
	if (!type || strcmp(type, "socket") || !id || !is_uint(port) || !server ||
	    parse_onoff(server) != 1 || atoi(port) < 1 || atoi(port) > 65535) {
		to_extra(q, "not a listening TCP socket");
		kv_free(&kv);
		return;
	}
	if (host && *host && strcmp(host, "localhost") && strcmp(host, "127.0.0.1") &&
	    strcmp(host, "::1"))
		rci_warn(q->vm, q->line, "%s %s: listened on %s; vmservice listens on the "
		    "global `listen` address (and monitors on monitor_listen)", q->opt, q->arg,
		    host);
	q->vm->v_chardevs = xrealloc(q->vm->v_chardevs,
	    (q->vm->v_n_chardevs + 1) * sizeof(*c));
	c = &q->vm->v_chardevs[q->vm->v_n_chardevs++];
	c->ch_id = xstrdup(id);
	c->ch_arg = xstrdup(q->arg);
	c->ch_port = atoi(port);
	c->ch_line = q->line;
	c->ch_used = false;
	kv_free(&kv);
}

/* The -chardev named id, marked used; NULL if none. */
static struct rci_chardev *
chardev(struct rci_vm *vm, const char *id)
{
	for (size_t i = 0; i < vm->v_n_chardevs; i++)
		if (strcmp(vm->v_chardevs[i].ch_id, id) == 0) {
			vm->v_chardevs[i].ch_used = true;
			return &vm->v_chardevs[i];
		}
	return NULL;
}

static void
h_mon(struct rq *q)
{
	struct rci_chardev *c;
	const char *id, *mode;
	struct kv kv;

	kv_split(q->arg, "chardev", &kv);
	id = kv_get(&kv, "chardev");
	mode = kv_get(&kv, "mode");
	if (id && (!mode || strcmp(mode, "readline") == 0) && (c = chardev(q->vm, id)) != NULL)
		q->vm->v_monitor = c->ch_port;
	else
		dropped(q, "vmservice owns QEMU's monitors (monitor = PORT for a telnet one)");
	kv_free(&kv);
}

static void
h_serial(struct rq *q)
{
	const char *s = q->arg;
	struct rci_chardev *c;
	bool raw;
	int port;

	if (q->vm->v_n_serials++ > 0) {
		/* ttyS1 and on: after ours, so in the same places. */
		strv_push(&q->vm->v_extra, q->opt);
		strv_push(&q->vm->v_extra, q->arg);
		rci_note(q->vm, q->line, "%s %s: a further serial port, kept in extra_args",
		    q->opt, q->arg);
		return;
	}
	if (strncmp(s, "mon:", 4) == 0) {
		rci_warn(q->vm, q->line, "%s %s: the monitor is not multiplexed onto the "
		    "serial port (see `monitor`)", q->opt, q->arg);
		s += 4;
	}
	if (strncmp(s, "chardev:", 8) == 0 && (c = chardev(q->vm, s + 8)) != NULL) {
		q->vm->v_serial = c->ch_port;
	} else if ((port = telnet_port(q, s, &raw)) > 0) {
		q->vm->v_serial = port;
		if (raw)
			rci_warn(q->vm, q->line, "%s %s: raw TCP becomes a telnet port", q->opt,
			    q->arg);
	} else {
		dropped(q, "vmservice keeps the first serial port itself (console proxy "
		    "and log_dir/NAME.console.log)");
	}
}

static void
h_monitor(struct rq *q)
{
	bool raw;
	int port = telnet_port(q, q->arg, &raw);

	if (port > 0)
		q->vm->v_monitor = port;
	else
		dropped(q, "vmservice owns QEMU's monitors (monitor = PORT for a telnet one)");
}

static void
h_vnc(struct rq *q)
{
	struct kv kv;
	const char *d;
	const char *colon;

	kv_split(q->arg, "display", &kv);
	d = kv_get(&kv, "display");
	colon = d ? strrchr(d, ':') : NULL;
	if (d && strcmp(d, "none") == 0) {
		kv_free(&kv);
		return;
	}
	if (!colon || !is_uint(colon + 1) || atoi(colon + 1) > 99) {
		dropped(q, "not a display :N, 0..99");
		kv_free(&kv);
		return;
	}
	q->vm->v_vnc = atoi(colon + 1);
	if (colon != d && strncmp(d, "localhost:", 10) && strncmp(d, "127.0.0.1:", 10))
		rci_warn(q->vm, q->line, "%s %s: vmservice's VNC listens on the global `listen` "
		    "address", q->opt, q->arg);
	if (kv_get(&kv, "password"))
		rci_note(q->vm, q->line, "%s %s: password: set vnc_password_file (else the "
		    "daemon sets a generated one)", q->opt, q->arg);
	rest_dropped(q, &kv);
	kv_free(&kv);
}

static void h_k(struct rq *q) { is_word(q->arg) ? rci_set(&q->vm->v_keymap, q->arg) :
    to_extra(q, "not a keymap name"); }
static void h_std_vga(struct rq *q) { rci_set(&q->vm->v_vga, "std"); }

static void
h_vga(struct rq *q)
{
	static const char *const vgas[] = { "std", "cirrus", "vmware", "qxl", "virtio",
	    "none", NULL };

	if (in_list(q->arg, vgas))
		rci_set(&q->vm->v_vga, q->arg);
	else
		to_extra(q, "a card vmservice has no name for");
}

static void
h_usbdevice(struct rq *q)
{
	if (strcmp(q->arg, "tablet") == 0)
		q->vm->v_tablet = true;
	else
		to_extra(q, "a USB device vmservice has no option for");
}

static void
h_balloon(struct rq *q)
{
	if (strncmp(q->arg, "virtio", 6) == 0)
		q->vm->v_balloon = true;
	else if (strcmp(q->arg, "none") != 0)
		to_extra(q, "not virtio");
}

static void
h_localtime(struct rq *q)
{
	/* Removed from QEMU (2.x); the same thing spelt today. */
	strv_push(&q->vm->v_extra, "-rtc");
	strv_push(&q->vm->v_extra, "base=localtime");
	rci_note(q->vm, q->line, "-localtime: kept in extra_args as -rtc base=localtime");
}

static void h_nodefaults(struct rq *q) { q->vm->v_nodefaults = true; }

static void
h_drop(struct rq *q)
{
	dropped(q, "vmservice sets it itself");
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
	{ "-net", true, h_net }, { "-netdev", true, h_netdev }, { "-nic", true, h_nic },
	{ "-chardev", true, h_chardev },
	{ "-device", true, h_device }, { "-redir", true, h_redir },
	{ "-serial", true, h_serial }, { "-monitor", true, h_monitor }, { "-vnc", true, h_vnc },
	{ "-k", true, h_k }, { "-vga", true, h_vga }, { "-std-vga", false, h_std_vga },
	{ "-usbdevice", true, h_usbdevice }, { "-balloon", true, h_balloon },
	{ "-localtime", false, h_localtime },
	/* What vmservice does itself (the rc-script added the first four). */
	{ "-name", true, h_drop }, { "-pidfile", true, h_drop }, { "-daemonize", false, h_drop },
	{ "-nographic", false, h_drop }, { "-display", true, h_drop },
	{ "-nodefaults", false, h_nodefaults }, { "-no-user-config", false, h_drop },
	{ "-nodefconfig", false, h_drop }, { "-qmp", true, h_drop }, { "-mon", true, h_mon },
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
			to_extra(&q, o->name ? "no inventory option for it" :
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

		nic_front(&q, "vlan 0", NULL, NULL);
		nic_back(&q, "vlan 0", "user", &kv);
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
