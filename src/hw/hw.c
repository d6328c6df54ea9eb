/* Names of the model's closed sets, derived identities, and freeing. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "hw/hw.h"

const struct hw_name hw_accel_names[] = {
	{ "auto", HW_ACCEL_AUTO }, { "kvm", HW_ACCEL_KVM }, { "tcg", HW_ACCEL_TCG },
	{ NULL, -1 } };
const struct hw_name hw_firmware_names[] = {
	{ "bios", HW_FW_BIOS }, { "uefi", HW_FW_UEFI }, { "uefi-secure", HW_FW_UEFI_SECURE },
	{ NULL, -1 } };
const struct hw_name hw_halt_names[] = {
	{ "acpi", HW_HALT_ACPI }, { "command", HW_HALT_COMMAND }, { "quit", HW_HALT_QUIT },
	{ "agent", HW_HALT_AGENT }, { NULL, -1 } };
const struct hw_name hw_host_shutdown_names[] = {
	{ "poweroff", HW_SHUTDOWN_POWEROFF }, { "save", HW_SHUTDOWN_SAVE }, { NULL, -1 } };
const struct hw_name hw_ready_fail_names[] = {
	{ "proceed", HW_READY_PROCEED }, { "hold", HW_READY_HOLD }, { NULL, -1 } };
const struct hw_name hw_fmt_names[] = {
	{ "auto", HW_FMT_AUTO }, { "raw", HW_FMT_RAW }, { "qcow2", HW_FMT_QCOW2 },
	{ NULL, -1 } };
const struct hw_name hw_if_names[] = {
	{ "virtio", HW_IF_VIRTIO }, { "ide", HW_IF_IDE }, { "scsi", HW_IF_SCSI },
	{ "nvme", HW_IF_NVME }, { NULL, -1 } };
const struct hw_name hw_cache_names[] = {
	{ "writeback", HW_CACHE_WRITEBACK }, { "none", HW_CACHE_NONE },
	{ "writethrough", HW_CACHE_WRITETHROUGH }, { "directsync", HW_CACHE_DIRECTSYNC },
	{ "unsafe", HW_CACHE_UNSAFE }, { NULL, -1 } };
const struct hw_name hw_media_names[] = {
	{ "disk", HW_MEDIA_DISK }, { "cdrom", HW_MEDIA_CDROM }, { NULL, -1 } };
const struct hw_name hw_net_names[] = {
	{ "user", HW_NET_USER }, { "tap", HW_NET_TAP }, { "bridge", HW_NET_BRIDGE },
	{ "none", HW_NET_NONE }, { NULL, -1 } };
const struct hw_name hw_restart_names[] = {
	{ "no", HW_RESTART_NO }, { "on-failure", HW_RESTART_ON_FAILURE },
	{ "always", HW_RESTART_ALWAYS }, { NULL, -1 } };
const struct hw_name hw_panic_names[] = {
	{ "restart", HW_PANIC_RESTART }, { "poweroff", HW_PANIC_POWEROFF },
	{ "pause", HW_PANIC_PAUSE }, { NULL, -1 } };

int
hw_lookup(const struct hw_name *tab, const char *name)
{
	for (; tab->name; tab++)
		if (strcmp(tab->name, name) == 0)
			return tab->value;
	return -1;
}

const char *
hw_name_of(const struct hw_name *tab, int value)
{
	for (; tab->name; tab++)
		if (tab->value == value)
			return tab->name;
	return "?";
}

/* FNV-1a, 64 bit, with a seed: identities only, not security. */
static uint64_t
fnv1a(uint64_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

void
hw_derive_mac(const char *vm, unsigned index, uint8_t mac[6])
{
	char idx[16];
	uint64_t h;

	snprintf(idx, sizeof(idx), "/nic%u", index);
	h = fnv1a(fnv1a(0xcbf29ce484222325ULL, vm), idx);
	h ^= h >> 29;	/* fold the high bits in: FNV's low bits mix poorly */
	mac[0] = 0x52;
	mac[1] = 0x54;
	mac[2] = 0x00;
	mac[3] = (uint8_t)(h >> 16);
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)h;
}

void
hw_derive_uuid(const char *vm, uint8_t uuid[16])
{
	uint64_t a = fnv1a(0xcbf29ce484222325ULL, vm);
	uint64_t b = fnv1a(fnv1a(0x84222325cbf29ce4ULL, "vmservice:"), vm);

	for (int i = 0; i < 8; i++) {
		uuid[i] = (uint8_t)(a >> (56 - 8 * i));
		uuid[8 + i] = (uint8_t)(b >> (56 - 8 * i));
	}
	/* RFC 9562 version 8 (vendor-defined), variant 10. */
	uuid[6] = (uuid[6] & 0x0f) | 0x80;
	uuid[8] = (uuid[8] & 0x3f) | 0x80;
}

void
hw_format_mac(const uint8_t m[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x",
	    m[0], m[1], m[2], m[3], m[4], m[5]);
}

int
hw_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char end;

	if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c",
	    &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &end) != 6)
		return -1;
	for (int i = 0; i < 6; i++) {
		if (s[i * 3 + 2] != ':' && i < 5)
			return -1;
		mac[i] = (uint8_t)v[i];
	}
	if (mac[0] & 1)		/* multicast bit: not a NIC address */
		return -1;
	return 0;
}

void
hw_format_uuid(const uint8_t u[16], char buf[37])
{
	snprintf(buf, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3], u[4], u[5],
	    u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

void
hw_vm_set_optloc(struct hw_vm *vm, const char *key, struct hw_loc loc)
{
	for (size_t i = 0; i < vm->vm_n_optlocs; i++)
		if (strcmp(vm->vm_optlocs[i].ol_key, key) == 0) {
			vm->vm_optlocs[i].ol_loc = loc;
			return;
		}
	xgrow(&vm->vm_optlocs, &vm->vm_cap_optlocs, vm->vm_n_optlocs + 1,
	    sizeof(*vm->vm_optlocs));
	vm->vm_optlocs[vm->vm_n_optlocs].ol_key = xstrdup(key);
	vm->vm_optlocs[vm->vm_n_optlocs++].ol_loc = loc;
}

struct hw_loc
hw_vm_optloc(const struct hw_vm *vm, const char *key)
{
	for (size_t i = 0; i < vm->vm_n_optlocs; i++)
		if (strcmp(vm->vm_optlocs[i].ol_key, key) == 0)
			return vm->vm_optlocs[i].ol_loc;
	return vm->vm_loc;
}

static void
free_strs(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
hw_vm_free(struct hw_vm *vm)
{
	for (size_t i = 0; i < vm->vm_n_disks; i++) {
		free(vm->vm_disks[i].dk_file);
		free(vm->vm_disks[i].dk_backing);
	}
	free(vm->vm_disks);
	for (size_t i = 0; i < vm->vm_n_nics; i++) {
		struct hw_nic *n = &vm->vm_nics[i];
		free(n->nic_model);
		free(n->nic_ifname);
		free(n->nic_bridge);
		free_strs(n->nic_hostfwd, n->nic_n_hostfwd);
		free(n->nic_script);
		free(n->nic_downscript);
		free(n->nic_tftp);
		free(n->nic_bootfile);
		free(n->nic_smb);
	}
	free(vm->vm_nics);
	free(vm->vm_name);
	free(vm->vm_type);
	free(vm->vm_machine);
	free(vm->vm_cpu);
	free(vm->vm_kernel);
	free(vm->vm_initrd);
	free(vm->vm_append);
	free(vm->vm_boot.order);
	free(vm->vm_boot.once);
	free(vm->vm_cdrom);
	free(vm->vm_vga);
	free(vm->vm_keymap);
	free(vm->vm_cloud_init.ci_user_data);
	free(vm->vm_cloud_init.ci_meta_data);
	free(vm->vm_cloud_init.ci_network_config);
	free(vm->vm_loadvm);
	free(vm->vm_vnc_password_file);
	free(vm->vm_policy.po_console_password_file);
	free(vm->vm_runas);
	free(vm->vm_policy.po_halt_command);
	free(vm->vm_policy.po_ready_arg);
	free_strs(vm->vm_policy.po_after, vm->vm_policy.po_n_after);
	free_strs(vm->vm_extra_args, vm->vm_n_extra_args);
	for (size_t i = 0; i < vm->vm_n_optlocs; i++)
		free(vm->vm_optlocs[i].ol_key);
	free(vm->vm_optlocs);
	memset(vm, 0, sizeof(*vm));
}

void
hw_derive_ifname(const char *vm, unsigned index, char name[IF_NAMESIZE])
{
	char buf[128];
	uint32_t h = 2166136261u;	/* FNV-1a */
	int n, sfx;

	sfx = snprintf(buf, sizeof(buf), "-%u", index);
	n = snprintf(buf, sizeof(buf), "%s%.64s-%u", HW_TAP_PREFIX, vm, index);
	if (n >= IF_NAMESIZE) {
		for (const char *p = vm; *p; p++)
			h = (h ^ (uint8_t)*p) * 16777619u;
		n = IF_NAMESIZE - 1 - (int)strlen(HW_TAP_PREFIX) - 4 - sfx;
		snprintf(buf, sizeof(buf), "%s%.*s%04x-%u", HW_TAP_PREFIX, n, vm,
		    (unsigned)(h & 0xffff), index);
	}
	memcpy(name, buf, IF_NAMESIZE - 1);
	name[IF_NAMESIZE - 1] = '\0';
}

void
hw_nic_ifname(const struct hw_vm *hw, unsigned i, char name[IF_NAMESIZE])
{
	const struct hw_nic *nic = &hw->vm_nics[i];

	if (nic->nic_ifname)
		snprintf(name, IF_NAMESIZE, "%.*s", IF_NAMESIZE - 1, nic->nic_ifname);
	else
		hw_derive_ifname(hw->vm_name, i, name);
}

static bool
str_differs(const char *a, const char *b)
{
	return (a || b) && (!a || !b || strcmp(a, b) != 0);
}

bool
hw_disk_written(const struct hw_disk *dk)
{
	return !dk->dk_readonly && !dk->dk_snapshot && dk->dk_media != HW_MEDIA_CDROM;
}

bool
hw_halt_has(const struct vm_policy *po, enum hw_halt step)
{
	for (unsigned i = 0; i < po->po_n_halt; i++)
		if (po->po_halt[i] == step)
			return true;
	return false;
}

int
hw_ready_tcp_parse(const char *arg, char *host, size_t hostlen, int *port,
    char *why, size_t whylen)
{
	const char *colon = strrchr(arg, ':'), *h = arg;
	size_t hl;
	unsigned char a[16];
	char *end;
	long p;

	if (!colon || colon == arg) {
		snprintf(why, whylen, "'%s': want HOST:PORT", arg);
		return -EINVAL;
	}
	hl = (size_t)(colon - arg);
	if (*h == '[' && hl >= 2 && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl >= hostlen) {
		snprintf(why, whylen, "'%s': host too long", arg);
		return -EINVAL;
	}
	memcpy(host, h, hl);
	host[hl] = 0;
	if (inet_pton(AF_INET, host, a) != 1 && inet_pton(AF_INET6, host, a) != 1) {
		snprintf(why, whylen, "'%s': the host must be a numeric IP address "
		    "(no name lookups in the daemon)", arg);
		return -EINVAL;
	}
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || p < 1 || p > 65535) {
		snprintf(why, whylen, "'%s': the port must be 1..65535", arg);
		return -EINVAL;
	}
	*port = (int)p;
	return 0;
}

bool
vm_policy_differs(const struct vm_policy *a, const struct vm_policy *b)
{
	size_t i;

	if (a->po_enable != b->po_enable || a->po_autostart != b->po_autostart ||
	    a->po_n_halt != b->po_n_halt ||
	    memcmp(a->po_halt, b->po_halt, sizeof(a->po_halt)) != 0 ||
	    str_differs(a->po_halt_command, b->po_halt_command) ||
	    a->po_acpi_repeat != b->po_acpi_repeat || a->po_ready != b->po_ready ||
	    str_differs(a->po_ready_arg, b->po_ready_arg) ||
	    a->po_ready_timeout != b->po_ready_timeout ||
	    a->po_on_ready_timeout != b->po_on_ready_timeout ||
	    a->po_on_host_shutdown != b->po_on_host_shutdown ||
	    a->po_save_timeout != b->po_save_timeout ||
	    a->po_halt_timeout != b->po_halt_timeout ||
	    a->po_term_timeout != b->po_term_timeout ||
	    a->po_start_delay != b->po_start_delay || a->po_n_after != b->po_n_after ||
	    a->po_restart != b->po_restart || a->po_restart_delay != b->po_restart_delay ||
	    a->po_restart_max_delay != b->po_restart_max_delay ||
	    a->po_restart_burst != b->po_restart_burst ||
	    a->po_restart_interval != b->po_restart_interval ||
	    a->po_on_panic != b->po_on_panic || a->po_balloon_target != b->po_balloon_target ||
	    hw_limits_differ(&a->po_limits, &b->po_limits) ||
	    str_differs(a->po_console_password_file, b->po_console_password_file))
		return true;
	for (i = 0; i < a->po_n_after; i++)
		if (strcmp(a->po_after[i], b->po_after[i]) != 0)
			return true;
	return false;
}

bool
hw_limits_differ(const struct hw_limits *a, const struct hw_limits *b)
{
	return a->lim_cpu_weight != b->lim_cpu_weight || a->lim_cpu_quota != b->lim_cpu_quota ||
	    a->lim_memory_max != b->lim_memory_max || a->lim_io_weight != b->lim_io_weight;
}

bool
hw_limits_set(const struct hw_limits *l)
{
	static const struct hw_limits none;

	return hw_limits_differ(l, &none);
}
