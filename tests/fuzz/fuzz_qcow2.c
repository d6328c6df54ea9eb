/*
 * libFuzzer harness for the qcow2 parser: header and extensions, L1/L2 and
 * refcount tables, compressed clusters, the check, and a write with repair
 * on a hostile image. The input is the image file (in a memfd); backing
 * files are not opened, so a fuzzed name cannot reach host files.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "qcow2_exercise.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
load(const uint8_t *data, size_t size, char *path, size_t plen)
{
	int fd = memfd_create("fuzz-qcow2", MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return -1;
	}
	snprintf(path, plen, "/proc/self/fd/%d", fd);
	return fd;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[IMG_ERRLEN];
	int fd;

	if ((fd = load(data, size, path, sizeof(path))) < 0)
		return 0;
	qcow2_exercise(path, NULL, err, sizeof(err));
	close(fd);
	return 0;
}
