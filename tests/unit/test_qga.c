/* Guest agent protocol core fed from byte buffers, on a fake clock: no socket, no QEMU. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "qemu/qga.h"
#include "qga_rec.h"
#include "tap.h"

static void
feedn(struct qga *g, const char *s, size_t n)
{
	char err[64];
	qga_feed(g, s, n, err, sizeof(err));
}

static void
feed(struct qga *g, const char *s)
{
	feedn(g, s, strlen(s));
}

/* Everything queued for the agent, marked written. */
static char *
take_out(struct qga *g)
{
	size_t n;
	const char *o = qga_out(g, &n);
	char *s = strndup(o, n);
	qga_out_consume(g, n);
	return s;
}

/* The id of the guest-sync-delimited in out (which must be exactly one), or -1. */
static int64_t
sync_id(const char *out)
{
	const char *p = "\xff{\"execute\":\"guest-sync-delimited\",\"arguments\":{\"id\":";
	char *end;
	int64_t id;

	if (strncmp(out, p, strlen(p)))
		return -1;
	id = strtoll(out + strlen(p), &end, 10);
	return strcmp(end, "}}\n") == 0 ? id : -1;
}

/* Feed the agent's answer to the sync in out: 0xFF {"return": id}. */
static void
answer_sync(struct qga *g, int64_t id)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "\xff{\"return\": %" PRId64 "}\n", id);
	feed(g, buf);
}

static struct qga *
ready_qga(struct rec *r, uint64_t t)
{
	struct qga *g = qga_new("t", &cb, r);
	char *out;

	qga_tick(g, t);
	qga_sync(g);
	out = take_out(g);
	answer_sync(g, sync_id(out));
	free(out);
	return g;
}

/* A fresh recorder and a synced client with a guest-ping in flight. */
static struct qga *
pinging(struct rec *r, uint64_t t)
{
	struct qga *g;

	memset(r, 0, sizeof(*r));
	g = ready_qga(r, t);
	qga_send(g, "guest-ping", NULL, 1000, false, r_reply, r);
	free(take_out(g));
	return g;
}

int
main(void)
{
	struct rec r = { 0 };
	struct qga *g = qga_new("t", &cb, &r);
	char *out, buf[256];
	int64_t id, id2;
	uint64_t t = 1000000;
	int ret;

	/* ---- sync: garbage before the 0xFF, a stale id, then ours ---- */
	qga_tick(g, t);
	OK(!qga_is_ready(g), "not ready before a sync");
	OK(qga_send(g, "guest-ping", NULL, 1000, false, r_reply, &r) == -ENOTCONN,
	    "send before ready refused (-ENOTCONN)");
	OK(qga_next_deadline(g) == 0, "nothing due before the first sync");
	qga_sync(g);
	out = take_out(g);
	id = sync_id(out);
	OK(id > 0, "sync is 0xFF then guest-sync-delimited with an id: id %" PRId64, id);
	free(out);
	OK(qga_next_deadline(g) == t + QGA_SYNC_TIMEOUT_MS, "sync deadline %d ms on",
	    QGA_SYNC_TIMEOUT_MS);
	snprintf(buf, sizeof(buf), "{\"return\": %" PRId64 "}\n", id);
	feed(g, "garbage \x01\x02 {\"ret");
	feed(g, "urn\": {}}\n");
	feed(g, buf);
	OK(!qga_is_ready(g) && r.ready == 0, "the right id without a 0xFF before it is not a sync");
	snprintf(buf, sizeof(buf), "junk\xff{\"return\": %" PRId64 "}\n", id + 1);
	feed(g, buf);
	OK(!qga_is_ready(g) && r.ready == 0, "0xFF and a stale id ignored");
	/* Ours, split across reads, 0xFF in the first. */
	snprintf(buf, sizeof(buf), "{\"error\": {\"class\": \"x\"}}\n\xff{\"retu");
	feed(g, buf);
	snprintf(buf, sizeof(buf), "rn\": %" PRId64 "}\n", id);
	feed(g, buf);
	OK(qga_is_ready(g) && r.ready == 1, "0xFF then our id: ready, once");
	OK(qga_next_deadline(g) == 0, "nothing due when synced and idle");

	/* ---- commands: one in flight, replies in order ---- */
	OK(qga_send(g, "guest-ping", NULL, 1000, false, r_reply, &r) == 0, "guest-ping queued");
	OK(qga_send(g, "guest-exec-status", json_tokener_parse("{\"pid\":7}"), 1000, false,
	    r_reply, &r) == 0, "command with arguments queued");
	OK(qga_pending(g) == 2, "two pending");
	out = take_out(g);
	OK_STREQ(out, "{\"execute\":\"guest-ping\"}\n", "only the first is written (no ids in QGA)");
	free(out);
	feed(g, "{\"return\": {}}\n");
	OK(r.replies == 1 && strcmp(r.last_reply, "{}") == 0 && !r.last_error[0],
	    "reply goes to the command in flight");
	out = take_out(g);
	OK_STREQ(out, "{\"execute\":\"guest-exec-status\",\"arguments\":{\"pid\":7}}\n",
	    "the second is written once the first was answered");
	free(out);
	feed(g, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Invalid parameter 'pid'\"}}\r\n");
	OK(r.replies == 2 && strcmp(r.last_error, "GenericError: Invalid parameter 'pid'") == 0,
	    "error reply as 'Class: desc': %s", r.last_error);
	OK(qga_is_ready(g) && qga_pending(g) == 0, "still ready, nothing pending");
	feed(g, "{\"return\": 5}\nnot json\n{\"neither\": 1}\n");
	OK(r.replies == 2 && qga_is_ready(g), "with nothing in flight, any line is dropped");
	feed(g, "\r\n  \n");
	OK(qga_is_ready(g), "blank lines ignored");

	/* A stray sync reply (0xFF) while a command waits is not its answer. */
	qga_send(g, "guest-get-time", NULL, 1000, false, r_reply, &r);
	free(take_out(g));
	answer_sync(g, id);
	OK(r.replies == 2 && qga_pending(g) == 1, "0xFF-delimited reply is not a command's answer");
	feed(g, "{\"return\": 1700000000000000000}\n");
	OK(r.replies == 3 && strcmp(r.last_reply, "1700000000000000000") == 0,
	    "the next plain reply is");

	/* ---- timeout -> unsynced -> resync -> ready ---- */
	OK(qga_send(g, "guest-ping", NULL, 1000, false, r_reply, &r) == 0, "ping with 1000 ms");
	free(take_out(g));
	OK(qga_next_deadline(g) == t + 1000, "its deadline is the next thing due");
	qga_tick(g, t + 999);
	OK(r.replies == 3 && qga_is_ready(g), "nothing at 999 ms");
	qga_tick(g, t + 1000);
	OK(r.replies == 4 && strcmp(r.last_error, "timeout") == 0, "at 1000 ms: (NULL, \"timeout\")");
	OK(!qga_is_ready(g) && r.unsynced == 1, "and unsynced: %s", r.why);
	OK(strstr(r.why, "guest-ping") != NULL, "why names the command");
	OK(qga_send(g, "guest-ping", NULL, 1000, false, r_reply, &r) == -ENOTCONN,
	    "send while unsynced refused");
	feed(g, "{\"return\": {}}\n");
	OK(r.replies == 4, "the late reply is dropped");
	out = take_out(g);
	OK_STREQ(out, "", "no resync before QGA_RESYNC_MS");
	free(out);
	OK(qga_next_deadline(g) == t + 1000 + QGA_RESYNC_MS, "resync due %d ms later", QGA_RESYNC_MS);
	qga_tick(g, t + 1000 + QGA_RESYNC_MS);
	out = take_out(g);
	id2 = sync_id(out);
	OK(id2 > 0 && id2 != id, "resync with a fresh id (%" PRId64 ")", id2);
	free(out);
	answer_sync(g, id);
	OK(!qga_is_ready(g), "the old id does not sync");
	answer_sync(g, id2);
	OK(qga_is_ready(g) && r.ready == 2, "ready again");
	t += 1000 + QGA_RESYNC_MS;

	/* ---- malformed input while ready: the command fails, resync ---- */
	qga_send(g, "guest-ping", NULL, 1000, false, r_reply, &r);
	free(take_out(g));
	feed(g, "{\"return\": {} trailing\n");
	OK(!qga_is_ready(g) && r.unsynced == 2, "malformed line unsyncs: %s", r.why);
	OK(r.replies == 5 && strncmp(r.last_error, "AgentUnsynced: ", 15) == 0,
	    "the command in flight learns it: %s", r.last_error);
	qga_tick(g, t + QGA_RESYNC_MS);
	out = take_out(g);
	answer_sync(g, sync_id(out));
	free(out);
	OK(qga_is_ready(g), "resynced");
	qga_send(g, "guest-ping", NULL, 1000, false, r_reply, &r);
	free(take_out(g));
	feed(g, "{\"QMP\": {}}\n");
	OK(!qga_is_ready(g) && r.unsynced == 3, "a message that is no reply unsyncs: %s", r.why);
	qga_free(g);

	/* ---- an agent that never answers: reported once, resynced forever ---- */
	memset(&r, 0, sizeof(r));
	g = qga_new("t", &cb, &r);
	qga_tick(g, t);
	qga_sync(g);
	free(take_out(g));
	qga_tick(g, t + QGA_SYNC_TIMEOUT_MS - 1);
	OK(r.unsynced == 0, "no verdict before %d ms", QGA_SYNC_TIMEOUT_MS);
	qga_tick(g, t + QGA_SYNC_TIMEOUT_MS);
	OK(r.unsynced == 1 && strstr(r.why, "guest-sync-delimited"), "sync timeout: %s", r.why);
	{
		int syncs = 0, i;
		uint64_t now = t + QGA_SYNC_TIMEOUT_MS;

		for (i = 0; i < 200; i++) {
			now += 500;
			qga_tick(g, now);
			out = take_out(g);
			syncs += sync_id(out) > 0;
			free(out);
		}
		OK(syncs == 100000 / (QGA_SYNC_TIMEOUT_MS + QGA_RESYNC_MS) + 0 ||
		    syncs == 100000 / (QGA_SYNC_TIMEOUT_MS + QGA_RESYNC_MS) + 1,
		    "100 s unanswered: a sync every %d ms (%d)", QGA_SYNC_TIMEOUT_MS + QGA_RESYNC_MS,
		    syncs);
		OK(r.unsynced == 1, "unsynced told once, not at every failed resync");
		/* Writes never pile up: each sync replaces what was not written. */
		/* Last sync at 99 s, failed at 100.5 s: the next at 103.5 s. */
		qga_tick(g, now += 2000);
		qga_tick(g, now += QGA_SYNC_TIMEOUT_MS);
		qga_tick(g, now += QGA_RESYNC_MS);
		out = take_out(g);
		OK(sync_id(out) > 0, "unwritten output is one sync, not a pile");
		answer_sync(g, sync_id(out));
		free(out);
		OK(qga_is_ready(g) && r.ready == 1, "the agent appears: ready");
	}

	/* ---- over-long line: resync, bounded, no crash ---- */
	{
		size_t chunk = 65536, sent;
		char *big = malloc(chunk);

		memset(big, 'a', chunk);
		big[0] = '{';
		qga_send(g, "guest-network-get-interfaces", NULL, 5000, false, r_reply, &r);
		free(take_out(g));
		for (sent = 0; sent <= QGA_MAX_MSG; sent += chunk)
			feedn(g, big, chunk);
		OK(!qga_is_ready(g) && r.unsynced == 2, "a line over QGA_MAX_MSG unsyncs: %s", r.why);
		OK(strncmp(r.last_error, "AgentUnsynced: ", 15) == 0, "its command fails: %s",
		    r.last_error);
		for (sent = 0; sent < 64 * (size_t)QGA_MAX_MSG; sent += chunk)
			feedn(g, big, chunk);
		feed(g, "\n{\"return\": {}}\n");
		OK(!qga_is_ready(g), "16 MiB more without 0xFF: dropped, still unsynced");
		free(big);
		qga_tick(g, t + 10000000);
		out = take_out(g);
		answer_sync(g, sync_id(out));
		free(out);
		OK(qga_is_ready(g), "resync after the flood works");
	}
	qga_free(g);

	/* ---- no_reply: guest-shutdown ---- */
	memset(&r, 0, sizeof(r));
	g = ready_qga(&r, t);
	OK(qga_send(g, "guest-shutdown", json_tokener_parse("{\"mode\":\"powerdown\"}"), 1000,
	    true, r_reply, &r) == 0, "guest-shutdown queued with no_reply");
	OK(r.replies == 0, "no outcome before it is written");
	out = take_out(g);
	OK_STREQ(out, "{\"execute\":\"guest-shutdown\",\"arguments\":{\"mode\":\"powerdown\"}}\n",
	    "written");
	free(out);
	OK(r.replies == 1 && r.last_null, "once written: (NULL, NULL)");
	OK(qga_is_ready(g) && qga_pending(g) == 0, "still ready, nothing pending");
	qga_tick(g, t + 5000);
	OK(r.unsynced == 0 && qga_is_ready(g), "no reply expected: no timeout");
	/* The guest did not go away: its late error must not answer the next command. */
	OK(qga_send(g, "guest-ping", NULL, 1000, false, r_reply, &r) == 0, "next command queued");
	out = take_out(g);
	id = sync_id(out);
	OK(id > 0, "a quiet resync goes before it");
	free(out);
	OK(qga_is_ready(g), "ready throughout the quiet resync");
	feed(g, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"shutdown failed\"}}\n");
	OK(r.replies == 1, "the late guest-shutdown error answers nobody");
	answer_sync(g, id);
	OK(r.ready == 1, "a quiet resync does not call ready again");
	out = take_out(g);
	OK_STREQ(out, "{\"execute\":\"guest-ping\"}\n", "then the command");
	free(out);
	feed(g, "{\"return\": {}}\n");
	OK(r.replies == 2 && strcmp(r.last_reply, "{}") == 0, "and its own reply");
	/* A no_reply command the agent never reads times out. */
	qga_send(g, "guest-shutdown", NULL, 1000, true, r_reply, &r);
	qga_tick(g, t + 6000);
	OK(r.replies == 3 && strcmp(r.last_error, "timeout") == 0 && !qga_is_ready(g),
	    "unwritten guest-shutdown: timeout, unsynced");
	qga_free(g);

	/* ---- queue bounds ---- */
	g = ready_qga(&r, t);
	{
		int i, e = 0;
		for (i = 0; i < 100 && e == 0; i++)
			e = qga_send(g, "guest-ping", NULL, 1000, false, NULL, NULL);
		OK(e == -ENOBUFS && i == QGA_MAX_QUEUE + 1, "-ENOBUFS after %d queued", i - 1);
	}
	qga_free(g);
	g = ready_qga(&r, t);
	{
		char *s = malloc(QGA_MAX_MSG + 16);
		memset(s, 'x', QGA_MAX_MSG + 15);
		s[QGA_MAX_MSG + 15] = 0;
		ret = qga_send(g, "guest-file-write", json_object_new_string(s), 1000, false,
		    NULL, NULL);
		OK(ret == -EMSGSIZE, "a command over QGA_MAX_MSG: -EMSGSIZE");
		free(s);
	}
	/* Queued commands wait through a resync; their deadline runs on. */
	memset(&r, 0, sizeof(r));
	qga_send(g, "guest-ping", NULL, 1000, false, r_reply, &r);
	qga_send(g, "guest-info", NULL, 9000, false, r_reply, &r);
	free(take_out(g));
	qga_sync(g);
	OK(r.replies == 1 && strcmp(r.last_error, "AgentUnsynced: resynchronising") == 0,
	    "qga_sync fails the command in flight");
	OK(!qga_is_ready(g) && qga_pending(g) == 1, "the queued one waits");
	out = take_out(g);
	answer_sync(g, sync_id(out));
	free(out);
	OK(r.ready == 1, "qga_sync ends in ready again");
	out = take_out(g);
	OK_STREQ(out, "{\"execute\":\"guest-info\"}\n", "then the queued command goes out");
	free(out);
	qga_free(g);

	/* ---- freeing inside callbacks ---- */
	memset(&r, 0, sizeof(r));
	g = qga_new("t", &cb, &r);
	qga_sync(g);
	out = take_out(g);
	r.free_in_ready = g;
	snprintf(buf, sizeof(buf), "\xff{\"return\": %" PRId64 "}\n{\"return\": {}}\n\xff", sync_id(out));
	free(out);
	feed(g, buf);
	OK(r.ready == 1, "freed in ready with more input behind: no crash");

	memset(&r, 0, sizeof(r));
	g = ready_qga(&r, t);
	qga_send(g, "guest-ping", NULL, 1000, false, r_reply, &r);
	qga_send(g, "guest-ping", NULL, 1000, false, r_reply, &r);
	free(take_out(g));
	r.free_in_reply = g;
	feed(g, "{\"return\": {}}\n{\"return\": {}}\n");
	OK(r.replies == 1, "freed in a reply: the queued command's fn is not called");

	memset(&r, 0, sizeof(r));
	g = ready_qga(&r, t);
	qga_send(g, "guest-ping", NULL, 1000, false, r_reply, &r);
	qga_send(g, "guest-ping", NULL, 500, false, r_reply, &r);
	r.free_in_unsynced = g;
	qga_tick(g, t + 500);
	OK(r.replies == 1 && strcmp(r.last_error, "timeout") == 0 && r.unsynced == 0,
	    "a queued command's timeout does not unsync");
	qga_tick(g, t + 1000);
	OK(r.unsynced == 1 && r.replies == 1, "freed in unsynced at the in-flight timeout: "
	    "no crash, its outcome dropped");

	memset(&r, 0, sizeof(r));
	g = ready_qga(&r, t);
	qga_send(g, "guest-shutdown", NULL, 1000, true, r_reply, &r);
	r.free_in_reply = g;
	free(take_out(g));
	OK(r.replies == 1 && r.last_null, "freed in a no_reply outcome: no crash");

	/* A reply callback may send the next command. */
	g = pinging(&r, t);
	r.send_in_reply = g;
	feed(g, "{\"return\": {}}\n{\"return\": {\"id\": \"debian\"}}\n");
	OK(r.replies == 2 && strcmp(r.last_reply, "{\"id\":\"debian\"}") == 0,
	    "a command sent from a reply gets the next reply");
	qga_free(g);

	/* A reply callback that resyncs at once: no unsynced after it. */
	g = pinging(&r, t);
	r.sync_in_reply = g;
	feed(g, "not json\n");
	OK(r.replies == 1 && strncmp(r.last_error, "AgentUnsynced: ", 15) == 0 && r.unsynced == 0,
	    "qga_sync from the failed command's callback: no unsynced told after it");
	out = take_out(g);
	OK(sync_id(out) > 0, "and its sync goes out");
	answer_sync(g, sync_id(out));
	free(out);
	OK(qga_is_ready(g) && r.ready == 2, "ready");
	qga_free(g);

	/* ---- random input (fixed seed): never a crash, bounded (run under ASan) ---- */
	{
		static const char alpha[] = "{}[]\":,\n\r 0123456789.eE+-truefalsnreturnerror\\u\xff";
		int rounds, sent = 0;

		srand(4242);
		memset(&r, 0, sizeof(r));
		for (rounds = 0; rounds < 2000; rounds++) {
			char in[256];
			size_t n = (size_t)(rand() % (int)sizeof(in)), i;
			struct qga *f = rounds % 2 ? ready_qga(&r, t) : qga_new("t", &cb, &r);

			if (rounds % 4 == 1)
				sent += qga_send(f, "guest-ping", NULL, 100, rounds % 8 == 1,
				    r_reply, &r) == 0;
			for (i = 0; i < n; i++)
				in[i] = rand() % 4 ? alpha[rand() % (int)(sizeof(alpha) - 1)] :
				    (char)(rand() & 0xff);
			feedn(f, in, n);
			qga_tick(f, t + (uint64_t)(rand() % 10000));
			free(take_out(f));
			qga_free(f);
		}
		OK(sent == 500 && r.replies <= sent, "2000 random inputs fed, ticked and freed: "
		    "%d outcomes for %d commands, none twice", r.replies, sent);
	}
	return TAP_DONE();
}
