/*
 * Connecting to a socket that a starting server is about to serve (QEMU's
 * QMP, serial and HMP chardevs): usock_connect() from the loop, again every
 * interval while the answer is "not yet" (ENOENT, ECONNREFUSED, EAGAIN),
 * never again after a refusal (USOCK_REFUSED). The QMP client and the
 * console proxy share this one retry policy.
 */
#ifndef VMS_USOCK_RETRY_H
#define VMS_USOCK_RETRY_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct loop;

/*
 * The outcome, called once per usock_retry_start, from the loop: fd >= 0
 * connected (the caller owns it, non-blocking); or fd -1 with e (-errno)
 * and err naming the path, refused (USOCK_REFUSED(e)) or out of attempts.
 * The callback may free the struct usock_retry.
 */
typedef void (*usock_retry_fn)(void *arg, int fd, int e, const char *err);

struct usock_retry {
	struct loop	*ur_lp;
	const char	*ur_path;	/* the caller's; must outlive the attempts */
	pid_t		 ur_peer;	/* the listener's pid; 0: any */
	unsigned	 ur_left;	/* tries still allowed */
	unsigned	 ur_interval_ms;
	uint64_t	 ur_timer;	/* 0: not trying */
	usock_retry_fn	 ur_done;
	void		*ur_arg;
};

/*
 * Start trying (an attempt under way is abandoned): the first try after
 * first_ms (0: the next loop turn, never inside the caller), then every
 * interval_ms, attempts tries in all (at least one).
 */
void usock_retry_start(struct usock_retry *ur, struct loop *lp, const char *path,
    pid_t peer, unsigned attempts, unsigned first_ms, unsigned interval_ms,
    usock_retry_fn done, void *arg);
/* Stop trying; done is not called. Harmless when not trying. */
void usock_retry_stop(struct usock_retry *ur);
bool usock_retry_busy(const struct usock_retry *ur);
#endif
