/* Unit tests for the rotating console log, with real files. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util.h"
#include "console/console_log.h"
#include "tap.h"

static char dir[] = "/tmp/vms-conlog.XXXXXX";

/* Size of a file, -1 when missing. */
static long
fsize(const char *name)
{
	char *p = xasprintf("%s/%s", dir, name);
	struct stat st;
	long r = stat(p, &st) == 0 ? (long)st.st_size : -1;

	free(p);
	return r;
}

/* Append a file's content to buf. */
static size_t
slurp(const char *name, uint8_t *buf)
{
	char *p = xasprintf("%s/%s", dir, name);
	int fd = open(p, O_RDONLY);
	ssize_t r;
	size_t n = 0;

	free(p);
	if (fd == -1)
		return 0;
	while ((r = read(fd, buf + n, 65536)) > 0)
		n += (size_t)r;
	close(fd);
	return n;
}

static void
test_rotation(void)
{
	struct console_log cl;
	char err[256], *path = xasprintf("%s/vm.console.log", dir);
	static uint8_t data[5000], back[20000];
	size_t i, n;
	int bad = 0;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)('a' + i % 26 + (i % 61 == 0 ? 100 : 0));
	OK(console_log_open(&cl, path, 1000, 3, err, sizeof(err)) == 0, "open a new log");
	for (i = 0; i < 3500; i += 70)
		if (console_log_write(&cl, data + i, 70, err, sizeof(err)))
			bad++;
	OK(bad == 0, "3500 bytes written in 70-byte pieces");
	OK(fsize("vm.console.log") == 500 && fsize("vm.console.log.1") == 1000 &&
	    fsize("vm.console.log.2") == 1000 && fsize("vm.console.log.3") == 1000 &&
	    fsize("vm.console.log.4") == -1,
	    "rotated at exactly 1000 bytes into .1 .. .3 (sizes %ld %ld %ld %ld %ld)",
	    fsize("vm.console.log"), fsize("vm.console.log.1"), fsize("vm.console.log.2"),
	    fsize("vm.console.log.3"), fsize("vm.console.log.4"));
	n = slurp("vm.console.log.3", back);
	n += slurp("vm.console.log.2", back + n);
	n += slurp("vm.console.log.1", back + n);
	n += slurp("vm.console.log", back + n);
	OK(n == 3500 && memcmp(back, data, 3500) == 0, "oldest-first concatenation is the stream");

	/* One write far larger than a file: split across files, oldest dropped. */
	OK(console_log_write(&cl, data + 3500, 1500, err, sizeof(err)) == 0,
	    "a 1500-byte write");
	n = slurp("vm.console.log.3", back);
	n += slurp("vm.console.log.2", back + n);
	n += slurp("vm.console.log.1", back + n);
	n += slurp("vm.console.log", back + n);
	OK(n == 4000 && memcmp(back, data + 1000, 4000) == 0 && fsize("vm.console.log.4") == -1,
	    "kept files hold the newest 4000 bytes, never more than keep=3 old files");
	console_log_close(&cl);

	/* Reopen: appends and counts the existing size. */
	OK(console_log_open(&cl, path, 1000, 3, err, sizeof(err)) == 0 && cl.cl_size == 1000,
	    "reopen picks up the current size (%llu)", (unsigned long long)cl.cl_size);
	OK(console_log_write(&cl, "Z", 1, err, sizeof(err)) == 0 && fsize("vm.console.log") == 1 &&
	    fsize("vm.console.log.1") == 1000, "a full file rotates before the next byte");
	console_log_close(&cl);

	/* keep = 0: truncate in place. */
	OK(console_log_open(&cl, path, 10, 0, err, sizeof(err)) == 0, "open with keep=0");
	OK(console_log_write(&cl, "0123456789abc", 13, err, sizeof(err)) == 0 &&
	    fsize("vm.console.log") == 4, "keep=0 truncates in place: 1 + 13 bytes -> 4 (size %ld)",
	    fsize("vm.console.log"));
	console_log_close(&cl);

	/* max = 0: never rotates. */
	OK(console_log_open(&cl, path, 0, 3, err, sizeof(err)) == 0 &&
	    console_log_write(&cl, data, sizeof(data), err, sizeof(err)) == 0 &&
	    fsize("vm.console.log") == 5004, "size 0 never rotates");
	console_log_close(&cl);
	free(path);
}

static void
test_refusals(void)
{
	struct console_log cl;
	char err[256], *link = xasprintf("%s/evil.console.log", dir);
	char *target = xasprintf("%s/target", dir);
	char *sub = xasprintf("%s/adir", dir);

	OK(symlink(target, link) == 0, "plant a symlink");
	OK(console_log_open(&cl, link, 1000, 3, err, sizeof(err)) == -ELOOP &&
	    fsize("target") == -1, "a symlink is not followed (ELOOP): %s", err);
	OK(mkdir(sub, 0700) == 0 &&
	    console_log_open(&cl, sub, 1000, 3, err, sizeof(err)) < 0 && strstr(err, "adir"),
	    "a directory is refused with a message naming it: %s", err);
	free(link);
	free(target);
	free(sub);
}

/* A sleeping log holds no descriptor; it wakes with open's checks. */
static void
test_sleep(void)
{
	struct console_log cl;
	char err[256], *path = xasprintf("%s/sl.console.log", dir);
	char *target = xasprintf("%s/sl-target", dir);

	OK(console_log_open(&cl, path, 0, 3, err, sizeof(err)) == 0 &&
	    console_log_write(&cl, "abc", 3, err, sizeof(err)) == 0, "open and write");
	console_log_sleep(&cl);
	OK(cl.cl_fd == -1 && cl.cl_path != NULL, "asleep: no descriptor, path kept");
	OK(console_log_wake(&cl, err, sizeof(err)) == 0 && cl.cl_fd != -1 && cl.cl_size == 3,
	    "awake again, its size read back");
	OK(console_log_write(&cl, "de", 2, err, sizeof(err)) == 0 &&
	    fsize("sl.console.log") == 5, "appends where it was");
	OK(console_log_wake(&cl, err, sizeof(err)) == 0, "waking an open log is a no-op");
	console_log_sleep(&cl);
	/* Replaced by a symlink while asleep: not followed. */
	OK(unlink(path) == 0 && symlink(target, path) == 0, "log replaced by a symlink");
	OK(console_log_wake(&cl, err, sizeof(err)) == -ELOOP && fsize("sl-target") == -1,
	    "waking does not follow it: %s", err);
	console_log_close(&cl);
	free(path);
	free(target);
}

int
main(void)
{
	char *cmd[] = { "rm", "-rf", dir, NULL };

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_rotation();
	test_refusals();
	test_sleep();
	if (fork() == 0) {
		execvp(cmd[0], cmd);
		_exit(127);
	}
	return TAP_DONE();
}
