/* qemu_attach: which /proc/PID/exe is a QEMU, and where its QMP socket is. */
#include <stdlib.h>

#include "qemu/qemu_attach.h"
#include "tap.h"

#define N(a)	(sizeof(a) / sizeof((a)[0]))

static void
qmp(char *const *argv, size_t n, const char *want, const char *what)
{
	char why[512], *path = NULL;
	int e = qattach_qmp_path(argv, n, &path, why, sizeof(why));

	if (want)
		OK_STREQ(e == 0 ? path : why, want, "%s", what);
	else
		OK(e != 0 && path == NULL, "%s: refused (%s)", what, why);
	free(path);
}

int
main(void)
{
	OK(qattach_is_system_exe("/usr/bin/qemu-system-x86_64"), "qemu-system-x86_64");
	OK(qattach_is_system_exe("/usr/bin/qemu-system-aarch64 (deleted)"), "upgraded binary");
	OK(!qattach_is_system_exe("/usr/bin/qemu-img"), "qemu-img is not a system emulator");
	OK(!qattach_is_system_exe("/usr/bin/sleep"), "sleep");
	OK(!qattach_is_system_exe("/usr/bin/qemu-system-"), "no target");
	OK(!qattach_is_system_exe("/home/x/qemu-system-x86_64 x/sh"), "a space in the name");

	char *a1[] = { "qemu", "-m", "64", "-qmp", "unix:/run/a.sock,server=on,wait=off" };
	qmp(a1, N(a1), "/run/a.sock", "-qmp unix:,server=on");
	char *a2[] = { "qemu", "--qmp", "unix:/run/b,,c.sock,server,nowait" };
	qmp(a2, N(a2), "/run/b,c.sock", "--qmp legacy bare server, doubled comma");
	char *a3[] = { "qemu", "-qmp", "unix:/run/c.sock" };
	qmp(a3, N(a3), NULL, "client socket");
	char *a4[] = { "qemu", "-qmp", "tcp:127.0.0.1:4444,server=on" };
	qmp(a4, N(a4), NULL, "tcp");
	char *a5[] = { "qemu", "-chardev", "socket,id=m0,path=/run/d.sock,server=on,wait=off",
	    "-mon", "chardev=m0,mode=control" };
	qmp(a5, N(a5), "/run/d.sock", "-chardev socket + -mon mode=control");
	char *a6[] = { "qemu", "-chardev", "socket,id=m0,path=/run/d.sock,server=on",
	    "-mon", "chardev=m0,mode=readline" };
	qmp(a6, N(a6), NULL, "-mon in readline mode is HMP");
	char *a7[] = { "qemu", "-chardev", "socket,id=m0,fd=3,server=on",
	    "-mon", "m0,mode=control" };
	qmp(a7, N(a7), NULL, "a socket fd, no path");
	char *a8[] = { "qemu", "-serial", "stdio", "-monitor", "unix:/run/h.sock,server" };
	qmp(a8, N(a8), NULL, "only an HMP monitor");
	char *a9[] = { "qemu", "-qmp", "unix:/run/c.sock", "-qmp-pretty",
	    "unix:/run/e.sock,server=on" };
	qmp(a9, N(a9), "/run/e.sock", "the first server socket wins");
	char *a10[] = { "qemu", "-qmp" };
	qmp(a10, N(a10), NULL, "-qmp without argument");
	return TAP_DONE();
}
