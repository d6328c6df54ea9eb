/*
 * `vmctl import-rc`: the classic Arch rc-script's /etc/conf.d/qemu.conf
 * (QEMU_MACHINES, qemu_NAME, qemu_NAME_type, qemu_NAME_haltcmd,
 * qemu_NAME_haltcmd_wait) turned into an equivalent vmservice.conf. The
 * file is read as text (rcword.h), never run.
 */
#ifndef VMS_RCIMPORT_H
#define VMS_RCIMPORT_H
#include <stddef.h>
#include <stdio.h>

#include "lib/diag.h"

/*
 * Convert text (len bytes, named name in messages) and write the
 * configuration to out. Warnings and errors go to d as NAME:LINE. Returns
 * 0, or -EINVAL after an error (out then gets nothing).
 */
int rci_import_text(const char *text, size_t len, const char *name, FILE *out,
    struct diag *d);
/* The same for a file; path "-" is standard input. -errno if unreadable. */
int rci_import_file(const char *path, FILE *out, struct diag *d);
#endif
