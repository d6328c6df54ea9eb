/* QMP client: line-framed JSON over a unix socket, json-c for parsing. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/outbuf.h"
#include "lib/reent.h"
#include "lib/uconn.h"
#include "lib/util.h"
#include "qemu/qapi_wire.h"
#include "qemu/qmp.h"

enum qmp_phase { QP_GREETING, QP_CAPS, QP_READY, QP_CLOSED };

struct qmp_pending {
	uint64_t	 id;
	qmp_reply_fn	 fn;
	void		*arg;
};

struct qmp {
	char		*name;		/* for log messages: the VM */
	const struct qmp_cb *cb;
	void		*arg;
	enum qmp_phase	 phase;

	char		*in;		/* unparsed input */
	size_t		 in_n, in_cap;
	struct outbuf	 out;		/* unsent output, QMP_MAX_MSG at most */

	struct qmp_pending *pend;
	size_t		 pend_n, pend_cap;
	uint64_t	 next_id;

	struct uconn	 uc;		/* socket side */

	struct reent	 re;		/* qmp_free() from inside a callback */
};

static const struct uconn_cb qmp_uconn_cb;

struct qmp *
qmp_new(const char *name, const struct qmp_cb *cb, void *arg)
{
	struct qmp *q = xcalloc(1, sizeof(*q));

	q->name = xstrdup(name);
	q->cb = cb;
	q->arg = arg;
	q->next_id = 1;
	outbuf_init(&q->out, QMP_MAX_MSG);
	uconn_init(&q->uc, "QMP", q->name, &q->out, &qmp_uconn_cb, q);
	return q;
}

static void
destroy(void *arg)
{
	struct qmp *q = arg;

	uconn_free(&q->uc);
	free(q->name);
	free(q->in);
	outbuf_free(&q->out);
	free(q->pend);
	free(q);
}

void
qmp_free(struct qmp *q)
{
	if (!q)
		return;
	if (reent_defer(&q->re)) {
		/* Freed from one of our callbacks: finish once it returns. */
		uconn_close(&q->uc);
		q->phase = QP_CLOSED;
		return;
	}
	destroy(q);
}

bool
qmp_is_ready(const struct qmp *q)
{
	return q->phase == QP_READY;
}

size_t
qmp_pending(const struct qmp *q)
{
	return q->pend_n;
}

const char *
qmp_out(const struct qmp *q, size_t *len)
{
	return outbuf_data(&q->out, len);
}

void
qmp_out_consume(struct qmp *q, size_t n)
{
	outbuf_consume(&q->out, n);
}

static int
queue(struct qmp *q, const char *cmd, struct json_object *args,
    qmp_reply_fn fn, void *arg)
{
	struct json_object *o = qapi_command(cmd, args);
	const char *s;
	size_t len;
	int ret = 0;

	json_object_object_add(o, "id", json_object_new_int64((int64_t)q->next_id));
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	len = strlen(s);
	if (outbuf_add_line(&q->out, s, len) < 0) {
		ret = -ENOBUFS;
		goto out;
	}
	xgrow(&q->pend, &q->pend_cap, q->pend_n + 1, sizeof(*q->pend));
	q->pend[q->pend_n++] = (struct qmp_pending){ q->next_id++, fn, arg };
	uconn_want_out(&q->uc);
out:
	json_object_put(o);
	return ret;
}

int
qmp_send_fd(struct qmp *q, const char *cmd, struct json_object *args, int fd,
    qmp_reply_fn fn, void *arg)
{
	struct json_object *o;
	const char *s;
	char *line;
	size_t len;
	ssize_t n;
	int ret = 0;

	if (q->phase != QP_READY) {
		json_object_put(args);
		return -ENOTCONN;
	}
	o = qapi_command(cmd, args);
	json_object_object_add(o, "id", json_object_new_int64((int64_t)q->next_id));
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	line = xasprintf("%s\n", s);
	len = strlen(line);
	n = uconn_send_fd(&q->uc, line, len, fd);
	if (n < 0) {
		ret = (int)n;
	} else {
		/* The fd went with the first bytes; the rest is plain output. */
		if ((size_t)n < len && outbuf_add(&q->out, line + n, len - (size_t)n) < 0)
			ret = -ENOBUFS;	/* cannot happen: the queue was empty */
		xgrow(&q->pend, &q->pend_cap, q->pend_n + 1, sizeof(*q->pend));
		q->pend[q->pend_n++] = (struct qmp_pending){ q->next_id++, fn, arg };
		uconn_want_out(&q->uc);
	}
	free(line);
	json_object_put(o);
	return ret;
}

int
qmp_send(struct qmp *q, const char *cmd, struct json_object *args,
    qmp_reply_fn fn, void *arg)
{
	if (q->phase != QP_READY) {
		json_object_put(args);
		return -ENOTCONN;
	}
	return queue(q, cmd, args, fn, arg);
}

static void
caps_reply(void *arg, struct json_object *ret, const char *error)
{
	struct qmp *q = arg;

	if (error) {
		log_vm(LOG_WARNING, q->name, "qmp_capabilities refused: %s", error);
		return;
	}
	q->phase = QP_READY;
	if (q->cb->ready)
		q->cb->ready(q->arg);
}

static int
on_reply(struct qmp *q, struct json_object *msg, struct json_object *ret,
    struct json_object *error)
{
	struct json_object *jid;
	struct qmp_pending p;
	char ebuf[512];
	uint64_t id;
	size_t i;

	if (!json_object_object_get_ex(msg, "id", &jid) ||
	    !json_object_is_type(jid, json_type_int)) {
		/* QEMU answers input it could not parse without an id. */
		log_vm(LOG_WARNING, q->name, "QMP reply without id: %s",
		    json_object_to_json_string(msg));
		return 0;
	}
	id = (uint64_t)json_object_get_int64(jid);
	for (i = 0; i < q->pend_n; i++)
		if (q->pend[i].id == id)
			break;
	if (i == q->pend_n) {
		log_vm(LOG_DEBUG, q->name, "QMP reply to unknown id %llu",
		    (unsigned long long)id);
		return 0;
	}
	p = q->pend[i];
	memmove(q->pend + i, q->pend + i + 1, (q->pend_n - i - 1) * sizeof(*q->pend));
	q->pend_n--;
	if (!p.fn)
		return 0;
	if (error) {
		qapi_error_str(error, ebuf, sizeof(ebuf));
		p.fn(p.arg, NULL, ebuf);
	} else {
		p.fn(p.arg, ret, NULL);
	}
	return 0;
}

/* One complete message. Returns 0 or -EPROTO. */
static int
on_message(struct qmp *q, struct json_object *msg, char *err, size_t errlen)
{
	struct json_object *v, *ret = NULL, *error = NULL, *data;

	if (json_object_object_get_ex(msg, "QMP", &v)) {
		if (q->phase != QP_GREETING) {
			snprintf(err, errlen, "unexpected second QMP greeting");
			return -EPROTO;
		}
		q->phase = QP_CAPS;
		return queue(q, "qmp_capabilities", NULL, caps_reply, q) ? -EPROTO : 0;
	}
	if (q->phase == QP_GREETING) {
		snprintf(err, errlen, "no QMP greeting");
		return -EPROTO;
	}
	if (json_object_object_get_ex(msg, "event", &v)) {
		if (!json_object_is_type(v, json_type_string)) {
			snprintf(err, errlen, "QMP event name is not a string");
			return -EPROTO;
		}
		if (!json_object_object_get_ex(msg, "data", &data))
			data = NULL;
		if (q->cb->event)
			q->cb->event(q->arg, json_object_get_string(v), data);
		return 0;
	}
	if (json_object_object_get_ex(msg, "return", &ret) ||
	    json_object_object_get_ex(msg, "error", &error))
		return on_reply(q, msg, ret, error);
	snprintf(err, errlen, "QMP message is neither greeting, reply nor event");
	return -EPROTO;
}

static int
parse_line(struct qmp *q, const char *s, size_t n, char *err, size_t errlen)
{
	struct json_object *o;
	int ret;

	ret = qapi_parse_line(s, n, "QMP", &o, err, errlen);
	if (ret || !o)
		return ret;
	ret = on_message(q, o, err, errlen);
	json_object_put(o);
	return ret;
}

int
qmp_feed(struct qmp *q, const char *buf, size_t n, char *err, size_t errlen)
{
	size_t start = 0, i;
	int ret = 0;

	if (q->phase == QP_CLOSED)
		return 0;
	xgrow(&q->in, &q->in_cap, q->in_n + n + 1, 1);
	memcpy(q->in + q->in_n, buf, n);
	q->in_n += n;
	reent_enter(&q->re);
	/* QEMU ends every message with "\r\n" and escapes newlines in strings. */
	for (i = 0; i < q->in_n && !reent_doomed(&q->re); i++) {
		if (q->in[i] != '\n')
			continue;
		ret = parse_line(q, q->in + start, i - start, err, errlen);
		start = i + 1;
		if (ret)
			break;
	}
	if (!reent_leave(&q->re, destroy, q))
		return 0;
	if (ret)
		return ret;
	memmove(q->in, q->in + start, q->in_n - start);
	q->in_n -= start;
	if (q->in_n > QMP_MAX_MSG) {
		snprintf(err, errlen, "QMP message longer than %d bytes", QMP_MAX_MSG);
		return -EPROTO;
	}
	return 0;
}

/* ---- socket side ---- */

/* The end: EOF, an I/O error, a failed connect or a protocol error. */
static void
fail(void *arg, const char *why)
{
	struct qmp *q = arg;

	uconn_close(&q->uc);
	q->phase = QP_CLOSED;
	q->pend_n = 0;
	reent_enter(&q->re);
	if (q->cb->closed)
		q->cb->closed(q->arg, why);
	reent_leave(&q->re, destroy, q);
}

static void
on_io(void *arg, const char *in, size_t n)
{
	struct qmp *q = arg;
	char err[256];

	reent_enter(&q->re);
	if (qmp_feed(q, in, n, err, sizeof(err)) < 0 && !reent_doomed(&q->re))
		fail(q, err);
	reent_leave(&q->re, destroy, q);
}

static const struct uconn_cb qmp_uconn_cb = { NULL, on_io, fail };

int
qmp_connect(struct qmp *q, struct loop *lp, const char *path, pid_t peer,
    unsigned attempts, unsigned interval_ms)
{
	uconn_connect(&q->uc, lp, path, peer, attempts, interval_ms);
	return 0;
}

int
qmp_connect_fd(struct qmp *q, struct loop *lp, const char *path, int fd)
{
	return uconn_adopt(&q->uc, lp, path, fd);
}

int
qmp_getfd(struct qmp *q, const char *name, int fd)
{
	struct json_object *args = json_object_new_object();

	json_object_object_add(args, "fdname", json_object_new_string(name));
	return qmp_send_fd(q, "getfd", args, fd, NULL, NULL);
}

int
qmp_migrate_events(struct qmp *q)
{
	struct json_object *caps = json_object_new_array(), *cap = json_object_new_object(), *args;

	json_object_object_add(cap, "capability", json_object_new_string("events"));
	json_object_object_add(cap, "state", json_object_new_boolean(true));
	json_object_array_add(caps, cap);
	args = json_object_new_object();
	json_object_object_add(args, "capabilities", caps);
	return qmp_send(q, "migrate-set-capabilities", args, NULL, NULL);
}
