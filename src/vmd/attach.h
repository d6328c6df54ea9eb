/*
 * vmctl attach NAME PID (issue 16): a QEMU that vmservice did not start is
 * supervised from then on as a transient VM, not in the inventory. It is
 * a VM of the one table like the others (VE_ATTACH: attaching, then
 * running once its QMP answers query-status); what is not ours about it
 * lives here: the command line it runs, its QMP socket, and a hardware
 * record that carries only its name and the policy the table reads (the
 * halt ladder, no restart). vmserviced(8), "Attached QEMUs".
 */
#ifndef VMS_ATTACH_H
#define VMS_ATTACH_H
#include <stddef.h>
#include <sys/types.h>
#include <json-c/json.h>
#include "hw/hw.h"

struct daemon;
struct vm;

/*
 * Check pid and begin supervising it as name: 0 (the VM is attaching;
 * the table says when it runs or failed), or -errno with err naming the
 * pid and the refusal.
 */
int attach_vm(struct daemon *d, const char *name, pid_t pid, char *err, size_t errlen);

/* attached.c: what an attached VM carries (below attach.c, vmfree.c, status.c). */
struct strv;
struct vm_attach {
	struct hw_vm	 at_hw;		/* its name and the policy the table reads; no hardware */
	char		*at_exe;	/* /proc/PID/exe when attached */
	char		*at_qmp;	/* its QMP socket */
	char		**at_argv;	/* /proc/PID/cmdline when attached, NULL-terminated */
	size_t		 at_argc;
};
/* A record for name, the policy filled (inventory defaults for the timeouts). */
struct vm_attach *attach_new(const char *name, unsigned halt_timeout, unsigned term_timeout);
/* "attached", and for an attached VM its "argv", "exe" and "qmp_socket". */
void attach_json(const struct vm *vm, struct json_object *o);
/* vm_release: what attach_new allocated. */
void attach_free(struct vm *vm);
#endif
