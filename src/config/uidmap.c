/* Per-VM uids from uid_range, kept in state_dir/uids (see uidmap.h). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util.h"
#include "config/uidmap.h"

#define UIDMAP_MAX_FILE	(1024 * 1024)

struct uent {
	char	 name[256];
	uid_t	 uid;
};

int
uidmap_parse(const char *s, uid_t *lo, uid_t *hi, char *err, size_t errlen)
{
	unsigned long a, b;
	char *end;

	errno = 0;
	a = strtoul(s, &end, 10);
	if (end == s || *end != '-' || errno)
		goto bad;
	s = end + 1;
	b = strtoul(s, &end, 10);
	if (end == s || *end || errno || a == 0 || a >= b || b >= 0x7fffffffUL)
		goto bad;
	*lo = (uid_t)a;
	*hi = (uid_t)b;
	return 0;
bad:
	snprintf(err, errlen, "uid_range: want LOW-HIGH, 0 < LOW < HIGH < 2147483647");
	return -EINVAL;
}

/* Is u named by passwd or group? Who, in err. */
static bool
named(uid_t u, char *err, size_t errlen)
{
	struct passwd *pw = getpwuid(u);
	struct group *gr;

	if (pw) {
		snprintf(err, errlen, "uid %u is user '%s'", (unsigned)u, pw->pw_name);
		return true;
	}
	if ((gr = getgrgid((gid_t)u)) != NULL) {
		snprintf(err, errlen, "gid %u is group '%s'", (unsigned)u, gr->gr_name);
		return true;
	}
	return false;
}

int
uidmap_overlap(uid_t lo, uid_t hi, char *err, size_t errlen)
{
	struct passwd *pw;
	struct group *gr;
	int e = 0;

	/* One pass over each database, not a lookup per number. */
	setpwent();
	while (!e && (pw = getpwent()) != NULL)
		if (pw->pw_uid >= lo && pw->pw_uid <= hi) {
			snprintf(err, errlen, "uid_range %u-%u holds user '%s' (uid %u)",
			    (unsigned)lo, (unsigned)hi, pw->pw_name, (unsigned)pw->pw_uid);
			e = -EEXIST;
		}
	endpwent();
	setgrent();
	while (!e && (gr = getgrent()) != NULL)
		if (gr->gr_gid >= lo && gr->gr_gid <= hi) {
			snprintf(err, errlen, "uid_range %u-%u holds group '%s' (gid %u)",
			    (unsigned)lo, (unsigned)hi, gr->gr_name, (unsigned)gr->gr_gid);
			e = -EEXIST;
		}
	endgrent();
	return e;
}

/* state_dir/uids into *v (empty if missing). 0 or -errno. */
static int
read_map(const char *path, struct uent **v, size_t *n, char *err, size_t errlen)
{
	char *buf, *line, *save = NULL;
	struct stat st;
	ssize_t r;
	int fd;

	*v = NULL;
	*n = 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size > UIDMAP_MAX_FILE) {
		snprintf(err, errlen, "%s: not a regular file of at most %d bytes", path,
		    UIDMAP_MAX_FILE);
		close(fd);
		return -EINVAL;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	r = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(buf);
		return -EIO;
	}
	buf[r] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct uent u;
		unsigned long id;
		char nm[256];

		if (sscanf(line, "%255s %lu", nm, &id) != 2)
			continue;	/* not ours to judge: kept out, never fatal */
		snprintf(u.name, sizeof(u.name), "%s", nm);
		u.uid = (uid_t)id;
		*v = xrealloc(*v, (*n + 1) * sizeof(**v));
		(*v)[(*n)++] = u;
	}
	free(buf);
	return 0;
}

static int
write_map(const char *path, const struct uent *v, size_t n)
{
	size_t len = 0, cap = 64;
	char *text = xmalloc(cap);
	int e;

	for (size_t i = 0; i < n; i++) {
		size_t want = strlen(v[i].name) + 16;

		if (len + want >= cap)
			text = xrealloc(text, cap = (len + want) * 2);
		len += (size_t)snprintf(text + len, cap - len, "%s %u\n", v[i].name,
		    (unsigned)v[i].uid);
	}
	e = file_replace(path, text, len, 0644);
	free(text);
	return e;
}

/* FNV-1a: stable across builds and hosts, unlike anything seeded. */
static uint32_t
name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static bool
taken(const struct uent *v, size_t n, const char *name, uid_t u)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].uid == u && strcmp(v[i].name, name) != 0)
			return true;
	return false;
}

int
uidmap_get(const char *state_dir, const char *name, uid_t lo, uid_t hi, bool alloc,
    uid_t *uid, char *err, size_t errlen)
{
	char path[4096], who[160];
	struct uent *v;
	size_t n, i, span, start;
	int e;

	lo++;	/* the shared run_dir gid, see uidmap.h */
	span = (size_t)(hi - lo) + 1;
	if (xsnprintf(path, sizeof(path), "%s/uids", state_dir))
		return -ENAMETOOLONG;
	if ((e = read_map(path, &v, &n, err, errlen)))
		return e;
	for (i = 0; i < n; i++) {
		if (strcmp(v[i].name, name) != 0 || v[i].uid < lo || v[i].uid > hi)
			continue;
		*uid = v[i].uid;
		free(v);
		if (named(*uid, who, sizeof(who))) {
			snprintf(err, errlen, "VM %s's uid %u (from %s): %s; uid_range must hold "
			    "no passwd or group entry", name, (unsigned)*uid, path, who);
			return -EEXIST;
		}
		return 0;
	}
	if (!alloc) {
		free(v);
		snprintf(err, errlen, "VM %s has no uid in %s yet", name, path);
		return -ENOENT;
	}
	start = name_hash(name) % span;
	for (i = 0; i < span; i++) {
		uid_t u = lo + (uid_t)((start + i) % span);

		if (!taken(v, n, name, u) && !named(u, who, sizeof(who)))
			break;
	}
	if (i == span) {
		free(v);
		snprintf(err, errlen, "uid_range %u-%u is full: no uid left for VM %s",
		    (unsigned)lo - 1, (unsigned)hi, name);
		return -ENOSPC;
	}
	*uid = lo + (uid_t)((start + i) % span);
	/* An entry of this name outside the range is replaced, the rest kept. */
	for (i = 0; i < n && strcmp(v[i].name, name) != 0; i++)
		;
	if (i == n)
		v = xrealloc(v, ++n * sizeof(*v));
	snprintf(v[i].name, sizeof(v[i].name), "%s", name);
	v[i].uid = *uid;
	e = write_map(path, v, n);
	free(v);
	if (e)
		snprintf(err, errlen, "cannot save VM %s's uid in %s: %s", name, path,
		    strerror(-e));
	return e;
}
