/*
 * Diagnostics: a list of errors and warnings, each naming its place
 * (file:line and VM) and a class that tests can assert on. Printed as
 *   FILE:LINE: error: vm NAME: MESSAGE [CLASS]
 */
#ifndef VMS_DIAG_H
#define VMS_DIAG_H
#include <stdio.h>
#include <stddef.h>

enum diag_sev { DIAG_ERROR, DIAG_WARNING };

/* Error classes: stable strings, asserted by the bad-config tests. */
#define DC_SYNTAX	"syntax"		/* libconfuse could not parse */
#define DC_UNKNOWN	"unknown-option"
#define DC_TYPE		"bad-type"		/* wrong type (number, bool, list) */
#define DC_VALUE	"bad-value"		/* not one of the allowed values */
#define DC_RANGE	"out-of-range"
#define DC_MISSING	"missing-option"	/* required option absent */
#define DC_CONFLICT	"conflict"		/* options that exclude each other */
#define DC_DUP_VM	"duplicate-vm"
#define DC_DUP_PORT	"duplicate-port"
#define DC_DUP_MAC	"duplicate-mac"
#define DC_AFTER	"unknown-after"
#define DC_CYCLE	"after-cycle"
#define DC_NOFILE	"missing-file"
#define DC_EMULATOR	"missing-emulator"
#define DC_INCLUDE	"include"
#define DC_NOSAVE	"not-saved"	/* warning: on_host_shutdown = save cannot hold */
#define DC_NOLIMIT	"not-limited"	/* warning: cpu_weight & co. cannot be applied here */

struct diag_item {
	enum diag_sev	 di_sev;
	char		*di_file;	/* may be NULL */
	int		 di_line;	/* 0: unknown */
	char		*di_vm;		/* may be NULL */
	const char	*di_class;	/* one of DC_* */
	char		*di_msg;
};

struct diag {
	struct diag_item *dg_items;
	size_t		  dg_n, dg_cap;
	size_t		  dg_errors;
};

void diag_add(struct diag *d, enum diag_sev sev, const char *file, int line,
    const char *vm, const char *cls, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
/* One line per item, in the order added. */
void diag_print(const struct diag *d, FILE *fp);
/* "FILE:LINE: error: vm NAME: MESSAGE [CLASS]" into a new string. */
char *diag_format(const struct diag_item *it);
void diag_free(struct diag *d);
#endif
