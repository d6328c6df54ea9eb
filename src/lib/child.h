/*
 * What a child of the daemon inherits (issue 12): QEMU, ifup and ifdown
 * scripts all go through child_clean() between fork and exec, and exec with
 * an environment built from CHILD_PATH, never the daemon's own. The daemon
 * may have been started from any shell: an fd that shell held (say, to
 * /etc/shadow), NOTIFY_SOCKET (which would let a child speak to systemd as
 * the service), its cwd or its umask must not reach a QEMU that a guest may
 * take over, nor a script.
 */
#ifndef VMS_CHILD_H
#define VMS_CHILD_H
#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

/* The only PATH a child gets: the FHS directories, nothing of the caller's. */
#define CHILD_PATH	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* umask for QEMU: what it creates (sockets, files) is its user's alone. */
#define CHILD_UMASK_QEMU	077
/* umask for scripts: the usual one of root's services, as an admin expects. */
#define CHILD_UMASK_SCRIPT	022

/* The environment of a child that needs nothing more: { CHILD_PATH, NULL }. */
char *const *child_env(void);

/*
 * In a forked child, stdio already in place, before exec; async-signal-safe
 * only. Closes every fd above 2 except the n_keep in keep (those stay open,
 * made close-on-exec: child_pass() hands them over), resets every ignored
 * signal to its default (SIG_IGN survives exec) and the signal mask to
 * sigmask (NULL: empty), chdir("/"), umask(mask). 0 or -errno (the first
 * failure; the child should then _exit).
 */
int child_clean(const int *keep, size_t n_keep, mode_t mask, const sigset_t *sigmask);
/* Clear close-on-exec on each of keep: exec passes exactly these. 0 or -errno. */
int child_pass(const int *keep, size_t n_keep);
/*
 * For a daemon's main() before it opens anything: every fd above stderr
 * that the caller left open goes (a shell's fd to /etc/shadow must not live
 * on in a root daemon, nor reach its children by some path). 0 or -errno.
 */
int child_close_inherited(void);
/* "exit 0", "signal 9" for a wait status. */
void child_describe(int status, char *buf, size_t len);
#endif
