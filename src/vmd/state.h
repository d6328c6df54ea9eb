/*
 * state_dir/NAME.json: what the daemon knows about a VM that must survive
 * a daemon restart (last state, why it stopped, exit status, restarts).
 * Written to a temporary file and renamed, so a reader never sees half.
 */
#ifndef VMS_STATE_H
#define VMS_STATE_H
#include "vmd/supervisor.h"

/* 0 or -errno. */
int state_write(const char *dir, const struct vm *vm);
/* stop_reason, stop_detail, last_exit, restarts: shared by status and state files. */
void state_json_stop_fields(struct json_object *o, const struct vm *vm);
/* restart_in, next_restart (backoff), panicked (on_panic = pause); in the above. */
void state_json_restart_fields(struct json_object *o, const struct vm *vm);
/* Restore vm_reason, vm_detail, vm_last_exit, vm_restarts. 0 or -errno. */
int state_read(const char *dir, struct vm *vm);
#endif
