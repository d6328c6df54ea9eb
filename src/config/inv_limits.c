/* check-config: resource limits this host cannot apply (inv_limits.h). */
#include "config/inv_limits.h"

static const struct {
	const char	*name;
	unsigned	 ctrl;
} opts[] = {
	{ "cpu_weight", CG_CPU }, { "cpu_quota", CG_CPU },
	{ "memory_max", CG_MEMORY }, { "io_weight", CG_IO },
};

static bool
is_set(const struct hw_limits *l, size_t i)
{
	switch (i) {
	case 0: return l->lim_cpu_weight != 0;
	case 1: return l->lim_cpu_quota != 0;
	case 2: return l->lim_memory_max != 0;
	default: return l->lim_io_weight != 0;
	}
}

size_t
inv_limits_check(const struct inventory *inv, const struct cg_probe *p, struct diag *d)
{
	size_t n = 0;

	for (size_t i = 0; i < inv->inv_n_vms; i++) {
		const struct hw_vm *vm = &inv->inv_vms[i];

		if (!vm->vm_policy.po_enable)
			continue;
		for (size_t k = 0; k < sizeof(opts) / sizeof(opts[0]); k++) {
			struct hw_loc loc;

			if (!is_set(&vm->vm_policy.po_limits, k) ||
			    (p->cp_backend != CG_NONE && (p->cp_ctrl & opts[k].ctrl)))
				continue;
			/* Set in the VM, or inherited from the global option. */
			loc = hw_vm_optloc(vm, opts[k].name);
			if (!loc.file)
				loc = vm->vm_loc;
			if (p->cp_backend == CG_NONE)
				diag_add(d, DIAG_WARNING, loc.file, loc.line, vm->vm_name,
				    DC_NOLIMIT, "%s is not applied on this host: %s", opts[k].name,
				    p->cp_why);
			else
				diag_add(d, DIAG_WARNING, loc.file, loc.line, vm->vm_name,
				    DC_NOLIMIT, "%s is not applied on this host: cgroup v2 offers "
				    "no %s controller (%s/cgroup.controllers)", opts[k].name,
				    opts[k].ctrl == CG_CPU ? "cpu" : opts[k].ctrl == CG_MEMORY ?
				    "memory" : "io", CG2_ROOT);
			n++;
		}
	}
	return n;
}
