/*
 * Checks across VMs: names, TCP ports, MAC addresses, tap names, NIC models
 * (asked of each emulator once), `after` references and cycles. The second of two clashing declarations is the one reported,
 * naming the first.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "qemu/qemu_argv.h"
#include "qemu/qemu_devices.h"
#include "qemu/qemu_priv.h"
#include "config/inv_priv.h"
#include "config/uidmap.h"

static void
report(struct inv_parse *ip, const struct hw_vm *vm, const char *key,
    const char *cls, const char *msg)
{
	struct hw_loc loc = hw_vm_optloc(vm, key);

	diag_add(ip->ip_diag, DIAG_ERROR, loc.file, loc.line, vm->vm_name, cls, "%s", msg);
}

static size_t
first_named(const struct inventory *inv, const char *name)
{
	for (size_t i = 0; i < inv->inv_n_vms; i++)
		if (strcmp(inv->inv_vms[i].vm_name, name) == 0)
			return i;
	return (size_t)-1;
}

static void
check_names(struct inv_parse *ip)
{
	const struct inventory *inv = ip->ip_inv;

	for (size_t i = 0; i < inv->inv_n_vms; i++) {
		const struct hw_vm *vm = &inv->inv_vms[i];
		size_t j = first_named(inv, vm->vm_name);
		char *m;

		if (j == i)
			continue;
		m = xasprintf("duplicate VM name, first declared at %s:%d",
		    inv->inv_vms[j].vm_loc.file, inv->inv_vms[j].vm_loc.line);
		report(ip, vm, "", DC_DUP_VM, m);
		free(m);
	}
}

/* A TCP or UDP port some VM listens on. */
struct port_use {
	int			 pu_port;
	bool			 pu_udp;
	const struct hw_vm	*pu_vm;
	char			 pu_key[64];
	char			 pu_what[300];
};

static void
add_port(struct port_use **v, size_t *n, size_t *cap, const struct hw_vm *vm,
    int port, bool udp, const char *key, const char *what)
{
	struct port_use *p;

	xgrow(v, cap, *n + 1, sizeof(**v));
	p = &(*v)[(*n)++];
	p->pu_port = port;
	p->pu_udp = udp;
	p->pu_vm = vm;
	snprintf(p->pu_key, sizeof(p->pu_key), "%s", key);
	snprintf(p->pu_what, sizeof(p->pu_what), "%s", what);
}

static void
collect_ports(const struct hw_vm *vm, struct port_use **v, size_t *n, size_t *cap)
{
	char key[64], what[300];

	if (vm->vm_serial != HW_PORT_NONE)
		add_port(v, n, cap, vm, vm->vm_serial, false, "serial", "serial");
	if (vm->vm_monitor != HW_PORT_NONE)
		add_port(v, n, cap, vm, vm->vm_monitor, false, "monitor", "monitor");
	if (vm->vm_vnc != HW_VNC_NONE) {
		snprintf(what, sizeof(what), "vnc display %d", vm->vm_vnc);
		add_port(v, n, cap, vm, 5900 + vm->vm_vnc, false, "vnc", what);
	}
	for (size_t i = 0; i < vm->vm_n_nics; i++)
		for (size_t j = 0; j < vm->vm_nics[i].nic_n_hostfwd; j++) {
			const char *f = vm->vm_nics[i].nic_hostfwd[j];
			const char *c2 = strchr(strchr(f, ':') + 1, ':');

			snprintf(key, sizeof(key), "nic%zu.hostfwd.%zu", i, j);
			snprintf(what, sizeof(what), "hostfwd %s", f);
			add_port(v, n, cap, vm, atoi(c2 + 1), strncmp(f, "udp", 3) == 0, key, what);
		}
}

static void
check_ports(struct inv_parse *ip)
{
	const struct inventory *inv = ip->ip_inv;
	struct port_use *v = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < inv->inv_n_vms; i++)
		collect_ports(&inv->inv_vms[i], &v, &n, &cap);
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < i; j++) {
			struct hw_loc l;
			char *m;

			if (v[j].pu_port != v[i].pu_port || v[j].pu_udp != v[i].pu_udp)
				continue;
			l = hw_vm_optloc(v[j].pu_vm, v[j].pu_key);
			m = xasprintf("%s: %s port %d is also used by %s of vm %s (%s:%d)",
			    v[i].pu_what, v[i].pu_udp ? "UDP" : "TCP", v[i].pu_port,
			    v[j].pu_what, v[j].pu_vm->vm_name, l.file, l.line);
			report(ip, v[i].pu_vm, v[i].pu_key, DC_DUP_PORT, m);
			free(m);
			break;
		}
	free(v);
}

static void
check_macs(struct inv_parse *ip)
{
	const struct inventory *inv = ip->ip_inv;

	for (size_t a = 0; a < inv->inv_n_vms; a++)
		for (size_t i = 0; i < inv->inv_vms[a].vm_n_nics; i++) {
			const struct hw_vm *vm = &inv->inv_vms[a];
			const struct hw_nic *nic = &vm->vm_nics[i];
			bool found = false;

			for (size_t b = 0; b <= a && !found; b++)
				for (size_t j = 0; j < inv->inv_vms[b].vm_n_nics; j++) {
					const struct hw_nic *o = &inv->inv_vms[b].vm_nics[j];
					char mac[18], key[32], *m;

					if ((b == a && j >= i) || memcmp(o->nic_mac, nic->nic_mac, 6))
						continue;
					hw_format_mac(nic->nic_mac, mac);
					snprintf(key, sizeof(key), nic->nic_mac_set ?
					    "nic%zu.mac" : "nic%zu", i);
					m = xasprintf("MAC %s%s is also used by nic %zu of vm %s (%s:%d)",
					    mac, nic->nic_mac_set ? "" : " (derived)", j,
					    inv->inv_vms[b].vm_name, o->nic_loc.file, o->nic_loc.line);
					report(ip, vm, key, DC_DUP_MAC, m);
					free(m);
					found = true;
					break;
				}
		}
}

/* Two NICs (net = bridge or tap) must not want the same interface. */
static void
check_taps(struct inv_parse *ip)
{
	const struct inventory *inv = ip->ip_inv;

	for (size_t a = 0; a < inv->inv_n_vms; a++)
		for (unsigned i = 0; i < inv->inv_vms[a].vm_n_nics; i++) {
			const struct hw_vm *vm = &inv->inv_vms[a];
			enum hw_net net = vm->vm_nics[i].nic_net;
			char name[IF_NAMESIZE], other[IF_NAMESIZE], key[32], *m;
			bool found = false;

			if (net != HW_NET_BRIDGE && net != HW_NET_TAP)
				continue;
			hw_nic_ifname(vm, i, name);
			for (size_t b = 0; b <= a && !found; b++)
				for (unsigned j = 0; j < inv->inv_vms[b].vm_n_nics; j++) {
					const struct hw_vm *o = &inv->inv_vms[b];
					enum hw_net on = o->vm_nics[j].nic_net;

					if ((b == a && j >= i) ||
					    (on != HW_NET_BRIDGE && on != HW_NET_TAP))
						continue;
					hw_nic_ifname(o, j, other);
					if (strcmp(name, other) != 0)
						continue;
					snprintf(key, sizeof(key), vm->vm_nics[i].nic_ifname ?
					    "nic%u.ifname" : "nic%u", i);
					m = xasprintf("tap %s is also used by nic %u of vm %s (%s:%d)",
					    name, j, o->vm_name, o->vm_nics[j].nic_loc.file,
					    o->vm_nics[j].nic_loc.line);
					report(ip, vm, key, DC_CONFLICT, m);
					free(m);
					found = true;
					break;
				}
		}
}

/* One emulator's NIC models, asked once per load. */
struct emu_models {
	char		*em_path;
	struct strv	 em_own;	/* the answer, when asked here */
	const struct strv *em_models;	/* em_own, or io_models' */
	int		 em_rc;		/* 0: em_models valid */
};

static const struct emu_models *
models_of(struct inv_parse *ip, struct emu_models **v, size_t *n, size_t *cap,
    const char *path)
{
	struct inv_opts *o = ip->ip_opts;
	struct emu_models *em;
	char err[256];

	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i].em_path, path) == 0)
			return &(*v)[i];
	xgrow(v, cap, *n + 1, sizeof(**v));
	em = &(*v)[(*n)++];
	memset(em, 0, sizeof(*em));
	em->em_path = xstrdup(path);
	em->em_models = &em->em_own;
	if (o->io_models) {
		em->em_rc = o->io_models(o->io_arg, path, &em->em_models);
		o->io_pending |= em->em_rc == -EAGAIN;
	} else if (o->io_flags & INV_NO_EXEC) {
		em->em_rc = -ENOEXEC;
	} else {
		em->em_rc = qemu_nic_models(path, &em->em_own, err, sizeof(err));
	}
	return em;
}

/*
 * A model QEMU does not have fails only at start, with QEMU's words: ask
 * the emulator here (models outside the common list only). An emulator
 * that cannot answer is reported elsewhere (missing-emulator), or not at
 * all when it is a stand-in: then the model is not judged. The daemon
 * does not run it here (inv_opts: the answer comes from a child of its
 * loop, nicmodels.h).
 */
static void
check_models(struct inv_parse *ip)
{
	const struct inventory *inv = ip->ip_inv;
	struct qemu_env env = { .qe_emulator_dir = inv->inv_emulator_dir };
	struct emu_models *v = NULL;
	size_t n = 0, cap = 0;

	for (size_t a = 0; a < inv->inv_n_vms; a++) {
		const struct hw_vm *vm = &inv->inv_vms[a];

		for (size_t i = 0; vm->vm_policy.po_enable && i < vm->vm_n_nics; i++) {
			const char *model = vm->vm_nics[i].nic_model;
			const struct emu_models *em;
			char *emu, *all, key[32], *m;
			bool known = false;

			if (!model || vm->vm_nics[i].nic_net == HW_NET_NONE ||
			    qemu_nic_model_common(model))
				continue;
			emu = qemu_emulator_path(vm, &env);
			em = models_of(ip, &v, &n, &cap, emu);
			free(emu);
			if (em->em_rc)
				continue;
			all = xstrdup("");
			for (size_t k = 0; k < em->em_models->sv_n; k++) {
				char *t = xasprintf("%s%s%s", all, k ? ", " : "",
				    em->em_models->sv_v[k]);
				known |= strcmp(em->em_models->sv_v[k], model) == 0;
				free(all);
				all = t;
			}
			if (!known) {
				snprintf(key, sizeof(key), "nic%zu.model", i);
				m = xasprintf("NIC model '%s' is not one %s has (%s)", model,
				    em->em_path, all);
				report(ip, vm, key, DC_VALUE, m);
				free(m);
			}
			free(all);
		}
	}
	for (size_t i = 0; i < n; i++) {
		free(v[i].em_path);
		strv_free(&v[i].em_own);
	}
	free(v);
}

enum { WHITE, GREY, BLACK };

/* Depth-first over `after`; a grey target closes a cycle, reported once. */
static void
visit(struct inv_parse *ip, size_t v, int *color, size_t *stack, size_t depth)
{
	const struct inventory *inv = ip->ip_inv;
	const struct hw_vm *vm = &inv->inv_vms[v];

	color[v] = GREY;
	stack[depth] = v;
	for (size_t i = 0; i < vm->vm_policy.po_n_after; i++) {
		size_t t = first_named(inv, vm->vm_policy.po_after[i]);
		char key[32];

		if (t == (size_t)-1)
			continue;
		if (color[t] == GREY) {
			char *path = xstrdup(""), *m;
			size_t k = depth;

			while (stack[k] != t)
				k--;
			for (; k <= depth; k++) {
				char *p = xasprintf("%s%s -> ", path, inv->inv_vms[stack[k]].vm_name);
				free(path);
				path = p;
			}
			m = xasprintf("after cycle: %s%s", path, inv->inv_vms[t].vm_name);
			snprintf(key, sizeof(key), "after.%zu", i);
			report(ip, vm, key, DC_CYCLE, m);
			free(m);
			free(path);
		} else if (color[t] == WHITE) {
			visit(ip, t, color, stack, depth + 1);
		}
	}
	color[v] = BLACK;
}

static void
check_after(struct inv_parse *ip)
{
	const struct inventory *inv = ip->ip_inv;
	int *color = xcalloc(inv->inv_n_vms, sizeof(*color));
	size_t *stack = xcalloc(inv->inv_n_vms, sizeof(*stack));

	for (size_t v = 0; v < inv->inv_n_vms; v++) {
		const struct hw_vm *vm = &inv->inv_vms[v];

		for (size_t i = 0; i < vm->vm_policy.po_n_after; i++) {
			char key[32], *m;

			if (first_named(inv, vm->vm_policy.po_after[i]) != (size_t)-1)
				continue;
			snprintf(key, sizeof(key), "after.%zu", i);
			m = xasprintf("after names unknown VM '%s'", vm->vm_policy.po_after[i]);
			report(ip, vm, key, DC_AFTER, m);
			free(m);
		}
	}
	for (size_t v = 0; v < inv->inv_n_vms; v++)
		if (color[v] == WHITE && first_named(inv, inv->inv_vms[v].vm_name) == v)
			visit(ip, v, color, stack, 0);
	free(color);
	free(stack);
}

/*
 * Per-VM uids (issue 12) must belong to nobody else: a uid_range holding a
 * passwd or group entry would hand that user's or group's files to a QEMU.
 * Checked when some VM runs as "dynamic" (the default).
 */
static void
check_uid_range(struct inv_parse *ip)
{
	const struct inventory *inv = ip->ip_inv;
	char why[256];
	size_t i;

	for (i = 0; i < inv->inv_n_vms; i++)
		if (!inv->inv_vms[i].vm_runas ||
		    strcmp(inv->inv_vms[i].vm_runas, QPRIV_DYNAMIC) == 0)
			break;
	if (i == inv->inv_n_vms || uidmap_overlap(inv->inv_uid_lo, inv->inv_uid_hi, why,
	    sizeof(why)) == 0)
		return;
	diag_add(ip->ip_diag, DIAG_ERROR, ip->ip_uid_file ? ip->ip_uid_file : inv->inv_path,
	    ip->ip_uid_line, NULL, DC_CONFLICT, "%s%s: per-VM QEMU users need a range no "
	    "passwd or group entry uses (runas = \"%s\" of VM %s)", why,
	    ip->ip_uid_file ? "" : " (the default uid_range)", QPRIV_DYNAMIC,
	    inv->inv_vms[i].vm_name);
}

void
inv_check(struct inv_parse *ip)
{
	check_uid_range(ip);
	check_names(ip);
	check_ports(ip);
	check_macs(ip);
	check_taps(ip);
	check_models(ip);
	check_after(ip);
	inv_check_helpers(ip);
	inv_check_firmware(ip);
}
