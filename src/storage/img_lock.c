/* QEMU-compatible image locks (see img_lock.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "lib/util.h"
#include "storage/img_lock.h"

#define LOCK_PERM_BASE		100	/* QEMU's RAW_LOCK_PERM_BASE */
#define LOCK_SHARED_BASE	200	/* QEMU's RAW_LOCK_SHARED_BASE */

/* QEMU 7.2's BLK_PERM_* bits, in order. */
static const char *const perm_names[] = {
	"consistent read", "write", "write unchanged", "resize",
};
#define NPERMS		4
#define P_READ		0x1
#define P_WRITE		0x2
#define P_WRITE_UNCH	0x4
#define P_RESIZE	0x8

static int
lock_byte(int fd, int cmd, short type, off_t at, struct flock *fl)
{
	memset(fl, 0, sizeof(*fl));
	fl->l_type = type;
	fl->l_whence = SEEK_SET;
	fl->l_start = at;
	fl->l_len = 1;
	return fcntl(fd, cmd, fl) < 0 ? -errno : 0;
}

int
img_lock(struct img *im, int write, char *err, size_t errlen)
{
	unsigned perm = write ? P_READ | P_WRITE | P_RESIZE : P_READ;
	unsigned shared = P_READ | P_WRITE_UNCH;	/* as QEMU's users by default */
	struct flock fl;
	int r;

	/* Shared locks for what we use and what we do not share, then a look
	 * for anyone holding the opposite ones; QEMU does the same, so of two
	 * racing users at least one sees the other. */
	for (int i = 0; i < NPERMS; i++) {
		if ((perm & (1u << i)) && (r = lock_byte(im->im_fd, F_OFD_SETLK,
		    F_RDLCK, LOCK_PERM_BASE + i, &fl)) < 0)
			goto busy;
		if (!(shared & (1u << i)) && (r = lock_byte(im->im_fd, F_OFD_SETLK,
		    F_RDLCK, LOCK_SHARED_BASE + i, &fl)) < 0)
			goto busy;
	}
	for (int i = 0; i < NPERMS; i++) {
		if ((perm & (1u << i)) && ((r = lock_byte(im->im_fd, F_OFD_GETLK,
		    F_WRLCK, LOCK_SHARED_BASE + i, &fl)) < 0 || fl.l_type != F_UNLCK)) {
			if (r < 0)
				goto fail;
			xsnprintf(err, errlen, "%s: image is in use: another process "
			    "(a running QEMU?) does not let others %s it", im->im_path,
			    i == 0 ? "read" : perm_names[i]);
			return -EBUSY;
		}
		if (!(shared & (1u << i)) && ((r = lock_byte(im->im_fd, F_OFD_GETLK,
		    F_WRLCK, LOCK_PERM_BASE + i, &fl)) < 0 || fl.l_type != F_UNLCK)) {
			if (r < 0)
				goto fail;
			xsnprintf(err, errlen, "%s: image is in use: another process "
			    "(a running QEMU?) holds its \"%s\" lock", im->im_path,
			    perm_names[i]);
			return -EBUSY;
		}
	}
	return 0;
busy:
	if (r == -EAGAIN || r == -EACCES) {
		xsnprintf(err, errlen, "%s: image is in use: another process holds "
		    "a conflicting lock", im->im_path);
		return -EBUSY;
	}
fail:
	xsnprintf(err, errlen, "%s: locking the image: %s", im->im_path, strerror(-r));
	return r;
}
