/* NIC models: see qemu_devices.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/util.h"
#include "qemu/qemu_devices.h"

#define HELP_TIMEOUT_MS	5000
#define HELP_MAX	(256 * 1024)

static const char *const common_models[] = {
	"virtio-net-pci", "virtio-net", "e1000", "e1000-82540em", "e1000e", "rtl8139",
	NULL,
};

bool
qemu_nic_model_common(const char *model)
{
	for (const char *const *m = common_models; *m; m++)
		if (strcmp(*m, model) == 0)
			return true;
	return false;
}

/* Stdout of argv, at most HELP_MAX bytes, NUL-terminated; NULL on failure. */
static char *
capture(char *const argv[], char *err, size_t errlen)
{
	struct pollfd pfd = { .events = POLLIN };
	size_t n = 0;
	int p[2], st, r;
	char *buf;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return NULL;
	}
	pid = fork();
	if (pid == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return NULL;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null == -1 || dup2(null, 0) == -1 || dup2(p[1], 1) == -1 ||
		    dup2(null, 2) == -1)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	buf = xmalloc(HELP_MAX + 1);
	pfd.fd = p[0];
	for (;;) {
		ssize_t got;

		r = poll(&pfd, 1, HELP_TIMEOUT_MS);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got = read(p[0], buf + n, HELP_MAX - n);
		if (got <= 0 || (n += (size_t)got) == HELP_MAX)
			break;
	}
	close(p[0]);
	if (r == 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	buf[n] = '\0';
	if (r == 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		snprintf(err, errlen, "%s -device help %s", argv[0],
		    r == 0 ? "timed out" : "failed");
		free(buf);
		return NULL;
	}
	return buf;
}

/* Push the value of key"..." in line (the line ends at eol), if any. */
static void
push_quoted(struct strv *out, const char *line, const char *eol, const char *key)
{
	const char *s = strstr(line, key), *e;
	char *v;

	if (!s || s >= eol)
		return;
	s += strlen(key);
	e = memchr(s, '"', (size_t)(eol - s));
	if (!e || e == s)
		return;
	v = xstrndup(s, (size_t)(e - s));
	strv_push(out, v);
	free(v);
}

int
qemu_nic_models(const char *emulator, struct strv *out, char *err, size_t errlen)
{
	char *const argv[] = { (char *)emulator, "-device", "help", NULL };
	char *buf = capture(argv, err, errlen);
	int e;

	if (!buf)
		return -ENOEXEC;
	e = qemu_nic_models_parse(buf, emulator, out, err, errlen);
	free(buf);
	return e;
}

int
qemu_nic_models_parse(const char *help, const char *emulator, struct strv *out, char *err,
    size_t errlen)
{
	char *buf = xstrdup(help), *p, *eol;
	size_t before = out->sv_n;

	/* Sections are a "Title:" line, then one `name "x", ...` per device. */
	p = strstr(buf, "\nNetwork devices:\n");
	if (!p && strncmp(buf, "Network devices:\n", 17) == 0)
		p = buf - 1;
	if (p) {
		p = strchr(p + 1, '\n') + 1;
		for (; *p && strncmp(p, "name \"", 6) == 0; p = *eol ? eol + 1 : eol) {
			eol = strchr(p, '\n');
			if (!eol)
				eol = p + strlen(p);
			push_quoted(out, p, eol, "name \"");
			push_quoted(out, p, eol, "alias \"");
		}
	}
	free(buf);
	if (out->sv_n == before) {
		snprintf(err, errlen, "%s -device help lists no network devices", emulator);
		return -ENOENT;
	}
	return 0;
}
