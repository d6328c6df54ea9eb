/* QMP protocol core fed from byte buffers: no socket, no QEMU. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "qemu/qmp.h"
#include "tap.h"

struct rec {
	int	 ready;
	int	 events;
	char	 last_event[64];
	char	 last_data[256];
	int	 replies;
	char	 last_reply[256];
	char	 last_error[256];
	int	 closed;
	struct qmp *free_on_event;
};

static void
r_ready(void *arg)
{
	((struct rec *)arg)->ready++;
}

static void
r_event(void *arg, const char *name, struct json_object *data)
{
	struct rec *r = arg;

	r->events++;
	snprintf(r->last_event, sizeof(r->last_event), "%s", name);
	snprintf(r->last_data, sizeof(r->last_data), "%s",
	    data ? json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN) : "");
	if (r->free_on_event) {
		qmp_free(r->free_on_event);
		r->free_on_event = NULL;
	}
}

static void
r_closed(void *arg, const char *why)
{
	((struct rec *)arg)->closed++;
}

static void
r_reply(void *arg, struct json_object *ret, const char *error)
{
	struct rec *r = arg;

	r->replies++;
	snprintf(r->last_reply, sizeof(r->last_reply), "%s",
	    ret ? json_object_to_json_string_ext(ret, JSON_C_TO_STRING_PLAIN) : "");
	snprintf(r->last_error, sizeof(r->last_error), "%s", error ? error : "");
}

static const struct qmp_cb cb = { r_ready, r_event, r_closed };

static const char greeting[] =
    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, "
    "\"package\": \"Debian 1:7.2+dfsg-7\"}, \"capabilities\": [\"oob\"]}}\r\n";

static int
feed(struct qmp *q, const char *s)
{
	char err[256];
	return qmp_feed(q, s, strlen(s), err, sizeof(err));
}

static char *
take_out(struct qmp *q)
{
	size_t n;
	const char *o = qmp_out(q, &n);
	char *s = strndup(o ? o : "", n);
	qmp_out_consume(q, n);
	return s;
}

static struct qmp *
ready_qmp(struct rec *r)
{
	struct qmp *q = qmp_new("t", &cb, r);
	feed(q, greeting);
	free(take_out(q));
	feed(q, "{\"return\": {}, \"id\": 1}\r\n");
	return q;
}

int
main(void)
{
	struct rec r = { 0 };
	struct qmp *q = qmp_new("t", &cb, &r);
	char *out, err[256], *big;
	int ret;

	OK(!qmp_is_ready(q), "not ready before the greeting");
	OK(qmp_send(q, "quit", NULL, NULL, NULL) == -ENOTCONN, "send before ready refused");
	/* The greeting split across reads, at an awkward place. */
	OK(feed(q, "{\"QMP\": {\"vers") == 0, "partial greeting accepted");
	out = take_out(q);
	OK_STREQ(out, "", "nothing sent on a partial message");
	free(out);
	OK(feed(q, greeting + 14) == 0, "rest of greeting accepted");
	out = take_out(q);
	OK_STREQ(out, "{\"execute\":\"qmp_capabilities\",\"id\":1}\n", "qmp_capabilities sent with id");
	free(out);
	OK(!qmp_is_ready(q) && r.ready == 0, "not ready until capabilities answered");
	OK(feed(q, "{\"return\": {}, \"id\": 1}\r\n") == 0, "capabilities reply accepted");
	OK(qmp_is_ready(q) && r.ready == 1, "ready after capabilities");

	OK(qmp_send(q, "system_powerdown", NULL, r_reply, &r) == 0, "command queued");
	OK(qmp_send(q, "human-monitor-command",
	    json_tokener_parse("{\"command-line\":\"sendkey ctrl-alt-delete\"}"),
	    r_reply, &r) == 0, "command with arguments queued");
	out = take_out(q);
	OK_STREQ(out, "{\"execute\":\"system_powerdown\",\"id\":2}\n"
	    "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":"
	    "\"sendkey ctrl-alt-delete\"},\"id\":3}\n", "commands serialised with ids");
	free(out);
	OK(qmp_pending(q) == 2, "two replies pending");
	/* Replies may come in any order; an event in between. */
	OK(feed(q, "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"POWERDOWN\"}\r\n"
	    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"no such key\"}, \"id\": 3}\r\n") == 0,
	    "event and error reply accepted");
	OK(r.events == 1 && strcmp(r.last_event, "POWERDOWN") == 0, "POWERDOWN dispatched");
	OK_STREQ(r.last_error, "GenericError: no such key", "error reply carries class and desc");
	OK(feed(q, "{\"return\": {}, \"id\": 2}\r\n") == 0, "second reply accepted");
	OK(r.replies == 2 && r.last_error[0] == 0 && strcmp(r.last_reply, "{}") == 0,
	    "return value passed to callback");
	OK(qmp_pending(q) == 0, "nothing pending");
	OK(feed(q, "{\"return\": {}, \"id\": 99}\r\n") == 0, "reply to unknown id ignored");
	OK(feed(q, "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"SHUTDOWN\", "
	    "\"data\": {\"guest\": true, \"reason\": \"guest-shutdown\"}}\r\n") == 0, "SHUTDOWN event");
	OK_STREQ(r.last_data, "{\"guest\":true,\"reason\":\"guest-shutdown\"}", "event data passed");
	OK(feed(q, "\r\n\n") == 0, "blank lines ignored");
	ret = qmp_feed(q, "{\"event\": 5}\n", 13, err, sizeof(err));
	OK(ret == -EPROTO, "non-string event name is a protocol error");
	qmp_free(q);

	memset(&r, 0, sizeof(r));
	q = qmp_new("t", &cb, &r);
	OK(feed(q, "{\"return\": {}}\n") == -EPROTO, "reply before greeting is a protocol error");
	qmp_free(q);

	q = ready_qmp(&r);
	OK(feed(q, "{\"event\": \"STOP\"} trailing\n") == -EPROTO, "trailing garbage rejected");
	qmp_free(q);
	q = ready_qmp(&r);
	OK(feed(q, "{\"event\": \"ST\n") == -EPROTO, "truncated JSON rejected");
	qmp_free(q);
	q = ready_qmp(&r);
	OK(feed(q, "[1,2]\n") == -EPROTO, "non-object rejected");
	qmp_free(q);
	q = ready_qmp(&r);
	OK(feed(q, "{\"foo\": 1}\n") == -EPROTO, "unknown message kind rejected");
	qmp_free(q);
	q = ready_qmp(&r);
	OK(feed(q, greeting) == -EPROTO, "second greeting rejected");
	qmp_free(q);

	/* An endless line is cut off at the bound instead of growing forever. */
	q = ready_qmp(&r);
	big = malloc(QMP_MAX_MSG / 2);
	memset(big, ' ', QMP_MAX_MSG / 2);
	OK(qmp_feed(q, big, QMP_MAX_MSG / 2, err, sizeof(err)) == 0, "half a bound of input buffered");
	OK(qmp_feed(q, big, QMP_MAX_MSG / 2, err, sizeof(err)) == 0, "a full bound buffered");
	OK(qmp_feed(q, "x", 1, err, sizeof(err)) == -EPROTO && strstr(err, "longer than"),
	    "over-long message rejected: %s", err);
	free(big);
	qmp_free(q);

	/* The output bound: a QEMU that never reads. */
	q = ready_qmp(&r);
	{
		int i, e = 0;
		for (i = 0; i < 100000 && e == 0; i++)
			e = qmp_send(q, "query-status", NULL, NULL, NULL);
		OK(e == -ENOBUFS, "output bound reached after %d commands", i);
	}
	qmp_free(q);

	/* Random input (fixed seed): only 0 or -EPROTO, never a crash (run under ASan). */
	{
		static const char alpha[] = "{}[]\":,\n\r 0123456789.eE+-truefalsnQMPeventreturniderror\\u";
		int bad = 0, rounds;
		srand(4242);
		for (rounds = 0; rounds < 2000; rounds++) {
			char buf[256];
			size_t n = (size_t)(rand() % (int)sizeof(buf)), i;
			struct qmp *f = rounds % 2 ? ready_qmp(&r) : qmp_new("t", &cb, &r);
			for (i = 0; i < n; i++)
				buf[i] = rand() % 4 ? alpha[rand() % (int)(sizeof(alpha) - 1)] :
				    (char)(rand() & 0xff);
			ret = qmp_feed(f, buf, n, err, sizeof(err));
			if (ret != 0 && ret != -EPROTO)
				bad++;
			qmp_free(f);
		}
		OK(bad == 0, "2000 random inputs: 0 or -EPROTO only");
	}

	/* Freeing from inside an event callback is safe. */
	memset(&r, 0, sizeof(r));
	q = ready_qmp(&r);
	r.free_on_event = q;
	OK(feed(q, "{\"event\": \"STOP\"}\n{\"event\": \"RESUME\"}\n") == 0,
	    "free during dispatch stops parsing");
	OK(r.events == 1, "no event after free");
	return TAP_DONE();
}
