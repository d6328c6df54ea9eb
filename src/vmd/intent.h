/*
 * run_dir/NAME.intent: what was last asked of a VM (issue 6), so that a
 * daemon restarted after a crash goes on doing it: "up", "down", or
 * "restart PID" (up, once the QEMU with that pid has stopped). run_dir is
 * a tmpfs: the file survives a daemon crash, not a host reboot, where
 * only autostart decides. No file: nothing was asked (autostart decides).
 */
#ifndef VMS_INTENT_H
#define VMS_INTENT_H
#include <sys/types.h>

enum intent {
	INTENT_NONE,	/* no file, or nothing to change */
	INTENT_UP,
	INTENT_DOWN,
	INTENT_RESTART,	/* up, after the QEMU with pid it_pid is gone */
};

struct vm_intent {
	enum intent	 it_want;
	pid_t		 it_pid;	/* INTENT_RESTART only */
};

/* Write (atomically) or, for INTENT_NONE, remove. 0 or -errno. */
int intent_write(const char *run_dir, const char *name, const struct vm_intent *it);
/*
 * Read it; INTENT_NONE when there is no file, or when it is not ours (a
 * regular file owned by our euid) or not understood (-errno returned).
 */
int intent_read(const char *run_dir, const char *name, struct vm_intent *it);
/* "up", "down", "restart" */
const char *intent_name(enum intent w);
#endif
