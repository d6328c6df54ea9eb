/*
 * notify_command (issue 17): events that need a human (a start that failed,
 * a restart burst used up, a stop that had to SIGKILL, a crash, a guest
 * panic, a saved state refused, KVM given up for TCG) run the program the
 * administrator named, as `PROGRAM EVENT VM` with the event in its
 * environment (VMSERVICE_EVENT, VMSERVICE_VM, VMSERVICE_STATE,
 * VMSERVICE_REASON, VMSERVICE_DETAIL, VMSERVICE_TIME). Never waited for: one
 * job of scripts.h at a time, each run killed after notify_timeout; events
 * raised meanwhile queue (ALERT_QUEUE at most; the oldest beyond are dropped
 * and counted in the log). The program is checked (sp_trusted_program) when
 * the configuration is read and again before every run.
 */
#ifndef VMS_VMD_ALERT_H
#define VMS_VMD_ALERT_H

struct daemon;
struct vm;

#define ALERT_QUEUE	64

/* Each its own journal MESSAGE_ID (msgid.h). */
enum alert_kind {
	AL_START_FAILED, AL_RESTART_EXHAUSTED, AL_KILLED, AL_CRASHED, AL_PANICKED,
	AL_RESTORE_FAILED, AL_KVM_FALLBACK,
};

/* After a transition of the table (op_changed): raise what it means, if anything. */
void alert_transition(struct daemon *d, const struct vm *vm, int old_state, const char *why);
/* Raise kind for vm (NULL: the host) with detail: logged, and notify_command. */
void alert_raise(struct daemon *d, const struct vm *vm, enum alert_kind kind,
    const char *detail);
/* A scripts job ended: run what queued meanwhile. */
void alert_kick(struct daemon *d);
void alert_free(struct daemon *d);
#endif
