/*
 * accept(2) on a listening socket of the loop that backs off when the
 * process (or the system) is out of file descriptors. With level-triggered
 * epoll a pending connection that accept() cannot take wakes the loop again
 * at once: a busy loop and a log line per wake-up. Instead the listener is
 * left unwatched for ACC_PAUSE_MS, one line is logged when an episode
 * starts and one when it ends, with how long it lasted and how often the
 * listener was paused; clients queue in the kernel's backlog meanwhile.
 */
#ifndef VMS_ACCEPTOR_H
#define VMS_ACCEPTOR_H
#include <stdint.h>

#define ACC_PAUSE_MS	1000

struct loop;

struct acceptor {
	struct loop	*acc_lp;
	int		 acc_fd;	/* the listener, watched for EPOLLIN */
	char		 acc_what[64];	/* for messages: "control", "vm a: serial" */
	uint64_t	 acc_timer;	/* paused until it fires; 0: not paused */
	uint64_t	 acc_since;	/* now_ms() an episode began; 0: none */
	unsigned	 acc_pauses;	/* in this episode */
};

void acc_init(struct acceptor *a, struct loop *lp, int fd, const char *what);
/*
 * The next connection (SOCK_NONBLOCK | SOCK_CLOEXEC), or -1 when there is
 * none for now: nothing pending, or out of fds (then the listener is
 * paused). Aborted connections are skipped.
 */
int acc_accept(struct acceptor *a);
/* Before the listener is closed: cancels a pending resume. */
void acc_stop(struct acceptor *a);
#endif
