/*
 * The control socket's insides shared by its files (control.c: the socket,
 * the clients, the request table; ctl_client.c: answers and deferred
 * requests; ctl_migrate.c: the live migration requests). Nothing outside
 * src/control includes it.
 */
#ifndef VMS_CTL_PRIV_H
#define VMS_CTL_PRIV_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>

#include "lib/acceptor.h"
#include "lib/outbuf.h"

struct daemon;
struct vm;

/*
 * W_RELOAD: the reload waits for an emulator's NIC models (nicmodels.h).
 * W_EVENTS: subscribed to the table's transitions until it hangs up.
 */
enum wait_kind { W_NONE, W_START, W_STOP, W_QMP, W_RELOAD, W_EVENTS, W_MIG_IN, W_MIG_OUT };

struct client {
	struct ctl	*c;
	struct client	*next;
	int		 fd;
	uid_t		 uid;
	pid_t		 pid;
	bool		 admin;		/* may change things */
	bool		 reader;	/* may read status */
	char		*in;
	size_t		 in_n, in_cap;
	struct outbuf	 out;		/* CTL_MAX_OUTPUT at most */
	bool		 closing;	/* close once out is flushed */
	bool		 lingering;	/* answered and shut down: draining until EOF */
	uint64_t	 linger_timer;
	size_t		 drained;
	bool		 eof;		/* peer shut down its side: answer, then close */
	uint32_t	 events;	/* what we watch for now */
	uint64_t	 last_rx;	/* now_ms() of its last bytes (or connect) */
	uint64_t	 last_tx;	/* now_ms() out last shrank (or began) */
	bool		 told_refused;	/* "refused" logged once per client */
	int		 passed_fd;	/* sent with its request (ctl_fd.h), or -1 */

	/*
	 * A deferred request. VMs are held by name, never by pointer: a
	 * reload may drop one meanwhile, and nothing here needs telling.
	 */
	enum wait_kind	 wait;
	const char	*wait_cmd;
	char		**wait_names;
	size_t		 wait_n;

	uint64_t	 id;		/* names it to a QMP answer that outlives it */
	char		*handover;	/* `console`: this VM's console gets the fd once flushed */
	unsigned	 handover_flags;

	/*
	 * `start` with "autokill": the VM (by name) that lives only as long as
	 * this connection (vmd/autokill.h); ak_state: its state last told.
	 */
	char		*autokill;
	char		 ak_state[24];
};

/*
 * A QMP or guest agent command sent for a client (vmctl monitor, qmp,
 * agent). It lives until QEMU (the agent) answers or its connection is
 * gone (qmp.c and qga.c drop pending replies silently), since the reply
 * callback holds a pointer to it.
 */
struct qreq {
	struct ctl	*q_c;
	struct qreq	*q_next;
	char		*q_vm;		/* its name: looked up, never held */
	const void	*q_conn;	/* the connection asked (its QMP or agent) */
	uint64_t	 q_client;	/* client id; 0: answered already (timeout) */
	uint64_t	 q_deadline;	/* now_ms() */
	enum { QR_QMP, QR_HMP, QR_AGENT, QR_SNAP } q_kind;	/* HMP: answer "output" */
};

/* One log line per CTL_LOG_EVERY_MS for a complaint a client can repeat. */
struct ratelog {
	uint64_t	 rl_last;
	unsigned	 rl_quiet;	/* not logged since */
};

struct ctl {
	struct daemon	*d;
	int		 fd;
	struct acceptor	 acc;
	struct ratelog	 rl_full, rl_evict;
	char		*path;
	gid_t		 group;
	bool		 have_group;
	struct client	*clients;
	uint64_t	 next_id;
	struct qreq	*qreqs;
	uint64_t	 sweep_timer;	/* closes stalled clients */
};


/* ctl_client.c: answers. reply() queues one line and frees o. */
void reply(struct client *cl, struct json_object *o);
void reply_error(struct client *cl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* {"ok":true}, to add to. */
struct json_object *ok_object(void);
/* The request's string key, or NULL with `missing "key": what` answered. */
const char *need_string(struct client *cl, struct json_object *req, const char *key,
    const char *what);
struct json_object *vms_array(struct daemon *d, struct vm **vms, size_t n);
char **names_of(struct vm **vms, size_t n);
void names_free(char **v, size_t n);
/* Has every VM of a deferred request of this kind reached its goal? */
bool vms_done(enum wait_kind kind, struct vm **vms, size_t n);
void ak_told(struct client *cl, struct vm **vms, size_t n);
/* The answer to a finished request: ok unless some VM missed the goal. */
void reply_outcome(struct client *cl, enum wait_kind kind, struct vm **vms, size_t n);
bool get_bool(struct json_object *req, const char *key, bool def);
/* Park the request or answer now, depending on "wait"; takes vms. */
void finish(struct client *cl, struct json_object *req, enum wait_kind kind, struct vm **vms,
    size_t n);
/* One VM's request, answered once its goal (kind) is reached. */
void finish_waiting(struct client *cl, struct json_object *req, enum wait_kind kind,
    struct vm *vm);
/* The request's "vm", or NULL with an error answered. */
struct vm *one_vm(struct client *cl, struct json_object *req);

/* ctl_migrate.c: the live migration requests (PROTOCOL.md). */
void h_migrate_check(struct client *cl, struct json_object *req);
void h_migrate_in(struct client *cl, struct json_object *req);
void h_migrate_out(struct client *cl, struct json_object *req);
void h_migrate_disk(struct client *cl, struct json_object *req);
void h_migrate_go(struct client *cl, struct json_object *req);
/* migrate-done and migrate-resume (cl->wait_cmd says which). */
void h_migrate_end(struct client *cl, struct json_object *req);
#endif
