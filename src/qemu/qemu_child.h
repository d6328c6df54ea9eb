/*
 * What a QEMU child does between fork and exec besides redirecting stdio:
 * run the VM's ifup scripts (so the daemon's loop never waits for them),
 * hand over the daemon-opened tap and vhost fds, and lose CAP_NET_ADMIN.
 */
#ifndef VMS_QEMU_CHILD_H
#define VMS_QEMU_CHILD_H
#include <stddef.h>

struct qchild_cmd {
	char *const	*cc_argv;	/* argv[0] is an absolute path */
	char *const	*cc_envp;	/* its whole environment; NULL: child_env() */
	const char	*cc_what;	/* "nic 0: script /etc/ifup vms-web-0", for messages */
};

struct qchild {
	const int		*qc_keep;	/* fds QEMU inherits; every other one is closed */
	size_t			 qc_n_keep;
	const struct qchild_cmd	*qc_cmds;	/* run in order before exec */
	size_t			 qc_n_cmds;
	unsigned		 qc_timeout_ms;	/* per command; then SIGKILL */
	const char *const	*qc_dirs;	/* directories QEMU reads (a nic's tftp) */
	int			 qc_gate;	/* read a byte from it before anything (the VM's
						   scope is made, vmd/machine.h); 0 or -1: none
						   (0 is /dev/null in the child).
						   It must be one of qc_keep. */
	size_t			 qc_n_dirs;
};

/* Exit status of a child whose command failed (its message is on stderr). */
#define QCHILD_CMD_FAILED	125

/*
 * In the forked child, stdio already redirected and child_clean() done
 * (only the kept fds open, still close-on-exec, cwd "/"): run each command
 * (stdin, stdout, stderr inherited, umask CHILD_UMASK_SCRIPT, environment
 * cc_envp, in a process group of its own, killed whole at the timeout;
 * stops at the first failure, writing "vmserviced: WHAT failed (exit N)" to
 * stderr and _exit(QCHILD_CMD_FAILED)), then pass the kept fds on
 * (child_pass) and drop CAP_NET_ADMIN. Only async-signal-safe calls. qc may
 * be NULL.
 */
void qchild_prepare(const struct qchild *qc);
/*
 * In the child, after the privileges are dropped: can QEMU's user read and
 * search each of qc_dirs (access(2), ACLs included)? QEMU itself would not
 * say: its TFTP server would just answer the guest with errors. On the
 * first that it cannot: "vmserviced: tftp directory DIR: ERROR (as the VM's
 * QEMU user)" to stderr and _exit(QCHILD_CMD_FAILED). qc may be NULL.
 */
void qchild_check_dirs(const struct qchild *qc);
#endif
