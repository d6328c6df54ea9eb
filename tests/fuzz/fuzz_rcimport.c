/*
 * libFuzzer harness for `vmctl import-rc`: the input is an rc-script
 * qemu.conf. It must never crash the reader (rcword.c) or the converter;
 * and whatever it prints must be a file the inventory's parser reads
 * without a syntax, unknown-option or type error (values may still be
 * refused: a missing disk, a port out of range). The inventory is loaded
 * with INV_NO_EXEC: the fuzzer runs no emulator.
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
#include "config/rcimport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char conf[256];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *t = getenv("TMPDIR");
	char dir[128];

	log_init("fuzz_rcimport", LOG_TO_STDERR, LOG_CRIT);
	snprintf(dir, sizeof(dir), "%s/fuzz_rcimport.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(dir))
		abort();
	snprintf(conf, sizeof(conf), "%s/vmservice.conf", dir);
	return 0;
}

static bool
parse_level(const char *cls)
{
	return strcmp(cls, DC_SYNTAX) == 0 || strcmp(cls, DC_UNKNOWN) == 0 ||
	    strcmp(cls, DC_TYPE) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag d = { 0 }, di = { 0 };
	struct inventory inv = { 0 };
	FILE *out = fopen(conf, "we");

	if (!out)
		abort();
	if (rci_import_text((const char *)data, size, "fuzz.conf", out, &d) != 0) {
		fclose(out);
		for (size_t i = 0; i < d.dg_n; i++)
			free(diag_format(&d.dg_items[i]));
		diag_free(&d);
		return 0;
	}
	if (fclose(out) != 0)
		abort();
	diag_free(&d);
	if (inv_load_opts(conf, &inv, &di, &(struct inv_opts){ .io_flags = INV_NO_EXEC }) == 0)
		inv_free(&inv);
	for (size_t i = 0; i < di.dg_n; i++)
		if (di.dg_items[i].di_sev == DIAG_ERROR && parse_level(di.dg_items[i].di_class)) {
			char *m = diag_format(&di.dg_items[i]);
			fprintf(stderr, "import printed what the inventory cannot parse: %s\n", m);
			free(m);
			abort();
		}
	diag_free(&di);
	return 0;
}
