/* vmimg: create, inspect, check, convert and rebase raw and qcow2 disk images. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util.h"
#include "storage/img.h"
#include "storage/ops.h"
#include "cmd/vmimg/vmimg.h"

#define EXIT_USAGE	1	/* qemu-img uses 1 for every failure too */

struct cmd {
	const char	*c_name;
	int		(*c_fn)(int argc, char **argv);
	const char	*c_usage;
	const char	*c_help;
};

static int cmd_create(int, char **);
static int cmd_info(int, char **);
static int cmd_check(int, char **);
static int cmd_convert(int, char **);
static int cmd_resize(int, char **);
static int cmd_rebase(int, char **);
static int cmd_commit(int, char **);

static const struct cmd cmds[] = {
	{ "create", cmd_create,
	  "[--force] [-f raw|qcow2] [-b BACKING [-F FMT]] [-o cluster_size=N,"
	  "compat=0.10|1.1,refcount_bits=N,compression_type=zlib|zstd,"
	  "extended_l2=on|off,data_file=NAME,data_file_raw=on|off] FILE [SIZE]",
	  "create an image; an overlay (-b) takes its size from the backing file" },
	{ "info", cmd_info, "[--force] [-f FMT] [--output=human|json] [--backing-chain] "
	  "FILE",
	  "show the format, sizes and backing file of an image" },
	{ "check", cmd_check, "[--force] [-f FMT] [-r leaks|all] [--output=human|json] "
	  "FILE",
	  "check a qcow2 image's refcounts; exit 0 clean, 1 check failed, "
	  "2 corrupt, 3 leaks only, 63 format not checkable" },
	{ "convert", cmd_convert,
	  "[--force] [-c] [-p] [-f FMT] -O raw|qcow2 [-o cluster_size=N,compat=...,"
	  "compression_type=zlib|zstd,extended_l2=on|off,data_file=NAME,"
	  "data_file_raw=on|off] SRC DST",
	  "copy an image's content into a new image (sparse; -c compresses)" },
	{ "resize", cmd_resize, "[--force] [-f FMT] [--shrink] FILE [+|-]SIZE",
	  "change the virtual size; shrinking needs --shrink" },
	{ "rebase", cmd_rebase, "[--force] [-u] [-p] -b BACKING [-F FMT] FILE",
	  "change the backing file keeping the content (-u: header only)" },
	{ "commit", cmd_commit, "[--force] [-p] [-d] FILE",
	  "write an overlay's data into its backing file (-d: keep the overlay)" },
	{ "snapshot", vmimg_snapshot,
	  "[--force] [-f FMT] [-q] [-U] -l | -c TAG | -a TAG | -d TAG FILE",
	  "list (-l), create (-c), apply (-a) or delete (-d) internal snapshots" },
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static const struct cmd *cur;

static void
usage_all(FILE *fp)
{
	fprintf(fp, "usage: vmimg COMMAND [OPTIONS]   (vmimg COMMAND --help)\n\n");
	for (size_t i = 0; i < NCMDS; i++)
		fprintf(fp, "  %s %s\n      %s\n", cmds[i].c_name, cmds[i].c_usage,
		    cmds[i].c_help);
	fprintf(fp, "\nSIZE takes K, M, G, T suffixes (powers of 1024).\n"
	    "A backing file named in an image's header must be a regular file, and\n"
	    "one named on the command line a regular file or a block device:\n"
	    "--force also opens devices (never a FIFO). Images are created 0600.\n");
}

static int
usage(void)
{
	fprintf(stderr, "usage: vmimg %s %s\n", cur->c_name, cur->c_usage);
	return EXIT_USAGE;
}

static int
help(void)
{
	printf("usage: vmimg %s %s\n  %s\n", cur->c_name, cur->c_usage, cur->c_help);
	return 0;
}

static int
fail(const char *msg)
{
	fprintf(stderr, "vmimg %s: %s\n", cur->c_name, msg);
	return 1;
}

/* fail(), and how to open a refused device (img_open_untrusted). */
static int
fail_r(int r, const char *msg)
{
	if (r != -EMEDIUMTYPE)
		return fail(msg);
	fprintf(stderr, "vmimg %s: %s; --force opens it anyway\n", cur->c_name, msg);
	return 1;
}

static int
parse_fmt(const char *s, enum img_fmt *f)
{
	if (img_fmt_parse(s, f) < 0) {
		fprintf(stderr, "vmimg %s: unknown format '%s' (raw or qcow2)\n",
		    cur->c_name, s);
		return -1;
	}
	return 0;
}

/* -o key=value[,key=value] for create and convert. */
static int
parse_create_opts(char *s, struct img_create_opts *co)
{
	for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		char *v = strchr(tok, '=');
		uint64_t n;

		if (!v)
			goto bad;
		*v++ = '\0';
		if (strcmp(tok, "cluster_size") == 0 && parse_size(v, &n) == 0 &&
		    n <= (2u << 20))
			co->co_cluster_size = (uint32_t)n;
		else if (strcmp(tok, "compat") == 0 && (!strcmp(v, "0.10") || !strcmp(v, "v2")))
			co->co_compat = 2;
		else if (strcmp(tok, "compat") == 0 && (!strcmp(v, "1.1") || !strcmp(v, "v3")))
			co->co_compat = 3;
		else if (strcmp(tok, "refcount_bits") == 0 && parse_size(v, &n) == 0 &&
		    n <= 64)
			co->co_refcount_bits = (int)n;
		else if (strcmp(tok, "compression_type") == 0 &&
		    (!strcmp(v, "zlib") || !strcmp(v, "zstd")))
			co->co_zstd = !strcmp(v, "zstd");
		else if (strcmp(tok, "extended_l2") == 0 &&
		    (!strcmp(v, "on") || !strcmp(v, "off")))
			co->co_extl2 = !strcmp(v, "on");
		else if (strcmp(tok, "data_file") == 0 && *v)
			co->co_data_file = v;
		else if (strcmp(tok, "data_file_raw") == 0 &&
		    (!strcmp(v, "on") || !strcmp(v, "off")))
			co->co_data_raw = !strcmp(v, "on");
		else
			goto bad;
		continue;
bad:
		fprintf(stderr, "vmimg %s: bad option '%s'\n", cur->c_name, tok);
		return -1;
	}
	return 0;
}

static void
progress_bar(void *arg, uint64_t done, uint64_t total)
{
	int *last = arg;
	int pct = total ? (int)(done * 1000 / total) : 1000;

	if (pct == *last)
		return;
	*last = pct;
	fprintf(stderr, "\r    (%3d.%d/100%%)", pct / 10, pct % 10);
	if (done >= total)
		fputc('\n', stderr);
	fflush(stderr);
}

#define HELP_OPT	{ "help", no_argument, NULL, 'h' }
/* --force: devices may be opened (IMG_DEVICES) */
#define FORCE_OPT	{ "force", no_argument, NULL, 'D' }

static int
cmd_create(int argc, char **argv)
{
	static const struct option lo[] = { FORCE_OPT, HELP_OPT, { 0 } };
	struct img_create_opts co = { .co_fmt = IMG_FMT_RAW, .co_excl = 0 };
	char err[IMG_ERRLEN];
	int c, r;

	while ((c = getopt_long(argc, argv, "f:b:F:o:h", lo, NULL)) != -1) {
		switch (c) {
		case 'D': co.co_flags |= IMG_DEVICES; break;
		case 'f': if (parse_fmt(optarg, &co.co_fmt) < 0) return 1; break;
		case 'b': co.co_backing = optarg; break;
		case 'F': if (parse_fmt(optarg, &co.co_backing_fmt) < 0) return 1; break;
		case 'o': if (parse_create_opts(optarg, &co) < 0) return 1; break;
		case 'h': return help();
		default: return usage();
		}
	}
	if (optind >= argc || argc - optind > 2)
		return usage();
	co.co_path = argv[optind];
	if (argc - optind == 2 && parse_size(argv[optind + 1], &co.co_size) < 0)
		return fail("bad size (use a number with K, M, G or T)");
	if (argc - optind == 1 && !co.co_backing)
		return fail("a size is needed unless there is a backing file");
	if ((r = img_create_opts(&co, err, sizeof(err))) < 0)
		return fail_r(r, err);
	return 0;
}

static char *
human_size(uint64_t v)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double d = (double)v;
	size_t u = 0;

	while (d >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		d /= 1024;
		u++;
	}
	return xasprintf("%0.3g %s", d, units[u]);
}

static json_object *
info_json(const struct img *im, const struct img_info *ii)
{
	json_object *o = json_object_new_object();

	vmimg_snapshot_json(im, o);
	json_object_object_add(o, "virtual-size", json_object_new_int64((int64_t)ii->ii_size));
	json_object_object_add(o, "filename", json_object_new_string(im->im_path));
	if (ii->ii_cluster)
		json_object_object_add(o, "cluster-size", json_object_new_int64(ii->ii_cluster));
	json_object_object_add(o, "format", json_object_new_string(img_fmt_name(ii->ii_fmt)));
	json_object_object_add(o, "actual-size",
	    json_object_new_int64((int64_t)ii->ii_disk_size));
	if (ii->ii_fmt == IMG_FMT_QCOW2) {
		json_object *fs = json_object_new_object(), *d = json_object_new_object();

		/* The fields and their order as qemu-img 7.2 prints them. */
		json_object_object_add(d, "compat",
		    json_object_new_string(ii->ii_compat == 2 ? "0.10" : "1.1"));
		json_object_object_add(d, "compression-type",
		    json_object_new_string(ii->ii_zstd ? "zstd" : "zlib"));
		if (ii->ii_compat >= 3)
			json_object_object_add(d, "lazy-refcounts",
			    json_object_new_boolean(ii->ii_lazy_refcounts));
		json_object_object_add(d, "refcount-bits",
		    json_object_new_int(ii->ii_refcount_bits));
		if (ii->ii_data_file) {
			json_object_object_add(d, "data-file",
			    json_object_new_string(ii->ii_data_file));
			json_object_object_add(d, "data-file-raw",
			    json_object_new_boolean(ii->ii_data_raw));
		}
		if (ii->ii_compat >= 3) {
			json_object_object_add(d, "corrupt",
			    json_object_new_boolean(ii->ii_corrupt));
			json_object_object_add(d, "extended-l2",
			    json_object_new_boolean(ii->ii_extl2));
		}
		json_object_object_add(fs, "type", json_object_new_string("qcow2"));
		json_object_object_add(fs, "data", d);
		json_object_object_add(o, "format-specific", fs);
		json_object_object_add(o, "dirty-flag", json_object_new_boolean(ii->ii_dirty));
	}
	if (ii->ii_backing) {
		json_object_object_add(o, "full-backing-filename",
		    json_object_new_string(ii->ii_backing_full));
		json_object_object_add(o, "backing-filename",
		    json_object_new_string(ii->ii_backing));
		if (ii->ii_backing_fmt != IMG_FMT_AUTO)
			json_object_object_add(o, "backing-filename-format",
			    json_object_new_string(img_fmt_name(ii->ii_backing_fmt)));
	}
	return o;
}

static void
info_human(const struct img *im, const struct img_info *ii)
{
	char *vs = human_size(ii->ii_size), *ds = human_size(ii->ii_disk_size);

	printf("image: %s\nfile format: %s\nvirtual size: %s (%llu bytes)\n"
	    "disk size: %s\n", im->im_path, img_fmt_name(ii->ii_fmt), vs,
	    (unsigned long long)ii->ii_size, ds);
	if (ii->ii_cluster)
		printf("cluster_size: %u\n", ii->ii_cluster);
	if (ii->ii_backing) {
		printf("backing file: %s", ii->ii_backing);
		if (strcmp(ii->ii_backing, ii->ii_backing_full) != 0)
			printf(" (actual path: %s)", ii->ii_backing_full);
		printf("\n");
		if (ii->ii_backing_fmt != IMG_FMT_AUTO)
			printf("backing file format: %s\n", img_fmt_name(ii->ii_backing_fmt));
	}
	vmimg_snapshot_print(im);
	if (ii->ii_fmt == IMG_FMT_QCOW2) {
		printf("Format specific information:\n    compat: %s\n"
		    "    compression type: %s\n", ii->ii_compat == 2 ? "0.10" : "1.1",
		    ii->ii_zstd ? "zstd" : "zlib");
		if (ii->ii_compat >= 3)
			printf("    lazy refcounts: %s\n",
			    ii->ii_lazy_refcounts ? "true" : "false");
		printf("    refcount bits: %d\n", ii->ii_refcount_bits);
		if (ii->ii_data_file)
			printf("    data file: %s\n    data file raw: %s\n",
			    ii->ii_data_file, ii->ii_data_raw ? "true" : "false");
		if (ii->ii_compat >= 3)
			printf("    corrupt: %s\n    extended l2: %s\n",
			    ii->ii_corrupt ? "true" : "false",
			    ii->ii_extl2 ? "true" : "false");
	}
	free(vs);
	free(ds);
}

static int
cmd_info(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "output", required_argument, NULL, 'O' },
		{ "backing-chain", no_argument, NULL, 'B' },
		FORCE_OPT, HELP_OPT, { 0 },
	};
	enum img_fmt fmt = IMG_FMT_AUTO;
	int json = 0, chain = 0, force = 0, c, r;
	json_object *arr = NULL;
	char err[IMG_ERRLEN];
	struct img *im;

	while ((c = getopt_long(argc, argv, "f:h", lo, NULL)) != -1) {
		switch (c) {
		case 'f': if (parse_fmt(optarg, &fmt) < 0) return 1; break;
		case 'O':
			if (strcmp(optarg, "json") == 0) json = 1;
			else if (strcmp(optarg, "human") == 0) json = 0;
			else return usage();
			break;
		case 'B': chain = 1; break;
		case 'D': force = IMG_DEVICES; break;
		case 'h': return help();
		default: return usage();
		}
	}
	if (argc - optind != 1)
		return usage();
	if ((r = img_open(argv[optind], fmt, force | (chain ? 0 : IMG_NO_BACKING), &im,
	    err, sizeof(err))) < 0)
		return fail_r(r, err);
	if (json && chain)
		arr = json_object_new_array();
	for (struct img *p = im; p; p = chain ? p->im_backing : NULL) {
		struct img_info ii;

		if (img_get_info(p, &ii) < 0) {
			fail(img_errmsg(p));
			img_close(im);
			return 1;
		}
		if (json) {
			json_object *o = info_json(p, &ii);

			if (arr) {
				json_object_array_add(arr, o);
			} else {
				printf("%s\n", json_object_to_json_string_ext(o,
				    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
				json_object_put(o);
			}
		} else {
			if (p != im)
				printf("\n");
			info_human(p, &ii);
		}
		img_info_free(&ii);
	}
	if (arr) {
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
		json_object_put(arr);
	}
	img_close(im);
	return 0;
}

static void
check_report(const struct img_check_result *cr, int fix)
{
	if (cr->cr_leaks_fixed || cr->cr_corruptions_fixed)
		printf("The following inconsistencies were found and repaired:\n\n"
		    "    %llu leaked clusters\n    %llu corruptions\n\n"
		    "Double checking the fixed image now...\n",
		    (unsigned long long)cr->cr_leaks_fixed,
		    (unsigned long long)cr->cr_corruptions_fixed);
	if (!cr->cr_corruptions && !cr->cr_leaks && !cr->cr_check_errors)
		printf("No errors were found on the image.\n");
	if (cr->cr_corruptions)
		printf("\n%llu errors were found on the image.\nData may be corrupted, "
		    "or further writes to the image may corrupt it.\n",
		    (unsigned long long)cr->cr_corruptions);
	if (cr->cr_leaks)
		printf("\n%llu leaked clusters were found on the image.\nThis means "
		    "waste of disk space, but no harm to data.\n",
		    (unsigned long long)cr->cr_leaks);
	if (cr->cr_check_errors)
		printf("\n%llu internal errors have occurred during the check.\n",
		    (unsigned long long)cr->cr_check_errors);
	if (cr->cr_total_clusters)
		printf("%llu/%llu = %.2f%% allocated, %.2f%% fragmented, %.2f%% "
		    "compressed clusters\n",
		    (unsigned long long)cr->cr_allocated_clusters,
		    (unsigned long long)cr->cr_total_clusters,
		    cr->cr_allocated_clusters * 100.0 / cr->cr_total_clusters,
		    cr->cr_allocated_clusters ? cr->cr_fragmented_clusters * 100.0 /
		    cr->cr_allocated_clusters : 0.0,
		    cr->cr_allocated_clusters ? cr->cr_compressed_clusters * 100.0 /
		    cr->cr_allocated_clusters : 0.0);
	printf("Image end offset: %llu\n", (unsigned long long)cr->cr_image_end_offset);
	(void)fix;
}

static int
check_json(const char *path, const struct img_check_result *cr)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "image-end-offset",
	    json_object_new_int64((int64_t)cr->cr_image_end_offset));
	json_object_object_add(o, "total-clusters",
	    json_object_new_int64((int64_t)cr->cr_total_clusters));
	json_object_object_add(o, "check-errors",
	    json_object_new_int64((int64_t)cr->cr_check_errors));
	json_object_object_add(o, "allocated-clusters",
	    json_object_new_int64((int64_t)cr->cr_allocated_clusters));
	json_object_object_add(o, "filename", json_object_new_string(path));
	json_object_object_add(o, "format", json_object_new_string("qcow2"));
	json_object_object_add(o, "fragmented-clusters",
	    json_object_new_int64((int64_t)cr->cr_fragmented_clusters));
	json_object_object_add(o, "compressed-clusters",
	    json_object_new_int64((int64_t)cr->cr_compressed_clusters));
	if (cr->cr_corruptions)
		json_object_object_add(o, "corruptions",
		    json_object_new_int64((int64_t)cr->cr_corruptions));
	if (cr->cr_leaks)
		json_object_object_add(o, "leaks", json_object_new_int64((int64_t)cr->cr_leaks));
	if (cr->cr_corruptions_fixed)
		json_object_object_add(o, "corruptions-fixed",
		    json_object_new_int64((int64_t)cr->cr_corruptions_fixed));
	if (cr->cr_leaks_fixed)
		json_object_object_add(o, "leaks-fixed",
		    json_object_new_int64((int64_t)cr->cr_leaks_fixed));
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
	json_object_put(o);
	return 0;
}

static int
cmd_check(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "output", required_argument, NULL, 'O' }, FORCE_OPT, HELP_OPT, { 0 },
	};
	struct img_check_result cr;
	enum img_fmt fmt = IMG_FMT_AUTO;
	char err[IMG_ERRLEN];
	int fix = 0, json = 0, force = 0, c, r;
	struct img *im;

	while ((c = getopt_long(argc, argv, "f:r:h", lo, NULL)) != -1) {
		switch (c) {
		case 'f': if (parse_fmt(optarg, &fmt) < 0) return IMG_CHECK_INCOMPLETE; break;
		case 'r':
			if (strcmp(optarg, "leaks") == 0) fix = IMG_FIX_LEAKS;
			else if (strcmp(optarg, "all") == 0) fix = IMG_FIX_LEAKS | IMG_FIX_ERRORS;
			else return usage();
			break;
		case 'O':
			if (strcmp(optarg, "json") == 0) json = 1;
			else if (strcmp(optarg, "human") == 0) json = 0;
			else return usage();
			break;
		case 'D': force = IMG_DEVICES; break;
		case 'h': return help();
		default: return usage();
		}
	}
	if (argc - optind != 1)
		return usage();
	if ((r = img_open(argv[optind], fmt, IMG_NO_BACKING | force |
	    (fix ? IMG_RDWR | IMG_FORCE : 0), &im, err, sizeof(err))) < 0) {
		fail_r(r, err);
		return IMG_CHECK_INCOMPLETE;
	}
	if (im->im_fmt != IMG_FMT_QCOW2) {
		fprintf(stderr, "vmimg check: %s: this image format does not support "
		    "checks\n", im->im_path);
		img_close(im);
		return IMG_CHECK_UNSUPPORTED;
	}
	r = img_check(im, fix, &cr, stderr, err, sizeof(err));
	img_close(im);
	if (r < 0) {
		fail(err);
		return IMG_CHECK_INCOMPLETE;
	}
	if (json)
		check_json(argv[optind], &cr);
	else
		check_report(&cr, fix);
	if (cr.cr_check_errors)
		return IMG_CHECK_INCOMPLETE;
	if (cr.cr_corruptions)
		return IMG_CHECK_CORRUPT;
	if (cr.cr_leaks)
		return IMG_CHECK_LEAKS;
	return IMG_CHECK_OK;
}

static int
cmd_convert(int argc, char **argv)
{
	static const struct option lo[] = { FORCE_OPT, HELP_OPT, { 0 } };
	struct img_convert_opts o = { .cv_dst_fmt = IMG_FMT_AUTO };
	struct img_create_opts co = { 0 };
	char err[IMG_ERRLEN];
	int show = 0, last = -1, c, r;

	while ((c = getopt_long(argc, argv, "cpf:O:o:h", lo, NULL)) != -1) {
		switch (c) {
		case 'D': o.cv_flags |= IMG_DEVICES; break;
		case 'c': o.cv_compress = 1; break;
		case 'p': show = 1; break;
		case 'f': if (parse_fmt(optarg, &o.cv_src_fmt) < 0) return 1; break;
		case 'O': if (parse_fmt(optarg, &o.cv_dst_fmt) < 0) return 1; break;
		case 'o': if (parse_create_opts(optarg, &co) < 0) return 1; break;
		case 'h': return help();
		default: return usage();
		}
	}
	if (argc - optind != 2)
		return usage();
	if (o.cv_dst_fmt == IMG_FMT_AUTO)
		o.cv_dst_fmt = IMG_FMT_RAW;	/* qemu-img's default too */
	o.cv_src = argv[optind];
	o.cv_dst = argv[optind + 1];
	o.cv_cluster_size = co.co_cluster_size;
	o.cv_compat = co.co_compat;
	o.cv_zstd = co.co_zstd;
	o.cv_extl2 = co.co_extl2;
	o.cv_data_file = co.co_data_file;
	o.cv_data_raw = co.co_data_raw;
	if (show) {
		o.cv_progress = progress_bar;
		o.cv_arg = &last;
		progress_bar(&last, 0, 1);
	}
	if ((r = img_convert(&o, err, sizeof(err))) < 0)
		return fail_r(r, err);
	return 0;
}

static int
cmd_resize(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "shrink", no_argument, NULL, 'S' }, FORCE_OPT, HELP_OPT, { 0 },
	};
	enum img_fmt fmt = IMG_FMT_AUTO;
	char err[IMG_ERRLEN];
	int shrink = 0, force = 0, c, r;
	uint64_t n, size;
	struct img *im;
	const char *s;

	/* A trailing "-1G" would look like an option to getopt: set it aside. */
	s = argc > 2 && argv[argc - 1][0] == '-' &&
	    isdigit((unsigned char)argv[argc - 1][1]) ? argv[--argc] : NULL;
	while ((c = getopt_long(argc, argv, "f:h", lo, NULL)) != -1) {
		switch (c) {
		case 'f': if (parse_fmt(optarg, &fmt) < 0) return 1; break;
		case 'S': shrink = 1; break;
		case 'D': force = IMG_DEVICES; break;
		case 'h': return help();
		default: return usage();
		}
	}
	if (argc - optind != (s ? 1 : 2))
		return usage();
	if (!s)
		s = argv[optind + 1];
	if (parse_size(s + (*s == '+' || *s == '-'), &n) < 0)
		return fail("bad size (use [+|-]N with K, M, G or T)");
	if ((r = img_open(argv[optind], fmt, IMG_RDWR | force, &im, err,
	    sizeof(err))) < 0)
		return fail_r(r, err);
	if (*s == '+')
		size = im->im_size + n;
	else if (*s == '-')
		size = n > im->im_size ? 0 : im->im_size - n;
	else
		size = n;
	if ((*s == '+' && size < n) || (*s == '-' && n > im->im_size)) {
		img_close(im);
		return fail("size out of range");
	}
	r = img_resize(im, size, shrink, err, sizeof(err));
	img_close(im);
	if (r < 0)
		return fail(err);
	printf("Image resized.\n");
	return 0;
}

static int
cmd_rebase(int argc, char **argv)
{
	static const struct option lo[] = { FORCE_OPT, HELP_OPT, { 0 } };
	enum img_fmt fmt = IMG_FMT_AUTO, bfmt = IMG_FMT_AUTO;
	const char *backing = NULL;
	int unsafe = 0, show = 0, last = -1, force = 0, c, r;
	char err[IMG_ERRLEN];
	struct img *im;

	while ((c = getopt_long(argc, argv, "uf:b:F:ph", lo, NULL)) != -1) {
		switch (c) {
		case 'u': unsafe = 1; break;
		case 'p': show = 1; break;
		case 'f': if (parse_fmt(optarg, &fmt) < 0) return 1; break;
		case 'b': backing = optarg; break;
		case 'F': if (parse_fmt(optarg, &bfmt) < 0) return 1; break;
		case 'D': force = IMG_DEVICES; break;
		case 'h': return help();
		default: return usage();
		}
	}
	if (argc - optind != 1 || !backing)
		return usage();
	/* Unsafe mode must work when the old backing file is gone. */
	if ((r = img_open(argv[optind], fmt, IMG_RDWR | force |
	    (unsafe ? IMG_NO_BACKING : 0), &im, err, sizeof(err))) < 0)
		return fail_r(r, err);
	r = img_rebase(im, backing, bfmt, unsafe, show ? progress_bar : NULL, &last,
	    err, sizeof(err));
	img_close(im);
	if (r < 0)
		return fail_r(r, err);
	return 0;
}

static int
cmd_commit(int argc, char **argv)
{
	static const struct option lo[] = { FORCE_OPT, HELP_OPT, { 0 } };
	struct img_create_opts co = { 0 };
	enum img_fmt fmt = IMG_FMT_AUTO;
	int keep = 0, show = 0, last = -1, force = 0, c, r;
	char err[IMG_ERRLEN];
	struct img_info ii;
	struct img *im;

	while ((c = getopt_long(argc, argv, "f:pdh", lo, NULL)) != -1) {
		switch (c) {
		case 'f': if (parse_fmt(optarg, &fmt) < 0) return 1; break;
		case 'p': show = 1; break;
		case 'd': keep = 1; break;
		case 'D': force = IMG_DEVICES; break;
		case 'h': return help();
		default: return usage();
		}
	}
	if (argc - optind != 1)
		return usage();
	if ((r = img_open(argv[optind], fmt, force, &im, err, sizeof(err))) < 0)
		return fail_r(r, err);
	r = img_commit(im, show ? progress_bar : NULL, &last, err, sizeof(err));
	if (r == 0 && !keep && img_get_info(im, &ii) == 0) {
		/* Empty the overlay, as qemu-img commit does without -d. */
		co.co_path = im->im_path;
		co.co_fmt = im->im_fmt;
		co.co_size = im->im_size;
		co.co_backing = ii.ii_backing;
		co.co_backing_fmt = ii.ii_backing_fmt;
		co.co_cluster_size = ii.ii_cluster;
		co.co_compat = ii.ii_compat;
		co.co_refcount_bits = ii.ii_refcount_bits;
		co.co_zstd = ii.ii_zstd;
		co.co_extl2 = ii.ii_extl2;
		co.co_data_file = ii.ii_data_file;
		co.co_data_raw = ii.ii_data_raw;
		co.co_flags = force;
		r = img_create_opts(&co, err, sizeof(err));
		img_info_free(&ii);
	}
	img_close(im);
	if (r < 0)
		return fail_r(r, err);
	printf("Image committed.\n");
	return 0;
}

/* For the subcommands in files of their own (vmimg.h). */
int vmimg_usage(void) { return usage(); }
int vmimg_help(void) { return help(); }
int vmimg_fail(const char *msg) { return fail(msg); }
int vmimg_fail_r(int r, const char *msg) { return fail_r(r, msg); }
int vmimg_parse_fmt(const char *s, enum img_fmt *f) { return parse_fmt(s, f); }

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage_all(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage_all(stdout);
		return 0;
	}
	for (size_t i = 0; i < NCMDS; i++) {
		if (strcmp(argv[1], cmds[i].c_name) == 0) {
			cur = &cmds[i];
			return cmds[i].c_fn(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "vmimg: unknown command '%s'\n", argv[1]);
	usage_all(stderr);
	return EXIT_USAGE;
}
