/*
 * Telnet endpoints: a TCP port per VM console (serial) and, when asked for,
 * per HMP monitor, proxied to the unix socket QEMU serves in run_dir. One
 * client per endpoint at a time (QEMU's chardev takes one connection);
 * everything non-blocking in the daemon's loop, with bounded buffers.
 */
#ifndef VMS_TELNET_H
#define VMS_TELNET_H
#include <stddef.h>
#include <stdint.h>

struct loop;
struct vm;
struct telnet;

/*
 * Listen on addr:port for vm's endpoint what ("serial", "monitor") and
 * proxy to path. Returns NULL with a message in err.
 */
struct telnet *telnet_new(struct loop *lp, const char *addr, int port, struct vm *vm,
    const char *what, const char *path, char *err, size_t errlen);
/* Drop the client, if any (the VM went away). */
void telnet_hangup(struct telnet *t, const char *why);
void telnet_free(struct telnet *t);

/* Telnet input filter (exported for tests): strips option negotiation and
 * CR NUL padding from in[0..n), writing data bytes to out; returns their
 * count. *state carries a sequence cut across calls. */
size_t telnet_filter(int *state, const uint8_t *in, size_t n, uint8_t *out);
#endif
