/*
 * The provisioning calls the daemon makes: img_create, img_ensure and
 * img_overlay_fresh (disk creation at first start, overlays, revert).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util.h"
#include "storage/img.h"
#include "tap.h"

static char dir[] = "/tmp/vms-provision.XXXXXX";

static char *
path(const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

static void
test_create(void)
{
	char *p = path("disk.qcow2"), *r = path("disk.raw"), err[IMG_ERRLEN];
	struct img *im = NULL;

	OK(img_create(p, IMG_FMT_QCOW2, 10ULL << 30, NULL, 0, err, sizeof(err)) == 0,
	    "img_create qcow2 10G");
	OK(img_create(p, IMG_FMT_QCOW2, 1 << 20, NULL, 0, err, sizeof(err)) == -EEXIST,
	    "img_create refuses an existing file (-EEXIST)");
	OK(img_open(p, IMG_FMT_AUTO, 0, &im, err, sizeof(err)) == 0 &&
	    im->im_fmt == IMG_FMT_QCOW2 && im->im_size == 10ULL << 30,
	    "the image probes as qcow2 of 10G");
	img_close(im);
	OK(img_create(r, IMG_FMT_RAW, 1 << 20, NULL, 0, err, sizeof(err)) == 0,
	    "img_create raw");
	OK(img_create(r, IMG_FMT_RAW, 1 << 20, "x", 0, err, sizeof(err)) < 0,
	    "raw with a backing file refused");
	unlink(p);
	unlink(r);
	free(p);
	free(r);
}

static void
test_ensure(void)
{
	char *p = path("e.qcow2"), *junk = path("junk"), err[IMG_ERRLEN];
	int created = -1;
	FILE *fp;

	OK(img_ensure(p, IMG_FMT_QCOW2, 64 << 20, NULL, 0, &created, err,
	    sizeof(err)) == 0 && created == 1, "img_ensure creates a missing image");
	OK(img_ensure(p, IMG_FMT_QCOW2, 64 << 20, NULL, 0, &created, err,
	    sizeof(err)) == 0 && created == 0, "img_ensure keeps an existing image");
	fp = fopen(junk, "w");
	if (fp) {
		fputs("not an image", fp);
		fclose(fp);
	}
	OK(img_ensure(junk, IMG_FMT_QCOW2, 1 << 20, NULL, 0, &created, err,
	    sizeof(err)) < 0 && strstr(err, "qcow2"),
	    "img_ensure refuses an existing file that is not qcow2: %s", err);
	OK(img_ensure("/nonexistent-dir/x.qcow2", IMG_FMT_QCOW2, 1 << 20, NULL, 0,
	    &created, err, sizeof(err)) == -ENOENT, "missing directory: -ENOENT");
	unlink(p);
	unlink(junk);
	free(p);
	free(junk);
}

static void
test_overlay(void)
{
	char *base = path("base.qcow2"), *ov = path("vm.qcow2"), err[IMG_ERRLEN];
	uint8_t buf[4096], got[4096];
	struct img *im = NULL;
	struct stat st;

	memset(buf, 0xab, sizeof(buf));
	OK(img_create(base, IMG_FMT_QCOW2, 8 << 20, NULL, 0, err, sizeof(err)) == 0,
	    "base created");
	OK(img_open(base, IMG_FMT_QCOW2, IMG_RDWR, &im, err, sizeof(err)) == 0 &&
	    img_pwrite(im, buf, sizeof(buf), 4096) == 0, "base written");
	img_close(im);
	im = NULL;
	/* A relative backing name, as an inventory would give it. */
	OK(img_create(ov, IMG_FMT_QCOW2, 0, "base.qcow2", IMG_FMT_QCOW2, err,
	    sizeof(err)) == 0, "overlay with a relative backing name");
	OK(img_open(ov, IMG_FMT_AUTO, IMG_RDWR, &im, err, sizeof(err)) == 0 &&
	    im->im_size == 8 << 20, "overlay takes the base's size");
	memset(buf, 0x5a, sizeof(buf));
	OK(im && img_pwrite(im, buf, sizeof(buf), 4096) == 0, "write to the overlay");
	img_close(im);
	im = NULL;
	OK(img_overlay_fresh(ov, "base.qcow2", IMG_FMT_QCOW2, err, sizeof(err)) == 0,
	    "img_overlay_fresh replaces the overlay");
	OK(img_open(ov, IMG_FMT_AUTO, 0, &im, err, sizeof(err)) == 0 &&
	    img_pread(im, got, sizeof(got), 4096) == 0 && got[0] == 0xab &&
	    got[4095] == 0xab, "the fresh overlay shows the base again");
	OK(im && im->im_backing_name && strcmp(im->im_backing_name, "base.qcow2") == 0 &&
	    im->im_backing_fmt == IMG_FMT_QCOW2, "backing name and format recorded");
	img_close(im);
	{
		char *tmp = xasprintf("%s.new", ov);

		OK(stat(tmp, &st) < 0 && errno == ENOENT, "no temporary file left");
		free(tmp);
	}
	OK(img_overlay_fresh(ov, "missing.qcow2", IMG_FMT_QCOW2, err, sizeof(err)) < 0 &&
	    stat(ov, &st) == 0, "a bad backing file leaves the old overlay in place");
	unlink(ov);
	unlink(base);
	free(ov);
	free(base);
}

int
main(void)
{
	if (!mkdtemp(dir)) {
		printf("not ok - mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	test_create();
	test_ensure();
	test_overlay();
	rmdir(dir);
	return TAP_DONE();
}
