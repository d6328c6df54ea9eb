/* Whole-buffer pread/pwrite on a file descriptor. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "storage/io.h"

static int
pread_loop(int fd, void *buf, size_t len, uint64_t off, size_t *got)
{
	char *p = buf;

	*got = 0;
	while (*got < len) {
		ssize_t n = pread(fd, p + *got, len - *got, (off_t)(off + *got));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		*got += (size_t)n;
	}
	return 0;
}

int
io_pread(int fd, void *buf, size_t len, uint64_t off)
{
	size_t got;
	int r;

	if ((r = pread_loop(fd, buf, len, off, &got)) < 0)
		return r;
	return got == len ? 0 : -ENODATA;
}

int
io_pread_zfill(int fd, void *buf, size_t len, uint64_t off)
{
	size_t got;
	int r;

	if ((r = pread_loop(fd, buf, len, off, &got)) < 0)
		return r;
	memset((char *)buf + got, 0, len - got);
	return 0;
}

int
io_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
	const char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, p + done, len - done, (off_t)(off + done));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}
