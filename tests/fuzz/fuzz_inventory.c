/*
 * libFuzzer harness for the inventory loader: the input is a vmservice.conf,
 * written to one file in a private directory (inv_load reads by path, with
 * includes relative to it) and loaded; every diagnostic is formatted, as
 * `vmctl check-config` would print it. A valid inventory has also had each
 * VM's QEMU argv built inside inv_load.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/diag.h"
#include "lib/log.h"
#include "config/inventory.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char conf[256];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *t = getenv("TMPDIR");
	char dir[128];

	log_init("fuzz_inventory", LOG_TO_STDERR, LOG_CRIT);
	/* Under the test's scratch directory, which is removed afterwards. */
	snprintf(dir, sizeof(dir), "%s/fuzz_inventory.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(dir))
		abort();
	snprintf(conf, sizeof(conf), "%s/vmservice.conf", dir);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct inventory inv = { 0 };
	struct diag d = { 0 };
	int fd;

	fd = open(conf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1)
		abort();
	if (write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	if (inv_load(conf, &inv, &d) == 0) {
		for (size_t i = 0; i < inv.inv_n_vms; i++)
			(void)inv_find_vm(&inv, inv.inv_vms[i].vm_name);
		inv_free(&inv);
	}
	for (size_t i = 0; i < d.dg_n; i++)
		free(diag_format(&d.dg_items[i]));
	diag_free(&d);
	return 0;
}
