/*
 * A QEMU guest agent client (qemu docs/interop/qemu-ga.rst, qga/qapi-schema.json).
 *
 * Like QMP the wire format is one JSON object a line, but there is no
 * greeting and no id: the host end of the virtio-serial port connects even
 * when no agent runs in the guest (then nothing ever answers), and replies
 * come in order. So the client resynchronises with guest-sync-delimited: a
 * 0xFF byte (which resets the agent's parser) and {"execute":
 * "guest-sync-delimited", "arguments": {"id": N}}; the agent answers 0xFF
 * then {"return": N}; everything before that 0xFF, and any reply whose N is
 * stale, is dropped. Then one command is in flight at a time.
 *
 * Two layers in one object, like qmp.h: the core is fed bytes (qga_feed),
 * told the time (qga_tick) and leaves its output in a buffer, so it is
 * tested without a socket or a loop; qga_connect() attaches it to the
 * socket and the daemon's loop. The guest controls every byte we read:
 * memory is bounded (QGA_MAX_MSG), anything malformed or over-long only
 * costs a resync, and nothing ever blocks.
 */
#ifndef VMS_QGA_H
#define VMS_QGA_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>

struct loop;
struct qga;

/*
 * The longest line read from the agent. The replies we use
 * (guest-network-get-interfaces, guest-get-osinfo, ...) are a few KiB; a
 * guest that sends more only makes us resync, and each VM pins at most
 * this much.
 */
#define QGA_MAX_MSG		(256 * 1024)
/* How long guest-sync-delimited may take: a running agent answers in ms. */
#define QGA_SYNC_TIMEOUT_MS	1500
/*
 * What may arrive while a sync is awaited (stale output the socket held,
 * then the answer): more and the sync fails at once (a flooding guest).
 */
#define QGA_SYNC_BUDGET		(1024 * 1024)
/* While unsynced, a new guest-sync-delimited this long after the last failed. */
#define QGA_RESYNC_MS		3000
/* Commands queued (one in flight, the rest waiting) at most. */
#define QGA_MAX_QUEUE		16

struct qga_cb {
	/* Synced: qga_send may be used. Called again after each qga_sync. */
	void	(*ready)(void *arg);
	/*
	 * Not ready: a sync failed (no agent, or a stale one), a reply timed
	 * out, or the agent sent something malformed or over-long. The core
	 * resyncs by itself every QGA_RESYNC_MS; further failed resyncs are
	 * not reported again until the agent was ready or qga_sync was called.
	 */
	void	(*unsynced)(void *arg, const char *why);
	/*
	 * The socket is gone (EOF, error, connect refused or out of
	 * attempts). Inert afterwards; the callback may qga_free().
	 */
	void	(*closed)(void *arg, const char *why);
};

/*
 * The outcome of one qga_send, called exactly once unless qga_free comes
 * first: (ret, NULL) the "return" value; (NULL, "Class: desc") an error
 * reply, or one of ours: "AgentUnsynced: ..." (the agent was resynced
 * before it answered), "AgentClosed: ..." (the socket went away);
 * (NULL, "timeout") no answer within timeout_ms; (NULL, NULL) a no_reply
 * command was written.
 */
typedef void (*qga_reply_fn)(void *arg, struct json_object *ret, const char *error);

struct qga *qga_new(const char *name, const struct qga_cb *cb, void *arg);
/* Safe inside any callback; pending replies are dropped (fn NOT called). */
void qga_free(struct qga *g);

/*
 * Bytes from the agent. Returns 0: malformed or over-long input is the
 * guest's doing and only loses sync (unsynced). err is kept for symmetry
 * with qmp_feed and is never filled.
 */
int qga_feed(struct qga *g, const char *buf, size_t n, char *err, size_t errlen);
/* Synced (or re-checking sync after a no_reply command): qga_send works. */
bool qga_is_ready(const struct qga *g);

/*
 * Queue command cmd (args: owned, may be NULL) to be sent when the ones
 * before it are answered. fn (may be NULL) gets the outcome; timeout_ms
 * counts from now, waiting in the queue included. no_reply: a command that
 * answers nothing on success (guest-shutdown, guest-suspend-*): fn gets
 * (NULL, NULL) once it is written, and the agent is quietly resynced before
 * the next command, since a failure would still answer. Returns 0;
 * -ENOTCONN before ready; -ENOBUFS with QGA_MAX_QUEUE queued; -EMSGSIZE
 * for a command longer than QGA_MAX_MSG. On error fn is not called.
 */
int qga_send(struct qga *g, const char *cmd, struct json_object *args, unsigned timeout_ms,
    bool no_reply, qga_reply_fn fn, void *arg);

/*
 * Start syncing now (after connect, after a guest reset): not ready until
 * the agent answers; a command in flight gets "AgentUnsynced", queued ones
 * wait. Output not yet written is dropped: the 0xFF makes the agent drop a
 * half-read command too.
 */
void qga_sync(struct qga *g);

/*
 * Time, for a core without a loop (tests, fuzzing): qga_tick tells the core
 * it is now now_ms (a monotonic clock in ms) and fires what is due: reply and
 * sync timeouts, the next resync. Until a clock is set (qga_connect sets
 * the daemon's), the core's "now" is the last qga_tick.
 */
void qga_tick(struct qga *g, uint64_t now_ms);
void qga_set_clock(struct qga *g, uint64_t (*clock)(void));
/* The earliest time qga_tick has something to do; 0: nothing. */
uint64_t qga_next_deadline(const struct qga *g);

/* Bytes waiting to be written, and marking some of them written. */
const char *qga_out(const struct qga *g, size_t *len);
void qga_out_consume(struct qga *g, size_t n);
/* Commands queued or in flight. */
size_t qga_pending(const struct qga *g);

/*
 * Socket side: connect once to path (QEMU's chardev socket, bound by the
 * daemon), retrying every interval_ms up to attempts times while QEMU
 * starts; only to a listener whose SO_PEERCRED pid is peer (0: any), never
 * through a symlink (usock_connect, as qmp_connect). Once connected it
 * syncs; timeouts run on the loop's timers. Returns 0: progress and failure
 * come through the callbacks, from the loop.
 */
int qga_connect(struct qga *g, struct loop *lp, const char *path, pid_t peer,
    unsigned attempts, unsigned interval_ms);
#endif
