/* Where resource limits can go on this host (cgroup2.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <systemd/sd-daemon.h>

#include "lib/cgroup2.h"

static unsigned
ctrl_bit(const char *w)
{
	if (strcmp(w, "cpu") == 0)
		return CG_CPU;
	if (strcmp(w, "memory") == 0)
		return CG_MEMORY;
	if (strcmp(w, "io") == 0)
		return CG_IO;
	return 0;
}

/* The controllers the root group offers its children. */
static unsigned
root_controllers(void)
{
	char buf[512], *save = NULL;
	unsigned mask = 0;
	ssize_t n;
	int fd = open(CG2_ROOT "/cgroup.controllers", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	for (char *w = strtok_r(buf, " \n", &save); w; w = strtok_r(NULL, " \n", &save))
		mask |= ctrl_bit(w);
	return mask;
}

void
cg_probe(struct cg_probe *p)
{
	struct statfs sf;

	memset(p, 0, sizeof(*p));
	if (sd_booted() > 0) {
		p->cp_backend = CG_SYSTEMD;
		p->cp_ctrl = CG_CPU | CG_MEMORY | CG_IO;
		return;
	}
	if (statfs(CG2_ROOT, &sf) < 0) {
		snprintf(p->cp_why, sizeof(p->cp_why), "no systemd, and %s: %s", CG2_ROOT,
		    strerror(errno));
		return;
	}
	if (sf.f_type != CGROUP2_SUPER_MAGIC) {
		snprintf(p->cp_why, sizeof(p->cp_why), "no systemd, and %s is not cgroup v2",
		    CG2_ROOT);
		return;
	}
	p->cp_backend = CG_CGROUP2;
	p->cp_ctrl = root_controllers();
}

const char *
cg_backend_name(enum cg_backend b)
{
	return b == CG_SYSTEMD ? "systemd" : b == CG_CGROUP2 ? "cgroup2" : "none";
}

void
cg_ctrl_names(unsigned mask, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", mask & CG_CPU ? "cpu " : "", mask & CG_MEMORY ? "memory " : "",
	    mask & CG_IO ? "io " : "");
	if (*buf)
		buf[strlen(buf) - 1] = 0;
}
