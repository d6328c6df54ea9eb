/* Connect to a unix socket from the loop, retrying while the server starts. */
#include <stdio.h>
#include <string.h>

#include "lib/loop.h"
#include "lib/usock.h"
#include "lib/usock_retry.h"

static void
try_once(struct loop *lp, void *arg)
{
	struct usock_retry *ur = arg;
	char err[600];
	int fd = -1, e;

	ur->ur_timer = 0;
	ur->ur_left--;
	e = usock_connect(ur->ur_path, ur->ur_peer, &fd, err, sizeof(err));
	if (e && !USOCK_REFUSED(e) && ur->ur_left > 0) {
		ur->ur_timer = loop_add_timer(lp, ur->ur_interval_ms, try_once, ur);
		return;
	}
	if (e && !USOCK_REFUSED(e))
		snprintf(err, sizeof(err), "cannot connect to %s: %s", ur->ur_path, strerror(-e));
	/* Last use of ur: the callback may free it. */
	ur->ur_done(ur->ur_arg, e ? -1 : fd, e, e ? err : NULL);
}

void
usock_retry_start(struct usock_retry *ur, struct loop *lp, const char *path,
    pid_t peer, unsigned attempts, unsigned first_ms, unsigned interval_ms,
    usock_retry_fn done, void *arg)
{
	usock_retry_stop(ur);
	ur->ur_lp = lp;
	ur->ur_path = path;
	ur->ur_peer = peer;
	ur->ur_left = attempts ? attempts : 1;
	ur->ur_interval_ms = interval_ms;
	ur->ur_done = done;
	ur->ur_arg = arg;
	ur->ur_timer = loop_add_timer(lp, first_ms, try_once, ur);
}

void
usock_retry_stop(struct usock_retry *ur)
{
	if (ur->ur_timer) {
		loop_cancel_timer(ur->ur_lp, ur->ur_timer);
		ur->ur_timer = 0;
	}
}

bool
usock_retry_busy(const struct usock_retry *ur)
{
	return ur->ur_timer != 0;
}
