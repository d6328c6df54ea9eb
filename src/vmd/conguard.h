/*
 * The door of a VM's telnet endpoints (issue 12), called by console.c for
 * every accepted TCP client before it is served:
 *
 *  - No guest: a guest on `net = user` reaches the host's 127.0.0.1 at
 *    10.0.2.2, through a socket its QEMU opens. A client whose socket
 *    belongs to a QEMU user, or is held by one of the daemon's QEMUs, or
 *    cannot be identified although it comes from this host, is refused.
 *  - A password: with console_password_file, the client is asked for it
 *    (telnet, no echo) before it is attached; failures are rate-limited.
 *
 * The rules are in vmserviced(8), SECURITY, "Consoles and guests".
 */
#ifndef VMS_CONGUARD_H
#define VMS_CONGUARD_H
#include <stdbool.h>
#include <sys/types.h>

struct console;
struct daemon;
struct vm;
struct conguard;

/* what: "serial" or "monitor", for messages. */
struct conguard *conguard_new(struct daemon *d, struct vm *vm, const char *what);
/* Drops the logins in progress; before the console itself is freed. */
void conguard_free(struct conguard *g);
/* A console_admit_fn (console.h): arg is the conguard. */
bool conguard_admit(void *arg, struct console *c, int fd);

/*
 * Is uid one a QEMU of this daemon runs as (a VM's runas user, or the uid
 * of a running QEMU)? Never for root or the daemon's own uid, which admins
 * share: for those only the socket's holder tells (conguard.c).
 */
bool conguard_uid_is_qemu(struct daemon *d, uid_t uid);
#endif
