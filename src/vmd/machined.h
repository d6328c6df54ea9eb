/*
 * The daemon's client of systemd-machined and systemd on the system bus
 * (sd-bus, libsystemd), driven by the daemon's loop: every call is
 * asynchronous, its answer a callback; nothing waits on the bus.
 *
 * Who may reach what: the system bus is dbus-daemon's socket, owned by root;
 * CreateMachine and SetUnitProperties are allowed to root only (polkit). A
 * QEMU user has no say in either: the names are the daemon's, the pid the
 * QEMU child the daemon forked.
 */
#ifndef VMS_MACHINED_H
#define VMS_MACHINED_H
#include <stdint.h>
#include <sys/types.h>

#include "hw/hw.h"

struct loop;
struct mbus;
typedef struct sd_bus_slot sd_bus_slot;

/* e: 0 or -errno; msg: the bus error's text, or NULL. */
typedef void (*mbus_done_fn)(void *arg, int e, const char *msg);

/* Connect to the system bus. NULL with err on failure. */
struct mbus *mbus_open(struct loop *lp, char *err, size_t errlen);
void mbus_free(struct mbus *b);

/*
 * org.freedesktop.machine1.Manager.CreateMachine: machine mach (class vm,
 * service vmservice, id uuid) with leader pid; its scope gets the limits l
 * (all four properties, unset ones as "infinity"/default) and Before=
 * before_unit when given (systemd then stops the daemon before the scope:
 * the daemon's safe stop runs first). *slot: unref it to drop the answer.
 */
int mbus_create_machine(struct mbus *b, const char *mach, const uint8_t uuid[16], pid_t pid,
    const struct hw_limits *l, const char *before_unit, mbus_done_fn fn, void *arg,
    sd_bus_slot **slot);
/* org.freedesktop.systemd1.Manager.SetUnitProperties(unit, runtime, limits). */
int mbus_set_limits(struct mbus *b, const char *unit, const struct hw_limits *l,
    mbus_done_fn fn, void *arg, sd_bus_slot **slot);

/* The properties' values: CPUQuotaPerSecUSec of a cpu_quota in percent. */
uint64_t mbus_quota_usec(unsigned pct);
#endif
