/*
 * A VM's TPM 2.0 (tpm = on): one swtpm per VM, supervised beside its QEMU
 * in the one loop. The daemon binds swtpm's control socket
 * (run_dir/NAME.swtpm) and listens on it before forking swtpm on that fd,
 * so QEMU, spawned right after, can connect at once (its connect waits in
 * the backlog until swtpm accepts): no state of the table waits for a file
 * to appear. swtpm runs as the VM's QEMU user, with no capabilities, on
 * state_dir/NAME.tpm/ (kept across restarts, like a real TPM's NVRAM),
 * and ends when QEMU closes the channel (--terminate). The daemon writes
 * its pidfile, run_dir/NAME.swtpm.pid, so that a restarted daemon finds it.
 */
#ifndef VMS_TPM_H
#define VMS_TPM_H
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

struct daemon;
struct vm;
struct qpriv;

/*
 * Before QEMU is spawned (op_spawn): start vm's swtpm as priv's user. 0
 * (also when the VM has no TPM) or -errno with err filled; nothing is left
 * running on error.
 */
int tpm_start(struct daemon *d, struct vm *vm, const struct qpriv *priv, char *err,
    size_t errlen);
/* QEMU is gone (or was never started): swtpm goes too (SIGTERM; its exit is reaped). */
void tpm_stop(struct daemon *d, struct vm *vm);
/* A swtpm of vm still runs (ending): its state directory is locked, a start waits. */
bool tpm_busy(const struct vm *vm);
/*
 * Daemon start (adopt.c): the swtpm of pidfile run_dir/NAME.swtpm.pid, if
 * it is this VM's (its exe, user and state directory checked), is watched
 * again when its QEMU was adopted, and stopped when no QEMU of the VM runs.
 */
void tpm_adopt(struct daemon *d, struct vm *vm, bool qemu_adopted);
/* The daemon lets vm go (exit, reload): the swtpm, like QEMU, runs on. */
void tpm_release(struct daemon *d, struct vm *vm);
/* status: "tpm": { "pid": N } or { "error": "..." }; nothing without tpm = on. */
void tpm_json(const struct vm *vm, struct json_object *o);
#endif
