/* Changing an image's virtual size (vmimg resize). */
#include <errno.h>

#include "lib/util.h"
#include "storage/ops.h"

int
img_resize(struct img *im, uint64_t size, int shrink, char *err, size_t errlen)
{
	int r;

	if (!im->im_ops->truncate) {
		xsnprintf(err, errlen, "%s: format %s cannot be resized", im->im_path,
		    img_fmt_name(im->im_fmt));
		return -ENOTSUP;
	}
	if (size < im->im_size && !shrink) {
		xsnprintf(err, errlen, "%s: shrinking from %llu to %llu bytes needs "
		    "--shrink (data past the new end is lost)", im->im_path,
		    (unsigned long long)im->im_size, (unsigned long long)size);
		return -EINVAL;
	}
	if (size > INT64_MAX) {
		xsnprintf(err, errlen, "%s: size too large", im->im_path);
		return -EFBIG;
	}
	if ((r = im->im_ops->truncate(im, size, shrink)) < 0)
		xsnprintf(err, errlen, "%s", img_errmsg(im));
	return r;
}
