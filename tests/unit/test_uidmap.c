/*
 * Per-VM uids (service/uidmap.c): the range syntax, a stable choice per
 * name kept in state_dir/uids, probing past taken numbers, the range's
 * first number never given, a full range, and passwd/group overlap.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/uidmap.h"
#include "tap.h"

static char dir[] = "/tmp/test_uidmap.XXXXXX";

static char *
slurp(void)
{
	static char buf[4096];
	char path[256];
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "%s/uids", dir);
	buf[0] = '\0';
	if ((fp = fopen(path, "r")) != NULL) {
		n = fread(buf, 1, sizeof(buf) - 1, fp);
		buf[n] = '\0';
		fclose(fp);
	}
	return buf;
}

int
main(void)
{
	char err[256], path[256], line[64];
	uid_t lo, hi, a, a2, b, c, x;
	FILE *fp;

	OK(uidmap_parse("60600-61099", &lo, &hi, err, sizeof(err)) == 0 && lo == 60600 &&
	    hi == 61099, "range parsed");
	OK(uidmap_parse("5-5", &lo, &hi, err, sizeof(err)) == -EINVAL, "one number: refused");
	OK(uidmap_parse("0-10", &lo, &hi, err, sizeof(err)) == -EINVAL, "0 (root): refused");
	OK(uidmap_parse("10-", &lo, &hi, err, sizeof(err)) == -EINVAL, "no high: refused");
	OK(uidmap_parse("9-3", &lo, &hi, err, sizeof(err)) == -EINVAL, "reversed: refused");
	OK(uidmap_parse("1-4294967295", &lo, &hi, err, sizeof(err)) == -EINVAL,
	    "(uid_t)-1 in range: refused");
	OK(uidmap_overlap(0, 10, err, sizeof(err)) == -EEXIST && strstr(err, "'root'"),
	    "0-10 holds root: %s", err);
	OK(uidmap_overlap(60600, 61099, err, sizeof(err)) == 0, "the default range is free here");

	if (!mkdtemp(dir))
		return 1;
	OK(uidmap_get(dir, "a", 60600, 61099, false, &a, err, sizeof(err)) == -ENOENT,
	    "lookup without alloc: none yet");
	OK(uidmap_get(dir, "a", 60600, 61099, true, &a, err, sizeof(err)) == 0, "a allocated");
	OK(a > 60600 && a <= 61099, "a's uid %u in range, not the first number", (unsigned)a);
	OK(uidmap_get(dir, "a", 60600, 61099, false, &a2, err, sizeof(err)) == 0 && a2 == a,
	    "a found again");
	snprintf(line, sizeof(line), "a %u\n", (unsigned)a);
	OK_STREQ(slurp(), line, "kept in state_dir/uids");

	/* A tiny range: 3 numbers, the first reserved, so two VMs fit. */
	OK(uidmap_get(dir, "b", 70000, 70002, true, &b, err, sizeof(err)) == 0 &&
	    (b == 70001 || b == 70002), "b in 70001..70002: %u", (unsigned)b);
	OK(uidmap_get(dir, "c", 70000, 70002, true, &c, err, sizeof(err)) == 0 &&
	    (c == 70001 || c == 70002) && c != b, "c probes past b: %u", (unsigned)c);
	OK(uidmap_get(dir, "d", 70000, 70002, true, &x, err, sizeof(err)) == -ENOSPC,
	    "d: the range is full (%s)", err);
	OK(uidmap_get(dir, "a", 60600, 61099, true, &a2, err, sizeof(err)) == 0 && a2 == a,
	    "a keeps its uid after others came");
	/* The range moved away from a's uid: a gets a new one, b and c keep theirs. */
	OK(uidmap_get(dir, "a", 70000, 70010, true, &a2, err, sizeof(err)) == 0 &&
	    a2 > 70000 && a2 <= 70010 && a2 != b && a2 != c,
	    "a outside a new range: a new uid %u, not b's or c's", (unsigned)a2);
	OK(uidmap_get(dir, "b", 70000, 70010, false, &x, err, sizeof(err)) == 0 && x == b,
	    "b unchanged");

	/* A stored uid that passwd now names is an error, never used. */
	snprintf(path, sizeof(path), "%s/uids", dir);
	fp = fopen(path, "a");
	fprintf(fp, "r 2\n");
	fclose(fp);
	OK(uidmap_get(dir, "r", 1, 100, true, &x, err, sizeof(err)) == -EEXIST &&
	    strstr(err, "uid 2 is user"), "a uid passwd names: refused (%s)", err);

	/* Stable across hosts and builds: the hash, not the order of arrival. */
	unlink(path);
	OK(uidmap_get(dir, "web", 60600, 61099, true, &x, err, sizeof(err)) == 0,
	    "web allocated");
	/* FNV-1a("web") % 499 + 60601: pinned, so a change of hash shows. */
	OK(x == 60847, "web: 60847 on every host (got %u)", (unsigned)x);
	unlink(path);
	OK(uidmap_get(dir, "zzz", 60600, 61099, true, &a, err, sizeof(err)) == 0 &&
	    uidmap_get(dir, "web", 60600, 61099, true, &a2, err, sizeof(err)) == 0 &&
	    (a2 == x || a == x), "web gets the same uid when another VM came first");
	unlink(path);
	rmdir(dir);
	return TAP_DONE();
}
