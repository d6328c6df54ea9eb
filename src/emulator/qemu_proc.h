/*
 * Spawning, signalling and reaping one QEMU process. QEMU is never started
 * through a shell nor with -daemonize: we fork, setsid() and execv() it so
 * it outlives the daemon yet can be watched through a pidfd.
 */
#ifndef VMS_QEMU_PROC_H
#define VMS_QEMU_PROC_H
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Fork and exec argv[0] with argv. The child's stdin is /dev/null and its
 * stdout+stderr are appended to logpath; its signal mask is set to
 * child_mask (the daemon blocks signals for its signalfd). On success
 * returns 0 with *pid and *pidfd (close-on-exec) set. A failing exec is
 * reported by the child in logpath and as exit status 127.
 */
int qproc_spawn(char *const argv[], const char *logpath, const sigset_t *child_mask,
    pid_t *pid, int *pidfd, char *err, size_t errlen);

/*
 * qproc_spawn, and the child runs qchild_prepare(qc) before exec (ifup
 * scripts, fds to inherit: see qemu_child.h; qc may be NULL). Either way the
 * child loses CAP_NET_ADMIN (qemu_priv.h).
 */
struct qchild;
int qproc_spawn_fds(char *const argv[], const char *logpath, const sigset_t *child_mask,
    const struct qchild *qc, pid_t *pid, int *pidfd, char *err, size_t errlen);

/* pidfd_open(2); -errno on failure (e.g. -ESRCH). */
int qproc_pidfd_open(pid_t pid);
/* Signal through the pidfd (no PID reuse race); falls back to kill(2). */
int qproc_signal(pid_t pid, int pidfd, int sig);
/*
 * waitpid(WNOHANG). Returns 1 with *status filled when reaped, 0 if still
 * running, -ECHILD if not our child (an adopted QEMU).
 */
int qproc_reap(pid_t pid, int *status);
/* "exit 0", "signal 9" for a wait status. */
void qproc_describe(int status, char *buf, size_t len);

/*
 * The last max bytes of path written at or after offset from (the log
 * size when this QEMU was spawned: earlier runs' lines are not its words),
 * starting at a line boundary, trailing whitespace trimmed; NULL when
 * unreadable or empty. Newly allocated.
 */
char *qproc_log_tail(const char *path, off_t from, size_t max);
/* Current size of path (0 if missing). */
off_t qproc_log_size(const char *path);

/*
 * For adoption: true when /proc/PID/cmdline has "-name" followed by name
 * (or "name,...").
 */
bool qproc_cmdline_has_name(pid_t pid, const char *name);
/* How long ago pid started (ms), from /proc; 0 or -errno. For adoption. */
int qproc_age_ms(pid_t pid, uint64_t *age);
/* Reads a decimal pid from path; 0 or -errno. */
int qproc_read_pidfile(const char *path, pid_t *pid);
#endif
