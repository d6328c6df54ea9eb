/*
 * sp_open (issue 12): paths resolved following only root's (our) symlinks,
 * and img_open_untrusted's type checks, on real files, links, a FIFO and
 * /dev/null. Links another user owns are made with lchown, so the "planted
 * link" cases need root; they are skipped otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/safe_path.h"
#include "lib/util.h"
#include "storage/img.h"
#include "tap.h"

static char dir[] = "/tmp/vms-safepath.XXXXXX";
static char err[512];

static char *
P(const char *name)
{
	static char buf[4][4096];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static int
opens(const char *path, int flags)
{
	int fd = sp_open(path, flags, 0600, err, sizeof(err));

	if (fd >= 0)
		close(fd);
	return fd >= 0 ? 0 : fd;
}

static void
test_walk(void)
{
	OK(opens(P("d/f"), O_RDONLY) == 0, "a plain path opens");
	OK(opens(P("ours/f"), O_RDONLY) == 0, "through our own directory link");
	OK(opens(P("d/lf"), O_RDONLY) == 0, "through our own link as the last component");
	OK(opens(P("d/../d/./f"), O_RDONLY) == 0, "with . and ..");
	OK(opens(P("rel/f"), O_RDONLY) == 0, "through a relative link");
	OK(opens(P("d/f/x"), O_RDONLY) == -ENOTDIR, "a file as a directory: ENOTDIR");
	OK(opens(P("d/none"), O_RDONLY) == -ENOENT, "missing: ENOENT");
	OK(opens(P("loop/f"), O_RDONLY) == -ELOOP, "a link loop: ELOOP");
	OK(opens(P("ours/new"), O_RDWR | O_CREAT | O_EXCL) == 0 &&
	    access(P("d/new"), F_OK) == 0, "O_CREAT through our link creates the file");
	OK(opens(P("d/lf"), O_RDWR | O_CREAT | O_EXCL) == -EEXIST,
	    "O_CREAT|O_EXCL on a link: EEXIST, not followed");
	OK(opens(P("d/dangling"), O_RDWR | O_CREAT | O_EXCL) == -EEXIST &&
	    access(P("d/nowhere"), F_OK) != 0, "O_EXCL on a dangling link creates nothing");
}

static void
test_planted(void)
{
	if (geteuid() != 0) {
		printf("ok - planted links # SKIP needs root (lchown)\n");
		return;
	}
	OK(opens(P("theirs/f"), O_RDONLY) == -ELOOP, "another user's directory link: ELOOP");
	OK(strstr(err, "theirs: a symlink owned by uid 65534") != NULL,
	    "the message names the link and its owner: %s", err);
	OK(opens(P("theirs/g"), O_RDWR | O_CREAT | O_EXCL) == -ELOOP &&
	    access(P("d/g"), F_OK) != 0, "no creation through it");
	OK(opens(P("d/tf"), O_RDONLY) == -ELOOP, "another user's link as the last component");
	OK(opens(P("ours/../theirs/f"), O_RDONLY) == -ELOOP, "found after a trusted link too");
}

static void
test_untrusted_types(void)
{
	int fd;

	fd = img_open_untrusted(P("fifo"), IMG_NAMED, err, sizeof(err));
	OK(fd == -EINVAL && strstr(err, "a FIFO, not a disk image"),
	    "a FIFO is refused at once: %s", err);
	fd = img_open_untrusted(P("fifo"), IMG_NAMED | IMG_DEVICES, err, sizeof(err));
	OK(fd == -EINVAL, "a FIFO is refused even with IMG_DEVICES");
	fd = img_open_untrusted("/dev/null", IMG_NAMED, err, sizeof(err));
	OK(fd == -EMEDIUMTYPE && strstr(err, "a character device, refused"),
	    "a character device needs IMG_DEVICES: %s", err);
	fd = img_open_untrusted("/dev/null", IMG_DEVICES, err, sizeof(err));
	OK(fd >= 0, "... and opens with it");
	if (fd >= 0)
		close(fd);
	fd = img_open_untrusted(P("d"), IMG_NAMED, err, sizeof(err));
	OK(fd == -EISDIR, "a directory is refused");
	fd = img_open_untrusted(P("d/f"), 0, err, sizeof(err));
	OK(fd >= 0 && !(fcntl(fd, F_GETFL) & O_NONBLOCK),
	    "a regular file opens, in blocking mode");
	if (fd >= 0)
		close(fd);
	fd = img_open_untrusted(P("d/lf"), IMG_SAFE_PATH, err, sizeof(err));
	OK(fd >= 0, "IMG_SAFE_PATH follows our own link");
	if (fd >= 0)
		close(fd);
	if (geteuid() == 0) {
		fd = img_open_untrusted(P("theirs/f"), IMG_SAFE_PATH, err, sizeof(err));
		OK(fd == -ELOOP, "IMG_SAFE_PATH refuses another user's link");
	}
	fd = img_create_file(P("d/created"), 1, 0, err, sizeof(err));
	OK(fd >= 0, "img_create_file creates");
	if (fd >= 0)
		close(fd);
	{
		struct stat st;

		OK(stat(P("d/created"), &st) == 0 && (st.st_mode & 0777) == 0600,
		    "mode 0600");
	}
	fd = img_create_file(P("fifo"), 0, 0, err, sizeof(err));
	OK(fd == -EINVAL, "img_create_file over a FIFO: refused, not blocked");
}

int
main(void)
{
	umask(022);
	if (!mkdtemp(dir))
		return 1;
	if (mkdir(P("d"), 0755) < 0 || close(open(P("d/f"), O_CREAT | O_WRONLY, 0644)) < 0 ||
	    symlink(P("d"), P("ours")) < 0 || symlink("f", P("d/lf")) < 0 ||
	    symlink("d", P("rel")) < 0 || symlink(P("loop"), P("loop")) < 0 ||
	    symlink(P("d/nowhere"), P("d/dangling")) < 0 || mkfifo(P("fifo"), 0600) < 0 ||
	    symlink(P("d"), P("theirs")) < 0 || symlink("f", P("d/tf")) < 0)
		return 1;
	if (geteuid() == 0 && (lchown(P("theirs"), 65534, 65534) < 0 ||
	    lchown(P("d/tf"), 65534, 65534) < 0))
		return 1;
	test_walk();
	test_planted();
	test_untrusted_types();
	{
		static const char *const files[] = { "d/f", "d/lf", "d/new", "d/dangling",
		    "d/tf", "d/created", "ours", "rel", "loop", "fifo", "theirs" };

		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
			unlink(P(files[i]));
		if (rmdir(P("d")) < 0 || rmdir(dir) < 0)
			printf("# could not remove %s\n", dir);
	}
	return TAP_DONE();
}
