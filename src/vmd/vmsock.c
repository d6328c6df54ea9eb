/* The daemon binds a VM's chardev sockets and hands them to QEMU: vmsock.h. */
#include <stdlib.h>
#include <unistd.h>

#include "lib/usock.h"
#include "lib/util.h"
#include "vmd/vmsock.h"

static int
bind_one(const char *run_dir, const struct hw_vm *hw, const char *sfx, int *fd,
    char *err, size_t errlen)
{
	char *path = xasprintf("%s/%s.%s", run_dir, hw->vm_name, sfx);
	int e = usock_bind(path, fd, err, errlen);

	free(path);
	return e;
}

int
vmsock_bind(const char *run_dir, const struct hw_vm *hw, struct qemu_chr_fds *fds,
    char *err, size_t errlen)
{
	int e;

	fds->qs_qmp = fds->qs_serial = fds->qs_hmp = fds->qs_qga = -1;
	/* The same sockets qemu_argv() names (add_chardevs). */
	if ((e = bind_one(run_dir, hw, "qmp", &fds->qs_qmp, err, errlen)) ||
	    (e = bind_one(run_dir, hw, "serial", &fds->qs_serial, err, errlen)) ||
	    (hw->vm_monitor != HW_PORT_NONE &&
	    (e = bind_one(run_dir, hw, "hmp", &fds->qs_hmp, err, errlen))) ||
	    (hw->vm_agent && (e = bind_one(run_dir, hw, "qga", &fds->qs_qga, err, errlen))))
		vmsock_close(fds);
	return e;
}

size_t
vmsock_keep(const struct qemu_chr_fds *fds, int *keep, size_t n)
{
	const int all[] = { fds->qs_qmp, fds->qs_serial, fds->qs_hmp, fds->qs_qga };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (all[i] >= 0)
			keep[n++] = all[i];
	return n;
}

void
vmsock_close(struct qemu_chr_fds *fds)
{
	int *all[] = { &fds->qs_qmp, &fds->qs_serial, &fds->qs_hmp, &fds->qs_qga };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (*all[i] >= 0)
			close(*all[i]);
		*all[i] = -1;
	}
}
