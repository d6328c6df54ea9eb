/* Unit tests for run_dir/NAME.intent (intent.c): round trips, and files not ours. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmd/intent.h"
#include "tap.h"

static char dir[] = "/tmp/vms-intent.XXXXXX";

static void
put(const char *name, const char *text)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s.intent", dir, name);
	f = fopen(p, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static int
slurp(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW), n;

	if (fd == -1)
		return -1;
	n = (int)read(fd, buf, len - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = 0;
	return n;
}

int
main(void)
{
	struct vm_intent it, up = { INTENT_UP, 0 }, down = { INTENT_DOWN, 0 };
	struct vm_intent rs = { INTENT_RESTART, 4242 }, none = { INTENT_NONE, 0 };
	char p[256], t[256], buf[64];
	struct stat st;

	if (!mkdtemp(dir)) {
		printf("not ok - mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	OK(intent_read(dir, "web", &it) == 0 && it.it_want == INTENT_NONE,
	    "no file: no intent");
	OK(intent_write(dir, "web", &up) == 0 && intent_read(dir, "web", &it) == 0 &&
	    it.it_want == INTENT_UP, "up round trip");
	OK(intent_write(dir, "web", &down) == 0 && intent_read(dir, "web", &it) == 0 &&
	    it.it_want == INTENT_DOWN, "down replaces up");
	OK(intent_write(dir, "web", &rs) == 0 && intent_read(dir, "web", &it) == 0 &&
	    it.it_want == INTENT_RESTART && it.it_pid == 4242, "restart keeps its pid");
	snprintf(p, sizeof(p), "%s/web.intent", dir);
	OK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0644, "mode 0644");
	OK(intent_write(dir, "web", &none) == 0 && access(p, F_OK) == -1 &&
	    intent_read(dir, "web", &it) == 0 && it.it_want == INTENT_NONE, "none removes it");
	OK(intent_write(dir, "web", &none) == 0, "removing what is not there is fine");

	/* Only what the daemon wrote counts. */
	put("g1", "up please\n");
	OK(intent_read(dir, "g1", &it) == -EINVAL && it.it_want == INTENT_NONE, "garbage ignored");
	put("g2", "restart 1\n");
	OK(intent_read(dir, "g2", &it) == -EINVAL, "restart of pid 1 ignored");
	put("g3", "restart 12x\n");
	OK(intent_read(dir, "g3", &it) == -EINVAL, "restart of a bad pid ignored");
	snprintf(t, sizeof(t), "%s/target", dir);
	{
		FILE *f = fopen(t, "w");
		if (f) {
			fputs("up\n", f);
			fclose(f);
		}
	}
	snprintf(p, sizeof(p), "%s/link.intent", dir);
	OK(symlink(t, p) == 0 && intent_read(dir, "link", &it) < 0 &&
	    it.it_want == INTENT_NONE, "a symlink is not followed on read");
	OK(intent_write(dir, "link", &down) == 0 && slurp(t, buf, sizeof(buf)) > 0 &&
	    strcmp(buf, "up\n") == 0 && lstat(p, &st) == 0 && S_ISREG(st.st_mode),
	    "a write replaces a symlink, never writes through it");
	if (geteuid() == 0) {
		put("foreign", "up\n");
		snprintf(p, sizeof(p), "%s/foreign.intent", dir);
		OK(chown(p, 65534, 65534) == 0 && intent_read(dir, "foreign", &it) == -EPERM &&
		    it.it_want == INTENT_NONE, "another user's file is ignored");
	} else {
		printf("ok - another user's file is ignored # SKIP not root\n");
	}
	snprintf(p, sizeof(p), "%s/fifo.intent", dir);
	OK(mkfifo(p, 0600) == 0 && intent_read(dir, "fifo", &it) == -EPERM,
	    "a fifo is ignored (and not waited on)");

	/* Clean up: the directory holds only what this test made. */
	{
		const char *names[] = { "g1", "g2", "g3", "link", "foreign", "fifo" };
		for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
			snprintf(p, sizeof(p), "%s/%s.intent", dir, names[i]);
			unlink(p);
		}
		unlink(t);
		rmdir(dir);
	}
	return TAP_DONE();
}
