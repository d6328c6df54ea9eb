/*
 * Opening and creating image files that someone else may have made
 * (issue 12). A QEMU user writes its images, so it chooses what the backing
 * file names in their headers point to, and may own the directories on the
 * way. Opening such a path as root must not:
 *  - block: a FIFO's open() for reading waits for a writer, forever;
 *  - call a device's open(): side effects (a watchdog, a tape rewinding),
 *    and reading or writing a host disk as root (vmimg commit writes the
 *    backing file);
 *  - follow a link the user planted (IMG_SAFE_PATH, for the daemon).
 * So the path is first opened O_PATH, which reaches no driver and never
 * blocks, its type is checked on that fd, and only an accepted file is
 * reopened for I/O through /proc/self/fd (the same inode, whatever the path
 * points to by then), still O_NONBLOCK|O_NOCTTY until the type is confirmed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/safe_path.h"
#include "lib/util.h"
#include "storage/img.h"

static const char *
type_name(mode_t m)
{
	return S_ISFIFO(m) ? "a FIFO" : S_ISSOCK(m) ? "a socket" : S_ISDIR(m) ?
	    "a directory" : S_ISCHR(m) ? "a character device" : S_ISBLK(m) ?
	    "a block device" : S_ISLNK(m) ? "a symlink" : "not a regular file";
}

/* 0, or -errno with err saying why this kind of file is refused. */
static int
check_type(const char *path, const struct stat *st, int how, char *err,
    size_t errlen)
{
	mode_t m = st->st_mode;

	if (S_ISREG(m) || (S_ISBLK(m) && (how & (IMG_NAMED | IMG_DEVICES))) ||
	    (S_ISCHR(m) && (how & IMG_DEVICES)))
		return 0;
	if (S_ISBLK(m) || S_ISCHR(m)) {
		xsnprintf(err, errlen, "%s: %s, refused", path, type_name(m));
		return -EMEDIUMTYPE;
	}
	/* Never an image, forced or not: a FIFO or socket cannot be pread. */
	xsnprintf(err, errlen, "%s: %s, not a disk image", path, type_name(m));
	return S_ISDIR(m) ? -EISDIR : -EINVAL;
}

static int
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

int
img_open_untrusted(const char *path, int how, char *err, size_t errlen)
{
	int acc = (how & IMG_RDWR) ? O_RDWR : O_RDONLY;
	int pfd, fd, fl, r;
	struct stat pst, st;
	char proc[64];

	pfd = (how & IMG_SAFE_PATH) ? sp_open(path, O_PATH, 0, err, errlen) :
	    open(path, O_PATH | O_CLOEXEC);
	if (pfd < 0) {
		r = pfd;
		if (!(how & IMG_SAFE_PATH)) {
			r = -errno;
			xsnprintf(err, errlen, "%s: %s", path, strerror(errno));
		}
		return r;
	}
	if (fstat(pfd, &pst) < 0) {
		r = -errno;
		xsnprintf(err, errlen, "%s: fstat: %s", path, strerror(errno));
		close(pfd);
		return r;
	}
	if ((r = check_type(path, &pst, how, err, errlen)) < 0) {
		close(pfd);
		return r;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	if ((fd = open(proc, acc | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) < 0)
		fd = -errno;
	if (fd == -ENOENT) {	/* no /proc: the path again, checked below */
		if (how & IMG_SAFE_PATH)
			fd = sp_open(path, acc | O_NONBLOCK, 0, err, errlen);
		else if ((fd = open(path, acc | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) < 0)
			fd = -errno;
	}
	close(pfd);
	if (fd < 0) {
		xsnprintf(err, errlen, "%s: %s", path, strerror(-fd));
		return fd;
	}
	if (fstat(fd, &st) < 0 || !same_file(&st, &pst)) {
		xsnprintf(err, errlen, "%s: replaced while being opened", path);
		close(fd);
		return -EAGAIN;
	}
	/* The type is known: ordinary blocking I/O from here on. */
	if ((fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		r = -errno;
		xsnprintf(err, errlen, "%s: fcntl: %s", path, strerror(errno));
		close(fd);
		return r;
	}
	return fd;
}

int
img_create_file(const char *path, int excl, int how, char *err, size_t errlen)
{
	int flags = O_RDWR | O_CREAT | O_EXCL | O_NONBLOCK, fd, fl, r;

	/*
	 * 0600: a disk holds a guest's data; whoever else should read it is
	 * given it explicitly (the daemon chowns a VM's disks to its user).
	 */
	if (how & IMG_SAFE_PATH)
		fd = sp_open(path, flags, 0600, err, errlen);
	else if ((fd = open(path, flags | O_NOCTTY | O_CLOEXEC, 0600)) < 0)
		fd = -errno;
	if (fd == -EEXIST && !excl) {
		/* Overwriting what is there: the same checks as any open. */
		fd = img_open_untrusted(path, how | IMG_RDWR | IMG_NAMED, err, errlen);
		if (fd >= 0) {
			struct stat st;

			if (fstat(fd, &st) < 0 || (S_ISREG(st.st_mode) &&
			    ftruncate(fd, 0) < 0)) {
				r = -errno;
				xsnprintf(err, errlen, "%s: truncating: %s", path,
				    strerror(errno));
				close(fd);
				return r;
			}
		}
		return fd;
	}
	if (fd < 0) {
		if (!(how & IMG_SAFE_PATH) || fd == -EEXIST)
			xsnprintf(err, errlen, "%s: %s", path, strerror(-fd));
		return fd;
	}
	if ((fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		r = -errno;
		xsnprintf(err, errlen, "%s: fcntl: %s", path, strerror(errno));
		close(fd);
		return r;
	}
	return fd;
}

void
img_unlink_created(const char *path, int fd, int how)
{
	struct stat ours, st;
	const char *base;
	char err[256];
	int dfd;

	if (!(how & IMG_SAFE_PATH)) {
		(void)unlink(path);
		return;
	}
	/* Only the file we made, in the directory it was made in. */
	if (fstat(fd, &ours) < 0 || (dfd = sp_open_parent(path, &base, err,
	    sizeof(err))) < 0)
		return;
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && same_file(&st, &ours))
		(void)unlinkat(dfd, base, 0);
	close(dfd);
}
