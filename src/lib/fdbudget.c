/* See fdbudget.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/fdbudget.h"

struct linux_dirent64 {
	unsigned long long d_ino;
	long long	 d_off;
	unsigned short	 d_reclen;
	unsigned char	 d_type;
	char		 d_name[];
};

int
fdb_open_count(void)
{
	char buf[8192];
	long n, off;
	int fd, count = 0;

	/* getdents64 on one fd: no DIR* (a malloc and a stdio buffer) per count. */
	fd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return -errno;
	while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0)
		for (off = 0; off < n; ) {
			struct linux_dirent64 *de = (struct linux_dirent64 *)(buf + off);
			if (de->d_name[0] != '.')
				count++;
			off += de->d_reclen;
		}
	if (n == -1) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	close(fd);
	return count - 1;	/* not the one we read it through */
}

int
fdb_room(unsigned need, char *why, size_t len)
{
	struct rlimit rl;
	int open_now;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == RLIM_INFINITY)
		return 0;
	open_now = fdb_open_count();
	if (open_now < 0)
		return 0;	/* cannot tell: the syscalls will say */
	if ((unsigned long long)open_now + need + FDB_RESERVE <= rl.rlim_cur)
		return 0;
	snprintf(why, len, "out of file descriptors: %d open of %llu (RLIMIT_NOFILE), %u more "
	    "needed and %d kept in reserve", open_now, (unsigned long long)rl.rlim_cur, need,
	    FDB_RESERVE);
	return -EMFILE;
}
