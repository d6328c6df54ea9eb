/*
 * vmctl import-rc: QEMU's network options (-net, -netdev, -nic, -redir) as
 * nic { } sections; legacy NICs and backends pair by vlan, the others by id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/rc_priv.h"
#include "config/rcq_priv.h"

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

void
rcq_nic_front(struct rq *q, const char *key, const char *model, const char *mac)
{
	struct rci_nic *n = nic_for(q->vm, key, true, q->line);

	n->rn_front = true;
	/* Legacy -net nic,model=virtio is the device virtio-net-pci. */
	if (model && strcmp(model, "virtio") == 0)
		model = "virtio-net-pci";
	if (model && rcq_is_word(model))
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
bool
rcq_nic_back(struct rq *q, const char *key, const char *type, struct kv *kv)
{
	const char *v;
	struct rci_nic *n;

	if (strcmp(type, "tap") && strcmp(type, "user") && strcmp(type, "bridge"))
		return false;
	n = nic_for(q->vm, key, false, q->line);
	n->rn_back = true;
	rci_set(&n->rn_net, type);
	if (strcmp(type, "tap") == 0) {
		if ((v = rcq_kv_get(kv, "ifname")) != NULL && rcq_is_word(v))
			rci_set(&n->rn_ifname, v);
		/*
		 * QEMU ran /etc/qemu-ifup and /etc/qemu-ifdown unless told
		 * "no"; the daemon runs them now (rcimport.c checks they exist).
		 */
		tap_script(q, &n->rn_script, rcq_kv_get(kv, "script"), "/etc/qemu-ifup");
		tap_script(q, &n->rn_downscript, rcq_kv_get(kv, "downscript"), "/etc/qemu-ifdown");
		if ((v = rcq_kv_get(kv, "vhost")) != NULL)
			n->rn_vhost = rcq_parse_onoff(v) == 1;
	} else if (strcmp(type, "user") == 0) {
		while ((v = rcq_kv_get(kv, "hostfwd")) != NULL)
			strv_push(&n->rn_hostfwd, v);
	} else {
		rci_set(&n->rn_bridge, (v = rcq_kv_get(kv, "br")) ? v : "br0");
		rcq_kv_get(kv, "helper");
	}
	rcq_kv_get(kv, "name");
	rcq_kv_get(kv, "id");
	rcq_rest_dropped(q, kv);
	return true;
}

void
rcq_h_net(struct rq *q)
{
	struct kv kv;
	const char *type, *vlan;
	char key[64];

	rcq_kv_split(q->arg, "type", &kv);
	type = rcq_kv_get(&kv, "type");
	vlan = rcq_kv_get(&kv, "vlan");
	snprintf(key, sizeof(key), "vlan %s", vlan ? vlan : "0");
	if (!type) {
		rcq_to_extra(q, "no type");
	} else if (strcmp(type, "none") == 0) {
		q->vm->v_net_none = true;
	} else if (strcmp(type, "nic") == 0) {
		const char *model = rcq_kv_get(&kv, "model"), *mac = rcq_kv_get(&kv, "macaddr");
		rcq_nic_front(q, key, model, mac);
		rcq_kv_get(&kv, "name");
		rcq_kv_get(&kv, "id");
		rcq_rest_dropped(q, &kv);
	} else if (!rcq_nic_back(q, key, type, &kv)) {
		rcq_to_extra(q, "a network backend vmservice has no name for");
	}
	rcq_kv_free(&kv);
}

void
rcq_h_netdev(struct rq *q)
{
	struct kv kv;
	const char *type, *id;
	char key[96];

	rcq_kv_split(q->arg, "type", &kv);
	type = rcq_kv_get(&kv, "type");
	id = rcq_kv_get(&kv, "id");
	snprintf(key, sizeof(key), "id %s", id ? id : "");
	if (!type || !id || !rcq_nic_back(q, key, type, &kv))
		rcq_to_extra(q, "a network backend vmservice has no name for");
	rcq_kv_free(&kv);
}

/* -nic TYPE,model=,mac=,...: a backend and its NIC in one (QEMU 2.12). */
void
rcq_h_nic(struct rq *q)
{
	const char *type, *model, *mac;
	struct kv kv;
	char key[32];

	rcq_kv_split(q->arg, "type", &kv);
	type = rcq_kv_get(&kv, "type");
	model = rcq_kv_get(&kv, "model");
	mac = rcq_kv_get(&kv, "mac");
	snprintf(key, sizeof(key), "nic %zu", q->vm->v_n_nics);
	if (type && strcmp(type, "none") == 0)
		q->vm->v_net_none = true;
	else if (!type || !rcq_nic_back(q, key, type, &kv))
		rcq_to_extra(q, "a network backend vmservice has no name for");
	else
		rcq_nic_front(q, key, model, mac);
	rcq_kv_free(&kv);
}

void
rcq_h_redir(struct rq *q)
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
		rcq_to_extra(q, "not [tcp|udp]:hostport:[guestaddr]:guestport");
		return;
	}
	strv_pushf(&q->vm->v_redir, "%s::%s-%s:%s", proto, host, guest, gport);
	q->vm->v_redir_line = q->line;
}
