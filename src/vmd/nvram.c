/* A UEFI VM's variable store: nvram.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/safe_path.h"
#include "lib/util.h"
#include "qemu/qemu_fw.h"
#include "vmd/daemon.h"
#include "vmd/nvram.h"

/* The templates are 128 KiB or 528 KiB: a larger one is not a template. */
#define NVRAM_MAX	(16 * 1024 * 1024)

/*
 * What we opened is our own single-linked regular file: state_dir is the
 * daemon's, but a second hard link planted there would make this VM's
 * variables someone else's file.
 */
static int
check_own(int fd, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || st.st_nlink != 1) {
		snprintf(err, errlen, "%s: %s; refusing it as a variable store", path,
		    !S_ISREG(st.st_mode) ? "not a regular file" : st.st_uid != geteuid() ?
		    "not the daemon's file" : "it has other hard links");
		return -EPERM;
	}
	return 0;
}

static int
copy_fd(int from, int to, const char *tmpl, char *err, size_t errlen)
{
	char buf[65536];
	size_t total = 0;
	ssize_t n;

	while ((n = read(from, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (total += (size_t)n) > NVRAM_MAX) {
			snprintf(err, errlen, "template %s: %s", tmpl, n < 0 ? strerror(errno) :
			    "larger than 16 MiB");
			return n < 0 ? -errno : -EFBIG;
		}
		for (ssize_t off = 0, w; off < n; off += w)
			if ((w = write(to, buf + off, (size_t)(n - off))) < 0) {
				if (errno == EINTR) {
					w = 0;
					continue;
				}
				snprintf(err, errlen, "writing the variable store: %s",
				    strerror(errno));
				return -errno;
			}
	}
	if (fsync(to) == -1) {
		snprintf(err, errlen, "writing the variable store: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/*
 * A fresh copy of the template: written as NAME.nvram.fd.new and renamed,
 * so a crash never leaves a half store that the next start would keep.
 */
static int
create(const char *path, const char *tmpl, char *err, size_t errlen)
{
	const char *base;
	char *tmp;
	int dfd, src, fd, e;

	if ((dfd = sp_open_parent(path, &base, err, errlen)) < 0)
		return dfd;
	tmp = xasprintf("%s.new", base);
	if (unlinkat(dfd, tmp, 0) == -1 && errno != ENOENT) {
		e = -errno;
		snprintf(err, errlen, "%s.new: %s", path, strerror(errno));
		goto out;
	}
	if ((src = sp_open(tmpl, O_RDONLY, 0, err, errlen)) < 0) {
		e = src;
		goto out;
	}
	fd = openat(dfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		e = -errno;
		snprintf(err, errlen, "%s.new: %s", path, strerror(errno));
		close(src);
		goto out;
	}
	e = copy_fd(src, fd, tmpl, err, errlen);
	close(src);
	if (!e && renameat(dfd, tmp, dfd, base) == -1) {
		e = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	}
	if (e) {
		(void)unlinkat(dfd, tmp, 0);
		close(fd);
	} else {
		e = fd;
	}
out:
	free(tmp);
	close(dfd);
	return e;
}

static int
open_rw(struct daemon *d, const struct vm *vm, char *err, size_t errlen)
{
	const struct qemu_fw *f = qemu_fw_of(vm->vm_hw->vm_firmware);
	char *path = qemu_fw_nvram_path(d->inv.inv_state_dir, vm->vm_name);
	int fd, e;

	if (!f) {
		snprintf(err, errlen, "firmware = bios has no variable store");
		free(path);
		return -EINVAL;
	}
	fd = sp_open(path, O_RDWR | O_NONBLOCK, 0, err, errlen);
	if (fd == -ENOENT) {
		fd = create(path, f->fw_vars, err, errlen);
		if (fd >= 0)
			log_vm(LOG_INFO, vm->vm_name, "new UEFI variable store %s from %s", path,
			    f->fw_vars);
	}
	if (fd >= 0 && (e = check_own(fd, path, err, errlen)) != 0) {
		close(fd);
		fd = e;
	}
	free(path);
	return fd;
}

int
nvram_open(struct daemon *d, const struct vm *vm, int fds[2], char *err, size_t errlen)
{
	char self[64];
	int e;

	if ((fds[0] = open_rw(d, vm, err, errlen)) < 0)
		return fds[0];
	/* The same open file, not the path again: nothing can be swapped in between. */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fds[0]);
	if ((fds[1] = open(self, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		e = -errno;
		snprintf(err, errlen, "reopening the UEFI variable store read-only: %s",
		    strerror(errno));
		close(fds[0]);
		return e;
	}
	return 0;
}

void
nvram_close(int fds[2])
{
	for (int i = 0; i < 2; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

int
nvram_reset(struct daemon *d, struct vm *vm, char *err, size_t errlen)
{
	char *path = qemu_fw_nvram_path(d->inv.inv_state_dir, vm->vm_name);
	const char *base;
	int dfd, e = 0;

	if (!sup_is_down(vm)) {
		snprintf(err, errlen, "vm %s is %s: stop it before resetting its NVRAM",
		    vm->vm_name, sup_state_name(vm->vm_state));
		free(path);
		return -EBUSY;
	}
	if ((dfd = sp_open_parent(path, &base, err, errlen)) < 0) {
		free(path);
		return dfd;
	}
	if (unlinkat(dfd, base, 0) == -1) {
		e = -errno;
		if (errno == ENOENT)
			snprintf(err, errlen, "vm %s has no NVRAM file (%s)", vm->vm_name, path);
		else
			snprintf(err, errlen, "vm %s: %s: %s", vm->vm_name, path, strerror(errno));
	} else {
		log_vm(LOG_INFO, vm->vm_name, "NVRAM %s removed: the next start gets a fresh one",
		    path);
	}
	close(dfd);
	free(path);
	return e;
}
