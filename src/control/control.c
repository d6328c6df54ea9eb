/*
 * The control socket (PROTOCOL.md): newline-delimited JSON, one request ->
 * one response, SO_PEERCRED decides what a peer may do. Requests with
 * "wait":true are parked on their client until ctl_poll() finds their
 * condition holds; a client never blocks the loop or another client.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "config/inv_disks.h"
#include "qemu/qemu_priv.h"
#include "qemu/qmp.h"
#include "vmd/agent.h"
#include "vmd/savestate.h"
#include "vmd/attach.h"
#include "vmd/autokill.h"
#include "vmd/balloon.h"
#include "vmd/snapshot.h"
#include "vmd/nvram.h"
#include "lib/acceptor.h"
#include "console/console.h"
#include "control/control.h"
#include "control/ctl_fd.h"
#include "control/ctl_priv.h"
#include "control/ctl_req.h"
#include "vmd/daemon.h"
#include "vmd/migrate.h"
#include "lib/loop.h"
#include "lib/outbuf.h"
#include "lib/usock.h"
#include "vmd/reload.h"

#define CTL_MAX_REQUEST	(64 * 1024)
#define CTL_MAX_OUTPUT	(4 * 1024 * 1024)
/* May read status; never a QEMU user's group (issue 12, qemu_priv.h). */
#define CTL_GROUP	QPRIV_STATUS_GROUP
#define CTL_QMP_TIMEOUT_MS	10000	/* vmctl monitor / qmp: QEMU must answer by then */
#define CTL_SNAP_TIMEOUT_MS	600000	/* vmctl snapshot: a job writing the guest's RAM */
#define CTL_LINGER_MS	2000
#define CTL_MAX_TIMEOUT	86400	/* stop "timeout", s: as halt_timeout in the inventory */
#define CTL_MAX_DRAIN	(1024 * 1024)
/*
 * Stalled clients must not pin fds (issues 6, 12): a partial request has
 * to be completed within CTL_STALL_MS, queued answers must start draining
 * within CTL_DRAIN_MS (progress deadlines); a silent client is dropped
 * after CTL_IDLE_MS. Admins (root,
 * the daemon's own user) and everyone else are two pools of
 * CTL_MAX_CLIENTS each, so no number of other clients can lock root out;
 * in the second pool a uid has at most CTL_MAX_PER_UID (every QEMU may
 * connect). In a full pool the longest silent client makes room for a
 * newcomer.
 */
#define CTL_MAX_CLIENTS	128
#define CTL_MAX_PER_UID	16
#define CTL_STALL_MS	5000
#define CTL_DRAIN_MS	10000	/* answers queued and none read: dropped */
#define CTL_IDLE_MS	60000
#define CTL_SWEEP_MS	1000
#define CTL_LOG_EVERY_MS 10000	/* a repeated complaint, at most this often */

static void client_free(struct client *cl);
static void client_process(struct client *cl);
static void client_handover(struct client *cl);
static void qreq_poll(struct ctl *c);
static void qreq_free(struct qreq *q);

static void
linger_cb(struct loop *lp, void *arg)
{
	struct client *cl = arg;

	cl->linger_timer = 0;
	client_free(cl);
}

/*
 * A refused client may still be writing its (over-long, garbage) request:
 * closing now would make its write fail before it reads our answer. So
 * shut our side down, swallow its input until EOF, and give up after
 * CTL_LINGER_MS or CTL_MAX_DRAIN bytes.
 */
static void
linger(struct client *cl)
{
	cl->lingering = true;
	shutdown(cl->fd, SHUT_WR);
	cl->linger_timer = loop_add_timer(cl->c->d->lp, CTL_LINGER_MS, linger_cb, cl);
	if (cl->events != EPOLLIN && loop_mod_fd(cl->c->d->lp, cl->fd, EPOLLIN) == 0)
		cl->events = EPOLLIN;
}

/* ---- output ---- */

static void
client_flush(struct client *cl)
{
	ssize_t n;
	uint32_t want;

	n = outbuf_flush(&cl->out, cl->fd);
	if (n < 0) {
		client_free(cl);
		return;
	}
	if (n > 0)
		cl->last_tx = now_ms();
	if (outbuf_empty(&cl->out) && cl->handover && !cl->closing) {
		client_handover(cl);
		return;
	}
	if (outbuf_empty(&cl->out) && cl->closing) {
		if (cl->eof)
			client_free(cl);
		else if (!cl->lingering)
			linger(cl);
		return;
	}
	/* Level-triggered: a peer at EOF must not keep waking us up. */
	want = (cl->eof ? 0 : EPOLLIN) | (outbuf_empty(&cl->out) ? 0 : EPOLLOUT);
	if (want != cl->events && loop_mod_fd(cl->c->d->lp, cl->fd, want) == 0)
		cl->events = want;
}

/* The waited-for VMs still in the daemon (a reload may have dropped some). */
static struct vm **
wait_vms(const struct client *cl, size_t *n)
{
	struct vm **v = xcalloc(cl->wait_n + 1, sizeof(*v)), *vm;
	size_t i;

	*n = 0;
	for (i = 0; i < cl->wait_n; i++)
		if ((vm = daemon_find_vm(cl->c->d, cl->wait_names[i])) != NULL)
			v[(*n)++] = vm;
	return v;
}

static bool
wait_done(const struct client *cl)
{
	struct vm **vms;
	size_t n;
	bool done;

	if (cl->wait == W_QMP || cl->wait == W_EVENTS)
		return false;	/* answered by qreq_answer(); streamed by ctl_event() */
	if (cl->wait == W_RELOAD)
		return !reload_pending(cl->c->d);
	vms = wait_vms(cl, &n);
	done = vms_done(cl->wait, vms, n);
	free(vms);
	return done;
}

/*
 * An autokill client, its start answered: one more line each time its
 * VM's state changes; once the VM is down the binding ends and the
 * connection closes (vmctl then exits).
 */
static void
ak_push(struct client *cl)
{
	struct vm *vm = daemon_find_vm(cl->c->d, cl->autokill);
	struct json_object *o, *a;

	if (vm && strcmp(sup_display_state(vm), cl->ak_state) != 0) {
		o = json_object_new_object();
		a = json_object_new_array();
		json_object_array_add(a, daemon_vm_json(cl->c->d, vm));
		json_object_object_add(o, "ok", json_object_new_boolean(true));
		json_object_object_add(o, "vms", a);
		reply(cl, o);
		ak_told(cl, &vm, 1);
	}
	if (!vm || sup_is_down(vm)) {
		free(cl->autokill);
		cl->autokill = NULL;
		cl->closing = true;
	}
}

/* The daemon's idle hook: answer deferred requests whose condition now holds. */
static void
ctl_poll(void *arg)
{
	struct ctl *c = arg;
	struct client *cl, *next;

	qreq_poll(c);
	for (cl = c->clients; cl; cl = next) {
		next = cl->next;
		if (cl->wait == W_NONE || !wait_done(cl))
			continue;
		if (cl->wait == W_RELOAD) {
			reply(cl, reload_result(c->d));
		} else {
			size_t n;
			struct vm **vms = wait_vms(cl, &n);
			reply_outcome(cl, cl->wait, vms, n);
			free(vms);
		}
		cl->wait = W_NONE;
		names_free(cl->wait_names, cl->wait_n);
		cl->wait_names = NULL;
		cl->wait_n = 0;
		/* Requests queued behind the deferred one, then the answers. */
		client_process(cl);
	}
	for (cl = c->clients; cl; cl = cl->next)
		if (cl->autokill && cl->wait == W_NONE && !cl->closing)
			ak_push(cl);
	/* client_process may have freed clients: flush from the list afresh. */
	for (cl = c->clients; cl; cl = next) {
		next = cl->next;
		if (!outbuf_empty(&cl->out) || cl->closing)
			client_flush(cl);
	}
}

/* ---- requests ---- */

/* The VMs a request names: one, or "all" (every enabled VM). */
static int
select_vms(struct client *cl, struct json_object *req, bool all_ok, bool need,
    struct vm ***out, size_t *n)
{
	struct daemon *d = cl->c->d;
	struct json_object *jvm;
	const char *name;
	size_t i;

	*out = NULL;
	*n = 0;
	if (!json_object_object_get_ex(req, "vm", &jvm) || !jvm) {
		if (need) {
			reply_error(cl, "missing \"vm\": name a VM or \"all\"");
			return -EINVAL;
		}
		name = NULL;
	} else if (!json_object_is_type(jvm, json_type_string)) {
		reply_error(cl, "\"vm\" must be a string");
		return -EINVAL;
	} else {
		name = json_object_get_string(jvm);
	}
	if (!name || strcmp(name, "all") == 0) {
		/* Attached VMs: only a stop or kill of all is theirs too. */
		bool attached = all_ok || strcmp(cl->wait_cmd, "stop") == 0 ||
		    strcmp(cl->wait_cmd, "kill") == 0;

		*out = xcalloc(d->n_vms, sizeof(**out));
		for (i = 0; i < d->n_vms; i++)
			if (all_ok || (d->vms[i]->vm_hw->vm_policy.po_enable &&
			    (attached || !d->vms[i]->vm_attach)))
				(*out)[(*n)++] = d->vms[i];
		return 0;
	}
	struct vm *vm = daemon_find_vm(d, name);
	if (!vm) {
		reply_error(cl, "unknown vm '%s'", name);
		return -ENOENT;
	}
	*out = xcalloc(1, sizeof(**out));
	(*out)[0] = vm;
	*n = 1;
	return 0;
}


/*
 * "compact": leave out the members that are null or false. vmctl's table
 * asks for it: 1,000 stopped VMs are 90 KB instead of 370 KB to write, read
 * and parse (issue 20). The foreach macro keeps the next entry, so deleting
 * the current one is safe.
 */
static void
compact_vms(struct json_object *a)
{
	size_t i;

	for (i = 0; i < json_object_array_length(a); i++) {
		struct json_object *vm = json_object_array_get_idx(a, i);

		json_object_object_foreach(vm, key, val) {
			if (!val || (json_object_is_type(val, json_type_boolean) &&
			    !json_object_get_boolean(val)))
				json_object_object_del(vm, key);
		}
	}
}

static void
h_status(struct client *cl, struct json_object *req)
{
	struct json_object *o, *a;
	struct vm **vms;
	size_t n;

	if (select_vms(cl, req, true, false, &vms, &n))
		return;
	a = vms_array(cl->c->d, vms, n);
	if (get_bool(req, "compact", false))
		compact_vms(a);
	o = ok_object();
	json_object_object_add(o, "vms", a);
	reply(cl, o);
	free(vms);
}

/*
 * {"cmd":"start","vm":V,"autokill":true}: one VM that is down, started
 * bound to this connection (vmd/autokill.h): answered as a start, then a
 * line per state change; the connection's end, however it comes, kills it.
 */
static void
start_autokill(struct client *cl, struct json_object *req)
{
	struct daemon *d = cl->c->d;
	struct json_object *jvm;
	struct vm **vms, *vm;
	char err[512];

	if (strcmp(cl->wait_cmd, "start") != 0) {
		reply_error(cl, "\"autokill\" is for start only");
		cl->closing = true;
		return;
	}
	if (json_object_object_get_ex(req, "vm", &jvm) && jvm &&
	    strcmp(json_object_get_string(jvm), "all") == 0) {
		reply_error(cl, "\"autokill\" starts one VM, not all");
		cl->closing = true;
		return;
	}
	if (!(vm = one_vm(cl, req))) {
		cl->closing = true;
		return;
	}
	if (!sup_is_down(vm)) {
		reply_error(cl, "vm %s is %s: autokill binds only a VM it starts (stop it first)",
		    vm->vm_name, sup_display_state(vm));
		cl->closing = true;
		return;
	}
	if (autokill_bind(d, vm, err, sizeof(err)) != 0 ||
	    daemon_start_vm(d, vm, err, sizeof(err)) != 0) {
		autokill_forget(d, vm);
		reply_error(cl, "%s", err);
		cl->closing = true;
		return;
	}
	cl->autokill = xstrdup(vm->vm_name);
	log_info("control: uid %u (pid %d): vm %s started with autokill", (unsigned)cl->uid,
	    (int)cl->pid, vm->vm_name);
	vms = xcalloc(1, sizeof(*vms));
	vms[0] = vm;
	finish(cl, req, W_START, vms, 1);
}

static void
h_start(struct client *cl, struct json_object *req)
{
	struct daemon *d = cl->c->d;
	bool restart = strcmp(cl->wait_cmd, "restart") == 0;
	struct vm **vms;
	char err[512];
	size_t n, i;

	if (get_bool(req, "autokill", false)) {
		start_autokill(cl, req);
		return;
	}
	if (select_vms(cl, req, false, true, &vms, &n))
		return;
	for (i = 0; i < n; i++) {
		int e = restart ? daemon_restart_vm(d, vms[i], err, sizeof(err)) :
		    get_bool(req, "force", false) ? daemon_force_start_vm(d, vms[i], err,
		    sizeof(err)) : daemon_start_vm(d, vms[i], err, sizeof(err));
		if (e) {
			reply_error(cl, "%s", err);
			free(vms);
			return;
		}
	}
	finish(cl, req, W_START, vms, n);
}

static void
h_stop(struct client *cl, struct json_object *req)
{
	struct daemon *d = cl->c->d;
	struct json_object *jt, *jvm;
	int timeout = -1;
	struct vm **vms;
	size_t n, i;
	bool all;

	if (json_object_object_get_ex(req, "timeout", &jt) && jt) {
		/*
		 * int64 first: json-c clamps get_int, and the supervisor's
		 * seconds * 1000 must not wrap (4294968 s would be 0.7 s).
		 */
		int64_t t = json_object_is_type(jt, json_type_int) ? json_object_get_int64(jt) : -1;
		if (t < 0 || t > CTL_MAX_TIMEOUT) {
			reply_error(cl, "\"timeout\" must be a number of seconds from 0 to %d",
			    CTL_MAX_TIMEOUT);
			return;
		}
		timeout = (int)t;
	}
	if (select_vms(cl, req, false, true, &vms, &n))
		return;
	all = json_object_object_get_ex(req, "vm", &jvm) &&
	    strcmp(json_object_get_string(jvm), "all") == 0;
	if (all)
		daemon_stop_all(d, timeout);
	else
		for (i = 0; i < n; i++)
			daemon_stop_vm(d, vms[i], timeout);
	finish(cl, req, W_STOP, vms, n);
}

/* kill, and save (on_host_shutdown = save's stop, asked for now). */
static void
h_kill(struct client *cl, struct json_object *req)
{
	bool save = strcmp(cl->wait_cmd, "save") == 0;
	struct vm **vms;
	size_t n, i;

	if (select_vms(cl, req, false, true, &vms, &n))
		return;
	for (i = 0; save && i < n; i++)
		if (vms[i]->vm_attach) {
			/* The next start restores a save: an attached VM has none. */
			reply_error(cl, "vm %s is attached (vmctl attach): vmservice cannot start "
			    "it again, so it cannot save it", vms[i]->vm_name);
			free(vms);
			return;
		}
	for (i = 0; i < n; i++)
		if (save)
			daemon_save_vm(cl->c->d, vms[i]);
		else
			daemon_kill_vm(cl->c->d, vms[i]);
	finish(cl, req, W_STOP, vms, n);
}

/* Every error of an invalid inventory in "errors"; see reload.h. */
static void
h_reload(struct client *cl, struct json_object *req)
{
	log_info("control: uid %u (pid %d): reload", (unsigned)cl->uid, (int)cl->pid);
	struct json_object *o = reload_run(cl->c->d);

	/* NULL: it waits for an emulator's answer; ctl_poll() answers then. */
	if (o)
		reply(cl, o);
	else
		cl->wait = W_RELOAD;
}

/* ---- console, monitor, qmp (issue 4) ---- */


/*
 * The connection becomes the console's: after the {"ok":true} line, bytes
 * both ways are the guest's serial port, raw (vmctl handles Ctrl-]).
 */
static void
h_console(struct client *cl, struct json_object *req)
{
	struct vm *vm = one_vm(cl, req);
	struct json_object *o;

	if (!vm)
		return;
	if (!vm->vm_con_serial) {
		reply_error(cl, "vm %s has no console (see the daemon's log)", vm->vm_name);
		return;
	}
	o = ok_object();
	json_object_object_add(o, "vm", json_object_new_string(vm->vm_name));
	json_object_object_add(o, "state", json_object_new_string(sup_state_name(vm->vm_state)));
	reply(cl, o);
	free(cl->handover);
	cl->handover = xstrdup(vm->vm_name);
	cl->handover_flags = CONSOLE_RAW | (get_bool(req, "readonly", false) ? CONSOLE_READONLY : 0);
}

static void
client_handover(struct client *cl)
{
	struct client **pp;
	struct vm *vm = daemon_find_vm(cl->c->d, cl->handover);
	struct console *con = vm ? vm->vm_con_serial : NULL;
	int fd = cl->fd;

	if (!con) {
		/* Told "ok" already, but the VM or its console went (reload): just close. */
		client_free(cl);
		return;
	}
	for (pp = &cl->c->clients; *pp; pp = &(*pp)->next)
		if (*pp == cl) {
			*pp = cl->next;
			break;
		}
	if (cl->linger_timer)
		loop_cancel_timer(cl->c->d->lp, cl->linger_timer);
	loop_del_fd(cl->c->d->lp, fd);
	log_info("control: uid %u (pid %d) attached to a console", (unsigned)cl->uid,
	    (int)cl->pid);
	if (cl->passed_fd >= 0)
		close(cl->passed_fd);
	free(cl->in);
	outbuf_free(&cl->out);
	names_free(cl->wait_names, cl->wait_n);
	free(cl->handover);
	unsigned flags = cl->handover_flags;
	free(cl);
	console_attach(con, fd, flags);
}

static void
qreq_free(struct qreq *q)
{
	struct qreq **pp;

	for (pp = &q->q_c->qreqs; *pp; pp = &(*pp)->q_next)
		if (*pp == q) {
			*pp = q->q_next;
			break;
		}
	free(q->q_vm);
	free(q);
}

/* Answer the waiting client (if still there); ret or error. */
static void
qreq_reply(struct qreq *q, struct json_object *ret, const char *error)
{
	struct client *cl;
	struct json_object *o;

	for (cl = q->q_c->clients; cl && cl->id != q->q_client; cl = cl->next)
		;
	q->q_client = 0;
	if (!cl || cl->wait != W_QMP)
		return;
	o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(!error));
	if (error)
		json_object_object_add(o, "error", json_object_new_string(error));
	else if (q->q_kind == QR_HMP)
		json_object_object_add(o, "output", json_object_new_string(
		    ret && json_object_is_type(ret, json_type_string) ?
		    json_object_get_string(ret) : ""));
	else
		json_object_object_add(o, "return", json_object_get(ret));
	reply(cl, o);
	cl->wait = W_NONE;
	client_process(cl);
	client_flush(cl);
}

static void
qreq_answer(void *arg, struct json_object *ret, const char *error)
{
	struct qreq *q = arg;

	if (q->q_client)
		qreq_reply(q, ret, error);
	qreq_free(q);
}

static const void *
conn_of(const struct vm *vm, int kind)
{
	return kind == QR_AGENT ? agent_conn(vm) : (const void *)vm->vm_qmp;
}

/* After every batch of events: dead QMP connections and deadlines. */
static void
qreq_poll(struct ctl *c)
{
	struct qreq *q, *next;
	uint64_t now = now_ms();

	for (q = c->qreqs; q; q = next) {
		struct vm *vm = daemon_find_vm(c->d, q->q_vm);

		next = q->q_next;
		if (!vm || conn_of(vm, q->q_kind) != q->q_conn) {
			/* qmp_free()d or qga_free()d: its callback will never come. */
			if (q->q_client)
				qreq_reply(q, NULL, !vm ? "the VM was removed from the inventory" :
				    q->q_kind == QR_AGENT ? "the guest agent connection closed" :
				    "QEMU's QMP connection closed");
			qreq_free(q);
		} else if (q->q_client && now >= q->q_deadline) {
			/* Kept until it answers or goes: the callback points here. */
			qreq_reply(q, NULL, q->q_kind == QR_AGENT ?
			    "the guest agent did not answer in time" : "QEMU did not answer in time");
		}
	}
}

static void
qreq_tick(struct loop *lp, void *arg)
{
	/* Nothing: waking the loop runs daemon_idle(), hence qreq_poll(). */
}

static void
send_qmp(struct client *cl, struct vm *vm, const char *cmd, struct json_object *args,
    int kind)
{
	const char *what = kind == QR_AGENT ? "guest agent" : "QMP";
	struct qreq *q;
	int e;

	if (kind == QR_AGENT ? !agent_conn(vm) : (!vm->vm_qmp || !qmp_is_ready(vm->vm_qmp))) {
		json_object_put(args);
		reply_error(cl, "vm %s is %s: no %s connection", vm->vm_name,
		    sup_state_name(vm->vm_state), what);
		return;
	}
	q = xcalloc(1, sizeof(*q));
	q->q_c = cl->c;
	q->q_vm = xstrdup(vm->vm_name);
	q->q_conn = conn_of(vm, kind);
	q->q_client = cl->id;
	q->q_kind = kind;
	q->q_deadline = now_ms() + CTL_QMP_TIMEOUT_MS;
	e = kind == QR_AGENT ? agent_command(cl->c->d, vm, cmd, args, CTL_QMP_TIMEOUT_MS,
	    qreq_answer, q) : qmp_send(vm->vm_qmp, cmd, args, qreq_answer, q);
	if (e) {
		free(q->q_vm);
		free(q);
		reply_error(cl, "vm %s: %s %s not sent: %s", vm->vm_name, what, cmd,
		    e == -ENOTCONN && kind == QR_AGENT ? "the guest agent does not answer "
		    "(not running in the guest?)" : strerror(-e));
		return;
	}
	q->q_next = cl->c->qreqs;
	cl->c->qreqs = q;
	cl->wait = W_QMP;
	loop_add_timer(cl->c->d->lp, CTL_QMP_TIMEOUT_MS, qreq_tick, cl->c);
	log_info("control: uid %u: vm %s: %s %s", (unsigned)cl->uid, vm->vm_name,
	    kind == QR_HMP ? "monitor" : kind == QR_AGENT ? "agent" : "qmp", cmd);
}

/* {"cmd":"monitor","vm":V,"command":"info status"}: HMP through QMP. */
static void
h_monitor(struct client *cl, struct json_object *req)
{
	struct vm *vm = one_vm(cl, req);
	struct json_object *args;
	const char *line;

	if (!vm || !(line = need_string(cl, req, "command", "an HMP command line")))
		return;
	args = json_object_new_object();
	json_object_object_add(args, "command-line", json_object_new_string(line));
	send_qmp(cl, vm, "human-monitor-command", args, QR_HMP);
}

/*
 * {"cmd":"qmp","vm":V,"execute":C,"arguments":{...}}: one QMP command;
 * {"cmd":"agent",...}: the same to the guest agent.
 */
static void
h_qmp(struct client *cl, struct json_object *req)
{
	bool agent = strcmp(cl->wait_cmd, "agent") == 0;
	struct vm *vm = one_vm(cl, req);
	struct json_object *args = NULL;
	const char *cmd;

	if (!vm || !(cmd = need_string(cl, req, "execute", agent ? "a guest agent command name" :
	    "a QMP command name")))
		return;
	if (json_object_object_get_ex(req, "arguments", &args) && args &&
	    !json_object_is_type(args, json_type_object)) {
		reply_error(cl, "\"arguments\" must be an object");
		return;
	}
	send_qmp(cl, vm, cmd, args ? json_object_get(args) : NULL,
	    agent ? QR_AGENT : QR_QMP);
}

/*
 * {"cmd":"snapshot","vm":V,"op":"create|list|revert|delete","tag":T}: a
 * running VM's internal snapshots (vmd/snapshot.c), answered when QEMU's
 * job is done: {"ok":true,"return":{}} or, for list, the snapshots.
 */
static void
h_snapshot(struct client *cl, struct json_object *req)
{
	struct vm *vm = one_vm(cl, req);
	struct json_object *jt;
	const char *op;
	struct qreq *q;
	char err[512];
	int r;

	if (!vm || !(op = need_string(cl, req, "op", "create, list, revert or delete")))
		return;
	if (json_object_object_get_ex(req, "tag", &jt) && jt &&
	    !json_object_is_type(jt, json_type_string)) {
		reply_error(cl, "\"tag\" must be a string");
		return;
	}
	q = xcalloc(1, sizeof(*q));
	q->q_c = cl->c;
	q->q_vm = xstrdup(vm->vm_name);
	q->q_conn = vm->vm_qmp;
	q->q_client = cl->id;
	q->q_kind = QR_SNAP;
	q->q_deadline = now_ms() + CTL_SNAP_TIMEOUT_MS;
	if ((r = snapshot_run(cl->c->d, vm, op,
	    jt ? json_object_get_string(jt) : NULL, qreq_answer, q, err, sizeof(err)))) {
		free(q->q_vm);
		free(q);
		if (r == -ESRCH) {
			/* No QEMU: vmctl works on the disks itself (those the daemon runs
			 * the VM with, not the file's, which may have changed since),
			 * under QEMU's image locks; never on disks a saved state is bound to. */
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "ok", json_object_new_boolean(false));
			json_object_object_add(o, "error", json_object_new_string(err));
			json_object_object_add(o, "offline", json_object_new_boolean(true));
			json_object_object_add(o, "saved",
			    json_object_new_boolean(savestate_exists(cl->c->d, vm)));
			json_object_object_add(o, "disks", inv_written_disks(vm->vm_hw));
			reply(cl, o);
			return;
		}
		reply_error(cl, "%s", err);
		return;
	}
	q->q_next = cl->c->qreqs;
	cl->c->qreqs = q;
	cl->wait = W_QMP;
	loop_add_timer(cl->c->d->lp, CTL_SNAP_TIMEOUT_MS, qreq_tick, cl->c);
	log_info("control: uid %u: vm %s: snapshot %s %s", (unsigned)cl->uid, vm->vm_name,
	    op, jt ? json_object_get_string(jt) : "");
}

/*
 * {"cmd":"events"[,"vm":V]}: {"ok":true}, then one line per transition of
 * the table (of V, or of every VM, also those a reload adds) until the
 * client hangs up: {"event":"state","time":T,"vm":V,"from":S,"to":S,"why":W}
 * plus "stop_reason" when the VM went down. A subscriber that does not read
 * is dropped by the progress deadline, like any client.
 */
static void
h_events(struct client *cl, struct json_object *req)
{
	struct json_object *jvm;

	if (json_object_object_get_ex(req, "vm", &jvm) && jvm) {
		if (!json_object_is_type(jvm, json_type_string)) {
			reply_error(cl, "\"vm\" must be a string");
			return;
		}
		if (strcmp(json_object_get_string(jvm), "all") != 0) {
			if (!daemon_find_vm(cl->c->d, json_object_get_string(jvm))) {
				reply_error(cl, "unknown vm '%s'", json_object_get_string(jvm));
				return;
			}
			cl->wait_names = xcalloc(2, sizeof(*cl->wait_names));
			cl->wait_names[0] = xstrdup(json_object_get_string(jvm));
			cl->wait_n = 1;
		}
	}
	reply(cl, ok_object());
	cl->wait = W_EVENTS;
}

static void
ctl_event(void *arg, const struct vm *vm, int old, const char *why)
{
	struct ctl *c = arg;
	struct client *cl;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	for (cl = c->clients; cl; cl = cl->next) {
		struct json_object *o;

		if (cl->wait != W_EVENTS || cl->closing ||
		    (cl->wait_n && strcmp(cl->wait_names[0], vm->vm_name) != 0))
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "event", json_object_new_string("state"));
		json_object_object_add(o, "time",
		    json_object_new_double((double)ts.tv_sec + ts.tv_nsec / 1e9));
		json_object_object_add(o, "vm", json_object_new_string(vm->vm_name));
		json_object_object_add(o, "from",
		    json_object_new_string(sup_state_name((enum vm_state)old)));
		json_object_object_add(o, "to", json_object_new_string(sup_state_name(vm->vm_state)));
		json_object_object_add(o, "why", json_object_new_string(why ? why : ""));
		if (sup_is_down(vm) && vm->vm_reason != SR_NONE)
			json_object_object_add(o, "stop_reason",
			    json_object_new_string(sup_reason_name(vm->vm_reason)));
		reply(cl, o);	/* flushed at the end of the pass (ctl_poll) */
	}
}

/*
 * {"cmd":"balloon","vm":V,"size":"512M"} (or a number of bytes): QMP
 * balloon, answered as a qmp request; the guest moves in its own time
 * (status: "balloon").
 */
static void
h_balloon(struct client *cl, struct json_object *req)
{
	struct vm *vm = one_vm(cl, req);
	struct json_object *js, *args;
	uint64_t bytes = 0;
	char err[256];

	if (!vm)
		return;
	if (!json_object_object_get_ex(req, "size", &js) || !js ||
	    (json_object_is_type(js, json_type_int) ? json_object_get_int64(js) <= 0 :
	    !json_object_is_type(js, json_type_string) ||
	    balloon_parse(json_object_get_string(js), &bytes))) {
		reply_error(cl, "\"size\" must be a size such as 512M or 2G (a bare number "
		    "is MiB), or a number of bytes");
		return;
	}
	if (json_object_is_type(js, json_type_int))
		bytes = (uint64_t)json_object_get_int64(js);
	if (!(args = balloon_request(vm, bytes, err, sizeof(err)))) {
		reply_error(cl, "%s", err);
		return;
	}
	send_qmp(cl, vm, "balloon", args, QR_QMP);
}

/* {"cmd":"wait","vm":V}: answered once V is running (ready), or cannot be. */
static void
h_wait(struct client *cl, struct json_object *req)
{
	struct vm **vms;
	size_t n;

	if (select_vms(cl, req, false, true, &vms, &n))
		return;
	json_object_object_add(req, "wait", json_object_new_boolean(true));
	finish(cl, req, W_START, vms, n);
}

/*
 * {"cmd":"revert","vm":V}: every disk of a stopped VM that is an overlay
 * (has a backing) is replaced by a fresh, empty overlay on the same
 * backing: the classic way back to the base image. Creating an overlay is
 * a few header writes, so it runs in the loop; img_overlay_fresh() writes
 * PATH.new and renames it, so a failure leaves the old overlay in place.
 */
static void
h_revert(struct client *cl, struct json_object *req)
{
	struct vm *vm = one_vm(cl, req);
	struct json_object *o, *done;
	struct strv files = { 0 };
	char why[768];
	size_t i;

	if (!vm)
		return;
	if (daemon_revert_vm(cl->c->d, vm, &files, why, sizeof(why)) != 0) {
		strv_free(&files);
		reply_error(cl, "%s", why);
		return;
	}
	done = json_object_new_array();
	for (i = 0; i < files.sv_n; i++)
		json_object_array_add(done, json_object_new_string(files.sv_v[i]));
	strv_free(&files);
	o = ok_object();
	json_object_object_add(o, "vm", json_object_new_string(vm->vm_name));
	json_object_object_add(o, "reverted", done);
	reply(cl, o);
}

/* {"cmd":"reset-nvram","vm":V}: a stopped UEFI VM's variables go (vmd/nvram.h). */
static void
h_reset_nvram(struct client *cl, struct json_object *req)
{
	struct vm *vm = one_vm(cl, req);
	struct json_object *o;
	char why[768];

	if (!vm)
		return;
	if (nvram_reset(cl->c->d, vm, why, sizeof(why)) != 0) {
		reply_error(cl, "%s", why);
		return;
	}
	o = ok_object();
	json_object_object_add(o, "vm", json_object_new_string(vm->vm_name));
	reply(cl, o);
}

/*
 * {"cmd":"attach","vm":NAME,"pid":PID}: supervise a QEMU we did not start
 * (vmd/attach.c). Answered once it runs (its QMP answered query-status) or
 * failed, like a start with "wait".
 */
static void
h_attach(struct client *cl, struct json_object *req)
{
	struct json_object *jvm, *jpid;
	struct vm **vms;
	char err[1024];
	int64_t pid;

	if (!json_object_object_get_ex(req, "vm", &jvm) ||
	    !json_object_is_type(jvm, json_type_string) ||
	    !json_object_object_get_ex(req, "pid", &jpid) ||
	    !json_object_is_type(jpid, json_type_int)) {
		reply_error(cl, "attach needs \"vm\" (a name) and \"pid\" (a number)");
		return;
	}
	pid = json_object_get_int64(jpid);
	if (pid <= 0 || pid > INT32_MAX) {
		reply_error(cl, "pid %lld: not a process id", (long long)pid);
		return;
	}
	log_info("control: uid %u (pid %d): attach %s pid %lld", (unsigned)cl->uid,
	    (int)cl->pid, json_object_get_string(jvm), (long long)pid);
	if (attach_vm(cl->c->d, json_object_get_string(jvm), (pid_t)pid, err, sizeof(err))) {
		log_warn("control: attach %s refused: %s", json_object_get_string(jvm), err);
		reply_error(cl, "%s", err);
		return;
	}
	vms = xcalloc(1, sizeof(*vms));
	vms[0] = daemon_find_vm(cl->c->d, json_object_get_string(jvm));
	json_object_object_add(req, "wait", json_object_new_boolean(true));
	finish(cl, req, W_START, vms, 1);
}

static const struct ctl_handler {
	const char	*name;
	bool		 admin;		/* root (or the daemon's user) only */
	void		(*fn)(struct client *, struct json_object *);
} handlers[] = {
	{ "status",	false,	h_status },
	{ "start",	true,	h_start },
	{ "stop",	true,	h_stop },
	{ "restart",	true,	h_start },
	{ "kill",	true,	h_kill },
	{ "reload",	true,	h_reload },
	{ "revert",	true,	h_revert },
	{ "reset-nvram", true,	h_reset_nvram },
	{ "console",	true,	h_console },
	{ "monitor",	true,	h_monitor },
	{ "qmp",	true,	h_qmp },
	{ "agent",	true,	h_qmp },
	{ "save",	true,	h_kill },
	{ "snapshot",	true,	h_snapshot },
	{ "balloon",	true,	h_balloon },
	{ "wait",	false,	h_wait },
	{ "events",	false,	h_events },
	{ "attach",	true,	h_attach },
	{ "migrate-check", true, h_migrate_check },
	{ "migrate-in",	true,	h_migrate_in },
	{ "migrate-out", true,	h_migrate_out },
	{ "migrate-disk", true,	h_migrate_disk },
	{ "migrate-go",	true,	h_migrate_go },
	{ "migrate-done", true,	h_migrate_end },
	{ "migrate-resume", true, h_migrate_end },
};

/* One request line. Returns false when the client must be dropped. */
static bool
handle_line(struct client *cl, const char *line, size_t n)
{
	struct json_object *req;
	const char *cmd;
	char err[128];
	size_t i;

	if (ctl_parse_request(line, n, &req, &cmd, err, sizeof(err))) {
		reply_error(cl, "%s", err);
		return false;
	}
	for (i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		if (strcmp(handlers[i].name, cmd) == 0)
			break;
	if (cl->autokill) {
		/* Its end is the VM's: nothing may hand it over or close it early. */
		reply_error(cl, "this connection keeps vm %s alive (autokill): it takes no "
		    "more requests", cl->autokill);
	} else if (i == sizeof(handlers) / sizeof(handlers[0])) {
		reply_error(cl, "unknown command '%s'", cmd);
	} else if (!(handlers[i].admin ? cl->admin : cl->reader)) {
		/* Once per client: a pipeline of refused requests is no log flood. */
		if (!cl->told_refused)
			log_info("control: uid %u (pid %d) refused '%s'", (unsigned)cl->uid,
			    (int)cl->pid, cmd);
		cl->told_refused = true;
		reply_error(cl, "permission denied");
	} else {
		log_debug("control: uid %u: %s", (unsigned)cl->uid, cmd);
		cl->wait_cmd = handlers[i].name;
		handlers[i].fn(cl, req);
	}
	json_object_put(req);
	return true;
}

/* Handle buffered complete lines, one at a time, until one is deferred. */
static void
client_process(struct client *cl)
{
	char *nl;
	size_t n;

	while (cl->wait == W_NONE && !cl->closing && !cl->handover &&
	    (nl = memchr(cl->in, '\n', cl->in_n)) != NULL) {
		n = (size_t)(nl - cl->in);
		if (n && cl->in[n - 1] == '\r')
			n--;
		bool keep = n == 0 || handle_line(cl, cl->in, n);
		n = (size_t)(nl - cl->in) + 1;
		memmove(cl->in, cl->in + n, cl->in_n - n);
		cl->in_n -= n;
		if (!keep)
			cl->closing = true;
	}
	if (cl->wait == W_NONE && !cl->closing && !cl->handover && cl->in_n > CTL_MAX_REQUEST) {
		reply_error(cl, "request longer than %d bytes", CTL_MAX_REQUEST);
		cl->closing = true;
	}
	if (cl->eof && cl->wait == W_NONE)
		cl->closing = true;
}

static void
client_io(struct loop *lp, int fd, uint32_t events, void *arg)
{
	struct client *cl = arg;
	ssize_t n;

	if (cl->eof && (events & (EPOLLHUP | EPOLLERR))) {
		client_free(cl);	/* gone both ways: nobody to answer */
		return;
	}
	if (events & EPOLLOUT) {
		client_flush(cl);
		return;		/* cl may be gone; input comes on the next wake */
	}
	if (cl->closing) {
		char scratch[4096];

		n = recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		cl->drained += n > 0 ? (size_t)n : 0;
		if (n <= 0 || cl->drained > CTL_MAX_DRAIN)
			client_free(cl);
		return;
	}
	/* Bound the buffer: never hold more than one over-long request. */
	xgrow(&cl->in, &cl->in_cap, cl->in_n + 4096 + 1, 1);
	n = ctl_recv_fd(fd, cl->in + cl->in_n, 4096, &cl->passed_fd);
	if (cl->passed_fd >= 0 && !cl->admin) {
		close(cl->passed_fd);	/* only an admin's request may bring one */
		cl->passed_fd = -1;
	}
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		client_free(cl);
		return;
	}
	if (n == 0 && cl->wait == W_EVENTS) {
		client_free(cl);	/* an event stream ends when its reader goes */
		return;
	}
	if (n == 0 && cl->autokill) {
		client_free(cl);	/* the end of an autokill connection: the VM goes */
		return;
	}
	if (n == 0) {
		/* Half-closed (`socat` after its input): still owed its answers. */
		cl->eof = true;
		if (cl->wait == W_NONE)
			client_process(cl);
		client_flush(cl);
		return;
	}
	cl->in_n += (size_t)n;
	cl->last_rx = now_ms();
	if (cl->wait != W_NONE) {
		/* Parked: keep its next requests, but not without bound. */
		if (cl->in_n > CTL_MAX_REQUEST * 2)
			client_free(cl);
		return;
	}
	client_process(cl);
	client_flush(cl);
}

static void
client_free(struct client *cl)
{
	struct client **pp;

	for (pp = &cl->c->clients; *pp; pp = &(*pp)->next)
		if (*pp == cl) {
			*pp = cl->next;
			break;
		}
	if (cl->linger_timer)
		loop_cancel_timer(cl->c->d->lp, cl->linger_timer);
	loop_del_fd(cl->c->d->lp, cl->fd);
	close(cl->fd);
	/* A migration's vmctl went away before its end (vmd/migrate.h). */
	if (cl->wait == W_MIG_IN || cl->wait == W_MIG_OUT) {
		struct vm *vm = cl->wait_n ? daemon_find_vm(cl->c->d, cl->wait_names[0]) : NULL;

		if (vm && (vm->vm_state == VS_INCOMING || vm->vm_state == VS_MIGRATING)) {
			log_vm(LOG_WARNING, vm->vm_name, "its vmctl migrate went away: the "
			    "migration ends");
			if (vm->vm_state == VS_INCOMING) {
				free(vm->vm_detail);
				vm->vm_detail = xstrdup("incoming migration failed: its vmctl "
				    "went away");
			}
			sup_event(&cl->c->d->sup, vm, vm->vm_state == VS_INCOMING ?
			    VE_MIGRATE_FAILED : VE_MIGRATE_ABORT, 0);
		}
	}
	if (cl->autokill) {
		struct vm *vm = daemon_find_vm(cl->c->d, cl->autokill);

		log_info("control: uid %u (pid %d): autokill connection closed", (unsigned)cl->uid,
		    (int)cl->pid);
		if (vm)
			autokill_fire(cl->c->d, vm);
		free(cl->autokill);
	}
	if (cl->passed_fd >= 0)
		close(cl->passed_fd);
	free(cl->in);
	outbuf_free(&cl->out);
	names_free(cl->wait_names, cl->wait_n);
	free(cl->handover);
	free(cl);
}

static bool
in_group(uid_t uid, gid_t gid, gid_t want)
{
	struct passwd *pw;
	gid_t groups[256];
	int n = 256, i;

	if (gid == want)
		return true;
	pw = getpwuid(uid);
	if (!pw || getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) == -1)
		return false;
	for (i = 0; i < n; i++)
		if (groups[i] == want)
			return true;
	return false;
}

/* ---- stalled clients ---- */

/* Owed nothing and owing nothing: only its own silence keeps it. */
static bool
client_idle(const struct client *cl)
{
	return cl->wait == W_NONE && !cl->closing && !cl->lingering && !cl->handover &&
	    !cl->autokill && outbuf_empty(&cl->out);
}

static void sweep_arm(struct ctl *c);

static void
sweep_cb(struct loop *lp, void *arg)
{
	struct ctl *c = arg;
	struct client *cl, *next;
	uint64_t now = now_ms();

	c->sweep_timer = 0;
	for (cl = c->clients; cl; cl = next) {
		next = cl->next;
		if (!outbuf_empty(&cl->out) && !cl->lingering && now >= cl->last_tx + CTL_DRAIN_MS) {
			/* The progress deadline: it does not read what it asked for. */
			log_info("control: uid %u (pid %d): %zu bytes of answers not read "
			    "for %d s, closing", (unsigned)cl->uid, (int)cl->pid, outbuf_len(&cl->out),
			    CTL_DRAIN_MS / 1000);
			client_free(cl);
			continue;
		}
		if (!client_idle(cl) ||
		    now < cl->last_rx + (cl->in_n ? CTL_STALL_MS : CTL_IDLE_MS))
			continue;
		if (cl->in_n == 0) {
			client_free(cl);
			continue;
		}
		log_info("control: uid %u (pid %d): request incomplete for %d s, closing",
		    (unsigned)cl->uid, (int)cl->pid, CTL_STALL_MS / 1000);
		reply_error(cl, "request incomplete after %d s", CTL_STALL_MS / 1000);
		cl->closing = true;
		client_flush(cl);	/* frees cl or lingers: only cl */
	}
	sweep_arm(c);
}

static void
sweep_arm(struct ctl *c)
{
	if (!c->sweep_timer && c->clients)
		c->sweep_timer = loop_add_timer(c->d->lp, CTL_SWEEP_MS, sweep_cb, c);
}

/* True when a complaint may be logged now; *quiet: how many were not. */
static bool
ratelog_ok(struct ratelog *r, unsigned *quiet)
{
	uint64_t now = now_ms();

	if (r->rl_last && now < r->rl_last + CTL_LOG_EVERY_MS) {
		r->rl_quiet++;
		return false;
	}
	*quiet = r->rl_quiet;
	r->rl_last = now;
	r->rl_quiet = 0;
	return true;
}

static bool
evictable(const struct client *cl)
{
	return client_idle(cl) || cl->lingering;
}

/*
 * Room for a newcomer (uid; admin) in its pool: false when the pool, or
 * for a non-admin its uid's share, is full and none of those clients is
 * silent. Admins never count against others and others never against them.
 */
static bool
make_room(struct ctl *c, uid_t uid, bool admin)
{
	struct client *cl, *oldest = NULL, *oldest_uid = NULL, *victim;
	size_t n = 0, n_uid = 0;
	unsigned quiet;

	for (cl = c->clients; cl; cl = cl->next) {
		if (cl->admin != admin)
			continue;
		n++;
		if (!admin && cl->uid == uid) {
			n_uid++;
			if (evictable(cl) && (!oldest_uid || cl->last_rx < oldest_uid->last_rx))
				oldest_uid = cl;
		}
		if (evictable(cl) && (!oldest || cl->last_rx < oldest->last_rx))
			oldest = cl;
	}
	if (!admin && n_uid >= CTL_MAX_PER_UID)
		victim = oldest_uid;	/* a uid at its share pays for itself */
	else if (n >= CTL_MAX_CLIENTS)
		victim = oldest;
	else
		return true;
	if (!victim)
		return false;
	if (!ratelog_ok(&c->rl_evict, &quiet))
		;
	else if (victim == oldest_uid)
		log_info("control: uid %u has %zu clients: dropping its longest silent one "
		    "(pid %d)%s", (unsigned)uid, n_uid, (int)victim->pid,
		    quiet ? ", and more like it" : "");
	else
		log_info("control: %zu %s clients: dropping the longest silent one (uid %u, "
		    "pid %d)%s", n, admin ? "admin" : "other", (unsigned)victim->uid,
		    (int)victim->pid, quiet ? ", and more like it" : "");
	client_free(victim);
	return true;
}

static void
accept_cb(struct loop *lp, int fd, uint32_t events, void *arg)
{
	struct ctl *c = arg;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct client *cl;
	unsigned quiet;
	bool admin;
	int cfd;

	cfd = acc_accept(&c->acc);
	if (cfd == -1)
		return;
	if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_warn("control: SO_PEERCRED: %s", strerror(errno));
		close(cfd);
		return;
	}
	/* root, or whoever runs this daemon (an unprivileged `make demo`). */
	admin = cred.uid == 0 || cred.uid == geteuid();
	if (!make_room(c, cred.uid, admin)) {
		if (ratelog_ok(&c->rl_full, &quiet))
			log_warn("control: clients of uid %u all busy: refusing pid %d%s",
			    (unsigned)cred.uid, (int)cred.pid, quiet ? ", and more like it" : "");
		close(cfd);
		return;
	}
	cl = xcalloc(1, sizeof(*cl));
	cl->c = c;
	cl->fd = cfd;
	cl->passed_fd = -1;
	cl->uid = cred.uid;
	cl->pid = cred.pid;
	cl->admin = admin;
	cl->reader = cl->admin || (c->have_group && in_group(cred.uid, cred.gid, c->group));
	cl->events = EPOLLIN;
	outbuf_init(&cl->out, CTL_MAX_OUTPUT);
	cl->id = ++c->next_id;
	cl->last_rx = cl->last_tx = now_ms();
	if (loop_add_fd(c->d->lp, cfd, EPOLLIN, client_io, cl)) {
		close(cfd);
		free(cl);
		return;
	}
	cl->next = c->clients;
	c->clients = cl;
	sweep_arm(c);
}

struct ctl *
ctl_new(struct daemon *d, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	struct ctl *c;
	struct group *gr;
	struct stat st;
	int fd, e;

	if (usock_addr(&sa, path, err, errlen) != 0)
		return NULL;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return NULL;
	}
	/* We hold the pidfile lock, so a socket left here is a dead daemon's. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		e = errno;
		snprintf(err, errlen, "cannot bind %s: %s", path, strerror(e));
		close(fd);
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->d = d;
	c->fd = fd;
	c->path = xstrdup(path);
	gr = getgrnam(CTL_GROUP);
	if (gr) {
		c->group = gr->gr_gid;
		c->have_group = true;
		if (chown(path, (uid_t)-1, gr->gr_gid) == -1)
			log_warn("cannot give %s to group %s: %s", path, CTL_GROUP, strerror(errno));
	}
	acc_init(&c->acc, d->lp, fd, "control");
	if (chmod(path, 0660) == -1 || listen(fd, 64) == -1 ||
	    loop_add_fd(d->lp, fd, EPOLLIN, accept_cb, c) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(errno));
		ctl_free(c);
		return NULL;
	}
	d->idle_hook = ctl_poll;
	d->event_hook = ctl_event;
	d->event_arg = c;
	d->idle_arg = c;
	log_info("control socket %s", path);
	return c;
}

void
ctl_free(struct ctl *c)
{
	if (!c)
		return;
	if (c->d->idle_arg == c) {
		c->d->idle_hook = NULL;
		c->d->idle_arg = NULL;
	}
	if (c->d->event_arg == c) {
		c->d->event_hook = NULL;
		c->d->event_arg = NULL;
	}
	/* The daemon exits: its own end is not a client's (their VMs are down, or adopted). */
	for (struct client *cl = c->clients; cl; cl = cl->next) {
		free(cl->autokill);
		cl->autokill = NULL;
	}
	while (c->clients)
		client_free(c->clients);
	if (c->sweep_timer)
		loop_cancel_timer(c->d->lp, c->sweep_timer);
	acc_stop(&c->acc);
	/* The QMP connections are freed after us (daemon_free_vms): drop callbacks' targets. */
	while (c->qreqs) {
		struct qreq *q = c->qreqs;
		c->qreqs = q->q_next;
		free(q->q_vm);
		free(q);
	}
	loop_del_fd(c->d->lp, c->fd);
	close(c->fd);
	unlink(c->path);
	free(c->path);
	free(c);
}
