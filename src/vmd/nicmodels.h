/*
 * The NIC models of each emulator, for judging a card's `model` at reload
 * the way `vmctl check-config` does, without the loop waiting (issue 12).
 *
 * Why not simply ask at reload: `EMULATOR -device help` starts a QEMU, up
 * to 5 s, and the loop (every VM, every client) would wait for it, as root.
 * Why not skip the check: reload would then take a configuration that
 * check-config refuses. So the daemon asks in a child of the loop, as the
 * QEMU user, with a 5 s deadline, and remembers the answer per binary
 * (path, device, inode, size, mtime: an upgraded QEMU is asked again). A
 * reload that needs an answer not in yet waits for it (reload.c), the loop
 * serving everything else meanwhile.
 */
#ifndef VMS_NICMODELS_H
#define VMS_NICMODELS_H
#include <signal.h>

#include "lib/util.h"

struct loop;
struct nicm;

/* Called (from the loop) when an answer came in, or the asking failed. */
typedef void (*nicm_done_fn)(void *arg);

struct nicm *nicm_new(struct loop *lp, const sigset_t *child_mask, nicm_done_fn done,
    void *arg);
/* Kills what is still asking. */
void nicm_free(struct nicm *n);

/*
 * The models of emulator: 0 with *models (valid until nicm_free, or until
 * the binary changes and is asked again); -EAGAIN when the answer is not in
 * yet (the question is then asked, as runas: qpriv_resolve(); done is called
 * once it is answered); another -errno when the emulator cannot say (it
 * failed, timed out, lists no network devices): then no model is judged.
 */
int nicm_lookup(struct nicm *n, const char *emulator, const char *runas,
    const struct strv **models);
#endif
