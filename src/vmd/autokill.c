/* Autokill: autokill.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "vmd/autokill.h"
#include "vmd/daemon.h"

/* run_dir/NAME.autokill (not daemon_run_path: effects.c calls us). */
static char *
ak_path(struct daemon *d, const struct vm *vm)
{
	return xasprintf("%s/%s.autokill", d->inv.inv_run_dir, vm->vm_name);
}

int
autokill_bind(struct daemon *d, struct vm *vm, char *err, size_t errlen)
{
	char *p = ak_path(d, vm);
	int fd, e = 0;

	/* run_dir is the daemon's own (0755 root): an empty marker, never followed. */
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		e = -errno;
		snprintf(err, errlen, "vm %s: cannot create %s: %s", vm->vm_name, p, strerror(errno));
	} else if (close(fd) == -1) {
		e = -errno;
		snprintf(err, errlen, "vm %s: %s: %s", vm->vm_name, p, strerror(errno));
	}
	free(p);
	return e;
}

void
autokill_forget(struct daemon *d, struct vm *vm)
{
	char *p = ak_path(d, vm);

	if (unlink(p) == -1 && errno != ENOENT)
		log_vm(LOG_WARNING, vm->vm_name, "cannot remove %s: %s", p, strerror(errno));
	free(p);
}

void
autokill_fire(struct daemon *d, struct vm *vm)
{
	if (sup_is_down(vm))
		return;
	log_vm(LOG_INFO, vm->vm_name, "the control connection that started it (--autokill) "
	    "closed: killing it");
	sup_event(&d->sup, vm, VE_AUTOKILL, 0);
}

bool
autokill_orphaned(struct daemon *d, struct vm *vm)
{
	char *p = ak_path(d, vm);
	struct stat st;
	bool there = lstat(p, &st) == 0 && S_ISREG(st.st_mode);

	free(p);
	return there;
}

void
autokill_adopted(struct daemon *d, struct vm *vm)
{
	if (!autokill_orphaned(d, vm))
		return;
	log_vm(LOG_WARNING, vm->vm_name, "was started with --autokill and its connection "
	    "died with the previous vmserviced: killing it");
	sup_event(&d->sup, vm, VE_AUTOKILL, 0);
}
