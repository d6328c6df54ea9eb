/*
 * vmimg snapshot: list, create, apply and delete internal qcow2 snapshots,
 * with qemu-img snapshot's options, messages and listing.
 */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/util.h"
#include "storage/img.h"
#include "storage/img_lock.h"
#include "storage/snapshot.h"
#include "cmd/vmimg/vmimg.h"

enum sn_action { SN_NONE, SN_LIST, SN_CREATE, SN_APPLY, SN_DELETE };

/* QEMU's size_to_str: the next unit from 1000 of the last one on. */
static char *
qemu_size(uint64_t v)
{
	static const char *const suf[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
	int e;

	frexp((double)v / (1000.0 / 1024.0), &e);
	e = (e - 1) / 10;
	if (e < 0)
		e = 0;
	if (e > 6)
		e = 6;
	return xasprintf("%0.3g %sB", (double)v / (double)(1ULL << (e * 10)), suf[e]);
}

/* One line of the listing, as QEMU's bdrv_snapshot_dump() prints it. */
static void
list_line(const struct img_snapshot *s)
{
	time_t t = (time_t)s->is_date_sec;
	uint64_t secs = s->is_vm_clock_nsec / 1000000000;
	char date[64] = "", clock[64], icount[32] = "";
	struct tm tm;
	char *size;

	if (localtime_r(&t, &tm))
		strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(clock, sizeof(clock), "%02d:%02d:%02d.%03d", (int)(secs / 3600),
	    (int)((secs / 60) % 60), (int)(secs % 60),
	    (int)((s->is_vm_clock_nsec / 1000000) % 1000));
	if (s->is_icount != UINT64_MAX)
		snprintf(icount, sizeof(icount), "%lld", (long long)s->is_icount);
	size = qemu_size(s->is_vm_state_size);
	printf("%-9s %-16s %8s%20s%13s%11s\n", s->is_id, s->is_name, size, date,
	    clock, icount);
	free(size);
}

void
vmimg_snapshot_print(const struct img *im)
{
	struct img_snapshot *v;
	size_t n;

	if (img_snapshot_list(im, &v, &n) < 0)
		return;
	if (n) {
		printf("Snapshot list:\n%-10s%-17s%8s%20s%13s%11s\n", "ID", "TAG",
		    "VM SIZE", "DATE", "VM CLOCK", "ICOUNT");
		for (size_t i = 0; i < n; i++)
			list_line(&v[i]);
	}
	free(v);
}

/* The fields and their order as qemu-img 7.2 prints them; no member when none. */
void
vmimg_snapshot_json(const struct img *im, json_object *o)
{
	json_object *arr = img_snapshots_json(im);

	if (arr && json_object_array_length(arr))
		json_object_object_add(o, "snapshots", arr);
	else
		json_object_put(arr);
}

int
vmimg_snapshot(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "force", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	enum sn_action act = SN_NONE;
	enum img_fmt fmt = IMG_FMT_AUTO;
	const char *tag = NULL;
	char err[IMG_ERRLEN];
	int flags = IMG_NO_BACKING, nolock = 0, c, r;
	struct img *im;

	while ((c = getopt_long(argc, argv, "la:c:d:f:qUh", lo, NULL)) != -1) {
		enum sn_action a = SN_NONE;

		switch (c) {
		case 'l': a = SN_LIST; break;
		case 'c': a = SN_CREATE; break;
		case 'a': a = SN_APPLY; break;
		case 'd': a = SN_DELETE; break;
		case 'f': if (vmimg_parse_fmt(optarg, &fmt) < 0) return 1; break;
		case 'q': break;	/* nothing is printed but the listing */
		case 'U': nolock = 1; break;
		case 'D': flags |= IMG_DEVICES; break;
		case 'h': return vmimg_help();
		default: return vmimg_usage();
		}
		if (a == SN_NONE)
			continue;
		if (act != SN_NONE)
			return vmimg_fail("cannot mix '-l', '-a', '-c', '-d'");
		act = a;
		tag = a == SN_LIST ? NULL : optarg;
	}
	if (argc - optind != 1)
		return vmimg_usage();
	if (act == SN_NONE)
		return 0;	/* as qemu-img: nothing asked, nothing done */
	if (act != SN_LIST)
		flags |= IMG_RDWR;
	if ((r = img_open(argv[optind], fmt, flags, &im, err, sizeof(err))) < 0)
		return vmimg_fail_r(r, err);
	/* As qemu-img: -U (force share) reads an image in use; changing one
	 * is never forced. */
	if ((!nolock || act != SN_LIST) &&
	    (r = img_lock(im, act != SN_LIST, err, sizeof(err))) < 0) {
		img_close(im);
		return vmimg_fail(err);
	}
	switch (act) {
	case SN_LIST:
		vmimg_snapshot_print(im);
		r = 0;
		break;
	case SN_CREATE:
		r = img_snapshot_create(im, tag, err, sizeof(err));
		break;
	case SN_DELETE:
		r = img_snapshot_delete(im, tag, err, sizeof(err));
		break;
	case SN_APPLY:
		r = img_snapshot_apply(im, tag, err, sizeof(err));
		break;
	case SN_NONE:
		break;
	}
	if (act != SN_LIST && r < 0)
		r = vmimg_fail(err);
	img_close(im);
	return r;
}
