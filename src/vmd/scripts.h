/*
 * Scripts the daemon runs itself (the ifdown scripts of a VM whose QEMU is
 * gone) as children of the one loop (issue 12): a script is a pidfd watched
 * by the loop plus a deadline timer, never a wait. A job is one VM's list of
 * commands, run one after another (as QEMU runs its downscripts); it holds
 * fds (the VM's taps, so each script still sees its interface) until its last
 * command has ended. The ifup scripts are not here: they run in the QEMU
 * child before exec (qemu_child.h), which the loop does not wait for either.
 */
#ifndef VMS_SCRIPTS_H
#define VMS_SCRIPTS_H
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "lib/util.h"

struct loop;
struct scripts;

/* One command: argv[0] an absolute path, its whole environment, a label. */
struct script_cmd {
	struct strv	 sc_argv;
	struct strv	 sc_env;
	char		*sc_what;	/* "nic 0: downscript /etc/ifdown vms-web-0" */
};

/* Called (from the loop) each time a job has ended: a VM may start again. */
typedef void (*scripts_done_fn)(void *arg);

/* child_mask: the signal mask children get (the daemon's before signalfd). */
struct scripts *scripts_new(struct loop *lp, const sigset_t *child_mask,
    scripts_done_fn done, void *arg);
/*
 * At exit. Jobs still running (only when the loop failed: the daemon
 * otherwise waits for them) are left to run; their fds are closed.
 */
void scripts_free(struct scripts *s);

/*
 * Start a job for vm: cmds[0..n) in order, each killed (its whole process
 * group, SIGKILL) timeout_ms after it started, stdout and stderr appended
 * to logpath; every start and end is logged, with the exit status and the
 * time taken. Takes cmds (and their strings) and hold (closed at the end).
 * Never waits. n == 0 only closes hold.
 */
void scripts_run(struct scripts *s, const char *vm, struct script_cmd *cmds, size_t n,
    int *hold, size_t n_hold, const char *logpath, unsigned timeout_ms);
/* A job for vm is under way (its next start must wait: the taps' names). */
bool scripts_busy(const struct scripts *s, const char *vm);
/* Jobs under way. */
size_t scripts_running(const struct scripts *s);
#endif
