/*
 * Where a VM's resource limits can go on this host (vmd/machine.c applies
 * them; check-config warns when they cannot):
 *   systemd  PID 1 is systemd: a scope per VM through systemd-machined
 *   cgroup2  no systemd, but the unified hierarchy (cgroup v2) is mounted at
 *            /sys/fs/cgroup: a group per VM the daemon makes itself
 *   none     neither (cgroup v1, or no cgroup file system): not applied
 * The controllers that matter (cpu, memory, io) as a mask: with systemd all
 * of them (systemd enables what a unit's properties need); with cgroup2
 * those cgroup.controllers of the root lists.
 */
#ifndef VMS_CGROUP2_H
#define VMS_CGROUP2_H
#include <stddef.h>

#define CG2_ROOT	"/sys/fs/cgroup"

enum cg_backend { CG_NONE, CG_SYSTEMD, CG_CGROUP2 };

#define CG_CPU		0x1u
#define CG_MEMORY	0x2u
#define CG_IO		0x4u

struct cg_probe {
	enum cg_backend	 cp_backend;
	unsigned	 cp_ctrl;	/* CG_* available */
	char		 cp_why[320];	/* CG_NONE: why, for messages */
};

/* What this host offers (reads /sys/fs/cgroup; never fails). */
void cg_probe(struct cg_probe *p);
/* "systemd", "cgroup2", "none" */
const char *cg_backend_name(enum cg_backend b);
/* The controller names in mask, space-separated, into buf. */
void cg_ctrl_names(unsigned mask, char *buf, size_t len);
#endif
