/*
 * A hand-started QEMU seen from /proc (qemu_attach.h). QEMU's option
 * strings are KEY=VALUE lists split at commas, a doubled comma standing
 * for one (QEMU util/qemu-option.c); the legacy chardev form of -qmp
 * (`unix:PATH,server,nowait`, chardev/char.c qemu_chr_parse_compat)
 * takes bare `server` as server=on.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "qemu/qemu_attach.h"

bool
qattach_is_system_exe(const char *link)
{
	static const char prefix[] = "qemu-system-", deleted[] = " (deleted)";
	const char *base = strrchr(link, '/');
	size_t n;

	base = base ? base + 1 : link;
	n = strlen(base);
	if (n > sizeof(deleted) - 1 && strcmp(base + n - (sizeof(deleted) - 1), deleted) == 0)
		n -= sizeof(deleted) - 1;
	return n > sizeof(prefix) - 1 && strncmp(base, prefix, sizeof(prefix) - 1) == 0 &&
	    memchr(base, ' ', n) == NULL;
}

/*
 * The value of key in opts (allocated, ",," undone), "" for a bare key,
 * NULL when absent. first: the value of the first element when it has no
 * "=" (an implied key: -mon's chardev, -qmp's backend).
 */
static char *
opt_get(const char *opts, const char *key, bool first)
{
	const char *p = opts;
	bool is_first = true;

	while (*p) {
		char *item = xmalloc(strlen(p) + 1), *eq;
		size_t n = 0;

		for (; *p; p++) {
			if (*p == ',' && p[1] == ',') {
				item[n++] = ',';
				p++;
			} else if (*p == ',') {
				p++;
				break;
			} else {
				item[n++] = *p;
			}
		}
		item[n] = 0;
		eq = strchr(item, '=');
		if (first && is_first && !eq)
			return item;
		if (!first && eq && (size_t)(eq - item) == strlen(key) &&
		    strncmp(item, key, strlen(key)) == 0) {
			memmove(item, eq + 1, strlen(eq + 1) + 1);
			return item;
		}
		if (!first && !eq && strcmp(item, key) == 0) {
			item[0] = 0;
			return item;
		}
		free(item);
		is_first = false;
	}
	return NULL;
}

/* A QEMU boolean option given (bare: on). */
static bool
opt_on(const char *opts, const char *key)
{
	char *v = opt_get(opts, key, false);
	bool on = v && (!*v || strcmp(v, "on") == 0 || strcmp(v, "yes") == 0 ||
	    strcmp(v, "true") == 0);

	free(v);
	return on;
}

/* "-opt" or "--opt": QEMU takes both. */
static bool
is_opt(const char *arg, const char *name)
{
	if (arg[0] != '-')
		return false;
	arg += arg[1] == '-' ? 2 : 1;
	return strcmp(arg, name) == 0;
}

/* -qmp unix:PATH,server...: 0 with *path, else -ENOENT with why. */
static int
legacy_qmp(const char *spec, char **path, char *why, size_t len)
{
	char *p;

	if (strncmp(spec, "unix:", 5) != 0) {
		snprintf(why, len, "-qmp %s is not a unix socket", spec);
		return -ENOENT;
	}
	if (!opt_on(spec + 5, "server")) {
		snprintf(why, len, "-qmp %s is a client socket, not a server", spec);
		return -ENOENT;
	}
	p = opt_get(spec + 5, "", true);
	if (!p || !*p) {
		free(p);
		snprintf(why, len, "-qmp %s names no path", spec);
		return -ENOENT;
	}
	*path = p;
	return 0;
}

/* The -chardev socket with this id: its path if it is a unix server. */
static int
chardev_path(char *const argv[], size_t n, const char *id, char **path, char *why,
    size_t len)
{
	size_t i;

	for (i = 0; i + 1 < n; i++) {
		const char *o = argv[i + 1];
		char *cid, *p;

		if (!is_opt(argv[i], "chardev"))
			continue;
		cid = opt_get(o, "id", false);
		if (!cid || strcmp(cid, id) != 0) {
			free(cid);
			continue;
		}
		free(cid);
		p = opt_get(o, "path", false);
		if (strncmp(o, "socket,", 7) != 0 || !p || !*p) {
			snprintf(why, len, "-chardev %s is not a unix socket with a path", o);
		} else if (!opt_on(o, "server")) {
			snprintf(why, len, "-chardev %s is a client socket, not a server", o);
		} else if (opt_on(o, "abstract")) {
			snprintf(why, len, "-chardev %s is an abstract socket", o);
		} else {
			*path = p;
			return 0;
		}
		free(p);
		return -ENOENT;
	}
	snprintf(why, len, "-mon chardev=%s: no -chardev with id %s", id, id);
	return -ENOENT;
}

int
qattach_qmp_path(char *const argv[], size_t n, char **path, char *why, size_t len)
{
	size_t i;

	snprintf(why, len, "no QMP monitor (-qmp unix:PATH,server=on or -chardev "
	    "socket,path=PATH,server=on with -mon mode=control) on its command line");
	*path = NULL;
	for (i = 0; i + 1 < n; i++) {
		const char *o = argv[i + 1];
		char *mode, *chr;
		int e;

		if (is_opt(argv[i], "qmp") || is_opt(argv[i], "qmp-pretty")) {
			if (legacy_qmp(o, path, why, len) == 0)
				return 0;
		} else if (is_opt(argv[i], "mon")) {
			mode = opt_get(o, "mode", false);
			chr = opt_get(o, "chardev", false);
			if (!chr)
				chr = opt_get(o, "", true);
			e = mode && strcmp(mode, "control") == 0 && chr ?
			    chardev_path(argv, n, chr, path, why, len) : -ENOENT;
			free(mode);
			free(chr);
			if (e == 0)
				return 0;
		}
	}
	return -ENOENT;
}
