/*
 * A QMP client (qemu docs/interop/qmp-spec): greeting, qmp_capabilities,
 * commands with ids and reply callbacks, asynchronous events.
 *
 * Two layers in one object: the protocol core is fed bytes (qmp_feed) and
 * leaves what it wants sent in an output buffer, so it can be tested
 * without a socket; qmp_connect() attaches it to a unix socket and the
 * daemon's loop. Nothing ever blocks: a QEMU that never answers only leaves
 * a reply pending.
 */
#ifndef VMS_QMP_H
#define VMS_QMP_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <json-c/json.h>

struct loop;
struct qmp;

/* A QMP message (one JSON object per line) may not exceed this. */
#define QMP_MAX_MSG	(1024 * 1024)

struct qmp_cb {
	/* Greeting read and capabilities negotiated: commands may be sent. */
	void	(*ready)(void *arg);
	/* An asynchronous event; data may be NULL. */
	void	(*event)(void *arg, const char *name, struct json_object *data);
	/*
	 * The connection failed or was dropped (EOF, malformed input,
	 * connect attempts exhausted). The qmp object is inert afterwards;
	 * the callback may qmp_free() it.
	 */
	void	(*closed)(void *arg, const char *why);
};

/* ret is the "return" value, or NULL with error set to "Class: desc". */
typedef void (*qmp_reply_fn)(void *arg, struct json_object *ret, const char *error);

struct qmp *qmp_new(const char *name, const struct qmp_cb *cb, void *arg);
/* Safe from inside any of its callbacks. Pending replies are dropped. */
void qmp_free(struct qmp *q);

/*
 * Protocol core. qmp_feed() returns 0, or -EPROTO with a message in err for
 * malformed input or an over-long message (the caller drops the connection).
 */
int qmp_feed(struct qmp *q, const char *buf, size_t n, char *err, size_t errlen);
bool qmp_is_ready(const struct qmp *q);
/*
 * Queue command cmd (args: owned, may be NULL) with a fresh id. fn may be
 * NULL. Returns 0, -ENOTCONN before ready, or -ENOBUFS when QEMU has not
 * been reading its input (output bound reached).
 */
int qmp_send(struct qmp *q, const char *cmd, struct json_object *args,
    qmp_reply_fn fn, void *arg);
/*
 * Queue cmd with descriptor fd passed along (SCM_RIGHTS), e.g. getfd with
 * {"fdname": NAME}: QEMU keeps its own copy, the caller closes fd when it
 * likes. Only on a connected socket with no output pending (else -EBUSY:
 * try again from a timer), -EAGAIN when the socket is full; args owned.
 */
int qmp_send_fd(struct qmp *q, const char *cmd, struct json_object *args, int fd,
    qmp_reply_fn fn, void *arg);

/* getfd {"fdname": name} with fd (qmp_send_fd; the caller closes fd). */
int qmp_getfd(struct qmp *q, const char *name, int fd);
/* migrate-set-capabilities events = on: MIGRATION events for migrate/-incoming. */
int qmp_migrate_events(struct qmp *q);

/* Bytes waiting to be written, and marking some of them written. */
const char *qmp_out(const struct qmp *q, size_t *len);
void qmp_out_consume(struct qmp *q, size_t n);
size_t qmp_pending(const struct qmp *q);

/*
 * Socket side: connect to path (QEMU is the server), retrying every
 * interval_ms up to attempts times while the socket does not exist yet or
 * refuses (QEMU still starting). Only a socket whose listener is process
 * peer (SO_PEERCRED; 0: any) is talked to, never one reached through a
 * symlink (usock_connect): a refusal, or a path too long for sun_path,
 * closes at once, logged. Returns 0: progress and failure are reported
 * through the callbacks, from the loop.
 */
int qmp_connect(struct qmp *q, struct loop *lp, const char *path, pid_t peer,
    unsigned attempts, unsigned interval_ms);
/*
 * Socket side on a socket already connected and checked by the caller
 * (vmctl attach: usock_connect_owned); path names it in messages. 0, or
 * -errno with fd closed.
 */
int qmp_connect_fd(struct qmp *q, struct loop *lp, const char *path, int fd);
#endif
