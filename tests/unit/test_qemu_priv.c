/*
 * qemu_priv without QEMU: resolving users, permission checks by mode bits,
 * and what qpriv_prepare() may touch (only run_dir/log_dir files the argv
 * names; never a path from elsewhere, never through a symlink). As root
 * only (switching users needs it); `nobody` stands in for the QEMU user.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qemu/qemu_priv.h"
#include "tap.h"

static char top[] = "/tmp/test_qemu_priv.XXXXXX";

static char *
path(const char *name)
{
	static char buf[8][256];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", top, name);
	return buf[i];
}

static void
touch(const char *p, mode_t mode)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);

	if (fd >= 0) {
		if (write(fd, "data", 4) != 4)
			perror("write");
		fchmod(fd, mode);
		close(fd);
	}
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p) == 0 ? 0 : -1;
}

static uid_t
owner(const char *p)
{
	struct stat st;

	return lstat(p, &st) == 0 ? st.st_uid : (uid_t)-1;
}

int
main(void)
{
	struct hw_disk disks[2] = { { .dk_file = NULL }, { .dk_file = NULL } };
	struct hw_vm vm = { .vm_name = "t", .vm_disks = disks, .vm_n_disks = 1 };
	struct passwd *nob = getpwnam("nobody");
	struct qpriv p;
	char err[512];
	int e;

	if (geteuid() != 0 || !nob) {
		printf("ok - qemu_priv # SKIP needs root and user nobody\n");
		return 0;
	}
	uid_t nob_uid = nob->pw_uid;
	gid_t nob_gid = nob->pw_gid;
	if (!mkdtemp(top))
		return 1;
	chmod(top, 0711);

	/* ---- resolving ---- */
	e = qpriv_resolve("no-such-user-qpriv", &p, err, sizeof(err));
	OK(e == -ENOENT && strstr(err, "no-such-user-qpriv"), "unknown runas user: %s", err);
	e = qpriv_resolve("root", &p, err, sizeof(err));
	OK(e == 0 && !p.qp_switch && p.qp_uid == 0, "runas root: no switch");
	qpriv_free(&p);
	e = qpriv_resolve(NULL, &p, err, sizeof(err));
	if (getpwnam(QPRIV_DEFAULT_USER)) {
		OK(e == 0 && p.qp_switch && strcmp(p.qp_user, QPRIV_DEFAULT_USER) == 0,
		    "default is vmservice");
		qpriv_free(&p);
	} else {
		/* Fail closed: never root by default. */
		OK(e == -ENOENT && strstr(err, "runas vmservice (the default)") &&
		    strstr(err, "make install") && strstr(err, "runas = \"root\""),
		    "missing default user: refused (%s)", err);
	}
	e = qpriv_resolve("nobody", &p, err, sizeof(err));
	OK(e == 0 && p.qp_switch && p.qp_uid == nob_uid && p.qp_gid == nob_gid,
	    "runas nobody: uid %u gid %u", (unsigned)p.qp_uid, (unsigned)p.qp_gid);
	bool has_run = false;
	for (size_t i = 0; i < p.qp_n_groups; i++)
		has_run |= p.qp_groups[i] == p.qp_run_gid;
	OK(has_run, "the run_dir group is among its groups");

	/* Per-VM ids (issue 12): no passwd entry, its own gid, the shared run gid. */
	struct qpriv q;
	gid_t kvm, sg;
	bool has_own = false, has_shared = false, has_kvm = false, has_status = false;
	bool kvm_exists = qpriv_group(QPRIV_KVM_GROUP, &kvm);
	bool sg_exists = qpriv_group(QPRIV_STATUS_GROUP, &sg);

	e = qpriv_resolve_ids("vm-t", 60601, 60601, 60600, &q, err, sizeof(err));
	OK(e == 0 && q.qp_switch && q.qp_uid == 60601 && q.qp_gid == 60601 &&
	    q.qp_run_gid == 60600, "dynamic ids: uid/gid 60601, run gid 60600 (%s)", err);
	for (size_t i = 0; e == 0 && i < q.qp_n_groups; i++) {
		has_own |= q.qp_groups[i] == 60601;
		has_shared |= q.qp_groups[i] == 60600;
		has_kvm |= kvm_exists && q.qp_groups[i] == kvm;
		has_status |= sg_exists && q.qp_groups[i] == sg;
	}
	OK(has_own && has_shared, "groups: its own and the shared run gid");
	OK(has_kvm == kvm_exists, "kvm among them exactly when the group exists");
	OK(!has_status, "never the status group");
	OK(strstr(q.qp_user, "vm-t") && strstr(q.qp_user, "60601"), "named in messages: %s",
	    q.qp_user);
	if (e == 0)
		qpriv_free(&q);
	OK(qpriv_resolve_ids("vm-t", 0, 60601, 60600, &q, err, sizeof(err)) == -EINVAL,
	    "uid 0 is no QEMU user");
	/* Every QEMU user shares one run gid, whatever its runas. */
	qpriv_set_run_gid(&p, 60600);
	has_run = false;
	for (size_t i = 0; i < p.qp_n_groups; i++)
		has_run |= p.qp_groups[i] == 60600;
	OK(p.qp_run_gid == 60600 && has_run, "a named user takes the shared run gid");

	/* ---- mode-bit checks ---- */
	mkdir(path("open"), 0755);
	mkdir(path("closed"), 0700);
	touch(path("open/ro"), 0644);
	touch(path("open/rw"), 0666);
	touch(path("closed/rw"), 0666);
	OK(qpriv_may(&p, path("open/ro"), R_OK), "may read a 0644 file");
	OK(!qpriv_may(&p, path("open/ro"), W_OK), "may not write a 0644 root file");
	OK(qpriv_may(&p, path("open/rw"), R_OK | W_OK), "may write a 0666 file");
	OK(!qpriv_may(&p, path("closed/rw"), R_OK), "0666 behind a 0700 dir: no");
	OK(!qpriv_may(&p, path("open/none"), R_OK), "missing file: no");

	/* ---- prepare: run_dir/log_dir files from argv, and nothing else ---- */
	mkdir(path("run"), 0755);
	chmod(path("run"), 01771);	/* as an earlier version left it (issue 12) */
	mkdir(path("log"), 0750);
	touch(path("victim"), 0644);
	touch(path("victim2"), 0644);
	symlink(path("victim"), path("run/t.pid"));
	touch(path("run/t.qmp"), 0644);	/* a stale "socket" */
	touch(path("disk.img"), 0600);
	free(disks[0].dk_file);
	disks[0].dk_file = strdup(path("disk.img"));
	char pidf[256], qmp[300], ser[600], evil[600], evil2[300];
	snprintf(pidf, sizeof(pidf), "%s", path("run/t.pid"));
	snprintf(qmp, sizeof(qmp), "socket,id=qmp,path=%s,server=on,wait=off", path("run/t.qmp"));
	snprintf(ser, sizeof(ser), "socket,id=s,path=%s,server=on,logfile=%s,logappend=on",
	    path("run/t.serial"), path("log/t,,x.log"));
	snprintf(evil, sizeof(evil), "socket,id=e,path=%s,server=on,logfile=%s",
	    path("victim"), path("victim2"));
	snprintf(evil2, sizeof(evil2), "file,id=f,path=%s/../victim", path("run"));
	char *argv[] = { "qemu", "-pidfile", pidf, "-chardev", qmp, "-chardev", ser,
	    "-chardev", evil, "-chardev", evil2, NULL };
	e = qpriv_prepare(&p, &vm, argv, path("run"), path("log"), err, sizeof(err));
	OK(e == 0, "prepare: %s", e ? err : "ok");
	struct stat st;
	OK(lstat(path("run"), &st) == 0 && (st.st_mode & 07022) == 0 &&
	    (st.st_mode & 0001) && st.st_uid == geteuid(),
	    "run_dir: the daemon's, searchable, writable by nobody else (%o)",
	    (unsigned)st.st_mode & 07777);
	OK(lstat(path("log"), &st) == 0 && (st.st_mode & 07777) == 0710 &&
	    st.st_gid == p.qp_run_gid, "log_dir: 0710, search only for the QEMU group");
	OK(lstat(pidf, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == p.qp_uid,
	    "a planted pidfile symlink replaced by a file of the user");
	OK(owner(path("victim")) == 0 && access(path("victim"), F_OK) == 0,
	    "its target untouched");
	OK(access(path("run/t.qmp"), F_OK) == -1, "stale socket path in run_dir removed");
	OK(owner(path("log/t,x.log")) == p.qp_uid, "chardev logfile made for the user (,, unescaped)");
	OK(owner(path("victim2")) == 0, "a logfile outside log_dir is not chowned");
	OK(owner(disks[0].dk_file) == p.qp_uid, "a writable regular disk is given to the user");

	/* ---- run_dir must be the daemon's own (issue 12) ---- */
	mkdir(path("run2"), 0755);
	e = chown(path("run2"), p.qp_uid, p.qp_gid);
	e = e ? -errno : qpriv_close_run_dir(path("run2"), err, sizeof(err));
	OK(e == -EPERM && strstr(err, "its sockets would be another user's to replace"),
	    "a run_dir of another user is refused: %s", err);
	symlink(path("run"), path("run3"));
	e = qpriv_close_run_dir(path("run3"), err, sizeof(err));
	OK(e == -ENOTDIR && strstr(err, "is a symlink"), "a symlinked run_dir is refused: %s", err);

	/* ---- disks that may not be given ---- */
	touch(path("closed/root.img"), 0600);
	symlink(path("closed/root.img"), path("link.img"));
	free(disks[0].dk_file);
	disks[0].dk_file = strdup(path("link.img"));
	e = qpriv_prepare(&p, &vm, argv, path("run"), path("log"), err, sizeof(err));
	OK(e == -EACCES && strstr(err, "is a symlink to") && strstr(err, "closed is mode 0700"),
	    "symlink to a place the user may not write: %s", err);
	OK(owner(path("closed/root.img")) == 0, "and its target not chowned");
	free(disks[0].dk_file);
	disks[0].dk_file = strdup(path("open/ro"));
	disks[0].dk_readonly = true;
	e = qpriv_prepare(&p, &vm, argv, path("run"), path("log"), err, sizeof(err));
	OK(e == 0, "a read-only disk the user may read is fine");
	touch(path("open/secret"), 0600);
	free(disks[0].dk_file);
	disks[0].dk_file = strdup(path("open/secret"));
	e = qpriv_prepare(&p, &vm, argv, path("run"), path("log"), err, sizeof(err));
	OK(e == -EACCES && owner(path("open/secret")) == 0,
	    "a read-only disk it may not read: refused, not chowned (%s)", err);
	disks[0].dk_readonly = false;
	free(disks[0].dk_file);
	disks[0].dk_file = strdup(path("closed/rw"));
	e = qpriv_prepare(&p, &vm, argv, path("run"), path("log"), err, sizeof(err));
	OK(e == -EACCES && strstr(err, "cannot reach"), "a disk behind a closed dir: %s", err);
	touch(path("open/orig"), 0600);
	if (link(path("open/orig"), path("open/hard.img")) == -1)
		perror("link");
	free(disks[0].dk_file);
	disks[0].dk_file = strdup(path("open/hard.img"));
	e = qpriv_prepare(&p, &vm, argv, path("run"), path("log"), err, sizeof(err));
	OK(e == -EACCES && strstr(err, "hard links") && owner(path("open/orig")) == 0,
	    "a hard-linked disk is not chowned: %s", err);
	touch(path("open/alice.img"), 0600);
	if (chown(path("open/alice.img"), 1234, 1234) == -1)
		perror("chown");
	free(disks[0].dk_file);
	disks[0].dk_file = strdup(path("open/alice.img"));
	e = qpriv_prepare(&p, &vm, argv, path("run"), path("log"), err, sizeof(err));
	OK(e == -EACCES && strstr(err, "another user") && owner(path("open/alice.img")) == 1234,
	    "another user's disk is not taken from them: %s", err);
	qpriv_free(&p);

	free(disks[0].dk_file);
	nftw(top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return TAP_DONE();
}
