/*
 * Least privilege for QEMU (issue 6): the user it runs as, the files that
 * user needs, and shedding every privilege in the forked child before exec.
 *
 *   parent: qpriv_resolve()  -> struct qpriv (user, groups, an empty cap set)
 *           qpriv_prepare()  -> run_dir, console log, disks usable by that user
 *   child:  qpriv_drop()     -> bounding set cleared, setgroups/setgid/setuid,
 *                               no capabilities, no_new_privs
 *
 * Only a root daemon can switch users. An unprivileged daemon (`make demo`)
 * runs QEMU as itself, still without capabilities and with no_new_privs.
 */
#ifndef VMS_QEMU_PRIV_H
#define VMS_QEMU_PRIV_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "hw/hw.h"

/*
 * Users and groups (issue 12). By default every VM's QEMU runs as its own
 * uid and gid from the configured uid_range (runas = "dynamic", no passwd
 * entry), so that one compromised QEMU cannot open another VM's disks.
 * QPRIV_QEMU_GROUP (made by `make install`) is the group every QEMU user
 * shares for run_dir; QPRIV_STATUS_GROUP may read the daemon's status and
 * is never given to a QEMU user. QPRIV_DEFAULT_USER is the shared user of
 * releases before per-VM uids, still usable with runas = "vmservice".
 */
#define QPRIV_DEFAULT_USER	"vmservice"
#define QPRIV_QEMU_GROUP	"vmservice"
#define QPRIV_STATUS_GROUP	"vmservice-status"
#define QPRIV_DYNAMIC		"dynamic"
#define QPRIV_KVM_GROUP		"kvm"

struct qpriv {
	char	 qp_user[64];	/* for messages */
	bool	 qp_switch;	/* setgroups/setgid/setuid in the child */
	uid_t	 qp_uid;
	gid_t	 qp_gid;
	gid_t	*qp_groups;	/* supplementary groups, incl. qp_run_gid */
	size_t	 qp_n_groups;
	gid_t	 qp_run_gid;	/* group that may search log_dir (QEMU's chardev logs) */
	void	*qp_caps;	/* cap_t: the empty set, made before fork */
	bool	 qp_setpcap;	/* we may clear the bounding set */
};

/*
 * Who QEMU runs as: user (a VM's runas) or NULL for QPRIV_DEFAULT_USER.
 * The daemon goes through vmpriv_resolve() (service/vmpriv.h), which maps
 * the default, runas = "dynamic", to qpriv_resolve_ids() instead.
 * A root daemon resolves the user; a missing user is an error, the
 * default one too (fail closed: never root unless runas says "root").
 * A non-root daemon can only run QEMU as itself: an
 * explicit other user is an error. Returns 0 or -errno with err filled.
 */
int qpriv_resolve(const char *user, struct qpriv *p, char *err, size_t errlen);

/*
 * A VM's own uid and gid without a passwd entry (runas = "dynamic"); label
 * names it in messages ("vm-NAME"). Supplementary groups: kvm if it exists
 * (for /dev/kvm) and run_gid, the group every QEMU user shares for run_dir
 * (qp_run_gid); never QPRIV_STATUS_GROUP. A non-root daemon runs QEMU as
 * itself, as with the default user. 0 or -errno.
 */
int qpriv_resolve_ids(const char *label, uid_t uid, gid_t gid, gid_t run_gid,
    struct qpriv *p, char *err, size_t errlen);

/*
 * Make g the run_dir group of p (qp_run_gid) and one of its groups: every
 * QEMU user must share the one group run_dir has, whatever its runas.
 */
void qpriv_set_run_gid(struct qpriv *p, gid_t g);

/* The gid of group name, if it exists. */
bool qpriv_group(const char *name, gid_t *gid);
void qpriv_free(struct qpriv *p);

/*
 * Make what QEMU opens itself usable by p's user, without ever following a
 * symlink into a chown: run_dir (searchable, never writable: the daemon
 * binds QEMU's sockets there, qpriv_close_run_dir); what argv (the
 * QEMU command line) has QEMU create directly in run_dir or log_dir: the
 * pidfile (made for the user), stale sockets (removed), chardev logfiles
 * (made for the user); and the disks. A writable disk that is a regular
 * file of the daemon's with a single link gets the user as owner (another
 * user's file, or a hard link, is an error); a disk that is a symlink must
 * point somewhere the user may already write (read, for read-only media),
 * else it is refused. Returns 0 or -errno
 * with a message naming the VM's file in err. A no-op without qp_switch.
 */
int qpriv_prepare(const struct qpriv *p, const struct hw_vm *vm, char *const argv[],
    const char *run_dir, const char *log_dir, char *err, size_t errlen);

/*
 * run_dir must be the daemon's (its owner) and writable by nobody else,
 * since the daemon connects to the sockets in it: group and other write
 * and the sticky bit an earlier version set are cleared, search kept.
 * 0 or -errno with err filled.
 */
int qpriv_close_run_dir(const char *run_dir, char *err, size_t errlen);

/*
 * In the forked child, right before exec: no allocation (the cap set was
 * made by qpriv_resolve). Returns 0, or -errno with *step naming what
 * failed ("setuid", ...).
 */
int qpriv_drop(const struct qpriv *p, const char **step);

/* May p's user open path with mode (R_OK, W_OK, X_OK bits), by mode bits? */
bool qpriv_may(const struct qpriv *p, const char *path, int mode);
#endif
