/* Size-rotated console log writer. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util.h"
#include "console/console_log.h"

static int
open_file(struct console_log *cl, int extra, char *err, size_t errlen)
{
	struct stat st;
	int fd, rc;

	/* Read too: console_log_tail() serves a stopped VM's scrollback from it. */
	fd = open(cl->cl_path, O_RDWR | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC | extra,
	    0640);
	if (fd == -1) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", cl->cl_path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) == -1) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", cl->cl_path, strerror(errno));
		close(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", cl->cl_path);
		close(fd);
		return -EINVAL;
	}
	cl->cl_fd = fd;
	cl->cl_size = (uint64_t)st.st_size;
	return 0;
}

int
console_log_open(struct console_log *cl, const char *path, uint64_t max_size,
    unsigned keep, char *err, size_t errlen)
{
	int rc;

	cl->cl_fd = -1;
	cl->cl_path = xstrdup(path);
	cl->cl_max = max_size;
	cl->cl_keep = keep;
	rc = open_file(cl, 0, err, errlen);
	if (rc) {
		free(cl->cl_path);
		cl->cl_path = NULL;
	}
	return rc;
}

/* path.(i) -> path.(i+1) from the oldest down, then path -> path.1. */
static int
rotate(struct console_log *cl, char *err, size_t errlen)
{
	char *from, *to;
	unsigned i;
	int rc = 0;

	close(cl->cl_fd);
	cl->cl_fd = -1;
	if (cl->cl_keep == 0)
		return open_file(cl, O_TRUNC, err, errlen);
	for (i = cl->cl_keep; i >= 1; i--) {
		from = i == 1 ? xstrdup(cl->cl_path) : xasprintf("%s.%u", cl->cl_path, i - 1);
		to = xasprintf("%s.%u", cl->cl_path, i);
		if (rename(from, to) == -1 && errno != ENOENT && rc == 0) {
			rc = -errno;
			snprintf(err, errlen, "rotating %s to %s: %s", from, to, strerror(errno));
		}
		free(from);
		free(to);
	}
	if (rc)
		return rc;
	return open_file(cl, 0, err, errlen);
}

static int
write_all(struct console_log *cl, const uint8_t *p, size_t n, char *err, size_t errlen)
{
	ssize_t w;

	while (n) {
		w = write(cl->cl_fd, p, n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			int rc = w == -1 ? -errno : -EIO;
			snprintf(err, errlen, "%s: %s", cl->cl_path, strerror(-rc));
			return rc;
		}
		p += w;
		n -= (size_t)w;
		cl->cl_size += (uint64_t)w;
	}
	return 0;
}

int
console_log_write(struct console_log *cl, const void *buf, size_t n,
    char *err, size_t errlen)
{
	const uint8_t *p = buf;
	size_t chunk;
	int rc;

	if (cl->cl_fd == -1) {
		/* An earlier rotation failed half-way: try again. */
		if (!cl->cl_path)
			return -EBADF;
		rc = open_file(cl, 0, err, errlen);
		if (rc)
			return rc;
	}
	while (n) {
		if (cl->cl_max && cl->cl_size >= cl->cl_max) {
			rc = rotate(cl, err, errlen);
			if (rc)
				return rc;
		}
		chunk = n;
		if (cl->cl_max && chunk > cl->cl_max - cl->cl_size)
			chunk = (size_t)(cl->cl_max - cl->cl_size);
		rc = write_all(cl, p, chunk, err, errlen);
		if (rc)
			return rc;
		p += chunk;
		n -= chunk;
	}
	return 0;
}

ssize_t
console_log_tail(struct console_log *cl, void *buf, size_t max, uint64_t *before)
{
	struct stat st;
	size_t want, got = 0;
	ssize_t r;

	*before = 0;
	if (cl->cl_fd == -1)
		return -EBADF;
	/* The file's size, not cl_size: someone may have truncated it. */
	if (fstat(cl->cl_fd, &st) == -1)
		return -errno;
	want = (uint64_t)st.st_size < max ? (size_t)st.st_size : max;
	*before = (uint64_t)st.st_size - want;
	while (got < want) {
		r = pread(cl->cl_fd, (uint8_t *)buf + got, want - got, (off_t)(*before + got));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int
console_spool_open(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd, rc;

	fd = open(path, O_RDWR | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (fd == -1) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) == -1) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
		snprintf(err, errlen, "%s: not a regular file with one link: not read", path);
		close(fd);
		return -EINVAL;
	}
	return fd;
}

int
console_spool_tail(int fd, uint64_t max, uint64_t *skipped)
{
	off_t end = lseek(fd, 0, SEEK_END);

	*skipped = 0;
	if (end == -1)
		return -errno;
	if ((uint64_t)end > max)
		*skipped = (uint64_t)end - max;
	return lseek(fd, (off_t)*skipped, SEEK_SET) == -1 ? -errno : 0;
}

void
console_log_close(struct console_log *cl)
{
	if (cl->cl_fd != -1)
		close(cl->cl_fd);
	cl->cl_fd = -1;
	free(cl->cl_path);
	cl->cl_path = NULL;
}

void
console_log_sleep(struct console_log *cl)
{
	if (cl->cl_fd != -1)
		close(cl->cl_fd);
	cl->cl_fd = -1;
}

int
console_log_wake(struct console_log *cl, char *err, size_t errlen)
{
	if (cl->cl_fd != -1)
		return 0;
	if (!cl->cl_path) {
		snprintf(err, errlen, "console log closed");
		return -EBADF;
	}
	return open_file(cl, 0, err, errlen);
}
