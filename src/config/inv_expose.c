/* check-config: the telnet endpoints anyone on the network may use unasked. */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "config/inv_expose.h"

bool
inv_addr_loopback(const char *addr)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, addr, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, addr, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

static size_t
one(const struct hw_vm *vm, const char *key, int port, const char *listen, struct diag *d)
{
	struct hw_loc loc;

	if (port == HW_PORT_NONE || inv_addr_loopback(listen) || vm->vm_policy.po_console_password_file)
		return 0;
	loc = hw_vm_optloc(vm, key);
	diag_add(d, DIAG_WARNING, loc.file, loc.line, vm->vm_name, DC_EXPOSED,
	    "%s port %d on %s is reachable without authentication: set "
	    "console_password_file, or listen on 127.0.0.1", key, port, listen);
	return 1;
}

size_t
inv_expose_check(const struct inventory *inv, struct diag *d)
{
	/* The daemon's defaults (vmcon.c): loopback unless told. */
	const char *l = inv->inv_listen ? inv->inv_listen : "127.0.0.1";
	const char *ml = inv->inv_monitor_listen ? inv->inv_monitor_listen : "127.0.0.1";
	size_t i, n = 0;

	for (i = 0; i < inv->inv_n_vms; i++) {
		const struct hw_vm *vm = &inv->inv_vms[i];

		if (!vm->vm_policy.po_enable)
			continue;
		n += one(vm, "serial", vm->vm_serial, l, d);
		n += one(vm, "monitor", vm->vm_monitor, ml, d);
	}
	return n;
}
