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
 * child_mask (the daemon blocks signals for its signalfd). It inherits
 * nothing else of the daemon (child_clean(), common/child.h): no other fd,
 * an environment of CHILD_PATH alone, cwd "/", umask CHILD_UMASK_QEMU. On
 * success returns 0 with *pid and *pidfd (close-on-exec) set. A failing
 * exec is reported by the child in logpath and as exit status 127.
 */
int qproc_spawn(char *const argv[], const char *logpath, const sigset_t *child_mask,
    pid_t *pid, int *pidfd, char *err, size_t errlen);

/*
 * qproc_spawn for a VM. In the child, before exec: every fd but qc's
 * qc_keep closed, then qchild_prepare(qc) (ifup scripts, the kept fds
 * passed on, CAP_NET_ADMIN dropped: qemu_child.h), then the
 * privileges priv says are shed (qemu_priv.h; a failure there is reported
 * in logpath, exit 126). qc and priv may be NULL.
 */
struct qchild;
struct qpriv;
int qproc_spawn_vm(char *const argv[], const char *logpath, const sigset_t *child_mask,
    const struct qchild *qc, const struct qpriv *priv, pid_t *pid, int *pidfd,
    char *err, size_t errlen);

/* pidfd_open(2); -errno on failure (e.g. -ESRCH). */
int qproc_pidfd_open(pid_t pid);
/* Signal through the pidfd (no PID reuse race); falls back to kill(2). */
int qproc_signal(pid_t pid, int pidfd, int sig);
/*
 * waitpid(WNOHANG). Returns 1 with *status filled when reaped, 0 if still
 * running, -ECHILD if not our child (an adopted QEMU).
 */
int qproc_reap(pid_t pid, int *status);

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
 * Who a VM's QEMU is, for adoption (issue 6): the emulator and the exact
 * -name and -pidfile arguments qemu_argv() writes for it. The strings
 * point into the argv they were taken from.
 */
struct qproc_ident {
	const char	*qi_exe;	/* argv[0] */
	const char	*qi_name;	/* the argument after -name */
	const char	*qi_pidfile;	/* the argument after -pidfile */
};

/* Fill id from a QEMU argv; -EINVAL when -name or -pidfile is missing. */
int qproc_ident_from_argv(char *const argv[], struct qproc_ident *id);
/*
 * True when link (what /proc/PID/exe reads) is the emulator at path:
 * path with its symlinks resolved, or that followed by " (deleted)" (the
 * binary was upgraded while QEMU runs). A path that no longer exists is
 * compared by its resolved directory.
 */
bool qproc_exe_matches(const char *link, const char *path);
/*
 * 0 when pid is alive, /proc/PID/exe is id's emulator and /proc/PID/cmdline
 * carries id's -name and -pidfile; else -ESRCH (gone), -EPERM (another
 * program or VM) or -errno, with the reason in why.
 */
int qproc_check_ident(pid_t pid, const struct qproc_ident *id, char *why, size_t len);

/*
 * Open (O_NOFOLLOW, created 0600) and flock path exclusively without
 * waiting. A file there that is not ours (another owner, not a regular
 * file) is replaced. 0 with *fd (close-on-exec) set, -EWOULDBLOCK when
 * someone holds it, -errno otherwise.
 */
int qproc_lock(const char *path, int *fd);
/* pid's command line (/proc/PID/cmdline), one word each, pushed onto out. 0 or -errno. */
struct strv;
int qproc_cmdline(pid_t pid, struct strv *out);
/* What /proc/PID/exe reads (as pid's user when root may not look). 0 or -errno. */
int qproc_exe(pid_t pid, char *buf, size_t len);
/* The same for another link of /proc/PID: what = "fd/3", "cwd". 0 or -errno. */
int qproc_link(pid_t pid, const char *what, char *buf, size_t len);
/* The real uid and gid of pid (/proc/PID/status). 0 or -errno. */
int qproc_ids(pid_t pid, uid_t *uid, gid_t *gid);
/* How long ago pid started (ms), from /proc; 0 or -errno. For adoption. */
int qproc_age_ms(pid_t pid, uint64_t *age);
/* Reads a decimal pid from path; 0 or -errno. */
int qproc_read_pidfile(const char *path, pid_t *pid);
#endif
