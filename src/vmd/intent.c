/* run_dir/NAME.intent (see intent.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util.h"
#include "vmd/intent.h"

#define INTENT_MAX	64

const char *
intent_name(enum intent w)
{
	switch (w) {
	case INTENT_UP:
		return "up";
	case INTENT_DOWN:
		return "down";
	case INTENT_RESTART:
		return "restart";
	default:
		return "none";
	}
}

int
intent_write(const char *run_dir, const char *name, const struct vm_intent *it)
{
	char path[4096], buf[INTENT_MAX];
	int n;

	if (xsnprintf(path, sizeof(path), "%s/%s.intent", run_dir, name))
		return -ENAMETOOLONG;
	if (it->it_want == INTENT_NONE)
		return unlink(path) == -1 && errno != ENOENT ? -errno : 0;
	if (it->it_want == INTENT_RESTART)
		n = snprintf(buf, sizeof(buf), "restart %d\n", (int)it->it_pid);
	else
		n = snprintf(buf, sizeof(buf), "%s\n", intent_name(it->it_want));
	/* Never through a link: run_dir is shared with the runas users' QEMUs. */
	return file_replace(path, buf, (size_t)n, 0644);
}

int
intent_read(const char *run_dir, const char *name, struct vm_intent *it)
{
	char path[4096], buf[INTENT_MAX], *end;
	struct stat st;
	ssize_t n = 0;
	long pid;
	int fd, e = 0;

	it->it_want = INTENT_NONE;
	it->it_pid = 0;
	if (xsnprintf(path, sizeof(path), "%s/%s.intent", run_dir, name))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1)
		return errno == ENOENT ? 0 : -errno;
	/* Only what we wrote: a runas user may create files in run_dir. */
	if (fstat(fd, &st) == -1)
		e = -errno;
	else if (!S_ISREG(st.st_mode) || st.st_uid != geteuid())
		e = -EPERM;
	else if ((n = read(fd, buf, sizeof(buf) - 1)) < 0)
		e = -errno;
	close(fd);
	if (e)
		return e;
	buf[n] = 0;
	if (strcmp(buf, "up\n") == 0) {
		it->it_want = INTENT_UP;
	} else if (strcmp(buf, "down\n") == 0) {
		it->it_want = INTENT_DOWN;
	} else if (strncmp(buf, "restart ", 8) == 0) {
		errno = 0;
		pid = strtol(buf + 8, &end, 10);
		if (errno || pid <= 1 || pid > 0x7fffffff || strcmp(end, "\n") != 0)
			return -EINVAL;
		it->it_want = INTENT_RESTART;
		it->it_pid = (pid_t)pid;
	} else {
		return -EINVAL;
	}
	return 0;
}
