/* Running QEMU as an unprivileged user with no capabilities. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/safe_path.h"
#include "lib/util.h"
#include "qemu/qemu_priv.h"

#ifndef SECBIT_NOROOT
#define SECBIT_NOROOT		(1 << 0)
#define SECBIT_NOROOT_LOCKED	(1 << 1)
#endif

static bool in_groups(const struct qpriv *p, gid_t g);

static void
note_self(struct qpriv *p)
{
	struct passwd pw, *res = NULL;
	char buf[1024];

	p->qp_uid = geteuid();
	p->qp_gid = getegid();
	if (getpwuid_r(p->qp_uid, &pw, buf, sizeof(buf), &res) == 0 && res)
		snprintf(p->qp_user, sizeof(p->qp_user), "%s", res->pw_name);
	else
		snprintf(p->qp_user, sizeof(p->qp_user), "%u", (unsigned)p->qp_uid);
}

/* Does group name exist? Its gid in *gid. */
static bool
group_gid(const char *name, gid_t *gid)
{
	struct group gr, *res = NULL;
	char buf[4096];

	if (getgrnam_r(name, &gr, buf, sizeof(buf), &res) != 0 || !res)
		return false;
	*gid = res->gr_gid;
	return true;
}

/* The group run_dir gets: `vmservice` if it exists, else the user's own. */
static gid_t
run_group(gid_t user_gid)
{
	gid_t g;

	return group_gid(QPRIV_QEMU_GROUP, &g) ? g : user_gid;
}

/*
 * The status readers' group is never a QEMU's (issue 12): whoever holds
 * it may talk to the control socket. Dropped from the supplementary
 * groups; as the primary group it is an error.
 */
static int
shed_status_group(struct qpriv *p, char *err, size_t errlen)
{
	gid_t sg;
	size_t i, n = 0;

	if (!group_gid(QPRIV_STATUS_GROUP, &sg))
		return 0;
	if (p->qp_gid == sg) {
		snprintf(err, errlen, "runas %s: its group is %s, the group that may read "
		    "vmserviced's status; QEMU may not run in it", p->qp_user, QPRIV_STATUS_GROUP);
		return -EPERM;
	}
	for (i = 0; i < p->qp_n_groups; i++)
		if (p->qp_groups[i] != sg)
			p->qp_groups[n++] = p->qp_groups[i];
	p->qp_n_groups = n;
	return 0;
}

static int
resolve_groups(struct qpriv *p, const char *name, char *err, size_t errlen)
{
	int n = 32;
	gid_t *g = NULL;

	for (;;) {
		int want = n;

		g = xrealloc(g, (size_t)(n + 1) * sizeof(*g));
		if (getgrouplist(name, p->qp_gid, g, &n) != -1)
			break;
		if (n <= want) {
			free(g);
			snprintf(err, errlen, "runas %s: cannot list its groups", name);
			return -EINVAL;
		}
	}
	p->qp_run_gid = run_group(p->qp_gid);
	for (int i = 0; i < n; i++)
		if (g[i] == p->qp_run_gid)
			goto done;
	g[n++] = p->qp_run_gid;
done:
	p->qp_groups = g;
	p->qp_n_groups = (size_t)n;
	return shed_status_group(p, err, errlen);
}

/* p zeroed, with the empty capability set QEMU gets, made before fork. */
static int
caps_init(struct qpriv *p, char *err, size_t errlen)
{
	cap_flag_value_t setpcap = CAP_CLEAR;
	cap_t now;

	memset(p, 0, sizeof(*p));
	p->qp_caps = cap_init();	/* all three sets empty */
	if (!p->qp_caps) {
		snprintf(err, errlen, "cap_init: %s", strerror(errno));
		return -ENOMEM;
	}
	if ((now = cap_get_proc()) != NULL) {
		cap_get_flag(now, CAP_SETPCAP, CAP_EFFECTIVE, &setpcap);
		cap_free(now);
	}
	p->qp_setpcap = setpcap == CAP_SET;
	return 0;
}

void
qpriv_set_run_gid(struct qpriv *p, gid_t g)
{
	if (!p->qp_switch)
		return;
	p->qp_run_gid = g;
	if (in_groups(p, g))
		return;
	p->qp_groups = xrealloc(p->qp_groups, (p->qp_n_groups + 1) * sizeof(*p->qp_groups));
	p->qp_groups[p->qp_n_groups++] = g;
}

bool
qpriv_group(const char *name, gid_t *gid)
{
	return group_gid(name, gid);
}

int
qpriv_resolve_ids(const char *label, uid_t uid, gid_t gid, gid_t run_gid,
    struct qpriv *p, char *err, size_t errlen)
{
	gid_t kvm;
	int e;

	if ((e = caps_init(p, err, errlen)))
		return e;
	if (geteuid() != 0) {
		note_self(p);	/* as with the default user: QEMU runs as us */
		return 0;
	}
	if (uid == 0 || gid == 0) {
		snprintf(err, errlen, "%s: uid %u gid %u: not a QEMU user", label,
		    (unsigned)uid, (unsigned)gid);
		qpriv_free(p);
		return -EINVAL;
	}
	snprintf(p->qp_user, sizeof(p->qp_user), "%s (uid %u)", label, (unsigned)uid);
	p->qp_uid = uid;
	p->qp_gid = gid;
	p->qp_switch = true;
	p->qp_run_gid = run_gid;
	p->qp_groups = xcalloc(3, sizeof(*p->qp_groups));
	p->qp_groups[p->qp_n_groups++] = gid;
	/* /dev/kvm is root:kvm 0660 on Debian: the one group a VM needs. */
	if (group_gid(QPRIV_KVM_GROUP, &kvm) && kvm != gid)
		p->qp_groups[p->qp_n_groups++] = kvm;
	else
		kvm = gid;
	if (p->qp_run_gid != gid && p->qp_run_gid != kvm)
		p->qp_groups[p->qp_n_groups++] = p->qp_run_gid;
	if ((e = shed_status_group(p, err, errlen))) {
		qpriv_free(p);
		return e;
	}
	return 0;
}

int
qpriv_resolve(const char *user, struct qpriv *p, char *err, size_t errlen)
{
	const char *name = user ? user : QPRIV_DEFAULT_USER;
	struct passwd pw, *res = NULL;
	char buf[4096];
	int e;

	if ((e = caps_init(p, err, errlen)))
		return e;
	e = getpwnam_r(name, &pw, buf, sizeof(buf), &res);
	if (geteuid() != 0) {
		/* Only root may become someone else. */
		note_self(p);
		if (user && (!res || res->pw_uid != p->qp_uid)) {
			snprintf(err, errlen, "runas %s: vmserviced runs as %s, not root, and "
			    "cannot start QEMU as another user", user, p->qp_user);
			qpriv_free(p);
			return -EPERM;
		}
		return 0;
	}
	if (!res) {
		if (user) {
			snprintf(err, errlen, "runas %s: %s", user,
			    e ? strerror(e) : "no such user");
			qpriv_free(p);
			return e ? -e : -ENOENT;
		}
		/*
		 * Fail closed: without its dedicated user QEMU would run as
		 * root. That takes a `runas = "root"` in the configuration.
		 */
		snprintf(err, errlen, "runas %s (the default): %s; `make install` creates it, "
		    "or set runas = \"root\" to run QEMU as root (without capabilities)",
		    QPRIV_DEFAULT_USER, e ? strerror(e) : "no such user");
		qpriv_free(p);
		return e ? -e : -ENOENT;
	}
	snprintf(p->qp_user, sizeof(p->qp_user), "%s", res->pw_name);
	p->qp_uid = res->pw_uid;
	p->qp_gid = res->pw_gid;
	/* runas = root: no switch, but still no capabilities. */
	p->qp_switch = p->qp_uid != 0;
	if (!p->qp_switch)
		return 0;
	if ((e = resolve_groups(p, res->pw_name, err, errlen))) {
		qpriv_free(p);
		return e;
	}
	return 0;
}

void
qpriv_free(struct qpriv *p)
{
	if (p->qp_caps)
		cap_free(p->qp_caps);
	free(p->qp_groups);
	memset(p, 0, sizeof(*p));
}

/* ---- permission checks, by mode bits ---- */

static bool
in_groups(const struct qpriv *p, gid_t g)
{
	if (g == p->qp_gid)
		return true;
	for (size_t i = 0; i < p->qp_n_groups; i++)
		if (p->qp_groups[i] == g)
			return true;
	return false;
}

static bool
mode_allows(const struct qpriv *p, const struct stat *st, int mode)
{
	unsigned shift = st->st_uid == p->qp_uid ? 6 : in_groups(p, st->st_gid) ? 3 : 0;
	unsigned bits = (st->st_mode >> shift) & 7;

	return ((mode & R_OK) == 0 || (bits & 4)) && ((mode & W_OK) == 0 || (bits & 2)) &&
	    ((mode & X_OK) == 0 || (bits & 1));
}

bool
qpriv_may(const struct qpriv *p, const char *path, int mode)
{
	char real[PATH_MAX], *s;
	struct stat st;

	if (p->qp_uid == 0)
		return true;
	if (!realpath(path, real))
		return false;
	/* Every directory on the way must be searchable. */
	for (s = strchr(real + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		bool ok = stat(real, &st) == 0 && mode_allows(p, &st, X_OK);
		*s = '/';
		if (!ok)
			return false;
	}
	if (stat("/", &st) != 0 || !mode_allows(p, &st, X_OK))
		return false;
	return stat(real, &st) == 0 && mode_allows(p, &st, mode);
}

/* The first directory on path's way that p's user may not search, or "". */
static void
blocking_dir(const struct qpriv *p, const char *path, char *out, size_t len)
{
	char real[PATH_MAX], *s;
	struct stat st;

	*out = '\0';
	if (!realpath(path, real))
		return;
	for (s = strchr(real + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (stat(real, &st) == 0 && !mode_allows(p, &st, X_OK)) {
			snprintf(out, len, " (%s is mode %04o, owner %u)", real,
			    (unsigned)st.st_mode & 07777, (unsigned)st.st_uid);
			return;
		}
		*s = '/';
	}
}

/* ---- the files QEMU opens ---- */

/*
 * Give an existing non-symlink file to the user: opened with O_NOFOLLOW so
 * that a symlink swapped in meanwhile is never chowned. ENOENT is fine.
 */
static int
give(const struct qpriv *p, const char *path, bool create, mode_t mode, char *err,
    size_t errlen)
{
	struct stat st;
	int fd, e;

	errno = 0;
	fd = open(path, (create ? O_WRONLY | O_CREAT | O_APPEND : O_RDONLY) | O_NONBLOCK |
	    O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode);
	if (fd == -1) {
		e = errno;
		if (e == ENOENT && !create)
			return 0;
		snprintf(err, errlen, "%s: %s", path, e == ELOOP ?
		    "is a symlink; refusing to give it to the QEMU user" :
		    e == ENXIO ? "not a regular file" : strerror(e));
		return -e;
	}
	/*
	 * A second hard link may be planted (issue 12): chowning it would
	 * hand its other name, say another VM's disk, to this user.
	 */
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		e = errno;
		close(fd);
		snprintf(err, errlen, "%s: %s; refusing to give it to the QEMU user", path,
		    e ? strerror(e) : !S_ISREG(st.st_mode) ? "not a regular file" :
		    "it has other hard links");
		return e ? -e : -EPERM;
	}
	if (fchown(fd, p->qp_uid, p->qp_gid) == -1) {
		e = errno;
		close(fd);
		snprintf(err, errlen, "cannot give %s to %s: %s", path, p->qp_user, strerror(e));
		return -e;
	}
	close(fd);
	return 0;
}

/*
 * run_dir/NAME.pid, made by us for the user. QEMU opens it (following
 * symlinks) and truncates it, so nothing planted there by another member of
 * the group may survive; a regular file is kept, never unlinked, because
 * its lock is what stops a second QEMU. Once owned by the user, the sticky
 * bit keeps other group members from swapping it.
 */
static int
make_pidfile(const struct qpriv *p, const char *path, char *err, size_t errlen)
{
	struct stat st;

	/*
	 * A hard link (issue 12) is another file's name: unlinking it leaves
	 * that file alone, and no QEMU of this VM holds the old one (we hold
	 * the VM's lock).
	 */
	if (lstat(path, &st) == 0 && (!S_ISREG(st.st_mode) || st.st_nlink != 1) &&
	    unlink(path) == -1) {
		snprintf(err, errlen, "cannot remove %s: %s", path, strerror(errno));
		return -errno;
	}
	return give(p, path, true, 0644, err, errlen);
}

/*
 * Issue 12: run_dir holds the sockets the root daemon connects to, so no
 * QEMU user may create, rename or remove anything in it. QEMU only writes
 * its pidfile, made for it beforehand (make_pidfile), through search (x).
 */
int
qpriv_close_run_dir(const char *run_dir, char *err, size_t errlen)
{
	struct stat st;
	int e;

	if (lstat(run_dir, &st) == -1) {
		e = errno;
		snprintf(err, errlen, "run_dir %s: %s", run_dir, strerror(e));
		return -e;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "run_dir %s: %s", run_dir,
		    S_ISLNK(st.st_mode) ? "is a symlink" : "not a directory");
		return -ENOTDIR;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "run_dir %s belongs to uid %u, not to vmserviced (uid %u): "
		    "its sockets would be another user's to replace", run_dir,
		    (unsigned)st.st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	/*
	 * Earlier versions opened it to the QEMU group (01771). Search for
	 * all stays (each file's own mode decides), write goes.
	 */
	if ((st.st_mode & 07022) != 0 && chmod(run_dir, (st.st_mode & 0755) | 0011) == -1) {
		e = errno;
		snprintf(err, errlen, "cannot close run_dir %s to QEMU users: %s", run_dir,
		    strerror(e));
		return -e;
	}
	return 0;
}

/*
 * Give a disk to the user (issue 12): the path resolved by sp_open, so that
 * a directory on the way swapped for a link by a QEMU user (to /etc, say)
 * is refused, not followed into a chown; and what was opened is checked
 * again on the fd: still the daemon's regular file with one link.
 */
static int
give_disk(const struct qpriv *p, const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd, e;

	fd = sp_open(path, O_RDONLY | O_NONBLOCK, 0, err, errlen);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    st.st_nlink != 1) {
		snprintf(err, errlen, "disk %s changed while being given to %s", path,
		    p->qp_user);
		close(fd);
		return -EAGAIN;
	}
	if (fchown(fd, p->qp_uid, p->qp_gid) == -1) {
		e = errno;
		close(fd);
		snprintf(err, errlen, "cannot give %s to %s: %s", path, p->qp_user, strerror(e));
		return -e;
	}
	close(fd);
	return 0;
}

static int
prepare_run_dir(const struct qpriv *p, const char *run_dir, char *err, size_t errlen)
{
	char why[PATH_MAX + 64];
	int e;

	if ((e = qpriv_close_run_dir(run_dir, err, errlen)))
		return e;
	if (qpriv_may(p, run_dir, X_OK))
		return 0;
	blocking_dir(p, run_dir, why, sizeof(why));
	snprintf(err, errlen, "user %s cannot reach run_dir %s%s", p->qp_user, run_dir, why);
	return -EACCES;
}

static int
prepare_disk(const struct qpriv *p, const char *path, bool readonly, char *err,
    size_t errlen)
{
	int want = readonly ? R_OK : R_OK | W_OK;
	char real[PATH_MAX], why[PATH_MAX + 64];
	struct stat st;

	if (lstat(path, &st) == -1)
		return 0;	/* created later, or QEMU reports it */
	if (S_ISLNK(st.st_mode)) {
		/* Where it points is someone's decision, not ours to chown. */
		if (qpriv_may(p, path, want))
			return 0;
		if (!realpath(path, real))
			snprintf(real, sizeof(real), "(%s)", strerror(errno));
		blocking_dir(p, path, why, sizeof(why));
		snprintf(err, errlen, "disk %s is a symlink to %s, which user %s may not %s%s",
		    path, real, p->qp_user, readonly ? "read" : "write", why);
		return -EACCES;
	}
	if (!qpriv_may(p, path, 0)) {	/* only the way there */
		blocking_dir(p, path, why, sizeof(why));
		snprintf(err, errlen, "user %s cannot reach disk %s%s", p->qp_user, path, why);
		return -EACCES;
	}
	if (qpriv_may(p, path, want))
		return 0;
	if (readonly || !S_ISREG(st.st_mode)) {
		/* Shared media and devices are not ours to give away. */
		snprintf(err, errlen, "user %s may not %s %s", p->qp_user,
		    readonly ? "read" : "write", path);
		return -EACCES;
	}
	/*
	 * Only what is ours to give: a file of another user stays theirs, and
	 * a second hard link may be a sensitive file under a disk's name.
	 */
	if (st.st_uid != geteuid() || st.st_nlink != 1) {
		snprintf(err, errlen, "user %s may not write %s, and it is not the daemon's to "
		    "give (%s)", p->qp_user, path, st.st_nlink != 1 ? "it has other hard links" :
		    "owned by another user");
		return -EACCES;
	}
	if (give_disk(p, path, err, errlen))
		return -EACCES;
	if (!qpriv_may(p, path, want)) {
		snprintf(err, errlen, "disk %s is mode %04o: its owner %s may not write it",
		    path, (unsigned)st.st_mode & 07777, p->qp_user);
		return -EACCES;
	}
	return 0;
}

/*
 * QEMU opens its chardev logs (NAME.console.log) itself, so the user must be able to search
 * log_dir: our own 0750 directory gets group qp_run_gid with search only
 * (0710), which lets QEMU reach its files but not list or create any.
 */
static int
prepare_log_dir(const struct qpriv *p, const char *log_dir, char *err, size_t errlen)
{
	char why[PATH_MAX + 64];
	struct stat st;

	if (qpriv_may(p, log_dir, X_OK))
		return 0;
	if (lstat(log_dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
	    (st.st_mode & 0001) == 0 &&
	    (chown(log_dir, (uid_t)-1, p->qp_run_gid) == -1 ||
	    chmod(log_dir, (st.st_mode & 07707) | 0010) == -1)) {
		snprintf(err, errlen, "cannot open log_dir %s to group %u: %s", log_dir,
		    (unsigned)p->qp_run_gid, strerror(errno));
		return -errno;
	}
	if (qpriv_may(p, log_dir, X_OK))
		return 0;
	blocking_dir(p, log_dir, why, sizeof(why));
	snprintf(err, errlen, "user %s cannot reach log_dir %s%s", p->qp_user, log_dir, why);
	return -EACCES;
}

/* The value of key in a QEMU option string ("a=1,b=x,,y"), unescaped; or NULL. */
static char *
opt_value(const char *s, const char *key)
{
	size_t klen = strlen(key), n;
	char *buf = xmalloc(strlen(s) + 1);

	for (;;) {
		for (n = 0; *s && !(s[0] == ',' && s[1] != ','); n++)
			if (s[0] == ',') {	/* ",," is a literal comma */
				buf[n] = ',';
				s += 2;
			} else {
				buf[n] = *s++;
			}
		buf[n] = '\0';
		if (strncmp(buf, key, klen) == 0 && buf[klen] == '=') {
			memmove(buf, buf + klen + 1, n - klen);
			return buf;
		}
		if (!*s++)
			break;
	}
	free(buf);
	return NULL;
}

/* Is path directly inside dir (trailing slashes of dir ignored)? */
static bool
directly_in(const char *path, const char *dir)
{
	const char *slash = strrchr(path, '/');
	size_t dlen = strlen(dir);

	while (dlen > 1 && dir[dlen - 1] == '/')
		dlen--;
	return slash && (size_t)(slash - path) == dlen && strncmp(path, dir, dlen) == 0 &&
	    slash[1] != '\0';
}

/*
 * What QEMU itself creates, as the command line says: the pidfile, server
 * sockets and chardev logs. Only files directly in run_dir or log_dir are
 * touched, so that a path in extra_args can never make us unlink or chown
 * something elsewhere.
 */
static int
prepare_argv_files(const struct qpriv *p, char *const argv[], const char *run_dir,
    const char *log_dir, char *err, size_t errlen)
{
	char *v;
	int e = 0;

	for (size_t i = 1; !e && argv[i] && argv[i + 1]; i++) {
		const char *a = argv[i + 1];

		if (strcmp(argv[i], "-pidfile") == 0 && directly_in(a, run_dir)) {
			e = make_pidfile(p, a, err, errlen);
			continue;
		}
		if (strcmp(argv[i], "-chardev") != 0)
			continue;
		/*
		 * The VM is not running (we are spawning it): its old sockets
		 * are stale, and QEMU could not unlink ones it does not own.
		 */
		if ((v = opt_value(a, "path")) && directly_in(v, run_dir) &&
		    unlink(v) == -1 && errno != ENOENT) {
			e = -errno;
			snprintf(err, errlen, "cannot remove stale %s: %s", v, strerror(errno));
		}
		free(v);
		if (e)
			break;
		if ((v = opt_value(a, "logfile")) && directly_in(v, log_dir))
			e = give(p, v, true, 0640, err, errlen);
		free(v);
	}
	return e;
}

int
qpriv_prepare(const struct qpriv *p, const struct hw_vm *vm, char *const argv[],
    const char *run_dir, const char *log_dir, char *err, size_t errlen)
{
	int e;

	if (!p->qp_switch)
		return 0;
	if ((e = prepare_run_dir(p, run_dir, err, errlen)))
		return e;
	if ((e = prepare_log_dir(p, log_dir, err, errlen)))
		return e;
	if ((e = prepare_argv_files(p, argv, run_dir, log_dir, err, errlen)))
		return e;
	for (size_t i = 0; i < vm->vm_n_disks; i++) {
		const struct hw_disk *dk = &vm->vm_disks[i];

		if ((e = prepare_disk(p, dk->dk_file, dk->dk_readonly ||
		    dk->dk_media == HW_MEDIA_CDROM, err, errlen)))
			return e;
	}
	if (vm->vm_cdrom && (e = prepare_disk(p, vm->vm_cdrom, true, err, errlen)))
		return e;
	if (vm->vm_kernel && (e = prepare_disk(p, vm->vm_kernel, true, err, errlen)))
		return e;
	if (vm->vm_initrd && (e = prepare_disk(p, vm->vm_initrd, true, err, errlen)))
		return e;
	return 0;
}

/* ---- the child ---- */

int
qpriv_drop(const struct qpriv *p, const char **step)
{
	cap_value_t c, max = (cap_value_t)cap_max_bits();

	/*
	 * The bounding set first, while we may (CAP_SETPCAP): once it is
	 * empty, not even a root QEMU gets capabilities back at exec.
	 */
	for (c = 0; p->qp_setpcap && c < max; c++) {
		if (cap_get_bound(c) == 1 && cap_drop_bound(c) == -1) {
			*step = "clearing the capability bounding set";
			return -errno;
		}
	}
	if (p->qp_switch) {
		/* Groups before gid before uid: each needs the privilege the next drops. */
		if (setgroups(p->qp_n_groups, p->qp_groups) == -1) {
			*step = "setgroups";
			return -errno;
		}
		if (setgid(p->qp_gid) == -1) {
			*step = "setgid";
			return -errno;
		}
		if (setuid(p->qp_uid) == -1) {
			*step = "setuid";
			return -errno;
		}
		if (setuid(0) == 0) {
			*step = "setuid (root could be regained)";
			return -EPERM;
		}
	} else if (p->qp_setpcap) {
		/* Staying root: uid 0 must not mean capabilities at exec. */
		if (cap_set_secbits(SECBIT_NOROOT | SECBIT_NOROOT_LOCKED) == -1) {
			*step = "securebits";
			return -errno;
		}
	}
	if (cap_set_proc(p->qp_caps) == -1) {
		*step = "dropping capabilities";
		return -errno;
	}
	if (cap_reset_ambient() == -1 && errno != EINVAL) {
		*step = "clearing ambient capabilities";
		return -errno;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		*step = "no_new_privs";
		return -errno;
	}
	return 0;
}
