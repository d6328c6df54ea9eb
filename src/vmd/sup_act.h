/*
 * Inside the supervisor: the table (supervisor.c) and the files of its
 * actions. Lowest first, each calling only the ones listed before it:
 *   sup_names.c    names and read-only questions (supervisor.h)
 *   sup_core.c     what every action uses: a state change, a signal, the
 *                  stop record, the restart policy, the KVM fallback
 *   sup_start.c    waiting -> starting -> running (or booting)
 *   sup_halt.c     the halt ladder: halt, halt_timeout, acpi_repeat
 *   sup_save.c     save and restore (on_host_shutdown = save)
 *   sup_migrate.c  live migration, both sides
 *   supervisor.c   the table, and the actions of a running QEMU's life
 * An action is one meaningful (state, event) cell: (s, vm, arg), where arg
 * is the event, or the wait status for VE_EXITED.
 */
#ifndef VMS_SUP_ACT_H
#define VMS_SUP_ACT_H
#include "vmd/supervisor.h"

typedef void (*sup_action)(const struct sup *s, struct vm *vm, int arg);

/* sup_core.c */
void sup_set_state(const struct sup *s, struct vm *vm, enum vm_state to, const char *why);
unsigned sup_halt_ms(const struct vm *vm);
bool sup_pending_sticky(const struct vm *vm);
void sup_send_signal(const struct sup *s, struct vm *vm, int sig);
void sup_record_exit(struct vm *vm, int status);
void sup_reset_backoff(struct vm *vm);
/* QEMU is gone for r: the restart policy, a restart asked for, or down. */
void sup_enter_stopped(const struct sup *s, struct vm *vm, enum stop_reason r,
    const char *why);
/* SIGTERM, term_timeout armed. */
void sup_term_because(const struct sup *s, struct vm *vm, const char *why);
bool sup_kvm_failed_early(const struct sup *s, const struct vm *vm, const char *qemu_says,
    bool internal_error);
void sup_kvm_fallback(const struct sup *s, struct vm *vm, const char *qemu_says);
void a_term(const struct sup *s, struct vm *vm, int arg);
void a_kill(const struct sup *s, struct vm *vm, int arg);

/* sup_start.c */
void a_want_start(const struct sup *s, struct vm *vm, int arg);
void a_backoff_over(const struct sup *s, struct vm *vm, int arg);
void a_cancel(const struct sup *s, struct vm *vm, int arg);
void a_spawn(const struct sup *s, struct vm *vm, int arg);
void a_ready(const struct sup *s, struct vm *vm, int arg);
void a_booted(const struct sup *s, struct vm *vm, int arg);
void a_ready_timeout(const struct sup *s, struct vm *vm, int arg);
void a_start_failed(const struct sup *s, struct vm *vm, int arg);
void a_start_grace(const struct sup *s, struct vm *vm, int arg);
void a_start_abort(const struct sup *s, struct vm *vm, int arg);

/* sup_halt.c */
/* The ladder's record becomes the stop detail (status: stop_detail). */
void sup_halt_detail(struct vm *vm, const char *then);
void a_halt(const struct sup *s, struct vm *vm, int arg);
void a_halt_timer(const struct sup *s, struct vm *vm, int arg);
void a_agent_failed(const struct sup *s, struct vm *vm, int arg);

/* sup_save.c */
void a_save(const struct sup *s, struct vm *vm, int arg);
void a_saved(const struct sup *s, struct vm *vm, int arg);
void a_save_failed(const struct sup *s, struct vm *vm, int arg);
void a_restore(const struct sup *s, struct vm *vm, int arg);
void a_restored(const struct sup *s, struct vm *vm, int arg);
void a_restore_failed(const struct sup *s, struct vm *vm, int arg);
void a_restore_exit(const struct sup *s, struct vm *vm, int arg);

/* sup_migrate.c */
void a_migrate_in(const struct sup *s, struct vm *vm, int arg);
void a_incoming_ready(const struct sup *s, struct vm *vm, int arg);
void a_migrated_in(const struct sup *s, struct vm *vm, int arg);
void a_incoming_failed(const struct sup *s, struct vm *vm, int arg);
void a_migrate(const struct sup *s, struct vm *vm, int arg);
void a_handed_over(const struct sup *s, struct vm *vm, int arg);
bool sup_found_handed_over(const struct sup *s, struct vm *vm);
void a_migrate_failed(const struct sup *s, struct vm *vm, int arg);
void a_migrate_cancel(const struct sup *s, struct vm *vm, int arg);
void a_migrate_stop(const struct sup *s, struct vm *vm, int arg);
void a_migrated(const struct sup *s, struct vm *vm, int arg);
void a_migrate_resume(const struct sup *s, struct vm *vm, int arg);
void a_handed_over_exit(const struct sup *s, struct vm *vm, int arg);

#endif
