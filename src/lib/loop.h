/*
 * The daemon's one event loop: epoll over fd watchers, plus a deadline list
 * driving a single timerfd (redis ae.c in spirit). Single-threaded; every
 * callback runs to completion and must not block.
 */
#ifndef VMS_LOOP_H
#define VMS_LOOP_H
#include <stdbool.h>
#include <stdint.h>

struct loop;
typedef void (*loop_fd_fn)(struct loop *lp, int fd, uint32_t events, void *arg);
typedef void (*loop_timer_fn)(struct loop *lp, void *arg);
typedef void (*loop_idle_fn)(struct loop *lp, void *arg);

struct loop *loop_new(void);
void loop_free(struct loop *lp);

/* Watch fd for EPOLLIN/EPOLLOUT. One watcher per fd. Returns 0 or -errno. */
int loop_add_fd(struct loop *lp, int fd, uint32_t events, loop_fd_fn fn, void *arg);
int loop_mod_fd(struct loop *lp, int fd, uint32_t events);
/* Safe to call from inside a callback, for any fd (pending events are dropped). */
void loop_del_fd(struct loop *lp, int fd);

/*
 * Call fn once, ms milliseconds from now. Returns a nonzero id for
 * loop_cancel_timer; cancelling an id that already fired is harmless.
 */
uint64_t loop_add_timer(struct loop *lp, uint64_t ms, loop_timer_fn fn, void *arg);
void loop_cancel_timer(struct loop *lp, uint64_t id);

/* Called before each wait: the place for work that follows any event. */
void loop_set_idle(struct loop *lp, loop_idle_fn fn, void *arg);

/* Run until loop_stop(). Returns 0, or -errno if epoll_wait fails. */
int loop_run(struct loop *lp);
void loop_stop(struct loop *lp);
#endif
