/*
 * Endpoints reachable without authentication (issue 12), for `vmctl
 * check-config`: a telnet port (serial, monitor) listening beyond loopback
 * without console_password_file. One warning per endpoint, at the line of
 * its option. (A loopback port is guarded against guests by the daemon,
 * vmserviced(8); VNC always has a password, generated when no
 * vnc_password_file is given.)
 */
#ifndef VMS_INV_EXPOSE_H
#define VMS_INV_EXPOSE_H
#include <stdbool.h>
#include "lib/diag.h"
#include "config/inventory.h"

#define DC_EXPOSED	"unauthenticated"

/* Adds a warning to d per exposed endpoint; returns how many. */
size_t inv_expose_check(const struct inventory *inv, struct diag *d);
/* 127/8 or ::1 (numeric). */
bool inv_addr_loopback(const char *addr);
#endif
