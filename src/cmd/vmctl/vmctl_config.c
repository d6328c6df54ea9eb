/* vmctl check-config and vmctl show: the inventory seen from the shell. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "qemu/qemu_argv.h"
#include "qemu/qemu_kvm.h"
#include "qemu/qemu_priv.h"
#include "config/inv_expose.h"
#include "config/inv_limits.h"
#include "config/inventory.h"
#include "cmd/vmctl/vmctl.h"
#include "cmd/vmctl/client.h"
#include "config/vmpriv.h"

int
vmctl_load(const char *path, struct inventory *inv)
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

/*
 * What accel = auto / kvm will get on this host, asked as the daemon asks
 * (for each VM's runas user): a note when it is not KVM. One probe per
 * distinct runas. A KVM that opens but cannot run guests is only found
 * by a guest (vmserviced(8), ACCELERATION).
 */
static void
explain_accel(const struct inventory *inv)
{
	struct { const char *runas; int e; char why[160]; } seen[8];
	size_t n_seen = 0;

	for (size_t i = 0; i < inv->inv_n_vms; i++) {
		const struct hw_vm *vm = &inv->inv_vms[i];
		const char *runas = vm->vm_runas ? vm->vm_runas : "";
		size_t j;

		if (vm->vm_accel == HW_ACCEL_TCG || !vm->vm_policy.po_enable)
			continue;
		for (j = 0; j < n_seen; j++)
			if (strcmp(seen[j].runas, runas) == 0)
				break;
		if (j == n_seen) {
			if (n_seen == sizeof(seen) / sizeof(seen[0]))
				j = --n_seen;	/* reuse the last slot */
			struct qpriv p;

			seen[j].runas = runas;
			/* A user that cannot be resolved is not an accel question. */
			seen[j].e = vmpriv_resolve_any(inv, vm, &p, seen[j].why, sizeof(seen[j].why));
			if (!seen[j].e) {
				seen[j].e = qkvm_probe(&p, seen[j].why, sizeof(seen[j].why));
				qpriv_free(&p);
			} else {
				seen[j].e = 0;
			}
			n_seen++;
		}
		if (!seen[j].e)
			continue;
		if (vm->vm_accel == HW_ACCEL_KVM)
			printf("warning: vm %s: accel = kvm: %s: it will fail to start\n",
			    vm->vm_name, seen[j].why);
		else
			printf("note: vm %s: accel = auto: %s: it runs under TCG\n",
			    vm->vm_name, seen[j].why);
	}
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
	if (vmctl_load(vmctl_conf_path(ctl, conf), &inv) < 0)
		return VMCTL_FAIL;
	/* Warnings only: the exit status says whether the daemon would load it. */
	{
		struct diag d = { 0 };

		struct cg_probe cg;

		inv_expose_check(&inv, &d);
		cg_probe(&cg);
		inv_limits_check(&inv, &cg, &d);
		diag_print(&d, stderr);
		diag_free(&d);
	}
	printf("ok: %zu VM%s\n", inv.inv_n_vms, inv.inv_n_vms == 1 ? "" : "s");
	explain_accel(&inv);
	inv_free(&inv);
	return VMCTL_OK;
}

/* Resource limits, only those set (the golden outputs stay). */
static void
show_limits(const struct hw_limits *l)
{
	if (l->lim_cpu_weight)
		printf("cpu_weight: %u\n", l->lim_cpu_weight);
	if (l->lim_cpu_quota)
		printf("cpu_quota: %u%%\n", l->lim_cpu_quota);
	if (l->lim_memory_max)
		printf("memory_max: %llu (%lluM)\n", (unsigned long long)l->lim_memory_max,
		    (unsigned long long)(l->lim_memory_max >> 20));
	if (l->lim_io_weight)
		printf("io_weight: %u\n", l->lim_io_weight);
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
	printf("nic%zu.tftp: %s\n", i, str(n->nic_tftp));
	printf("nic%zu.bootfile: %s\n", i, str(n->nic_bootfile));
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
	printf("enable: %s\n", yesno(vm->vm_policy.po_enable));
	printf("autostart: %s\n", yesno(vm->vm_policy.po_autostart));
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
	/* Only when not QEMU's default, so the listings of BIOS VMs stay as they were. */
	if (vm->vm_firmware != HW_FW_BIOS)
		printf("firmware: %s\n", hw_name_of(hw_firmware_names, vm->vm_firmware));
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
	if (vm->vm_policy.po_balloon_target)	/* (only when set: the golden outputs stay) */
		printf("balloon_target: %llu (%lluM)\n",
		    (unsigned long long)vm->vm_policy.po_balloon_target,
		    (unsigned long long)(vm->vm_policy.po_balloon_target >> 20));
	show_limits(&vm->vm_policy.po_limits);
	printf("usb_tablet: %s\n", yesno(vm->vm_usb_tablet));
	printf("keymap: %s\n", str(vm->vm_keymap));
	printf("loadvm: %s\n", str(vm->vm_loadvm));
	printf("runas: %s\n", vm->vm_runas ? vm->vm_runas : "dynamic");
	printf("halt:");
	for (unsigned i = 0; i < vm->vm_policy.po_n_halt; i++)
		printf(" %s", hw_name_of(hw_halt_names, vm->vm_policy.po_halt[i]));
	printf("\n");
	printf("halt_command: %s\n", str(vm->vm_policy.po_halt_command));
	printf("halt_timeout: %u\n", vm->vm_policy.po_halt_timeout);
	printf("acpi_repeat: %u\n", vm->vm_policy.po_acpi_repeat);
	printf("agent: %s\n", yesno(vm->vm_agent));
	printf("tpm: %s\n", yesno(vm->vm_tpm));
	if (vm->vm_cloud_init.ci_on) {
		const struct hw_cloud_init *ci = &vm->vm_cloud_init;
		printf("cloud_init.user_data: %s\n", ci->ci_user_data ? ci->ci_user_data : "-");
		printf("cloud_init.meta_data: %s\n", ci->ci_meta_data ? ci->ci_meta_data : "-");
		printf("cloud_init.network_config: %s\n",
		    ci->ci_network_config ? ci->ci_network_config : "-");
	}
	printf("ready: %s%s\n", vm->vm_policy.po_ready == HW_READY_QMP ? "qmp" :
	    vm->vm_policy.po_ready == HW_READY_AGENT ? "agent" :
	    vm->vm_policy.po_ready == HW_READY_SERIAL ? "serial:" : "tcp:",
	    vm->vm_policy.po_ready_arg ? vm->vm_policy.po_ready_arg : "");
	printf("ready_timeout: %u\n", vm->vm_policy.po_ready_timeout);
	printf("on_ready_timeout: %s\n", hw_name_of(hw_ready_fail_names,
	    vm->vm_policy.po_on_ready_timeout));
	printf("on_host_shutdown: %s\n", hw_name_of(hw_host_shutdown_names,
	    vm->vm_policy.po_on_host_shutdown));
	printf("save_timeout: %u\n", vm->vm_policy.po_save_timeout);
	printf("term_timeout: %u\n", vm->vm_policy.po_term_timeout);
	put_words("after", vm->vm_policy.po_after, vm->vm_policy.po_n_after);
	printf("start_delay: %u\n", vm->vm_policy.po_start_delay);
	printf("restart: %s\n", hw_name_of(hw_restart_names, vm->vm_policy.po_restart));
	printf("restart_delay: %u\n", vm->vm_policy.po_restart_delay);
	printf("restart_max_delay: %u\n", vm->vm_policy.po_restart_max_delay);
	printf("restart_burst: %u\n", vm->vm_policy.po_restart_burst);
	printf("restart_interval: %u\n", vm->vm_policy.po_restart_interval);
	printf("on_panic: %s\n", hw_name_of(hw_panic_names, vm->vm_policy.po_on_panic));
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
	if (vmctl_load(conf, &inv) < 0)
		return VMCTL_FAIL;
	vm = inv_find_vm(&inv, argv[0]);
	/* Not in the file: an attached QEMU's real command line, from the daemon. */
	if (!vm && (rc = vmctl_show_attached(ctl, conf, argv[0], want_argv, want_shell)) >= 0) {
		inv_free(&inv);
		return rc;
	}
	rc = VMCTL_OK;
	env = (struct qemu_env){
		.qe_emulator_dir = inv.inv_emulator_dir,
		.qe_run_dir = inv.inv_run_dir,
		.qe_state_dir = inv.inv_state_dir,
		.qe_log_dir = inv.inv_log_dir,
		.qe_listen = inv.inv_listen,
	};
	if (vm) {
		char why[160];

		/* As the daemon decides it: for the user QEMU runs as. */
		struct qpriv p;

		env.qe_kvm_usable = vm->vm_accel == HW_ACCEL_KVM;
		if (vm->vm_accel == HW_ACCEL_AUTO &&
		    vmpriv_resolve_any(&inv, vm, &p, why, sizeof(why)) == 0) {
			env.qe_kvm_usable = qkvm_probe(&p, why, sizeof(why)) == 0;
			qpriv_free(&p);
		}
	}
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

/*
 * The VNC password: the first line of vnc_password_file, else the one the
 * daemon generated for the running QEMU (state_dir/NAME.vncpass, 0600).
 */
int
vmctl_vnc_password(struct vmctl *ctl, int argc, char **argv)
{
	const char *conf = NULL;
	struct inventory inv;
	struct hw_vm *vm;
	char *path, line[256];
	FILE *fp;
	int rc = VMCTL_FAIL, n = vmctl_args(ctl, argc, argv, &conf, NULL, NULL);

	if (n == -2)
		return VMCTL_OK;
	if (n != 1) {
		if (n >= 0)
			vmctl_usage(ctl->ctl_cmd, stderr);
		return VMCTL_USAGE;
	}
	conf = vmctl_conf_path(ctl, conf);
	if (vmctl_load(conf, &inv) < 0)
		return VMCTL_FAIL;
	vm = inv_find_vm(&inv, argv[0]);
	if (!vm) {
		fprintf(stderr, "vmctl vnc-password: no VM named '%s' in %s\n", argv[0], conf);
		inv_free(&inv);
		return VMCTL_FAIL;
	}
	if (vm->vm_vnc == HW_VNC_NONE) {
		fprintf(stderr, "vmctl vnc-password: vm %s has no VNC display\n", vm->vm_name);
		inv_free(&inv);
		return VMCTL_FAIL;
	}
	path = vm->vm_vnc_password_file ? xstrdup(vm->vm_vnc_password_file) :
	    inv_vnc_password_path(inv.inv_state_dir, vm->vm_name);
	fp = fopen(path, "re");
	if (!fp) {
		fprintf(stderr, "vmctl vnc-password: %s: %s%s\n", path, strerror(errno),
		    errno == ENOENT && !vm->vm_vnc_password_file ?
		    " (generated when the VM starts)" : "");
	} else {
		if (fgets(line, sizeof(line), fp)) {
			line[strcspn(line, "\r\n")] = '\0';
			printf("%.8s\n", line);
			rc = VMCTL_OK;
		} else {
			fprintf(stderr, "vmctl vnc-password: %s: empty\n", path);
		}
		explicit_bzero(line, sizeof(line));
		fclose(fp);
	}
	free(path);
	inv_free(&inv);
	return rc;
}
