/* A NIC's network boot options: see netboot.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "hw/netboot.h"

/*
 * DHCP's (BOOTP's) file field is 128 bytes with its NUL; QEMU 7.2's slirp
 * asserts on a longer bootfile and QEMU dies of it (SIGSEGV at start).
 */
#define BOOTFILE_MAX	127

static void
bad(const struct hw_vm *vm, size_t i, const char *opt, struct diag *d, const char *cls,
    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void
bad(const struct hw_vm *vm, size_t i, const char *opt, struct diag *d, const char *cls,
    const char *fmt, ...)
{
	char key[48], msg[1024];
	struct hw_loc loc;
	va_list ap;

	snprintf(key, sizeof(key), "nic%zu.%s", i, opt);
	loc = hw_vm_optloc(vm, key);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_add(d, DIAG_ERROR, loc.file, loc.line, vm->vm_name, cls, "%s", msg);
}

static void
check_bootfile(const struct hw_vm *vm, size_t i, const char *b, struct diag *d)
{
	size_t n = strlen(b);

	if (n == 0 || n > BOOTFILE_MAX) {
		bad(vm, i, "bootfile", d, DC_VALUE, "bootfile is %zu bytes: DHCP's boot file "
		    "name holds 1 to %d", n, BOOTFILE_MAX);
		return;
	}
	for (const char *p = b; *p; p++)
		if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e) {
			bad(vm, i, "bootfile", d, DC_VALUE,
			    "bootfile '%s': only printable ASCII without spaces", b);
			return;
		}
}

void
hw_check_netboot(const struct hw_vm *vm, size_t i, const struct hw_nic *n, bool fs,
    struct diag *d)
{
	bool user = n->nic_net == HW_NET_USER;
	struct stat st;

	if (n->nic_smb)
		/*
		 * QEMU runs smbd when the guest first connects to 10.0.2.4:445,
		 * and the sandbox kills QEMU at that fork: a guest could stop
		 * its VM at will. Refused rather than relaxing the sandbox.
		 */
		bad(vm, i, "smb", d, DC_CONFLICT, "smb is not supported: QEMU would have to "
		    "spawn smbd, which its sandbox (-sandbox spawn=deny) forbids; share the "
		    "directory from a Samba server on the host instead (a guest on user "
		    "networking reaches the host at 10.0.2.2) or with 9p (extra_args "
		    "\"-virtfs local,path=DIR,mount_tag=TAG,security_model=none,readonly=on\")");
	if (!user && n->nic_tftp)
		bad(vm, i, "tftp", d, DC_CONFLICT, "tftp is only used with net = user");
	if (!user && n->nic_bootfile)
		bad(vm, i, "bootfile", d, DC_CONFLICT, "bootfile is only used with net = user");
	if (user && n->nic_bootfile && !n->nic_tftp)
		bad(vm, i, "bootfile", d, DC_MISSING,
		    "bootfile needs tftp (the directory it is served from)");
	if (n->nic_bootfile)
		check_bootfile(vm, i, n->nic_bootfile, d);
	if (!fs || !n->nic_tftp)
		return;
	/* stat, never open: the directory may be one a QEMU user can replace. */
	if (stat(n->nic_tftp, &st) < 0)
		bad(vm, i, "tftp", d, DC_NOFILE, "tftp directory %s: %s", n->nic_tftp,
		    strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		bad(vm, i, "tftp", d, DC_NOFILE, "tftp %s: not a directory", n->nic_tftp);
}
