/* The daemon's end of a VM's guest agent: agent.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/log.h"
#include "lib/loop.h"
#include "lib/util.h"
#include "qemu/qga.h"
#include "vmd/agent.h"
#include "vmd/daemon.h"
#include "vmd/probe.h"

/* guest-ping before the halt step's guest-shutdown: "a second or two". */
#define AGENT_PING_MS		1500
/* What the guest says about itself is asked again this often while synced. */
#define AGENT_INFO_MS		30000
#define AGENT_INFO_TIMEOUT_MS	5000
/* The guest's words we keep: bounded, printable. */
#define AGENT_MAX_IPS		8
#define AGENT_TEXT_MAX		96
/* QEMU's chardev listens as soon as QEMU runs: a short retry suffices. */
#define AGENT_CONNECT_ATTEMPTS	50
#define AGENT_CONNECT_MS	100

struct vm_agent {
	struct daemon	*ag_d;
	struct vm	*ag_vm;
	struct qga	*ag_qga;
	bool		 ag_answering;	/* the last guest-ping or command was answered */
	char		 ag_os[AGENT_TEXT_MAX];
	char		 ag_ips[AGENT_MAX_IPS][48];
	unsigned	 ag_n_ips;
	uint64_t	 ag_timer;	/* the next info refresh */
	bool		 ag_clock_stale;	/* resumed before the agent answered: set it then */
};

/* Copy guest text: printable ASCII only, at most len - 1 bytes. */
static void
copy_text(char *dst, size_t len, const char *src)
{
	size_t i = 0;

	for (; src && *src && i + 1 < len; src++)
		dst[i++] = (*src >= 0x20 && *src < 0x7f) ? *src : '?';
	dst[i] = 0;
}

/* ---- what the guest says about itself ---- */

static void
osinfo_cb(void *arg, struct json_object *ret, const char *error)
{
	struct vm_agent *ag = arg;
	struct json_object *v;

	if (!ret || !json_object_is_type(ret, json_type_object))
		return;
	if ((json_object_object_get_ex(ret, "pretty-name", &v) ||
	    json_object_object_get_ex(ret, "name", &v)) && json_object_is_type(v, json_type_string))
		copy_text(ag->ag_os, sizeof(ag->ag_os), json_object_get_string(v));
}

/* Loopback and link-local addresses reach nobody from outside the guest. */
static bool
local_only(const char *ip)
{
	return strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0 ||
	    strncmp(ip, "169.254.", 8) == 0 || strncasecmp(ip, "fe80:", 5) == 0;
}

static void
ifaces_cb(void *arg, struct json_object *ret, const char *error)
{
	struct vm_agent *ag = arg;
	size_t i, j;

	if (!ret || !json_object_is_type(ret, json_type_array))
		return;
	ag->ag_n_ips = 0;
	for (i = 0; i < json_object_array_length(ret) && ag->ag_n_ips < AGENT_MAX_IPS; i++) {
		struct json_object *ifc = json_object_array_get_idx(ret, i), *addrs, *a, *ip;

		if (!json_object_is_type(ifc, json_type_object) ||
		    !json_object_object_get_ex(ifc, "ip-addresses", &addrs) ||
		    !json_object_is_type(addrs, json_type_array))
			continue;
		for (j = 0; j < json_object_array_length(addrs) && ag->ag_n_ips < AGENT_MAX_IPS; j++) {
			a = json_object_array_get_idx(addrs, j);
			if (!json_object_is_type(a, json_type_object) ||
			    !json_object_object_get_ex(a, "ip-address", &ip) ||
			    !json_object_is_type(ip, json_type_string) ||
			    local_only(json_object_get_string(ip)))
				continue;
			copy_text(ag->ag_ips[ag->ag_n_ips], sizeof(ag->ag_ips[0]),
			    json_object_get_string(ip));
			ag->ag_n_ips++;
		}
	}
}

static void info_timer_cb(struct loop *lp, void *arg);

static void
ask_info(struct vm_agent *ag)
{
	if (!ag->ag_qga || !qga_is_ready(ag->ag_qga))
		return;
	if (qga_send(ag->ag_qga, "guest-get-osinfo", NULL, AGENT_INFO_TIMEOUT_MS, false,
	    osinfo_cb, ag) == 0)
		(void)qga_send(ag->ag_qga, "guest-network-get-interfaces", NULL,
		    AGENT_INFO_TIMEOUT_MS, false, ifaces_cb, ag);
}

static void
info_timer_cb(struct loop *lp, void *arg)
{
	struct vm_agent *ag = arg;

	ag->ag_timer = loop_add_timer(lp, AGENT_INFO_MS, info_timer_cb, ag);
	ask_info(ag);
}

/* ---- the connection ---- */

static void
ping_cb(void *arg, struct json_object *ret, const char *error)
{
	struct vm_agent *ag = arg;

	if (error) {
		ag->ag_answering = false;
		return;
	}
	if (!ag->ag_answering)
		log_vm(LOG_INFO, ag->ag_vm->vm_name, "guest agent answers");
	ag->ag_answering = true;
	ask_info(ag);
	if (ag->ag_clock_stale)
		agent_resumed(ag->ag_d, ag->ag_vm);
	/* Last: the probe's event may change the VM's state. */
	probe_agent_up(ag->ag_d, ag->ag_vm);
}

static void
ready_cb(void *arg)
{
	struct vm_agent *ag = arg;

	/* Synced means an agent answered; guest-ping says the same in its words. */
	(void)qga_send(ag->ag_qga, "guest-ping", NULL, AGENT_PING_MS, false, ping_cb, ag);
}

static void
unsynced_cb(void *arg, const char *why)
{
	struct vm_agent *ag = arg;

	if (ag->ag_answering)
		log_vm(LOG_INFO, ag->ag_vm->vm_name, "guest agent stopped answering: %s", why);
	ag->ag_answering = false;
}

static void
closed_cb(void *arg, const char *why)
{
	struct vm_agent *ag = arg;

	log_vm(LOG_DEBUG, ag->ag_vm->vm_name, "guest agent channel: %s", why);
	ag->ag_answering = false;
	qga_free(ag->ag_qga);
	ag->ag_qga = NULL;
}

static const struct qga_cb agent_callbacks = { ready_cb, unsynced_cb, closed_cb };

void
agent_open(struct daemon *d, struct vm *vm)
{
	struct vm_agent *ag;
	char *path;
	int e;

	if (!vm->vm_hw->vm_agent || vm->vm_agent)
		return;
	ag = xcalloc(1, sizeof(*ag));
	ag->ag_d = d;
	ag->ag_vm = vm;
	ag->ag_qga = qga_new(vm->vm_name, &agent_callbacks, ag);
	vm->vm_agent = ag;
	path = xasprintf("%s/%s.qga", d->inv.inv_run_dir, vm->vm_name);
	e = qga_connect(ag->ag_qga, d->lp, path, vm->vm_pid, AGENT_CONNECT_ATTEMPTS,
	    AGENT_CONNECT_MS);
	if (e)
		log_vm(LOG_WARNING, vm->vm_name, "guest agent: cannot connect to %s: %s", path,
		    strerror(-e));
	free(path);
	ag->ag_timer = loop_add_timer(d->lp, AGENT_INFO_MS, info_timer_cb, ag);
}

void
agent_close(struct daemon *d, struct vm *vm)
{
	struct vm_agent *ag = vm->vm_agent;

	if (!ag)
		return;
	if (ag->ag_timer)
		loop_cancel_timer(d->lp, ag->ag_timer);
	qga_free(ag->ag_qga);
	free(ag);
	vm->vm_agent = NULL;
}

/* ---- the halt step ---- */

/* qga_free drops pending replies without calling them: ag is valid here. */
static void
halt_ping_cb(void *arg, struct json_object *ret, const char *error)
{
	struct vm_agent *ag = arg;
	struct vm *vm = ag->ag_vm;
	struct json_object *args;
	int e;

	if (error) {
		log_vm(LOG_INFO, vm->vm_name, "guest agent: guest-ping: %s", error);
		ag->ag_answering = false;
		sup_event(&ag->ag_d->sup, vm, VE_AGENT_FAILED, 0);
		return;
	}
	args = json_object_new_object();
	json_object_object_add(args, "mode", json_object_new_string("powerdown"));
	e = qga_send(ag->ag_qga, "guest-shutdown", args, AGENT_PING_MS, true, NULL, NULL);
	if (e) {
		log_vm(LOG_WARNING, vm->vm_name, "guest agent: cannot send guest-shutdown: %s",
		    strerror(-e));
		sup_event(&ag->ag_d->sup, vm, VE_AGENT_FAILED, 0);
		return;
	}
	log_vm(LOG_INFO, vm->vm_name, "guest agent: guest-shutdown sent");
}

int
agent_halt(struct daemon *d, struct vm *vm)
{
	struct vm_agent *ag = vm->vm_agent;

	if (!ag || !ag->ag_qga || !qga_is_ready(ag->ag_qga))
		return -ENOTCONN;
	if (qga_send(ag->ag_qga, "guest-ping", NULL, AGENT_PING_MS, false, halt_ping_cb, ag))
		return -ENOTCONN;
	return 0;
}

/* ---- the rest ---- */

void
agent_resumed(struct daemon *d, struct vm *vm)
{
	struct vm_agent *ag = vm->vm_agent;
	struct json_object *args;
	struct timespec ts;

	if (!ag)
		return;
	/* Restored, or its agent not back yet: at its first answer. */
	ag->ag_clock_stale = true;
	if (!ag->ag_qga || !qga_is_ready(ag->ag_qga) || !ag->ag_answering)
		return;
	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return;
	ag->ag_clock_stale = false;
	/* The guest's clock stood still while paused: the host's time, in ns. */
	args = json_object_new_object();
	json_object_object_add(args, "time",
	    json_object_new_int64((int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec));
	if (qga_send(ag->ag_qga, "guest-set-time", args, AGENT_INFO_TIMEOUT_MS, false,
	    NULL, NULL) == 0)
		log_vm(LOG_INFO, vm->vm_name, "guest agent: guest-set-time after the pause");
}

void
agent_json(const struct vm *vm, struct json_object *o)
{
	const struct vm_agent *ag = vm->vm_agent;
	struct json_object *ips;

	if (!vm->vm_hw->vm_agent) {
		json_object_object_add(o, "agent", NULL);
		json_object_object_add(o, "guest_os", NULL);
		json_object_object_add(o, "guest_ips", NULL);
		return;
	}
	json_object_object_add(o, "agent", json_object_new_string(!ag || !ag->ag_qga ?
	    "none" : ag->ag_answering ? "answering" : "silent"));
	json_object_object_add(o, "guest_os", ag && ag->ag_os[0] ?
	    json_object_new_string(ag->ag_os) : NULL);
	if (!ag || !ag->ag_n_ips) {
		json_object_object_add(o, "guest_ips", NULL);
		return;
	}
	ips = json_object_new_array();
	for (unsigned i = 0; i < ag->ag_n_ips; i++)
		json_object_array_add(ips, json_object_new_string(ag->ag_ips[i]));
	json_object_object_add(o, "guest_ips", ips);
}

bool
agent_answering(const struct vm *vm)
{
	return vm->vm_agent && vm->vm_agent->ag_qga && vm->vm_agent->ag_answering;
}

const void *
agent_conn(const struct vm *vm)
{
	return vm->vm_agent ? vm->vm_agent->ag_qga : NULL;
}

int
agent_command(struct daemon *d, struct vm *vm, const char *cmd, struct json_object *args,
    unsigned timeout_ms, agent_reply_fn fn, void *arg)
{
	struct vm_agent *ag = vm->vm_agent;

	if (!ag || !ag->ag_qga || !qga_is_ready(ag->ag_qga)) {
		json_object_put(args);
		return -ENOTCONN;
	}
	return qga_send(ag->ag_qga, cmd, args, timeout_ms, false, fn, arg);
}
