/*
 * The daemon's file descriptor budget (issue 20): before it takes the
 * descriptors a VM needs (a QEMU start, a VM's telnet listeners) it asks
 * whether they fit under RLIMIT_NOFILE with a reserve left, so that the
 * control socket and vmctl keep working and a VM is refused with a reason
 * rather than failing half-way through its start.
 */
#ifndef VMS_FDBUDGET_H
#define VMS_FDBUDGET_H
#include <stddef.h>

/* Kept free for the control socket's clients, logs, and short-lived fds. */
#define FDB_RESERVE		64
/* What a running VM holds in the daemon (lock, pidfd, QMP, chardevs, console links), plus the start's own pipes. */
#define FDB_PER_VM		16
/* ...and per NIC (tap, vhost-net). */
#define FDB_PER_NIC		2

/* Descriptors open in this process now, or -errno. */
int fdb_open_count(void);
/*
 * Room for need more descriptors, keeping FDB_RESERVE free? 0, or -EMFILE
 * with why filled ("out of file descriptors: 1000 open of 1024, ...").
 */
int fdb_room(unsigned need, char *why, size_t len);
#endif
