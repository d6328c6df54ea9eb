/*
 * The control socket (PROTOCOL.md): vmctl's requests, answered by name
 * through the daemon's request functions (vmd/daemon.h). It sits above
 * the daemon: it registers itself as the daemon's idle hook to answer
 * deferred ("wait":true) requests, and holds no pointer into the daemon's
 * VMs across loop iterations.
 */
#ifndef VMS_CONTROL_H
#define VMS_CONTROL_H
#include <stddef.h>

struct daemon;
struct ctl;

/* Listen on path; sets d's idle hook. NULL with err filled on failure. */
struct ctl *ctl_new(struct daemon *d, const char *path, char *err, size_t errlen);
/* Closes every client; clears d's idle hook. */
void ctl_free(struct ctl *c);
#endif
