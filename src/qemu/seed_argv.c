/* The cloud-init seed disk on QEMU's command line: seed_argv.h. */
#include "qemu/seed_argv.h"
#include "qemu/swtpm_argv.h"

void
qemu_argv_seed(const struct hw_vm *vm, const struct qemu_env *env, struct strv *out)
{
	if (!vm->vm_cloud_init.ci_on)
		return;
	strv_push(out, "-drive");
	/*
	 * NoCloud finds it by its label (cidata), on any disk: virtio, which
	 * every cloud image's kernel has. Read-only: the guest cannot change
	 * what the next boot reads, and the file is the daemon's to rewrite.
	 */
	qemu_push_path(out, "format=raw,if=none,id=cidata,readonly=on,file=", env->qe_run_dir,
	    vm->vm_name, SEED_SUFFIX);
	strv_push(out, "-device");
	strv_push(out, "virtio-blk-pci,drive=cidata,id=cidata");
}
