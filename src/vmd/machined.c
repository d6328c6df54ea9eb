/* The system bus from the daemon's loop (machined.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <time.h>
#include <systemd/sd-bus.h>

#include "lib/log.h"
#include "lib/loop.h"
#include "lib/util.h"
#include "vmd/machined.h"

struct mbus {
	sd_bus		*bus;
	struct loop	*lp;
	int		 fd;
	uint64_t	 timer;
};

struct mcall {
	mbus_done_fn	 fn;
	void		*arg;
};

static void mbus_rearm(struct mbus *b);

static void
mbus_process(struct mbus *b)
{
	int r;

	while ((r = sd_bus_process(b->bus, NULL)) > 0)
		;
	if (r < 0)
		log_warn("system bus: %s", strerror(-r));
	mbus_rearm(b);
}

static void
fd_cb(struct loop *lp, int fd, uint32_t events, void *arg)
{
	mbus_process(arg);
}

static void
timer_cb(struct loop *lp, void *arg)
{
	struct mbus *b = arg;

	b->timer = 0;
	mbus_process(b);
}

/* What sd-bus waits for next: the fd's events and its deadline. */
static void
mbus_rearm(struct mbus *b)
{
	uint64_t usec = UINT64_MAX, now;
	int ev = sd_bus_get_events(b->bus);
	uint32_t want = 0;

	if (ev > 0) {
		want |= (ev & POLLIN) ? EPOLLIN : 0;
		want |= (ev & POLLOUT) ? EPOLLOUT : 0;
	}
	if (loop_mod_fd(b->lp, b->fd, want) < 0)
		log_warn("system bus: cannot watch its socket");
	if (b->timer)
		loop_cancel_timer(b->lp, b->timer);
	b->timer = 0;
	if (sd_bus_get_timeout(b->bus, &usec) >= 0 && usec != UINT64_MAX) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
		b->timer = loop_add_timer(b->lp, usec > now ? (usec - now + 999) / 1000 : 0,
		    timer_cb, b);
	}
}

struct mbus *
mbus_open(struct loop *lp, char *err, size_t errlen)
{
	struct mbus *b = xcalloc(1, sizeof(*b));
	int r;

	b->lp = lp;
	b->fd = -1;
	if ((r = sd_bus_open_system(&b->bus)) < 0) {
		snprintf(err, errlen, "cannot connect to the system bus: %s", strerror(-r));
		free(b);
		return NULL;
	}
	if ((b->fd = sd_bus_get_fd(b->bus)) < 0 ||
	    (r = loop_add_fd(lp, b->fd, EPOLLIN, fd_cb, b)) < 0) {
		snprintf(err, errlen, "cannot watch the system bus: %s",
		    strerror(b->fd < 0 ? -b->fd : -r));
		sd_bus_unref(b->bus);
		free(b);
		return NULL;
	}
	mbus_rearm(b);
	return b;
}

void
mbus_free(struct mbus *b)
{
	if (!b)
		return;
	if (b->timer)
		loop_cancel_timer(b->lp, b->timer);
	loop_del_fd(b->lp, b->fd);
	sd_bus_flush_close_unref(b->bus);
	free(b);
}

uint64_t
mbus_quota_usec(unsigned pct)
{
	return pct ? (uint64_t)pct * 10000 : UINT64_MAX;
}

static int
reply_cb(sd_bus_message *m, void *userdata, sd_bus_error *ret)
{
	struct mcall *c = userdata;
	const sd_bus_error *e = sd_bus_message_get_error(m);

	if (e)
		c->fn(c->arg, -sd_bus_message_get_errno(m), e->message ? e->message : e->name);
	else
		c->fn(c->arg, 0, NULL);
	return 0;
}

/* The four limits as a(sv) entries, unset ones "infinity" / the default. */
static int
append_limits(sd_bus_message *m, const struct hw_limits *l)
{
	int r;

	if ((r = sd_bus_message_append(m, "(sv)", "CPUWeight", "t",
	    l->lim_cpu_weight ? (uint64_t)l->lim_cpu_weight : UINT64_MAX)) < 0 ||
	    (r = sd_bus_message_append(m, "(sv)", "CPUQuotaPerSecUSec", "t",
	    mbus_quota_usec(l->lim_cpu_quota))) < 0 ||
	    (r = sd_bus_message_append(m, "(sv)", "MemoryMax", "t",
	    l->lim_memory_max ? l->lim_memory_max : UINT64_MAX)) < 0 ||
	    (r = sd_bus_message_append(m, "(sv)", "IOWeight", "t",
	    l->lim_io_weight ? (uint64_t)l->lim_io_weight : UINT64_MAX)) < 0)
		return r;
	return 0;
}

/* Send m; its answer to fn(arg). Takes m. */
static int
bus_send(struct mbus *b, sd_bus_message *m, mbus_done_fn fn, void *arg, sd_bus_slot **slot)
{
	struct mcall *c = xmalloc(sizeof(*c));
	int r;

	c->fn = fn;
	c->arg = arg;
	/* 10 s: machined may be started by bus activation the first time. */
	r = sd_bus_call_async(b->bus, slot, m, reply_cb, c, 10 * 1000000ULL);
	sd_bus_message_unref(m);
	if (r < 0) {
		free(c);
		return r;
	}
	/* The call's memory goes with its slot (answered, cancelled or freed). */
	sd_bus_slot_set_destroy_callback(*slot, free);
	mbus_rearm(b);
	return 0;
}

int
mbus_create_machine(struct mbus *b, const char *mach, const uint8_t uuid[16], pid_t pid,
    const struct hw_limits *l, const char *before_unit, mbus_done_fn fn, void *arg,
    sd_bus_slot **slot)
{
	sd_bus_message *m = NULL;
	int r;

	if ((r = sd_bus_message_new_method_call(b->bus, &m, "org.freedesktop.machine1",
	    "/org/freedesktop/machine1", "org.freedesktop.machine1.Manager",
	    "CreateMachine")) < 0 ||
	    (r = sd_bus_message_append(m, "s", mach)) < 0 ||
	    (r = sd_bus_message_append_array(m, 'y', uuid, 16)) < 0 ||
	    (r = sd_bus_message_append(m, "ssus", "vmservice", "vm", (uint32_t)pid, "")) < 0 ||
	    (r = sd_bus_message_open_container(m, 'a', "(sv)")) < 0 ||
	    (r = append_limits(m, l)) < 0 ||
	    (before_unit && (r = sd_bus_message_append(m, "(sv)", "Before", "as", 1,
	    before_unit)) < 0) ||
	    (r = sd_bus_message_close_container(m)) < 0) {
		sd_bus_message_unref(m);
		return r;
	}
	return bus_send(b, m, fn, arg, slot);
}

int
mbus_set_limits(struct mbus *b, const char *unit, const struct hw_limits *l,
    mbus_done_fn fn, void *arg, sd_bus_slot **slot)
{
	sd_bus_message *m = NULL;
	int r;

	if ((r = sd_bus_message_new_method_call(b->bus, &m, "org.freedesktop.systemd1",
	    "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
	    "SetUnitProperties")) < 0 ||
	    (r = sd_bus_message_append(m, "sb", unit, 1)) < 0 ||
	    (r = sd_bus_message_open_container(m, 'a', "(sv)")) < 0 ||
	    (r = append_limits(m, l)) < 0 ||
	    (r = sd_bus_message_close_container(m)) < 0) {
		sd_bus_message_unref(m);
		return r;
	}
	return bus_send(b, m, fn, arg, slot);
}
