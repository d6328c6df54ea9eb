/* epoll + one timerfd over a deadline list. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "lib/util.h"
#include "lib/loop.h"

struct watch {
	loop_fd_fn	 fn;
	void		*arg;
	uint32_t	 gen;		/* 0: unused */
};

struct timer {
	uint64_t	 id;
	uint64_t	 due;		/* now_ms() clock */
	loop_timer_fn	 fn;
	void		*arg;
};

struct loop {
	int		 ep;
	int		 tfd;
	struct watch	*w;		/* indexed by fd */
	size_t		 w_cap;
	uint32_t	 gen;
	struct timer	*t;		/* unsorted: a daemon has a few per VM */
	size_t		 t_n, t_cap;
	uint64_t	 next_id;
	loop_idle_fn	 idle;
	void		*idle_arg;
	bool		 stop;
};

/*
 * epoll data carries the fd and the watcher's generation, so an event that
 * was already fetched for a watcher deleted (and its fd reused) in the same
 * batch is recognised as stale and dropped.
 */
static uint64_t
pack(int fd, uint32_t gen)
{
	return (uint64_t)gen << 32 | (uint32_t)fd;
}

struct loop *
loop_new(void)
{
	struct loop *lp = xcalloc(1, sizeof(*lp));
	struct epoll_event ev = { .events = EPOLLIN };

	lp->ep = epoll_create1(EPOLL_CLOEXEC);
	lp->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (lp->ep == -1 || lp->tfd == -1)
		goto fail;
	ev.data.u64 = pack(lp->tfd, 0);
	if (epoll_ctl(lp->ep, EPOLL_CTL_ADD, lp->tfd, &ev) == -1)
		goto fail;
	lp->next_id = 1;
	return lp;
fail:
	if (lp->ep != -1)
		close(lp->ep);
	if (lp->tfd != -1)
		close(lp->tfd);
	free(lp);
	return NULL;
}

void
loop_free(struct loop *lp)
{
	if (!lp)
		return;
	close(lp->ep);
	close(lp->tfd);
	free(lp->w);
	free(lp->t);
	free(lp);
}

int
loop_add_fd(struct loop *lp, int fd, uint32_t events, loop_fd_fn fn, void *arg)
{
	struct epoll_event ev = { .events = events };

	if (fd < 0)
		return -EBADF;
	if ((size_t)fd >= lp->w_cap) {
		size_t old = lp->w_cap;
		xgrow(&lp->w, &lp->w_cap, (size_t)fd + 1, sizeof(*lp->w));
		memset(lp->w + old, 0, (lp->w_cap - old) * sizeof(*lp->w));
	}
	if (lp->w[fd].gen)
		return -EEXIST;
	if (++lp->gen == 0)
		lp->gen = 1;
	ev.data.u64 = pack(fd, lp->gen);
	if (epoll_ctl(lp->ep, EPOLL_CTL_ADD, fd, &ev) == -1)
		return -errno;
	lp->w[fd] = (struct watch){ fn, arg, lp->gen };
	return 0;
}

int
loop_mod_fd(struct loop *lp, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events };

	if (fd < 0 || (size_t)fd >= lp->w_cap || !lp->w[fd].gen)
		return -ENOENT;
	ev.data.u64 = pack(fd, lp->w[fd].gen);
	return epoll_ctl(lp->ep, EPOLL_CTL_MOD, fd, &ev) == -1 ? -errno : 0;
}

void
loop_del_fd(struct loop *lp, int fd)
{
	if (fd < 0 || (size_t)fd >= lp->w_cap || !lp->w[fd].gen)
		return;
	epoll_ctl(lp->ep, EPOLL_CTL_DEL, fd, NULL);
	lp->w[fd].gen = 0;
}

static void
arm(struct loop *lp)
{
	struct itimerspec its = { 0 };
	uint64_t first = UINT64_MAX, now;
	size_t i;

	for (i = 0; i < lp->t_n; i++)
		if (lp->t[i].due < first)
			first = lp->t[i].due;
	if (first != UINT64_MAX) {
		now = now_ms();
		/* A zero it_value disarms: fire past deadlines after 1 ns. */
		if (first <= now) {
			its.it_value.tv_nsec = 1;
		} else {
			its.it_value.tv_sec = (first - now) / 1000;
			its.it_value.tv_nsec = (long)((first - now) % 1000) * 1000000;
		}
	}
	timerfd_settime(lp->tfd, 0, &its, NULL);
}

uint64_t
loop_add_timer(struct loop *lp, uint64_t ms, loop_timer_fn fn, void *arg)
{
	xgrow(&lp->t, &lp->t_cap, lp->t_n + 1, sizeof(*lp->t));
	lp->t[lp->t_n++] = (struct timer){ lp->next_id, now_ms() + ms, fn, arg };
	arm(lp);
	return lp->next_id++;
}

void
loop_cancel_timer(struct loop *lp, uint64_t id)
{
	size_t i;

	for (i = 0; i < lp->t_n; i++) {
		if (lp->t[i].id == id) {
			lp->t[i] = lp->t[--lp->t_n];
			arm(lp);
			return;
		}
	}
}

/* Fire every due timer; a callback may add or cancel timers. */
static void
run_timers(struct loop *lp)
{
	uint64_t exp, now = now_ms();
	size_t i;

	while (read(lp->tfd, &exp, sizeof(exp)) > 0)
		;
	for (;;) {
		for (i = 0; i < lp->t_n; i++)
			if (lp->t[i].due <= now)
				break;
		if (i == lp->t_n)
			break;
		struct timer t = lp->t[i];
		lp->t[i] = lp->t[--lp->t_n];
		t.fn(lp, t.arg);
	}
	arm(lp);
}

void
loop_set_idle(struct loop *lp, loop_idle_fn fn, void *arg)
{
	lp->idle = fn;
	lp->idle_arg = arg;
}

int
loop_run(struct loop *lp)
{
	struct epoll_event evs[64];
	int n, i, fd;
	uint32_t gen;

	lp->stop = false;
	while (!lp->stop) {
		if (lp->idle)
			lp->idle(lp, lp->idle_arg);
		if (lp->stop)
			break;
		n = epoll_wait(lp->ep, evs, 64, -1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (i = 0; i < n; i++) {
			fd = (int)(uint32_t)evs[i].data.u64;
			gen = (uint32_t)(evs[i].data.u64 >> 32);
			if (fd == lp->tfd && gen == 0) {
				run_timers(lp);
				continue;
			}
			if ((size_t)fd >= lp->w_cap || lp->w[fd].gen != gen)
				continue;
			lp->w[fd].fn(lp, fd, evs[i].events, lp->w[fd].arg);
		}
	}
	return 0;
}

void
loop_stop(struct loop *lp)
{
	lp->stop = true;
}
