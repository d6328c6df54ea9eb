/*
 * Guest agent client: guest-sync-delimited framing, one command in flight,
 * deadlines on a clock the caller gives. See qga.h for the protocol.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/loop.h"
#include "lib/outbuf.h"
#include "lib/reent.h"
#include "lib/uconn.h"
#include "lib/util.h"
#include "qemu/qapi_wire.h"
#include "qemu/qga.h"

/*
 * IDLE until the first qga_sync; SYNCING waits for the 0xFF reply (quiet:
 * a re-check after a no_reply command, still ready to callers); UNSYNCED
 * waits for the next resync; CLOSED is final.
 */
enum qga_phase { QG_IDLE, QG_SYNCING, QG_READY, QG_UNSYNCED, QG_CLOSED };

/* A drained input buffer larger than this is freed: one long reply does not pin it. */
#define QGA_IN_KEEP	65536

struct qga_cmd {
	char		*c_line;	/* the request, without its newline */
	size_t		 c_len;
	char		*c_name;	/* the command, for messages */
	uint64_t	 c_deadline;
	unsigned	 c_timeout_ms;
	uint64_t	 c_written_at;	/* no_reply: out.ob_sent once it is all written */
	bool		 c_no_reply;
	bool		 c_sent;	/* in flight: only ever the first */
	qga_reply_fn	 c_fn;
	void		*c_arg;
};

struct qga {
	char		*name;		/* the VM, for the log */
	const struct qga_cb *cb;
	void		*arg;
	enum qga_phase	 phase;
	bool		 quiet;		/* this sync re-checks a ready agent */
	bool		 need_sync;	/* a no_reply command went out: sync before the next */
	bool		 told_unsynced;	/* unsynced reported since the last ready/qga_sync */

	int64_t		 sync_id;	/* the N of the guest-sync-delimited awaited */
	char		 sync_idstr[24];	/* N in decimal */
	uint64_t	 seed;
	uint64_t	 sync_deadline;	/* SYNCING */
	size_t		 sync_bytes;	/* read while SYNCING, QGA_SYNC_BUDGET at most */
	uint64_t	 resync_at;	/* UNSYNCED */

	char		*in;		/* the line being read, QGA_MAX_MSG at most */
	size_t		 in_n, in_cap;
	bool		 delimited;	/* it follows a 0xFF: a sync reply */
	struct outbuf	 out;

	struct qga_cmd	 q[QGA_MAX_QUEUE];
	size_t		 q_n;

	uint64_t	 now;		/* ms, the last qga_tick or clock() */
	uint64_t	(*clock)(void);

	struct uconn	 uc;		/* socket side */
	uint64_t	 timer;		/* loop timer for next_deadline */
	uint64_t	 timer_at;

	struct reent	 re;		/* qga_free() from inside a callback */
};

static const struct uconn_cb qga_uconn_cb;

struct qga *
qga_new(const char *name, const struct qga_cb *cb, void *arg)
{
	struct qga *g = xcalloc(1, sizeof(*g));

	g->name = xstrdup(name);
	g->cb = cb;
	g->arg = arg;
	g->seed = (uint64_t)(uintptr_t)g ^ ((uint64_t)getpid() << 32);
	/* Room for a command of QGA_MAX_MSG with a sync before it. */
	outbuf_init(&g->out, 2 * QGA_MAX_MSG);
	uconn_init(&g->uc, "QGA", g->name, &g->out, &qga_uconn_cb, g);
	return g;
}

static void
cmd_free(struct qga_cmd *c)
{
	free(c->c_line);
	free(c->c_name);
}

static void
timer_stop(struct qga *g)
{
	if (g->timer)
		loop_cancel_timer(g->uc.uc_lp, g->timer);
	g->timer = g->timer_at = 0;
}

static void
destroy(void *arg)
{
	struct qga *g = arg;

	timer_stop(g);
	uconn_free(&g->uc);
	while (g->q_n)
		cmd_free(&g->q[--g->q_n]);
	outbuf_free(&g->out);
	free(g->in);
	free(g->name);
	free(g);
}

void
qga_free(struct qga *g)
{
	if (!g)
		return;
	if (reent_defer(&g->re)) {
		/* Freed from one of our callbacks: finish once it returns. */
		timer_stop(g);
		uconn_close(&g->uc);
		g->phase = QG_CLOSED;
		return;
	}
	destroy(g);
}

static uint64_t
now(struct qga *g)
{
	if (g->clock)
		g->now = g->clock();
	return g->now;
}

bool
qga_is_ready(const struct qga *g)
{
	return g->phase == QG_READY || (g->phase == QG_SYNCING && g->quiet);
}

size_t
qga_pending(const struct qga *g)
{
	return g->q_n;
}

const char *
qga_out(const struct qga *g, size_t *len)
{
	return outbuf_data(&g->out, len);
}

void
qga_set_clock(struct qga *g, uint64_t (*clock)(void))
{
	g->clock = clock;
}

/* ---- the command queue ---- */

/* Remove q[i]; the caller delivers it. */
static struct qga_cmd
take(struct qga *g, size_t i)
{
	struct qga_cmd c = g->q[i];

	memmove(g->q + i, g->q + i + 1, (g->q_n - i - 1) * sizeof(*g->q));
	g->q_n--;
	return c;
}

/* The one outcome of a command; none once g is being freed. */
static void
deliver(struct qga *g, struct qga_cmd *c, struct json_object *ret, const char *error)
{
	if (!reent_doomed(&g->re) && c->c_fn)
		c->c_fn(c->c_arg, ret, error);
	cmd_free(c);
}

static bool
in_flight(const struct qga *g)
{
	return g->q_n > 0 && g->q[0].c_sent;
}

static void
in_reset(struct qga *g)
{
	g->in_n = 0;
	g->delimited = false;
	if (g->in_cap > QGA_IN_KEEP) {
		free(g->in);
		g->in = NULL;
		g->in_cap = 0;
	}
}

/*
 * Send guest-sync-delimited with a fresh id. Unwritten output is dropped:
 * the 0xFF resets the agent's parser (qemu-ga.rst), so a command cut off
 * half-written is discarded by the agent too.
 */
static void
start_sync(struct qga *g)
{
	struct json_object *args = json_object_new_object(), *o;
	const char *s;
	int64_t id;

	/* Random-ish: a reply to an earlier sync (ours, a previous daemon's) never matches. */
	g->seed = (g->seed ^ now(g)) * 6364136223846793005ULL + 1442695040888963407ULL;
	id = (int64_t)(g->seed >> 33) + 1;
	g->sync_id = id == g->sync_id ? id + 1 : id;
	snprintf(g->sync_idstr, sizeof(g->sync_idstr), "%lld", (long long)g->sync_id);
	json_object_object_add(args, "id", json_object_new_int64(g->sync_id));
	o = qapi_command("guest-sync-delimited", args);
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	outbuf_free(&g->out);
	/* Fits: the queue was just emptied and the cap is far larger. */
	(void)outbuf_add(&g->out, "\xff", 1);
	(void)outbuf_add_line(&g->out, s, strlen(s));
	json_object_put(o);
	g->phase = QG_SYNCING;
	g->sync_deadline = now(g) + QGA_SYNC_TIMEOUT_MS;
	g->sync_bytes = 0;
	in_reset(g);
}

/* Write the next command if the agent is free. */
static void
pump(struct qga *g)
{
	struct qga_cmd *c;

	if (g->phase != QG_READY || g->q_n == 0 || in_flight(g))
		return;
	if (g->need_sync) {
		/* A no_reply command may still answer with an error: skip past it. */
		g->need_sync = false;
		g->quiet = true;
		start_sync(g);
		return;
	}
	c = &g->q[0];
	/* Cannot fail after a sync drained the queue; else it waits for its deadline. */
	if (outbuf_add_line(&g->out, c->c_line, c->c_len) < 0)
		return;
	c->c_sent = true;
	c->c_written_at = g->out.ob_sent + outbuf_len(&g->out);
}

/*
 * The agent is no longer in step: a command in flight gets "AgentUnsynced",
 * input is dropped until the next sync, QGA_RESYNC_MS from now.
 */
static void
lose_sync(struct qga *g, const char *why)
{
	struct qga_cmd c;
	char msg[400];
	bool had = in_flight(g);

	if (had)
		c = take(g, 0);
	g->phase = QG_UNSYNCED;
	g->quiet = g->need_sync = false;
	g->resync_at = now(g) + QGA_RESYNC_MS;
	in_reset(g);
	if (had) {
		snprintf(msg, sizeof(msg), "AgentUnsynced: %s", why);
		deliver(g, &c, NULL, msg);
	}
	/* Freed, or its callback called qga_sync: nothing to tell. */
	if (reent_doomed(&g->re) || g->phase != QG_UNSYNCED)
		return;
	if (g->told_unsynced) {
		log_vm(LOG_DEBUG, g->name, "guest agent still unsynced: %s", why);
		return;
	}
	g->told_unsynced = true;
	if (g->cb->unsynced)
		g->cb->unsynced(g->arg, why);
}

static void
sync_ok(struct qga *g)
{
	bool quiet = g->quiet;

	g->phase = QG_READY;
	g->quiet = false;
	if (!quiet) {
		log_vm(LOG_DEBUG, g->name, "guest agent synced");
		g->told_unsynced = false;
		if (g->cb->ready)
			g->cb->ready(g->arg);
		if (reent_doomed(&g->re))
			return;
	}
	pump(g);
}

/* A no_reply command all written: it is done. */
static void
check_written(struct qga *g)
{
	struct qga_cmd c;

	if (!in_flight(g) || !g->q[0].c_no_reply || g->out.ob_sent < g->q[0].c_written_at)
		return;
	c = take(g, 0);
	g->need_sync = true;
	deliver(g, &c, NULL, NULL);
	if (!reent_doomed(&g->re))
		pump(g);
}

/* ---- input ---- */

static void
on_sync_reply(struct qga *g, const char *s, size_t n)
{
	struct json_object *o, *v;
	char err[256];

	/* Without our N it cannot be ours: not worth a parse (a guest may flood these). */
	if (n == 0 || !memmem(s, n, g->sync_idstr, strlen(g->sync_idstr)))
		return;
	if (qapi_parse_line(s, n, "guest agent", &o, err, sizeof(err)) || !o)
		return;
	if (json_object_object_get_ex(o, "return", &v) && json_object_is_type(v, json_type_int) &&
	    json_object_get_int64(v) == g->sync_id) {
		json_object_put(o);
		sync_ok(g);
		return;
	}
	/*
	 * An answer to an earlier sync, or an agent too old for
	 * guest-sync-delimited: dropped without a word (a guest could send
	 * these as fast as we read).
	 */
	json_object_put(o);
}

static void
on_reply(struct qga *g, const char *s, size_t n)
{
	struct json_object *o, *ret = NULL, *error = NULL;
	struct qga_cmd c;
	char err[256];

	if (qapi_parse_line(s, n, "guest agent", &o, err, sizeof(err))) {
		lose_sync(g, err);
		return;
	}
	if (!o)
		return;
	if (!json_object_object_get_ex(o, "return", &ret) &&
	    !json_object_object_get_ex(o, "error", &error)) {
		/* qemu-ga sends nothing unasked: this is not the agent. */
		lose_sync(g, "guest agent message is neither return nor error");
	} else {
		c = take(g, 0);
		if (error)
			qapi_error_str(error, err, sizeof(err));
		deliver(g, &c, error ? NULL : ret, error ? err : NULL);
		if (!reent_doomed(&g->re))
			pump(g);
	}
	json_object_put(o);
}

/* A whole line; delimited: it followed a 0xFF. */
static void
on_line(struct qga *g, const char *s, size_t n, bool delimited)
{
	if (g->phase == QG_SYNCING && delimited)
		on_sync_reply(g, s, n);
	else if (g->phase == QG_READY && !delimited && in_flight(g))
		on_reply(g, s, n);
	/*
	 * else dropped unparsed: a stray sync reply, output of a command we
	 * gave up on, the late error of a no_reply command, or a guest's
	 * flood; with nothing in flight nothing waits for it, and what we
	 * parse is bounded by what we asked.
	 */
}

static bool
in_add(struct qga *g, const char *p, size_t n)
{
	if (n > QGA_MAX_MSG - g->in_n)
		return false;
	if (n == 0)
		return true;
	xgrow(&g->in, &g->in_cap, g->in_n + n, 1);
	memcpy(g->in + g->in_n, p, n);
	g->in_n += n;
	return true;
}

static void
feed_bytes(struct qga *g, const char *p, size_t n)
{
	const char *ff;
	size_t i;
	bool d;

	/*
	 * An agent answers a sync within what the socket held before it (a few
	 * hundred KiB of stale output at most): more is a flood, and waiting
	 * for the resync (not reading) costs less than reading it.
	 */
	if (g->phase == QG_SYNCING) {
		g->sync_bytes += n;
		if (g->sync_bytes > QGA_SYNC_BUDGET) {
			lose_sync(g, "the guest agent channel sends more than it is asked");
			return;
		}
	}
	while (n > 0 && !reent_doomed(&g->re) && g->phase != QG_CLOSED) {
		if (!g->delimited && g->phase != QG_READY) {
			/* Only a sync reply matters now: skip to its 0xFF. */
			g->in_n = 0;
			ff = memchr(p, 0xff, n);
			if (!ff)
				return;
			n -= (size_t)(ff - p) + 1;
			p = ff + 1;
			g->delimited = true;
			continue;
		}
		for (i = 0; i < n && p[i] != '\n' && (unsigned char)p[i] != 0xff; i++)
			;
		if (!in_add(g, p, i)) {
			if (g->phase == QG_READY)
				lose_sync(g, "guest agent message longer than 256 KiB");
			else
				in_reset(g);
			p += i, n -= i;
			continue;
		}
		if (i == n)
			return;
		if ((unsigned char)p[i] == 0xff) {
			/* A new delimited message: whatever came before it is void. */
			g->in_n = 0;
			g->delimited = true;
		} else {
			d = g->delimited;
			g->delimited = false;
			on_line(g, g->in, g->in_n, d);
			if (!reent_doomed(&g->re))
				g->in_n = 0;
		}
		p += i + 1, n -= i + 1;
	}
}

/* ---- deadlines ---- */

uint64_t
qga_next_deadline(const struct qga *g)
{
	uint64_t d = 0;
	size_t i;

	for (i = 0; i < g->q_n; i++)
		if (!d || g->q[i].c_deadline < d)
			d = g->q[i].c_deadline;
	if (g->phase == QG_SYNCING && (!d || g->sync_deadline < d))
		d = g->sync_deadline;
	if (g->phase == QG_UNSYNCED && (!d || g->resync_at < d))
		d = g->resync_at;
	return d;
}

static void
expire(struct qga *g)
{
	struct qga_cmd c;
	char why[200];
	size_t i;

	for (;;) {
		for (i = 0; i < g->q_n && g->q[i].c_deadline > g->now; i++)
			;
		if (i == g->q_n)
			break;
		c = take(g, i);
		if (c.c_sent) {
			/* It may still answer, out of step with the next command. */
			snprintf(why, sizeof(why), "no reply to %s within %u ms",
			    c.c_name, c.c_timeout_ms);
			lose_sync(g, why);
		}
		deliver(g, &c, NULL, "timeout");
		if (reent_doomed(&g->re))
			return;
	}
	if (g->phase == QG_SYNCING && g->now >= g->sync_deadline) {
		snprintf(why, sizeof(why), "no answer to guest-sync-delimited within %d ms",
		    QGA_SYNC_TIMEOUT_MS);
		lose_sync(g, why);
	} else if (g->phase == QG_UNSYNCED && g->now >= g->resync_at) {
		start_sync(g);
	}
}

/* ---- the entry points: each may call back, so each is bracketed ---- */

static void changed(struct qga *g);

int
qga_feed(struct qga *g, const char *buf, size_t n, char *err, size_t errlen)
{
	if (g->phase == QG_CLOSED)
		return 0;
	reent_enter(&g->re);
	feed_bytes(g, buf, n);
	if (reent_leave(&g->re, destroy, g))
		changed(g);
	return 0;
}

void
qga_tick(struct qga *g, uint64_t now_ms)
{
	g->now = now_ms;
	if (g->phase == QG_CLOSED)
		return;
	reent_enter(&g->re);
	expire(g);
	if (reent_leave(&g->re, destroy, g))
		changed(g);
}

void
qga_out_consume(struct qga *g, size_t n)
{
	outbuf_consume(&g->out, n);
	reent_enter(&g->re);
	check_written(g);
	if (reent_leave(&g->re, destroy, g))
		changed(g);
}

int
qga_send(struct qga *g, const char *cmd, struct json_object *args, unsigned timeout_ms,
    bool no_reply, qga_reply_fn fn, void *arg)
{
	struct json_object *o;
	const char *s;
	size_t len;

	if (!qga_is_ready(g)) {
		json_object_put(args);
		return -ENOTCONN;
	}
	if (g->q_n == QGA_MAX_QUEUE) {
		json_object_put(args);
		return -ENOBUFS;
	}
	o = qapi_command(cmd, args);
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	len = strlen(s);
	if (len > QGA_MAX_MSG) {
		json_object_put(o);
		return -EMSGSIZE;
	}
	g->q[g->q_n++] = (struct qga_cmd){
		.c_line = xstrndup(s, len), .c_len = len, .c_name = xstrdup(cmd),
		.c_deadline = now(g) + timeout_ms, .c_timeout_ms = timeout_ms,
		.c_no_reply = no_reply, .c_fn = fn, .c_arg = arg,
	};
	json_object_put(o);
	pump(g);
	changed(g);
	return 0;
}

void
qga_sync(struct qga *g)
{
	struct qga_cmd c;
	bool had = in_flight(g);

	if (g->phase == QG_CLOSED)
		return;
	if (had)
		c = take(g, 0);
	g->quiet = g->need_sync = false;
	g->told_unsynced = false;
	start_sync(g);
	reent_enter(&g->re);
	if (had)
		deliver(g, &c, NULL, "AgentUnsynced: resynchronising");
	if (reent_leave(&g->re, destroy, g))
		changed(g);
}

/* ---- socket side ---- */

static void
on_timer(struct loop *lp, void *arg)
{
	struct qga *g = arg;

	g->timer = g->timer_at = 0;
	qga_tick(g, now(g));
}

/* After every entry point: output to watch for, the next deadline on a loop timer. */
static void
changed(struct qga *g)
{
	uint64_t d, t;

	uconn_want_out(&g->uc);
	/*
	 * Waiting to resync, whatever comes is thrown away: leave it in the
	 * socket. A guest flooding the channel then blocks on its own port
	 * (QEMU throttles it) instead of costing the daemon a core.
	 */
	uconn_pause_in(&g->uc, g->phase == QG_UNSYNCED);
	if (!g->uc.uc_lp)
		return;		/* the core alone: the caller ticks */
	d = g->phase == QG_CLOSED ? 0 : qga_next_deadline(g);
	if (d == g->timer_at)
		return;
	timer_stop(g);
	if (!d)
		return;
	t = now(g);
	g->timer = loop_add_timer(g->uc.uc_lp, d > t ? d - t : 0, on_timer, g);
	g->timer_at = d;
}

static void
on_io(void *arg, const char *in, size_t n)
{
	struct qga *g = arg;

	reent_enter(&g->re);
	feed_bytes(g, in, n);
	if (!reent_doomed(&g->re))
		check_written(g);
	if (reent_leave(&g->re, destroy, g))
		changed(g);
}

static void
on_connected(void *arg)
{
	qga_sync(arg);
}

/* EOF, an I/O error, a refused or failed connect: every command learns it, then the owner. */
static void
on_failed(void *arg, const char *why)
{
	struct qga *g = arg;
	struct qga_cmd c;
	char msg[400];

	uconn_close(&g->uc);
	timer_stop(g);
	g->phase = QG_CLOSED;
	in_reset(g);
	outbuf_free(&g->out);
	snprintf(msg, sizeof(msg), "AgentClosed: %s", why);
	reent_enter(&g->re);
	while (g->q_n && !reent_doomed(&g->re)) {
		c = take(g, 0);
		deliver(g, &c, NULL, msg);
	}
	if (!reent_doomed(&g->re) && g->cb->closed)
		g->cb->closed(g->arg, why);
	reent_leave(&g->re, destroy, g);
}

static const struct uconn_cb qga_uconn_cb = { on_connected, on_io, on_failed };

int
qga_connect(struct qga *g, struct loop *lp, const char *path, pid_t peer,
    unsigned attempts, unsigned interval_ms)
{
	if (!g->clock)
		g->clock = now_ms;
	uconn_connect(&g->uc, lp, path, peer, attempts, interval_ms);
	return 0;
}
