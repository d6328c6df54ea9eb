/* A VM's cloud-init seed, built by xorriso as a child of the loop: cidata.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/child.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/safe_path.h"
#include "config/vmpriv.h"
#include "qemu/qemu_priv.h"
#include "qemu/qemu_proc.h"
#include "qemu/seed_argv.h"
#include "vmd/cidata.h"
#include "vmd/daemon.h"

#define XORRISO		SEED_XORRISO

struct vm_cidata {
	pid_t	 cd_pid;	/* xorriso under way; 0: none */
	int	 cd_pidfd;
	uint64_t cd_timer;
	bool	 cd_timed_out;
	uint64_t cd_sum;	/* of the contents the image was built from */
	bool	 cd_have;	/* cd_sum is the image's */
	uint64_t cd_building;	/* the sum of the build under way */
	char	*cd_error;	/* the last build failed: why (taken by the next prepare) */
};

/* One of the three NoCloud files: user-data, meta-data, network-config. */
struct ci_file {
	char		*cf_data;
	size_t		 cf_len;
	bool		 cf_given;
};

static char *
path_of(struct daemon *d, const struct vm *vm, const char *sfx)
{
	return xasprintf("%s/%s.%s", d->inv.inv_run_dir, vm->vm_name, sfx);
}

/* FNV-1a: whether the files changed since the last build (no security rests on it). */
static uint64_t
fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 0x100000001b3ull;
	return h;
}

/*
 * The user's file: no symlink planted by another user on the way, a
 * regular file only (O_NONBLOCK: a FIFO there never holds the loop), at
 * most CIDATA_MAX_FILE. 0 or -errno with why.
 */
static int
read_file(const char *path, struct ci_file *f, char *why, size_t len)
{
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd = sp_open(path, O_RDONLY | O_NONBLOCK, 0, why, len), e = 0;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) == -1) {
		e = -errno;
		snprintf(why, len, "%s: %s", path, strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		e = -EINVAL;
		snprintf(why, len, "%s: not a regular file", path);
	} else if (st.st_size > CIDATA_MAX_FILE) {
		e = -EFBIG;
		snprintf(why, len, "%s: larger than %u KiB", path, CIDATA_MAX_FILE >> 10);
	}
	if (e) {
		close(fd);
		return e;
	}
	f->cf_data = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		n = read(fd, f->cf_data + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			e = n < 0 ? -errno : -EIO;
			snprintf(why, len, "%s: %s", path, n < 0 ? strerror(errno) :
			    "shrank while read");
			close(fd);
			return e;
		}
		got += (size_t)n;
	}
	f->cf_len = got;
	close(fd);
	return 0;
}

static void
free_files(struct ci_file *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (f[i].cf_data)
			explicit_bzero(f[i].cf_data, f[i].cf_len);
		free(f[i].cf_data);
	}
}

/*
 * Read what the section names; a missing meta_data is the smallest
 * NoCloud accepts (its instance-id: the VM's name), a missing user_data
 * an empty file. 0, or -errno with vm_detail set.
 */
static int
read_all(struct vm *vm, struct ci_file f[3], uint64_t *sum)
{
	const struct hw_cloud_init *ci = &vm->vm_hw->vm_cloud_init;
	const char *paths[3] = { ci->ci_user_data, ci->ci_meta_data, ci->ci_network_config };
	const char *keys[3] = { "user_data", "meta_data", "network_config" };
	char why[512];
	int e;

	*sum = 0xcbf29ce484222325ull;
	for (int i = 0; i < 3; i++) {
		f[i].cf_given = paths[i] != NULL;
		if (paths[i] && (e = read_file(paths[i], &f[i], why, sizeof(why))) != 0) {
			free(vm->vm_detail);
			vm->vm_detail = xasprintf("cloud_init %s: %s", keys[i], why);
			return e;
		}
		if (!paths[i] && i == 1) {
			f[i].cf_data = xasprintf("instance-id: %s\n", vm->vm_name);
			f[i].cf_len = strlen(f[i].cf_data);
		}
		/* Given or not, and the bytes: an empty file differs from none. */
		*sum = fnv(*sum, &f[i].cf_given, sizeof(f[i].cf_given));
		*sum = fnv(*sum, &f[i].cf_len, sizeof(f[i].cf_len));
		*sum = fnv(*sum, f[i].cf_data ? f[i].cf_data : "", f[i].cf_len);
	}
	return 0;
}

/* Empty run_dir/NAME.cidata.d (the daemon's, 0700) of an earlier build. */
static void
clear_dir(struct daemon *d, struct vm *vm)
{
	char *dir = path_of(d, vm, "cidata.d");
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd != -1) {
		unlinkat(fd, "user-data", 0);
		unlinkat(fd, "meta-data", 0);
		unlinkat(fd, "network-config", 0);
		close(fd);
	}
	rmdir(dir);
	free(dir);
}

/* The copies xorriso reads: run_dir/NAME.cidata.d/{user-data,meta-data,network-config}. */
static int
write_dir(struct daemon *d, struct vm *vm, const struct ci_file f[3], char *why, size_t len)
{
	static const char *const names[3] = { "user-data", "meta-data", "network-config" };
	char *dir = path_of(d, vm, "cidata.d");
	int dfd = -1, fd, e = 0;

	clear_dir(d, vm);
	if (mkdir(dir, 0700) == -1 ||
	    (dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		e = -errno;
		snprintf(why, len, "%s: %s", dir, strerror(errno));
	}
	for (int i = 0; !e && i < 3; i++) {
		if (!f[i].cf_data && i != 0)
			continue;
		fd = openat(dfd, names[i], O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0600);
		if (fd == -1 || (f[i].cf_len &&
		    write(fd, f[i].cf_data, f[i].cf_len) != (ssize_t)f[i].cf_len)) {
			e = errno ? -errno : -EIO;
			snprintf(why, len, "%s/%s: %s", dir, names[i], strerror(-e));
		}
		if (fd != -1)
			close(fd);
	}
	if (dfd != -1)
		close(dfd);
	free(dir);
	return e;
}

static struct vm_cidata *
get(struct vm *vm)
{
	if (!vm->vm_cidata) {
		vm->vm_cidata = xcalloc(1, sizeof(*vm->vm_cidata));
		vm->vm_cidata->cd_pidfd = -1;
	}
	return vm->vm_cidata;
}

/* xorriso is done: the image goes to the VM's user, then in place. */
static void
finish(struct daemon *d, struct vm *vm, int status)
{
	struct vm_cidata *c = vm->vm_cidata;
	char *tmp = path_of(d, vm, "cidata.tmp"), *img = path_of(d, vm, SEED_SUFFIX);
	char *logp = xasprintf("%s/%s.cidata.log", d->inv.inv_log_dir, vm->vm_name);
	char how[32], why[256];
	struct qpriv p;
	int fd = -1;

	child_describe(status, how, sizeof(how));
	if (c->cd_timed_out || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char *tail = qproc_log_tail(logp, 0, 400);
		c->cd_error = xasprintf("cloud_init: xorriso %s%s%s",
		    c->cd_timed_out ? "killed after its deadline" : how,
		    tail ? ": " : "", tail ? tail : "");
		free(tail);
		goto out;
	}
	if (vmpriv_resolve(&d->inv, vm->vm_hw, true, &p, why, sizeof(why)) != 0) {
		c->cd_error = xasprintf("cloud_init: %s", why);
		goto out;
	}
	fd = open(tmp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 || (p.qp_switch && fchown(fd, p.qp_uid, p.qp_gid) == -1) ||
	    fchmod(fd, 0600) == -1 || rename(tmp, img) == -1)
		c->cd_error = xasprintf("cloud_init: %s: %s", tmp, strerror(errno));
	qpriv_free(&p);
	if (!c->cd_error) {
		c->cd_sum = c->cd_building;
		c->cd_have = true;
		log_vm(LOG_INFO, vm->vm_name, "cloud-init seed written: %s", img);
	}
out:
	if (fd != -1)
		close(fd);
	if (c->cd_error)
		unlink(tmp);
	clear_dir(d, vm);
	free(tmp);
	free(img);
	free(logp);
}

static void
ended(struct daemon *d, struct vm *vm, int status)
{
	struct vm_cidata *c = vm->vm_cidata;

	loop_del_fd(d->lp, c->cd_pidfd);
	close(c->cd_pidfd);
	c->cd_pidfd = -1;
	c->cd_pid = 0;
	if (c->cd_timer)
		loop_cancel_timer(d->lp, c->cd_timer);
	c->cd_timer = 0;
	finish(d, vm, status);
	d->dirty = true;	/* the scheduler asks again */
}

static void
pidfd_cb(struct loop *lp, int fd, uint32_t events, void *arg)
{
	struct vm *vm = arg;
	int status = 0;

	if (qproc_reap(vm->vm_cidata->cd_pid, &status) == 0)
		return;
	ended(vm->vm_ctx, vm, status);
}

static void
timer_cb(struct loop *lp, void *arg)
{
	struct vm *vm = arg;
	struct vm_cidata *c = vm->vm_cidata;

	c->cd_timer = 0;
	c->cd_timed_out = true;
	qproc_signal(c->cd_pid, c->cd_pidfd, SIGKILL);
}

/* xorriso -as mkisofs: ISO 9660 with Rock Ridge and Joliet, volume id cidata. */
static int
spawn(struct daemon *d, struct vm *vm, char *why, size_t len)
{
	struct vm_cidata *c = vm->vm_cidata;
	char *dir = path_of(d, vm, "cidata.d"), *tmp = path_of(d, vm, "cidata.tmp");
	char *logp = xasprintf("%s/%s.cidata.log", d->inv.inv_log_dir, vm->vm_name);
	char *const argv[] = { XORRISO, "-as", "mkisofs", "-quiet", "-o", tmp, "-V", "cidata",
	    "-J", "-r", dir, NULL };
	int logfd, nullfd, e = 0;
	pid_t pid;

	unlink(tmp);
	/* Truncated: its tail is this build's words. Never a FIFO (O_NONBLOCK). */
	logfd = open(logp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
	    0640);
	nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (logfd == -1 || nullfd == -1) {
		e = -errno;
		snprintf(why, len, "%s: %s", logfd == -1 ? logp : "/dev/null", strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid == -1) {
		e = -errno;
		snprintf(why, len, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		if (dup2(nullfd, 0) == -1 || dup2(logfd, 1) == -1 || dup2(logfd, 2) == -1 ||
		    child_clean(NULL, 0, CHILD_UMASK_QEMU, &d->child_mask) != 0)
			_exit(126);
		execve(argv[0], argv, child_env());
		_exit(127);
	}
	c->cd_pid = pid;
	c->cd_timed_out = false;
	c->cd_pidfd = qproc_pidfd_open(pid);
	if (c->cd_pidfd < 0 || loop_add_fd(d->lp, c->cd_pidfd, EPOLLIN, pidfd_cb, vm) != 0) {
		e = c->cd_pidfd < 0 ? c->cd_pidfd : -ENOMEM;
		snprintf(why, len, "cannot watch xorriso: %s", strerror(-e));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		if (c->cd_pidfd >= 0)
			close(c->cd_pidfd);
		c->cd_pidfd = -1;
		c->cd_pid = 0;
		goto out;
	}
	c->cd_timer = loop_add_timer(d->lp, CIDATA_TIMEOUT_MS, timer_cb, vm);
	log_vm(LOG_DEBUG, vm->vm_name, "building its cloud-init seed (xorriso pid %d)", (int)pid);
out:
	if (logfd != -1)
		close(logfd);
	if (nullfd != -1)
		close(nullfd);
	free(dir);
	free(tmp);
	free(logp);
	return e;
}

int
cidata_prepare(struct daemon *d, struct vm *vm)
{
	struct ci_file f[3];
	struct vm_cidata *c;
	struct stat st;
	uint64_t sum;
	char why[512], *img;
	int e;

	if (!vm->vm_hw->vm_cloud_init.ci_on)
		return 1;
	memset(f, 0, sizeof(f));
	c = get(vm);
	if (c->cd_pid)
		return 0;
	if (c->cd_error) {
		free(vm->vm_detail);
		vm->vm_detail = c->cd_error;
		c->cd_error = NULL;
		return -1;
	}
	if (read_all(vm, f, &sum) != 0) {
		free_files(f, 3);
		return -1;
	}
	img = path_of(d, vm, SEED_SUFFIX);
	e = lstat(img, &st);
	free(img);
	if (c->cd_have && c->cd_sum == sum && e == 0 && S_ISREG(st.st_mode)) {
		free_files(f, 3);
		return 1;
	}
	e = write_dir(d, vm, f, why, sizeof(why));
	free_files(f, 3);
	c->cd_building = sum;
	if (!e)
		e = spawn(d, vm, why, sizeof(why));
	if (e) {
		clear_dir(d, vm);
		free(vm->vm_detail);
		vm->vm_detail = xasprintf("cloud_init: %s", why);
		return -1;
	}
	return 0;
}

void
cidata_release(struct daemon *d, struct vm *vm)
{
	struct vm_cidata *c = vm->vm_cidata;

	if (!c)
		return;
	if (c->cd_pid) {
		/* Seconds at most, and a zombie otherwise: killed and reaped here. */
		qproc_signal(c->cd_pid, c->cd_pidfd, SIGKILL);
		waitpid(c->cd_pid, NULL, 0);
		loop_del_fd(d->lp, c->cd_pidfd);
		close(c->cd_pidfd);
		clear_dir(d, vm);
	}
	if (c->cd_timer)
		loop_cancel_timer(d->lp, c->cd_timer);
	free(c->cd_error);
	free(c);
	vm->vm_cidata = NULL;
}
