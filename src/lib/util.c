/* Allocation, strings, argv vectors, shell-style splitting and quoting. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <ctype.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util.h"

static void
oom(void)
{
	static const char msg[] = "out of memory\n";
	/* write(2) straight away: stdio may itself need memory. */
	if (fwrite(msg, 1, sizeof(msg) - 1, stderr) == 0)
		abort();
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

void
xgrow(void *pp, size_t *cap, size_t want, size_t sz)
{
	void **p = pp;
	size_t c = *cap ? *cap : 4;

	if (want <= *cap)
		return;
	while (c < want)
		c *= 2;
	*p = xrealloc(*p, c * sz);
	*cap = c;
}

char *
xstrdup(const char *s)
{
	char *d = strdup(s ? s : "");
	if (!d)
		oom();
	return d;
}

char *
xstrndup(const char *s, size_t n)
{
	char *d = strndup(s, n);
	if (!d)
		oom();
	return d;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		oom();
	va_end(ap);
	return s;
}

int
xsnprintf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

void
strv_push(struct strv *sv, const char *s)
{
	xgrow(&sv->sv_v, &sv->sv_cap, sv->sv_n + 2, sizeof(char *));
	sv->sv_v[sv->sv_n++] = xstrdup(s);
	sv->sv_v[sv->sv_n] = NULL;
}

void
strv_pushf(struct strv *sv, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		oom();
	va_end(ap);
	xgrow(&sv->sv_v, &sv->sv_cap, sv->sv_n + 2, sizeof(char *));
	sv->sv_v[sv->sv_n++] = s;
	sv->sv_v[sv->sv_n] = NULL;
}

void
strv_free(struct strv *sv)
{
	for (size_t i = 0; i < sv->sv_n; i++)
		free(sv->sv_v[i]);
	free(sv->sv_v);
	sv->sv_v = NULL;
	sv->sv_n = sv->sv_cap = 0;
}

int
shell_split(const char *s, struct strv *out, char *err, size_t errlen)
{
	size_t cap = strlen(s) + 1, n = 0;
	char *word = xmalloc(cap);
	int inword = 0;
	char q = 0;

	for (const char *p = s; ; p++) {
		char c = *p;
		if (c == '\0') {
			if (q) {
				if (err)
					snprintf(err, errlen, "unterminated %c quote", q);
				free(word);
				return -EINVAL;
			}
			break;
		}
		if (q == '\'') {
			if (c == '\'')
				q = 0;
			else
				word[n++] = c;
			continue;
		}
		if (q == '"') {
			if (c == '"')
				q = 0;
			else if (c == '\\' && p[1] && strchr("\"\\$`", p[1]))
				word[n++] = *++p;
			else
				word[n++] = c;
			continue;
		}
		if (isspace((unsigned char)c)) {
			if (inword) {
				word[n] = '\0';
				strv_push(out, word);
				n = 0;
				inword = 0;
			}
			continue;
		}
		inword = 1;
		if (c == '\'' || c == '"')
			q = c;
		else if (c == '\\' && p[1])
			word[n++] = *++p;
		else
			word[n++] = c;
	}
	if (inword) {
		word[n] = '\0';
		strv_push(out, word);
	}
	free(word);
	return 0;
}

char *
shell_quote(const char *s)
{
	size_t n = 2;
	const char *p;
	char *d, *q;

	if (*s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_-+=/.,:@%") == strlen(s))
		return xstrdup(s);
	for (p = s; *p; p++)
		n += *p == '\'' ? 4 : 1;
	d = q = xmalloc(n + 1);
	*q++ = '\'';
	for (p = s; *p; p++) {
		if (*p == '\'') {
			memcpy(q, "'\\''", 4);
			q += 4;
		} else
			*q++ = *p;
	}
	*q++ = '\'';
	*q = '\0';
	return d;
}

int
parse_size(const char *s, uint64_t *out)
{
	static const struct { const char *sfx; unsigned shift; } units[] = {
		{ "", 0 }, { "b", 0 },
		{ "k", 10 }, { "kb", 10 }, { "kib", 10 },
		{ "m", 20 }, { "mb", 20 }, { "mib", 20 },
		{ "g", 30 }, { "gb", 30 }, { "gib", 30 },
		{ "t", 40 }, { "tb", 40 }, { "tib", 40 },
	};
	unsigned long long v;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(end, units[i].sfx) != 0)
			continue;
		if (units[i].shift && v > (UINT64_MAX >> units[i].shift))
			return -EINVAL;
		*out = (uint64_t)v << units[i].shift;
		return 0;
	}
	return -EINVAL;
}

uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
fd_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n) {
		w = write(fd, c, n);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -EIO;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* fsync the directory holding path, so that a rename in it is on disk. */
static int
sync_dir(const char *path)
{
	char dir[4200];
	char *slash;
	int fd, e = 0;

	if (xsnprintf(dir, sizeof(dir), "%s", path))
		return -ENAMETOOLONG;
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return -errno;
	/* Some file systems cannot sync a directory: nothing to wait for. */
	if (fsync(fd) == -1 && errno != EINVAL)
		e = -errno;
	close(fd);
	return e;
}

int
file_replace(const char *path, const void *p, size_t n, unsigned mode)
{
	char tmp[4200];
	int fd, e;

	if (xsnprintf(tmp, sizeof(tmp), "%s.XXXXXX", path))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd == -1)
		return -errno;
	e = fchmod(fd, (mode_t)mode) == -1 ? -errno : fd_write_all(fd, p, n);
	/*
	 * On disk before the rename (issue 12): after a crash the name holds
	 * the old contents or the new, never an empty file.
	 */
	if (!e && fsync(fd) == -1)
		e = -errno;
	if (close(fd) == -1 && !e)
		e = -errno;
	if (!e && rename(tmp, path) == -1)
		e = -errno;
	if (e) {
		unlink(tmp);
		return e;
	}
	return sync_dir(path);
}

ssize_t
file_read_small(const char *path, int extra, char *buf, size_t len)
{
	struct stat st;
	ssize_t n;
	int fd, e;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | extra);
	if (fd == -1)
		return -errno;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	n = read(fd, buf, len - 1);
	e = errno;
	close(fd);
	if (n < 0)
		return -e;
	buf[n] = 0;
	return n;
}
