/* A VM's machine and scope names (machname.h). */
#include <errno.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>

#include "hw/machname.h"

int
hw_machine_name(const char *vm, char *buf, size_t len)
{
	int n = snprintf(buf, len, "vmservice-%s", vm);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* systemd's unit_name_escape(): [A-Za-z0-9:_.] kept (a leading '.' not),
 * '/' becomes '-', everything else \xNN. */
int
hw_machine_scope(const char *mach, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o;

	o = (size_t)snprintf(buf, len, "machine-");
	for (const char *p = mach; *p; p++) {
		unsigned char c = (unsigned char)*p;
		bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == ':' || c == '_' || (c == '.' && p != mach);

		if (o + 5 >= len)
			return -ENAMETOOLONG;
		if (c == '/')
			buf[o++] = '-';
		else if (keep)
			buf[o++] = (char)c;
		else {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		}
	}
	if (o + sizeof(".scope") > len)
		return -ENAMETOOLONG;
	memcpy(buf + o, ".scope", sizeof(".scope"));
	return 0;
}
