/* Diagnostics that name their place. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lib/diag.h"
#include "lib/util.h"

void
diag_add(struct diag *d, enum diag_sev sev, const char *file, int line,
    const char *vm, const char *cls, const char *fmt, ...)
{
	struct diag_item *it;
	va_list ap;

	xgrow(&d->dg_items, &d->dg_cap, d->dg_n + 1, sizeof(*it));
	it = &d->dg_items[d->dg_n++];
	it->di_sev = sev;
	it->di_file = file ? xstrdup(file) : NULL;
	it->di_line = line;
	it->di_vm = vm ? xstrdup(vm) : NULL;
	it->di_class = cls;
	va_start(ap, fmt);
	if (vasprintf(&it->di_msg, fmt, ap) < 0)
		it->di_msg = xstrdup(fmt);
	va_end(ap);
	if (sev == DIAG_ERROR)
		d->dg_errors++;
}

char *
diag_format(const struct diag_item *it)
{
	char where[512] = "";
	char vm[300] = "";

	if (it->di_file && it->di_line > 0)
		snprintf(where, sizeof(where), "%s:%d: ", it->di_file, it->di_line);
	else if (it->di_file)
		snprintf(where, sizeof(where), "%s: ", it->di_file);
	if (it->di_vm)
		snprintf(vm, sizeof(vm), "vm %s: ", it->di_vm);
	return xasprintf("%s%s: %s%s [%s]", where,
	    it->di_sev == DIAG_ERROR ? "error" : "warning", vm, it->di_msg,
	    it->di_class ? it->di_class : "error");
}

void
diag_print(const struct diag *d, FILE *fp)
{
	for (size_t i = 0; i < d->dg_n; i++) {
		char *s = diag_format(&d->dg_items[i]);
		fprintf(fp, "%s\n", s);
		free(s);
	}
}

void
diag_free(struct diag *d)
{
	for (size_t i = 0; i < d->dg_n; i++) {
		free(d->dg_items[i].di_file);
		free(d->dg_items[i].di_vm);
		free(d->dg_items[i].di_msg);
	}
	free(d->dg_items);
	memset(d, 0, sizeof(*d));
}
