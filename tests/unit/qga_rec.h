/*
 * The guest agent tests' recorder: callbacks that count and keep the last
 * outcome, free or send from inside a callback when asked (test_qga), and
 * stop the loop when one is running (test_qga_socket).
 */
#ifndef VMS_TEST_QGA_REC_H
#define VMS_TEST_QGA_REC_H
#include <stdio.h>
#include <string.h>

#include "lib/loop.h"
#include "lib/util.h"
#include "qemu/qga.h"

struct rec {
	struct loop	*lp;		/* stopped at every callback; NULL: none */
	int		 ready, unsynced, closed, replies;
	uint64_t	 t_unsynced, t_closed;	/* now_ms() */
	char		 why[256];
	char		 last_reply[4096];
	char		 last_error[256];
	bool		 last_null;	/* (NULL, NULL) */
	struct qga	*free_in_ready, *free_in_unsynced, *free_in_reply;
	struct qga	*send_in_reply, *sync_in_reply;
	uint64_t	 beat, max_gap;	/* the loop's heartbeat */
};

/* One callback happened: count it, keep why, wake the test. */
static void
r_note(struct rec *r, int *count, uint64_t *when, const char *why, struct qga **doom)
{
	++*count;
	if (when)
		*when = now_ms();
	if (why)
		snprintf(r->why, sizeof(r->why), "%s", why);
	if (r->lp)
		loop_stop(r->lp);
	if (doom && *doom) {
		qga_free(*doom);
		*doom = NULL;
	}
}

static void
r_ready(void *arg)
{
	struct rec *r = arg;

	r_note(r, &r->ready, NULL, NULL, &r->free_in_ready);
}

static void
r_unsynced(void *arg, const char *why)
{
	struct rec *r = arg;

	r_note(r, &r->unsynced, &r->t_unsynced, why, &r->free_in_unsynced);
}

static void
r_closed(void *arg, const char *why)
{
	struct rec *r = arg;

	r_note(r, &r->closed, &r->t_closed, why, NULL);
}

static void
r_reply(void *arg, struct json_object *ret, const char *error)
{
	struct rec *r = arg;
	struct qga *g = r->send_in_reply;

	snprintf(r->last_reply, sizeof(r->last_reply), "%s",
	    ret ? json_object_to_json_string_ext(ret, JSON_C_TO_STRING_PLAIN) : "");
	snprintf(r->last_error, sizeof(r->last_error), "%s", error ? error : "");
	r->last_null = !ret && !error;
	r_note(r, &r->replies, NULL, NULL, &r->free_in_reply);
	if (g) {
		r->send_in_reply = NULL;
		qga_send(g, "guest-get-osinfo", NULL, 1000, false, r_reply, r);
	}
	if ((g = r->sync_in_reply)) {
		r->sync_in_reply = NULL;
		qga_sync(g);
	}
}

static const struct qga_cb cb = { r_ready, r_unsynced, r_closed };
#endif
