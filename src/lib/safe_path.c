/* Resolving a path without following a symlink another user planted. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/safe_path.h"
#include "lib/util.h"

#define SP_MAX_LINKS	40	/* as the kernel's MAXSYMLINKS */

/* Linux >= 5.6: the whole path in one call when it holds no symlink. */
static int
open_no_symlinks(const char *path, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC | O_NOCTTY),
		.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
		.resolve = RESOLVE_NO_SYMLINKS,
	};
	long fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

/* Root's links and our own: nobody else can make a link owned by them. */
static int
trusted_link(const struct stat *st)
{
	return st->st_uid == 0 || st->st_uid == geteuid();
}

static int
fail(int e, char *err, size_t errlen, const char *path, const char *comp,
    const char *what)
{
	xsnprintf(err, errlen, "%s: %s%s%s", path, comp ? comp : "",
	    comp ? ": " : "", what ? what : strerror(-e));
	return e;
}

/*
 * The authoritative walk: each component opened O_PATH|O_NOFOLLOW below the
 * directory fd before it, so a directory swapped after we passed it does
 * not matter, and a link is seen (and judged) before it is followed.
 */
static int
walk(const char *path, int flags, mode_t mode, char *err, size_t errlen)
{
	char *todo = xstrdup(path), *p = todo, link[PATH_MAX], what[128];
	int dfd, cfd, fd = -1, nlinks = 0;
	struct stat st;

	dfd = open(path[0] == '/' ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		fd = fail(-errno, err, errlen, path, NULL, NULL);
		goto out;
	}
	for (;;) {
		char *comp, *rest;
		ssize_t n;
		int last;

		while (*p == '/')
			p++;
		if (!*p) {	/* "/", or a trailing slash: the directory itself */
			fd = openat(dfd, ".", (flags & ~(O_CREAT | O_EXCL)) | O_CLOEXEC |
			    O_NOCTTY);
			if (fd < 0)
				fd = fail(-errno, err, errlen, path, NULL, NULL);
			break;
		}
		comp = p;
		p += strcspn(p, "/");
		rest = p;
		if (*rest) {
			*rest++ = '\0';
			while (*rest == '/')
				rest++;
		}
		last = !*rest;
		cfd = openat(dfd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (cfd < 0 && errno == ENOENT && last && (flags & O_CREAT)) {
			fd = openat(dfd, comp, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
			    mode);
			if (fd < 0)
				fd = fail(-errno, err, errlen, path, comp, NULL);
			break;
		}
		if (cfd < 0 || fstat(cfd, &st) < 0) {
			fd = fail(-errno, err, errlen, path, comp, NULL);
			if (cfd >= 0)
				close(cfd);
			break;
		}
		if (S_ISLNK(st.st_mode)) {
			char *next;

			if (last && (flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)) {
				fd = fail(-EEXIST, err, errlen, path, NULL, NULL);
				close(cfd);
				break;
			}
			if (!trusted_link(&st)) {
				snprintf(what, sizeof(what), "a symlink owned by uid %u, "
				    "not followed (only root's links are)",
				    (unsigned)st.st_uid);
				fd = fail(-ELOOP, err, errlen, path, comp, what);
				close(cfd);
				break;
			}
			n = readlinkat(cfd, "", link, sizeof(link));
			close(cfd);
			if (n < 0 || (size_t)n >= sizeof(link) || ++nlinks > SP_MAX_LINKS) {
				fd = fail(n < 0 ? -errno : (size_t)n >= sizeof(link) ?
				    -ENAMETOOLONG : -ELOOP, err, errlen, path, comp, NULL);
				break;
			}
			link[n] = '\0';
			if (link[0] == '/') {
				close(dfd);
				if ((dfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
					fd = fail(-errno, err, errlen, path, NULL, NULL);
					break;
				}
			}
			next = *rest ? xasprintf("%s/%s", link, rest) : xstrdup(link);
			free(todo);
			p = todo = next;
			continue;
		}
		if (!last) {
			if (!S_ISDIR(st.st_mode)) {
				fd = fail(-ENOTDIR, err, errlen, path, comp, NULL);
				close(cfd);
				break;
			}
			close(dfd);
			dfd = cfd;
			p = rest;
			continue;
		}
		close(cfd);
		if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)) {
			fd = fail(-EEXIST, err, errlen, path, NULL, NULL);
			break;
		}
		/* Swapped for a link since the check: O_NOFOLLOW says ELOOP. */
		fd = openat(dfd, comp, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode);
		if (fd < 0)
			fd = fail(-errno, err, errlen, path, comp, NULL);
		break;
	}
out:
	if (dfd >= 0)
		close(dfd);
	free(todo);
	return fd;
}

int
sp_open(const char *path, int flags, mode_t mode, char *err, size_t errlen)
{
	int fd;

	if (!*path)
		return fail(-ENOENT, err, errlen, path, NULL, NULL);
	/* A failure may be a link (or no openat2): the walk has the last word. */
	if ((fd = open_no_symlinks(path, flags | O_NOFOLLOW, mode)) >= 0)
		return fd;
	return walk(path, flags, mode, err, errlen);
}

int
sp_open_parent(const char *path, const char **base, char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd;

	*base = slash ? slash + 1 : path;
	if (!**base || !strcmp(*base, ".") || !strcmp(*base, "..")) {
		xsnprintf(err, errlen, "%s: not a file name", path);
		return -EINVAL;
	}
	dir = !slash ? xstrdup(".") : slash == path ? xstrdup("/") :
	    xstrndup(path, (size_t)(slash - path));
	fd = sp_open(dir, O_PATH | O_DIRECTORY, 0, err, errlen);
	free(dir);
	return fd;
}

/* Owned by root or us, writable by nobody else (a directory: unless sticky). */
static int
trusted_node(const char *path, const struct stat *st, bool dir, char *err, size_t errlen)
{
	uid_t me = geteuid();

	if (st->st_uid != 0 && st->st_uid != me) {
		snprintf(err, errlen, "%s belongs to uid %u: only root's (or ours) may be run by "
		    "the daemon", path, (unsigned)st->st_uid);
		return -EPERM;
	}
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) && !(dir && (st->st_mode & S_ISVTX))) {
		snprintf(err, errlen, "%s is writable by %s: another user could change what "
		    "the daemon runs", path, st->st_mode & S_IWOTH ? "everyone" : "its group");
		return -EPERM;
	}
	return 0;
}

int
sp_trusted_program(const char *path, char *resolved, char *err, size_t errlen)
{
	struct stat st;
	char dir[PATH_MAX], *slash;
	int e;

	if (!realpath(path, resolved)) {
		e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	if (stat(resolved, &st) == -1) {
		e = errno;
		snprintf(err, errlen, "%s: %s", resolved, strerror(e));
		return -e;
	}
	if (!S_ISREG(st.st_mode) || access(resolved, X_OK) == -1) {
		snprintf(err, errlen, "%s is not an executable file", resolved);
		return -EACCES;
	}
	if ((e = trusted_node(resolved, &st, false, err, errlen)) < 0)
		return e;
	snprintf(dir, sizeof(dir), "%s", resolved);
	while ((slash = strrchr(dir, '/')) != NULL) {
		if (slash == dir)
			slash[1] = 0;	/* "/" itself last */
		else
			*slash = 0;
		if (stat(dir, &st) == -1) {
			e = errno;
			snprintf(err, errlen, "%s: %s", dir, strerror(e));
			return -e;
		}
		if ((e = trusted_node(dir, &st, true, err, errlen)) < 0)
			return e;
		if (slash == dir)
			break;
	}
	return 0;
}
