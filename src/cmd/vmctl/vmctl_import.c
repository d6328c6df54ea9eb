/* vmctl import-rc: the classic rc-script's qemu.conf as vmservice.conf. */
#include <stdio.h>
#include <string.h>

#include "config/rcimport.h"
#include "cmd/vmctl/vmctl.h"

int
vmctl_import_rc(struct vmctl *ctl, int argc, char **argv)
{
	struct diag d = { 0 };
	const char *conf = NULL;
	int rc, n = vmctl_args(ctl, argc, argv, &conf, NULL, NULL);

	if (n == -2)
		return VMCTL_OK;
	if (n != 1 || conf) {
		if (n >= 0)
			vmctl_usage(ctl->ctl_cmd, stderr);
		return VMCTL_USAGE;
	}
	rc = rci_import_file(argv[0], stdout, &d);
	diag_print(&d, stderr);
	if (rc < 0 && d.dg_errors == 0)
		fprintf(stderr, "vmctl import-rc: %s: %s\n", argv[0], strerror(-rc));
	else if (rc < 0)
		fprintf(stderr, "%s: %zu error%s: nothing written\n", argv[0], d.dg_errors,
		    d.dg_errors == 1 ? "" : "s");
	diag_free(&d);
	if (fflush(stdout) != 0)
		rc = -1;
	return rc < 0 ? VMCTL_FAIL : VMCTL_OK;
}
