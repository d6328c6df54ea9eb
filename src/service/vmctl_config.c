/* vmctl check-config and vmctl show: the inventory seen from the shell. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "emulator/qemu_argv.h"
#include "service/inventory.h"
#include "service/vmctl.h"

/* Load path; on errors print them with a count and return -1. */
static int
load(const char *path, struct inventory *inv)
{
	struct diag d = { 0 };
	int rc = inv_load(path, inv, &d);

	diag_print(&d, stderr);
	if (rc < 0)
		fprintf(stderr, "%s: %zu error%s\n", path, d.dg_errors,
		    d.dg_errors == 1 ? "" : "s");
	diag_free(&d);
	return rc < 0 ? -1 : 0;
}

int
vmctl_check_config(struct vmctl *ctl, int argc, char **argv)
{
	const char *conf = NULL;
	struct inventory inv;
	int n = vmctl_args(ctl, argc, argv, &conf, NULL, NULL);

	if (n == -2)
		return VMCTL_OK;
	if (n != 0) {
		if (n > 0)
			vmctl_usage(ctl->ctl_cmd, stderr);
		return VMCTL_USAGE;
	}
	if (load(vmctl_conf_path(ctl, conf), &inv) < 0)
		return VMCTL_FAIL;
	printf("ok: %zu VM%s\n", inv.inv_n_vms, inv.inv_n_vms == 1 ? "" : "s");
	inv_free(&inv);
	return VMCTL_OK;
}

static const char *
str(const char *s)
{
	return s ? s : "-";
}

static const char *
yesno(bool b)
{
	return b ? "yes" : "no";
}

static void
put_num(const char *key, unsigned v)
{
	if (v)
		printf("%s: %u\n", key, v);
	else
		printf("%s: -\n", key);
}

static void
put_port(const char *key, int v)
{
	if (v < 0)
		printf("%s: none\n", key);
	else
		printf("%s: %d\n", key, v);
}

static void
put_words(const char *key, char **v, size_t n)
{
	printf("%s:", key);
	for (size_t i = 0; i < n; i++) {
		char *q = shell_quote(v[i]);
		printf(" %s", q);
		free(q);
	}
	printf("%s\n", n ? "" : " -");
}

static void
show_disk(size_t i, const struct hw_disk *d)
{
	printf("disk%zu.line: %d\n", i, d->dk_loc.line);
	printf("disk%zu.file: %s\n", i, str(d->dk_file));
	printf("disk%zu.format: %s\n", i, hw_name_of(hw_fmt_names, d->dk_format));
	printf("disk%zu.if: %s\n", i, hw_name_of(hw_if_names, d->dk_if));
	printf("disk%zu.cache: %s\n", i, hw_name_of(hw_cache_names, d->dk_cache));
	if (d->dk_index == HW_INDEX_AUTO)
		printf("disk%zu.index: auto\n", i);
	else
		printf("disk%zu.index: %d\n", i, d->dk_index);
	printf("disk%zu.media: %s\n", i, hw_name_of(hw_media_names, d->dk_media));
	printf("disk%zu.readonly: %s\n", i, yesno(d->dk_readonly));
	printf("disk%zu.snapshot: %s\n", i, yesno(d->dk_snapshot));
	printf("disk%zu.size: %llu\n", i, (unsigned long long)d->dk_size);
	printf("disk%zu.backing: %s\n", i, str(d->dk_backing));
}

static void
show_nic(size_t i, const struct hw_nic *n)
{
	char mac[18];

	hw_format_mac(n->nic_mac, mac);
	printf("nic%zu.line: %d\n", i, n->nic_loc.line);
	printf("nic%zu.model: %s\n", i, str(n->nic_model));
	printf("nic%zu.mac: %s%s\n", i, mac, n->nic_mac_set ? "" : " (derived)");
	printf("nic%zu.net: %s\n", i, hw_name_of(hw_net_names, n->nic_net));
	printf("nic%zu.ifname: %s\n", i, str(n->nic_ifname));
	printf("nic%zu.bridge: %s\n", i, str(n->nic_bridge));
	for (size_t j = 0; j < n->nic_n_hostfwd; j++)
		printf("nic%zu.hostfwd: %s\n", i, n->nic_hostfwd[j]);
	printf("nic%zu.script: %s\n", i, str(n->nic_script));
	printf("nic%zu.downscript: %s\n", i, str(n->nic_downscript));
	printf("nic%zu.vhost: %s\n", i, yesno(n->nic_vhost));
}

/* Every field of the model, one `key: value` line each, in a fixed order. */
static void
show_vm(const struct inventory *inv, const struct hw_vm *vm, const struct qemu_env *env)
{
	char uuid[37], *emu = qemu_emulator_path(vm, env);

	hw_format_uuid(vm->vm_uuid, uuid);
	printf("name: %s\n", vm->vm_name);
	printf("declared: %s:%d\n", vm->vm_loc.file, vm->vm_loc.line);
	printf("uuid: %s\n", uuid);
	printf("type: %s\n", vm->vm_type);
	printf("emulator: %s\n", emu);
	printf("enable: %s\n", yesno(vm->vm_enable));
	printf("autostart: %s\n", yesno(vm->vm_autostart));
	printf("machine: %s\n", str(vm->vm_machine));
	printf("cpu: %s\n", str(vm->vm_cpu));
	put_num("smp", vm->vm_smp.cpus);
	put_num("sockets", vm->vm_smp.sockets);
	put_num("cores", vm->vm_smp.cores);
	put_num("threads", vm->vm_smp.threads);
	put_num("maxcpus", vm->vm_smp.maxcpus);
	printf("memory: %llu (%lluM)\n", (unsigned long long)vm->vm_memory,
	    (unsigned long long)(vm->vm_memory >> 20));
	printf("accel: %s\n", hw_name_of(hw_accel_names, vm->vm_accel));
	printf("kernel: %s\n", str(vm->vm_kernel));
	printf("initrd: %s\n", str(vm->vm_initrd));
	printf("append: %s\n", str(vm->vm_append));
	printf("boot.order: %s\n", str(vm->vm_boot.order));
	printf("boot.once: %s\n", str(vm->vm_boot.once));
	printf("boot.menu: %s\n", yesno(vm->vm_boot.menu));
	printf("cdrom: %s\n", str(vm->vm_cdrom));
	for (size_t i = 0; i < vm->vm_n_disks; i++)
		show_disk(i, &vm->vm_disks[i]);
	for (size_t i = 0; i < vm->vm_n_nics; i++)
		show_nic(i, &vm->vm_nics[i]);
	put_port("serial", vm->vm_serial);
	put_port("monitor", vm->vm_monitor);
	put_port("vnc", vm->vm_vnc);
	printf("vga: %s\n", str(vm->vm_vga));
	printf("balloon: %s\n", yesno(vm->vm_balloon));
	printf("usb_tablet: %s\n", yesno(vm->vm_usb_tablet));
	printf("keymap: %s\n", str(vm->vm_keymap));
	printf("runas: %s\n", vm->vm_runas ? vm->vm_runas : "dynamic");
	printf("halt: %s\n", hw_name_of(hw_halt_names, vm->vm_halt));
	printf("halt_command: %s\n", str(vm->vm_halt_command));
	printf("halt_timeout: %u\n", vm->vm_halt_timeout);
	printf("term_timeout: %u\n", vm->vm_term_timeout);
	put_words("after", vm->vm_after, vm->vm_n_after);
	printf("start_delay: %u\n", vm->vm_start_delay);
	printf("restart: %s\n", hw_name_of(hw_restart_names, vm->vm_restart));
	printf("restart_delay: %u\n", vm->vm_restart_delay);
	printf("restart_max_delay: %u\n", vm->vm_restart_max_delay);
	printf("restart_burst: %u\n", vm->vm_restart_burst);
	printf("restart_interval: %u\n", vm->vm_restart_interval);
	printf("on_panic: %s\n", hw_name_of(hw_panic_names, vm->vm_on_panic));
	put_words("extra_args", vm->vm_extra_args, vm->vm_n_extra_args);
	free(emu);
}

int
vmctl_show(struct vmctl *ctl, int argc, char **argv)
{
	static const char *const flags[] = { "--argv", "--shell", NULL };
	int want_argv = 0, want_shell = 0, rc = VMCTL_OK;
	int *const set[] = { &want_argv, &want_shell };
	const char *conf = NULL;
	struct inventory inv;
	struct qemu_env env;
	struct hw_vm *vm;
	int n = vmctl_args(ctl, argc, argv, &conf, flags, set);

	if (n == -2)
		return VMCTL_OK;
	if (n != 1 || (want_shell && !want_argv)) {
		if (n >= 0)
			vmctl_usage(ctl->ctl_cmd, stderr);
		return VMCTL_USAGE;
	}
	conf = vmctl_conf_path(ctl, conf);
	if (load(conf, &inv) < 0)
		return VMCTL_FAIL;
	vm = inv_find_vm(&inv, argv[0]);
	env = (struct qemu_env){
		.qe_emulator_dir = inv.inv_emulator_dir,
		.qe_run_dir = inv.inv_run_dir,
		.qe_log_dir = inv.inv_log_dir,
		.qe_listen = inv.inv_listen,
		.qe_kvm_usable = qemu_kvm_usable(),
	};
	if (!vm) {
		fprintf(stderr, "vmctl show: no VM named '%s' in %s\n", argv[0], conf);
		rc = VMCTL_FAIL;
	} else if (!want_argv) {
		show_vm(&inv, vm, &env);
	} else {
		struct strv out = { 0 };
		char err[512] = "";

		if (qemu_argv(vm, &env, &out, err, sizeof(err)) < 0) {
			fprintf(stderr, "vmctl show: vm %s: %s\n", vm->vm_name, err);
			rc = VMCTL_FAIL;
		}
		for (size_t i = 0; rc == VMCTL_OK && i < out.sv_n; i++) {
			char *q;

			if (!want_shell) {
				printf("%s\n", out.sv_v[i]);
				continue;
			}
			q = shell_quote(out.sv_v[i]);
			printf("%s%s", i ? " " : "", q);
			free(q);
		}
		if (rc == VMCTL_OK && want_shell)
			printf("\n");
		strv_free(&out);
	}
	inv_free(&inv);
	return rc;
}
