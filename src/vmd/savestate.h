/*
 * A VM's saved state (issue 15: on_host_shutdown = save, vmctl save):
 * state_dir/NAME.vmstate, QEMU's own migration stream, written through a
 * descriptor the daemon opens and hands QEMU over QMP (getfd: QEMU runs
 * under seccomp without spawning, and 7.2 has no file: URI), and beside it
 * NAME.vmstate.json binding it to what it was saved from: a hash of the
 * QEMU command line and the identity (size, mtime, inode) of every disk
 * after QEMU exited. A state that no longer matches, or that QEMU refuses,
 * is moved aside to NAME.vmstate.rejected-TIME (never deleted) and the VM
 * boots cold with stop reason restore-failed and the cause in its detail.
 * state_dir is the daemon's alone: no QEMU user can plant or replace
 * anything there (every open is O_NOFOLLOW all the same).
 */
#ifndef VMS_VMD_SAVESTATE_H
#define VMS_VMD_SAVESTATE_H
#include <stdbool.h>
#include <stddef.h>

struct daemon;
struct vm;

/* Open NAME.vmstate.part, hand it to QEMU, pause, migrate. 0 or -errno with err. */
int savestate_begin(struct daemon *d, struct vm *vm, char *err, size_t errlen);
/* QEMU exited after a completed save: NAME.vmstate and its binding. */
void savestate_commit(struct daemon *d, struct vm *vm);
/*
 * Before a spawn: 1 when NAME.vmstate may be restored (spawn with
 * -incoming defer), 0 to boot cold (none, or refused: then moved aside,
 * vm_detail and vm_reason say why).
 */
int savestate_check(struct daemon *d, struct vm *vm);
/* QMP ready on a QEMU spawned with -incoming: load it. 0 or -errno with err. */
int savestate_restore(struct daemon *d, struct vm *vm, char *err, size_t errlen);
/* No save under way any more (QEMU gone, save over): its progress timer goes. */
void savestate_forget(struct daemon *d, struct vm *vm);
/* The guest runs again: the state is spent. */
void savestate_done(struct daemon *d, struct vm *vm);
/* QEMU refused it: move it aside (why goes into the log). */
void savestate_reject(struct daemon *d, struct vm *vm, const char *why);
/* A saved state waits for this VM (status: "saved_state"). */
bool savestate_exists(struct daemon *d, const struct vm *vm);
#endif
