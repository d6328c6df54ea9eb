/*
 * Golden tests for the QEMU command line: representative models in,
 * argv (one word per line) out, compared with tests/argv/NAME.ok.
 * VMS_UPDATE_GOLDEN=1 rewrites the .ok files (review the diff!).
 *
 * `test_qemu_argv --print NAME DIR` prints the argv of model NAME with all
 * runtime paths under DIR, one word per line, for tests/argv/test_qemu_accepts.sh
 * which starts the real QEMU with it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "qemu/qemu_argv.h"
#include "qemu/qemu_fw.h"
#include "tap.h"

static char *strs1[] = { "tcp:127.0.0.1:2222-:22", "udp::5353-:53" };
static char *extra[] = { "-global", "kvm-pit.lost_tick_policy=delay" };

/* A minimal VM: defaults everywhere. */
static void
model_minimal(struct hw_vm *vm, const char *dir)
{
	vm->vm_name = "minimal";
	vm->vm_memory = 128ULL << 20;
	vm->vm_serial = vm->vm_monitor = HW_PORT_NONE;
	vm->vm_vnc = HW_VNC_NONE;
}

/* A typical server: q35, several cpus, qcow2 on virtio, cdrom, user net. */
static struct hw_disk server_disks[1];
static struct hw_nic server_nics[1];
static void
model_server(struct hw_vm *vm, const char *dir)
{
	vm->vm_name = "web";
	vm->vm_machine = "q35";
	vm->vm_cpu = "max";
	vm->vm_accel = HW_ACCEL_AUTO;
	vm->vm_smp = (struct hw_smp){ .cpus = 4, .sockets = 1, .cores = 2, .threads = 2 };
	vm->vm_memory = 2ULL << 30;
	server_disks[0] = (struct hw_disk){ .dk_file = "/srv/vm/web.qcow2",
	    .dk_format = HW_FMT_QCOW2, .dk_if = HW_IF_VIRTIO, .dk_cache = HW_CACHE_NONE,
	    .dk_index = 1, .dk_media = HW_MEDIA_DISK };
	vm->vm_disks = server_disks;
	vm->vm_n_disks = 1;
	vm->vm_cdrom = "/srv/iso/debian-12.iso";
	server_nics[0] = (struct hw_nic){ .nic_net = HW_NET_USER, .nic_hostfwd = strs1,
	    .nic_n_hostfwd = 2 };
	vm->vm_nics = server_nics;
	vm->vm_n_nics = 1;
	vm->vm_serial = 4555;
	vm->vm_monitor = 4556;
	vm->vm_vnc = 1;
	vm->vm_balloon = true;
	vm->vm_usb_tablet = true;
	vm->vm_keymap = "de";
	vm->vm_boot = (struct hw_boot){ .order = "cd", .menu = true };
}

/* Direct kernel boot; paths and values with commas are escaped (,,). */
static struct hw_disk kb_disks[1];
static struct hw_nic kb_nics[2];
static void
model_kernelboot(struct hw_vm *vm, const char *dir)
{
	vm->vm_name = "kb";
	vm->vm_accel = HW_ACCEL_TCG;
	vm->vm_memory = 256ULL << 20;
	vm->vm_kernel = "/boot/vmlinuz,old";
	vm->vm_initrd = "/boot/initrd.img";
	vm->vm_append = "console=ttyS0 quiet vmsguest=stubborn,x";
	kb_disks[0] = (struct hw_disk){ .dk_file = "/var/lib/vm/a,b.img",
	    .dk_format = HW_FMT_RAW, .dk_if = HW_IF_VIRTIO, .dk_index = HW_INDEX_AUTO,
	    .dk_snapshot = true };
	vm->vm_disks = kb_disks;
	vm->vm_n_disks = 1;
	kb_nics[0] = (struct hw_nic){ .nic_net = HW_NET_BRIDGE, .nic_bridge = "br0",
	    .nic_model = "e1000", .nic_mac_set = true,
	    .nic_mac = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc } };
	kb_nics[1] = (struct hw_nic){ .nic_net = HW_NET_TAP, .nic_ifname = "tap-kb",
	    .nic_vhost = true };
	vm->vm_nics = kb_nics;
	vm->vm_n_nics = 2;
	vm->vm_serial = 4600;
	vm->vm_monitor = HW_PORT_NONE;
	vm->vm_vnc = HW_VNC_NONE;
	vm->vm_vga = "none";
	vm->vm_extra_args = extra;
	vm->vm_n_extra_args = 2;
}

/* Every device kind QEMU can start unprivileged, on files under dir. */
static struct hw_disk full_disks[6];
static struct hw_nic full_nics[3];
static char full_paths[6][512];
static void
model_full(struct hw_vm *vm, const char *dir)
{
	static const struct { enum hw_disk_if i; enum hw_media m; bool ro; enum hw_disk_fmt f; }
	    kinds[6] = {
		{ HW_IF_VIRTIO, HW_MEDIA_DISK, false, HW_FMT_QCOW2 },
		{ HW_IF_IDE, HW_MEDIA_DISK, false, HW_FMT_RAW },
		{ HW_IF_IDE, HW_MEDIA_CDROM, true, HW_FMT_RAW },
		{ HW_IF_SCSI, HW_MEDIA_DISK, true, HW_FMT_RAW },
		{ HW_IF_SCSI, HW_MEDIA_CDROM, true, HW_FMT_RAW },
		{ HW_IF_NVME, HW_MEDIA_DISK, false, HW_FMT_RAW },
	};
	vm->vm_name = "full";
	vm->vm_machine = "pc";
	vm->vm_accel = HW_ACCEL_TCG;
	vm->vm_smp = (struct hw_smp){ .cpus = 2, .maxcpus = 4 };
	vm->vm_memory = 128ULL << 20;
	for (int i = 0; i < 6; i++) {
		snprintf(full_paths[i], sizeof(full_paths[i]), "%s/disk%d.%s", dir, i,
		    kinds[i].f == HW_FMT_QCOW2 ? "qcow2" : "img");
		full_disks[i] = (struct hw_disk){ .dk_file = full_paths[i],
		    .dk_format = kinds[i].f, .dk_if = kinds[i].i, .dk_media = kinds[i].m,
		    .dk_readonly = kinds[i].ro, .dk_index = i == 0 ? 1 : HW_INDEX_AUTO,
		    .dk_cache = i == 5 ? HW_CACHE_UNSAFE : HW_CACHE_WRITEBACK };
	}
	vm->vm_disks = full_disks;
	vm->vm_n_disks = 6;
	full_nics[0] = (struct hw_nic){ .nic_net = HW_NET_USER, .nic_hostfwd = strs1,
	    .nic_n_hostfwd = 1 };
	/* A comma in a value is doubled, as in any QEMU option string. */
	full_nics[1] = (struct hw_nic){ .nic_net = HW_NET_USER, .nic_model = "e1000",
	    .nic_tftp = (char *)dir, .nic_bootfile = "pxe,boot.0" };
	full_nics[2] = (struct hw_nic){ .nic_net = HW_NET_NONE };
	vm->vm_nics = full_nics;
	vm->vm_n_nics = 3;
	vm->vm_serial = 4700;
	vm->vm_monitor = 4701;
	vm->vm_vnc = 77;
	vm->vm_vnc_password_file = "/etc/vmservice/full.vncpass";
	vm->vm_vga = "std";
	vm->vm_balloon = true;
	vm->vm_usb_tablet = true;
	vm->vm_keymap = "en-us";
	vm->vm_boot = (struct hw_boot){ .order = "c", .once = "d" };
}

/*
 * What the daemon runs for kernelboot: it opened the taps. nic 0 (bridge,
 * e1000) has no vhost; nic 1 (tap, vhost = on) got a vhost-net fd.
 */
static const struct qemu_nic_fds kb_fds[2] = { { 20, -1 }, { 22, 23 } };
/* ... and bound its QMP and serial sockets (issue 12; no monitor here). */
static const struct qemu_chr_fds kb_chr = { 24, 25, -1, -1 };
/* A daemon without /dev/vhost-net: vhost = on, but no vhost fd. */
static const struct qemu_nic_fds kb_novhost_fds[2] = { { 20, -1 }, { 22, -1 } };

static const struct model {
	const char *name;
	void (*fill)(struct hw_vm *, const char *);
	const struct qemu_nic_fds *fds;
	size_t n_fds;
	const struct qemu_chr_fds *chr;
} models[] = {
	{ "minimal", model_minimal, NULL, 0, NULL },
	{ "server", model_server, NULL, 0, NULL },
	{ "kernelboot", model_kernelboot, NULL, 0, NULL },
	{ "full", model_full, NULL, 0, NULL },
	{ "kernelboot-fds", model_kernelboot, kb_fds, 2, &kb_chr },
	{ "kernelboot-novhost", model_kernelboot, kb_novhost_fds, 2, &kb_chr },
};

static int
build(const char *name, const char *dir, struct strv *out, char *err, size_t errlen)
{
	struct qemu_env env = {
		.qe_emulator_dir = "/usr/bin", .qe_run_dir = dir, .qe_log_dir = dir,
		.qe_listen = "127.0.0.1", .qe_kvm_usable = false,
	};
	struct hw_vm vm = { 0 };

	for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++) {
		if (strcmp(models[i].name, name) != 0)
			continue;
		models[i].fill(&vm, dir);
		env.qe_nic_fds = models[i].fds;
		env.qe_n_nic_fds = models[i].n_fds;
		env.qe_chr_fds = models[i].chr;
		hw_derive_uuid(vm.vm_name, vm.vm_uuid);
		return qemu_argv(&vm, &env, out, err, errlen);
	}
	snprintf(err, errlen, "no model %s", name);
	return -ENOENT;
}

static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *s;
	long n;

	if (!fp)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	s = xmalloc((size_t)n + 1);
	n = (long)fread(s, 1, (size_t)n, fp);
	s[n] = '\0';
	fclose(fp);
	return s;
}

static void
golden(const char *name)
{
	const char *top = getenv("VMS_TOP") ? getenv("VMS_TOP") : ".";
	char path[1024], err[256] = "";
	struct strv sv = { 0 };
	size_t len = 0;
	char *got, *want;

	if (build(name, "/run/vmservice", &sv, err, sizeof(err)) != 0) {
		OK(0, "argv for %s builds: %s", name, err);
		return;
	}
	for (size_t i = 0; i < sv.sv_n; i++)
		len += strlen(sv.sv_v[i]) + 1;
	got = xcalloc(1, len + 1);
	for (size_t i = 0; i < sv.sv_n; i++) {
		strcat(got, sv.sv_v[i]);
		strcat(got, "\n");
	}
	strv_free(&sv);
	snprintf(path, sizeof(path), "%s/tests/argv/%s.ok", top, name);
	if (getenv("VMS_UPDATE_GOLDEN")) {
		FILE *fp = fopen(path, "w");
		if (fp) {
			fputs(got, fp);
			fclose(fp);
		}
	}
	want = slurp(path);
	OK(want && strcmp(got, want) == 0, "argv for %s matches %s", name, path);
	if (!want || strcmp(got, want) != 0)
		printf("# got:\n%s", got);
	free(got);
	free(want);
}

static void
refused(const char *what, void (*mutate)(struct hw_vm *), const char *needle)
{
	struct qemu_env env = { .qe_emulator_dir = "/usr/bin", .qe_run_dir = "/r",
	    .qe_log_dir = "/l" };
	struct hw_vm vm = { 0 };
	struct strv sv = { 0 };
	char err[256] = "";
	int rc;

	model_minimal(&vm, "/tmp");
	mutate(&vm);
	rc = qemu_argv(&vm, &env, &sv, err, sizeof(err));
	OK(rc == -EINVAL && strstr(err, needle), "refused: %s (%s)", what, err);
	strv_free(&sv);
}

static struct hw_disk bad_disks[5];
static void
m_cd_virtio(struct hw_vm *vm)
{
	bad_disks[0] = (struct hw_disk){ .dk_file = "/x.iso", .dk_if = HW_IF_VIRTIO,
	    .dk_media = HW_MEDIA_CDROM, .dk_index = HW_INDEX_AUTO };
	vm->vm_disks = bad_disks;
	vm->vm_n_disks = 1;
}
static void
m_ro_ide(struct hw_vm *vm)
{
	bad_disks[0] = (struct hw_disk){ .dk_file = "/x.img", .dk_if = HW_IF_IDE,
	    .dk_readonly = true, .dk_index = HW_INDEX_AUTO };
	vm->vm_disks = bad_disks;
	vm->vm_n_disks = 1;
}
static void
m_five_ide(struct hw_vm *vm)
{
	for (int i = 0; i < 5; i++)
		bad_disks[i] = (struct hw_disk){ .dk_file = "/x.img", .dk_if = HW_IF_IDE,
		    .dk_index = HW_INDEX_AUTO };
	vm->vm_disks = bad_disks;
	vm->vm_n_disks = 5;
}
static void
m_odd_memory(struct hw_vm *vm)
{
	vm->vm_memory = (128ULL << 20) + 512;
}

static bool
strv_has(const struct strv *sv, const char *w)
{
	for (size_t i = 0; i < sv->sv_n; i++)
		if (strcmp(sv->sv_v[i], w) == 0)
			return true;
	return false;
}

static void
m_secure_pc(struct hw_vm *vm)
{
	vm->vm_firmware = HW_FW_UEFI_SECURE;
	vm->vm_machine = "pc";
}

/* firmware = uefi: the argv with the daemon's nvram fds, and without (by path). */
static void
uefi_cases(void)
{
	struct qemu_env env = { .qe_emulator_dir = "/usr/bin", .qe_run_dir = "/r",
	    .qe_log_dir = "/l", .qe_state_dir = "/s,x" };
	struct hw_vm vm = { 0 };
	struct strv sv = { 0 }, path = { 0 };
	char err[256] = "";
	int fds[2];

	model_minimal(&vm, "/tmp");
	vm.vm_firmware = HW_FW_UEFI;
	OK(qemu_argv(&vm, &env, &path, err, sizeof(err)) == 0, "uefi, by path (%s)", err);
	OK(strv_has(&path, "if=pflash,format=raw,unit=0,readonly=on,"
	    "file=/usr/share/OVMF/OVMF_CODE_4M.fd"), "uefi: OVMF_CODE_4M.fd read-only, unit 0");
	OK(strv_has(&path, "if=pflash,format=raw,unit=1,file=/s,,x/minimal.nvram.fd"),
	    "uefi: state_dir/NAME.nvram.fd in unit 1, comma escaped");
	OK(!strv_has(&path, "smm=on"), "uefi: no SMM");
	env.qe_nvram_fds[0] = 30;
	env.qe_nvram_fds[1] = 31;
	OK(qemu_argv(&vm, &env, &sv, err, sizeof(err)) == 0, "uefi, with fds (%s)", err);
	OK(strv_has(&sv, "fd=30,set=1,opaque=nvram-rw") && strv_has(&sv,
	    "fd=31,set=1,opaque=nvram-ro"), "uefi: both fds in fdset 1");
	OK(strv_has(&sv, "if=pflash,format=raw,unit=1,file=/dev/fdset/1"),
	    "uefi: unit 1 from /dev/fdset/1");
	qemu_fw_nvram_fds(&sv, fds);
	OK(fds[0] == 30 && fds[1] == 31, "qemu_fw_nvram_fds reads them back (%d, %d)", fds[0],
	    fds[1]);
	qemu_fw_nvram_fds(&path, fds);
	OK(fds[0] == 0 && fds[1] == 0, "and finds none in the path form");
	strv_free(&sv);
	strv_free(&path);
	vm.vm_firmware = HW_FW_UEFI_SECURE;
	vm.vm_machine = "q35";
	OK(qemu_argv(&vm, &env, &sv, err, sizeof(err)) == 0, "uefi-secure on q35 (%s)", err);
	OK(strv_has(&sv, "if=pflash,format=raw,unit=0,readonly=on,"
	    "file=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd") && strv_has(&sv, "smm=on") &&
	    strv_has(&sv, "driver=cfi.pflash01,property=secure,value=on"),
	    "uefi-secure: the secboot build, SMM, secure flash");
	strv_free(&sv);
}

int
main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--print") == 0) {
		struct strv sv = { 0 };
		char err[256];
		if (build(argv[2], argv[3], &sv, err, sizeof(err)) != 0) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		for (size_t i = 0; i < sv.sv_n; i++)
			printf("%s\n", sv.sv_v[i]);
		strv_free(&sv);
		return 0;
	}
	for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++)
		golden(models[i].name);
	refused("cdrom on virtio", m_cd_virtio, "cannot be on virtio");
	refused("read-only IDE hard disk", m_ro_ide, "cannot be read-only");
	refused("five IDE devices on pc", m_five_ide, "more than 4 IDE devices");
	refused("memory not in MiB", m_odd_memory, "whole number of MiB");
	refused("uefi-secure on machine pc", m_secure_pc, "needs machine = q35");
	uefi_cases();
	{
		/* A versioned q35 (pc-q35-7.2) has AHCI too: one IDE device per bus. */
		struct qemu_env env = { .qe_emulator_dir = "/usr/bin", .qe_run_dir = "/r",
		    .qe_log_dir = "/l" };
		struct hw_vm vm = { 0 };
		struct strv sv = { 0 };
		char err[256] = "", *all;
		size_t len = 1;

		model_minimal(&vm, "/tmp");
		m_five_ide(&vm);
		vm.vm_n_disks = 2;
		vm.vm_machine = "pc-q35-7.2";
		OK(qemu_argv(&vm, &env, &sv, err, sizeof(err)) == 0, "pc-q35-7.2, two IDE disks (%s)",
		    err);
		for (size_t i = 0; i < sv.sv_n; i++)
			len += strlen(sv.sv_v[i]) + 1;
		all = calloc(1, len);
		for (size_t i = 0; all && i < sv.sv_n; i++)
			strcat(strcat(all, sv.sv_v[i]), " ");
		OK(all && strstr(all, "bus=ide.1") && !strstr(all, "unit=1"),
		    "pc-q35-7.2: the second IDE disk on bus ide.1 (AHCI), not unit 1");
		free(all);
		strv_free(&sv);
	}
	{
		struct hw_vm vm = { .vm_name = "p", .vm_type = "system-x86_64" };

		OK(qemu_has_pvpanic(&vm), "pvpanic on the default machine");
		vm.vm_machine = "pc-i440fx-7.2";
		OK(qemu_has_pvpanic(&vm), "pvpanic on pc-*");
		vm.vm_machine = "q35";
		OK(qemu_has_pvpanic(&vm), "pvpanic on q35");
		vm.vm_machine = "none";
		OK(!qemu_has_pvpanic(&vm), "no pvpanic on machine none (no ISA bus)");
		vm.vm_machine = "microvm";
		OK(!qemu_has_pvpanic(&vm), "no pvpanic on microvm");
		vm.vm_machine = NULL;
		vm.vm_type = "system-aarch64";
		OK(!qemu_has_pvpanic(&vm), "no ISA pvpanic on other targets");
	}
	{
		/* Reload reads the fds back from a running QEMU's argv (ours). */
		struct strv sv = { 0 };
		struct qemu_nic_fds f[2];
		struct qemu_chr_fds c;
		char err[256];

		OK(build("kernelboot-fds", "/run/x", &sv, err, sizeof(err)) == 0, "argv with fds");
		qemu_argv_nic_fds(&sv, 0, &f[0]);
		qemu_argv_nic_fds(&sv, 1, &f[1]);
		qemu_argv_chr_fds(&sv, &c);
		OK(f[0].qn_tap_fd == kb_fds[0].qn_tap_fd && f[0].qn_vhost_fd == kb_fds[0].qn_vhost_fd &&
		    f[1].qn_tap_fd == kb_fds[1].qn_tap_fd && f[1].qn_vhost_fd == kb_fds[1].qn_vhost_fd,
		    "tap and vhost fds of both NICs read back");
		OK(c.qs_qmp == kb_chr.qs_qmp && c.qs_serial == kb_chr.qs_serial &&
		    c.qs_hmp == kb_chr.qs_hmp, "chardev fds read back");
		qemu_argv_nic_fds(&sv, 7, &f[0]);
		OK(f[0].qn_tap_fd == -1 && f[0].qn_vhost_fd == -1, "no NIC 7: -1");
		strv_free(&sv);
	}
	return TAP_DONE();
}
