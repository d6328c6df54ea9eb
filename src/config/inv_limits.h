/* check-config: resource limits this host cannot apply (lib/cgroup2.h). */
#ifndef VMS_INV_LIMITS_H
#define VMS_INV_LIMITS_H
#include <stddef.h>

#include "config/inventory.h"
#include "lib/cgroup2.h"
#include "lib/diag.h"

/*
 * A warning (class not-limited) for each enabled VM's limit that p cannot
 * apply: every limit when p says none, a limit whose controller the cgroup
 * v2 root does not offer. Returns how many.
 */
size_t inv_limits_check(const struct inventory *inv, const struct cg_probe *p, struct diag *d);
#endif
