/*
 * The configuration's vocabulary: one table per section kind, and the
 * libconfuse option arrays built from them.
 *
 * Every leaf option is a libconfuse CFGT_PTR whose parse callback keeps the
 * raw text and its line (struct inv_val): libconfuse 3.3 has no line per
 * option, and it stops at the first value it cannot convert, while we want
 * typed errors for every option, with lines. Types are checked in inv_conv.c.
 *
 * libconfuse callbacks get no user pointer. Each section therefore carries
 * two options no file can name (their names start with a space):
 *   " ctx"  a "simple" option pointing at ip->ip_self, so any callback can
 *           reach the struct inv_parse of this load (no global state);
 *   " line" an option with a default value, parsed when the section is
 *           created, i.e. on the line of its opening brace: cfg_t->line
 *           itself ends up on the closing one.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "config/inv_priv.h"

#define F(type, field)	offsetof(struct type, field)
#define CTX_OPT		" ctx"
#define LINE_OPT	" line"

static const char *const vga_words[] = {
	"std", "cirrus", "vmware", "qxl", "virtio", "none", NULL };

#define MB	(1024LL * 1024)
const struct inv_opt inv_global_opts[] = {
	{ "run_dir",	IK_PATH, F(inventory, inv_run_dir), 0, 0, 0, NULL, NULL },
	{ "state_dir",	IK_PATH, F(inventory, inv_state_dir), 0, 0, 0, NULL, NULL },
	{ "log_dir",	IK_PATH, F(inventory, inv_log_dir), 0, 0, 0, NULL, NULL },
	{ "emulator_dir", IK_PATH, F(inventory, inv_emulator_dir), 0, 0, 0, NULL, NULL },
	{ "listen",	IK_ADDR, F(inventory, inv_listen), 0, 0, 0, NULL, NULL },
	{ "halt_timeout", IK_UINT, F(inventory, inv_halt_timeout), 0, 0, 86400, NULL, NULL },
	{ "term_timeout", IK_UINT, F(inventory, inv_term_timeout), 0, 0, 86400, NULL, NULL },
	{ "on_host_shutdown", IK_ENUM, F(inventory, inv_on_host_shutdown), 0, 0, 0,
	    hw_host_shutdown_names, NULL },
	{ "save_timeout", IK_UINT, F(inventory, inv_save_timeout), 0, 1, 86400, NULL, NULL },
	{ "notify_command", IK_PROGRAM, F(inventory, inv_notify_command), 0, 0, 0, NULL, NULL },
	{ "notify_timeout", IK_UINT, F(inventory, inv_notify_timeout), 0, 1, 3600, NULL, NULL },
	{ "metrics_file", IK_PATH, F(inventory, inv_metrics_file), 0, 0, 0, NULL, NULL },
	{ "metrics_interval", IK_UINT, F(inventory, inv_metrics_interval), 0, 1, 3600, NULL, NULL },
	{ "start_parallel", IK_UINT, F(inventory, inv_start_parallel), 0, 0, 1024, NULL, NULL },
	{ "start_delay", IK_UINT, F(inventory, inv_start_delay), 0, 0, 3600, NULL, NULL },
	{ "restart_delay", IK_UINT, F(inventory, inv_restart_delay), 0, 0, 3600, NULL, NULL },
	{ "restart_max_delay", IK_UINT, F(inventory, inv_restart_max_delay), 0, 1, 86400, NULL, NULL },
	{ "restart_burst", IK_UINT, F(inventory, inv_restart_burst), 0, 0, 1000, NULL, NULL },
	{ "restart_interval", IK_UINT, F(inventory, inv_restart_interval), 0, 1, 86400, NULL, NULL },
	{ "console_scrollback", IK_SIZE, F(inventory, inv_console_scrollback), 0, 0, 16 * MB, NULL, NULL },
	{ "console_log_size", IK_SIZE, F(inventory, inv_console_log_size), 0, 0, 1LL << 40, NULL, NULL },
	{ "console_log_keep", IK_UINT, F(inventory, inv_console_log_keep), 0, 0, 1000, NULL, NULL },
	{ "console_idle_timeout", IK_UINT, F(inventory, inv_console_idle_timeout), 0, 0, 30 * 86400, NULL, NULL },
	{ "monitor_listen", IK_ADDR, F(inventory, inv_monitor_listen), 0, 0, 0, NULL, NULL },
	{ "runas",	IK_WORD, F(inventory, inv_runas), 0, 0, 0, NULL, NULL },
	{ "accel",	IK_ENUM, F(inventory, inv_accel), 0, 0, 0, hw_accel_names, NULL },
	{ "firmware",	IK_ENUM, F(inventory, inv_firmware), 0, 0, 0, hw_firmware_names, NULL },
	{ "console_password_file", IK_PATH, F(inventory, inv_console_password_file), 0, 0, 0, NULL, NULL },
	{ "uid_range",	IK_UIDS, F(inventory, inv_uid_lo), offsetof(struct inventory, inv_uid_hi),
	    0, 0, NULL, NULL },
	{ "cpu_weight",	IK_UINT, F(inventory, inv_limits.lim_cpu_weight), 0, 1, 10000, NULL, NULL },
	{ "cpu_quota",	IK_PERCENT, F(inventory, inv_limits.lim_cpu_quota), 0, 1, 25500, NULL, NULL },
	{ "memory_max",	IK_MIB, F(inventory, inv_limits.lim_memory_max), 0, 16 * MB, 16LL << 40, NULL, NULL },
	{ "io_weight",	IK_UINT, F(inventory, inv_limits.lim_io_weight), 0, 1, 10000, NULL, NULL },
	{ "include",	IK_INCLUDE, 0, 0, 0, 0, NULL, NULL },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL }
};

const struct inv_opt inv_vm_opts[] = {
	{ "type",	IK_TYPE, F(hw_vm, vm_type), 0, 0, 0, NULL, NULL },
	{ "enable",	IK_BOOL, F(hw_vm, vm_policy.po_enable), 0, 0, 0, NULL, NULL },
	{ "autostart",	IK_BOOL, F(hw_vm, vm_policy.po_autostart), 0, 0, 0, NULL, NULL },
	{ "machine",	IK_WORD, F(hw_vm, vm_machine), 0, 0, 0, NULL, NULL },
	{ "cpu",	IK_WORD, F(hw_vm, vm_cpu), 0, 0, 0, NULL, NULL },
	{ "smp",	IK_UINT, F(hw_vm, vm_smp.cpus), 0, 1, 255, NULL, NULL },
	{ "sockets",	IK_UINT, F(hw_vm, vm_smp.sockets), 0, 1, 255, NULL, NULL },
	{ "cores",	IK_UINT, F(hw_vm, vm_smp.cores), 0, 1, 255, NULL, NULL },
	{ "threads",	IK_UINT, F(hw_vm, vm_smp.threads), 0, 1, 255, NULL, NULL },
	{ "maxcpus",	IK_UINT, F(hw_vm, vm_smp.maxcpus), 0, 1, 255, NULL, NULL },
	{ "memory",	IK_MIB, F(hw_vm, vm_memory), 0, 16 * MB, 16LL << 40, NULL, NULL },
	{ "accel",	IK_ENUM, F(hw_vm, vm_accel), 0, 0, 0, hw_accel_names, NULL },
	{ "firmware",	IK_ENUM, F(hw_vm, vm_firmware), 0, 0, 0, hw_firmware_names, NULL },
	{ "kernel",	IK_PATH, F(hw_vm, vm_kernel), 0, 0, 0, NULL, NULL },
	{ "initrd",	IK_PATH, F(hw_vm, vm_initrd), 0, 0, 0, NULL, NULL },
	{ "append",	IK_STR, F(hw_vm, vm_append), 0, 0, 0, NULL, NULL },
	{ "cdrom",	IK_PATH, F(hw_vm, vm_cdrom), 0, 0, 0, NULL, NULL },
	{ "serial",	IK_PORT, F(hw_vm, vm_serial), 0, 0, 0, NULL, NULL },
	{ "monitor",	IK_PORT, F(hw_vm, vm_monitor), 0, 0, 0, NULL, NULL },
	{ "vnc",	IK_VNC, F(hw_vm, vm_vnc), 0, 0, 0, NULL, NULL },
	{ "vnc_password_file", IK_PATH, F(hw_vm, vm_vnc_password_file), 0, 0, 0, NULL, NULL },
	{ "console_password_file", IK_PATH, F(hw_vm, vm_policy.po_console_password_file), 0, 0, 0, NULL, NULL },
	{ "vga",	IK_WORD, F(hw_vm, vm_vga), 0, 0, 0, NULL, vga_words },
	{ "balloon",	IK_BOOL, F(hw_vm, vm_balloon), 0, 0, 0, NULL, NULL },
	{ "balloon_target", IK_MIB, F(hw_vm, vm_policy.po_balloon_target), 0, 16 * MB, 16LL << 40,
	    NULL, NULL },
	{ "usb_tablet",	IK_BOOL, F(hw_vm, vm_usb_tablet), 0, 0, 0, NULL, NULL },
	{ "keymap",	IK_WORD, F(hw_vm, vm_keymap), 0, 0, 0, NULL, NULL },
	{ "loadvm",	IK_STR, F(hw_vm, vm_loadvm), 0, 0, 0, NULL, NULL },
	{ "runas",	IK_WORD, F(hw_vm, vm_runas), 0, 0, 0, NULL, NULL },
	{ "halt",	IK_HALT, F(hw_vm, vm_policy.po_halt), F(hw_vm, vm_policy.po_n_halt), 0, 0,
	    hw_halt_names, NULL },
	{ "acpi_repeat", IK_UINT, F(hw_vm, vm_policy.po_acpi_repeat), 0, 0, 3600, NULL, NULL },
	{ "agent",	IK_BOOL, F(hw_vm, vm_agent), 0, 0, 0, NULL, NULL },
	{ "tpm",	IK_BOOL, F(hw_vm, vm_tpm), 0, 0, 0, NULL, NULL },
	{ "ready",	IK_READY, F(hw_vm, vm_policy.po_ready), F(hw_vm, vm_policy.po_ready_arg),
	    0, 0, NULL, NULL },
	{ "ready_timeout", IK_UINT, F(hw_vm, vm_policy.po_ready_timeout), 0, 0, 86400, NULL, NULL },
	{ "on_host_shutdown", IK_ENUM, F(hw_vm, vm_policy.po_on_host_shutdown), 0, 0, 0,
	    hw_host_shutdown_names, NULL },
	{ "save_timeout", IK_UINT, F(hw_vm, vm_policy.po_save_timeout), 0, 1, 86400, NULL, NULL },
	{ "on_ready_timeout", IK_ENUM, F(hw_vm, vm_policy.po_on_ready_timeout), 0, 0, 0,
	    hw_ready_fail_names, NULL },
	{ "halt_command", IK_STR, F(hw_vm, vm_policy.po_halt_command), 0, 0, 0, NULL, NULL },
	{ "halt_timeout", IK_UINT, F(hw_vm, vm_policy.po_halt_timeout), 0, 0, 86400, NULL, NULL },
	{ "term_timeout", IK_UINT, F(hw_vm, vm_policy.po_term_timeout), 0, 0, 86400, NULL, NULL },
	{ "after",	IK_NAMES, F(hw_vm, vm_policy.po_after), F(hw_vm, vm_policy.po_n_after), 0, 0, NULL, NULL },
	{ "start_delay", IK_UINT, F(hw_vm, vm_policy.po_start_delay), 0, 0, 3600, NULL, NULL },
	{ "restart",	IK_ENUM, F(hw_vm, vm_policy.po_restart), 0, 0, 0, hw_restart_names, NULL },
	{ "restart_delay", IK_UINT, F(hw_vm, vm_policy.po_restart_delay), 0, 0, 3600, NULL, NULL },
	{ "restart_max_delay", IK_UINT, F(hw_vm, vm_policy.po_restart_max_delay), 0, 1, 86400, NULL, NULL },
	{ "restart_burst", IK_UINT, F(hw_vm, vm_policy.po_restart_burst), 0, 0, 1000, NULL, NULL },
	{ "restart_interval", IK_UINT, F(hw_vm, vm_policy.po_restart_interval), 0, 1, 86400, NULL, NULL },
	{ "on_panic",	IK_ENUM, F(hw_vm, vm_policy.po_on_panic), 0, 0, 0, hw_panic_names, NULL },
	{ "cpu_weight",	IK_UINT, F(hw_vm, vm_policy.po_limits.lim_cpu_weight), 0, 1, 10000, NULL, NULL },
	{ "cpu_quota",	IK_PERCENT, F(hw_vm, vm_policy.po_limits.lim_cpu_quota), 0, 1, 25500, NULL, NULL },
	{ "memory_max",	IK_MIB, F(hw_vm, vm_policy.po_limits.lim_memory_max), 0, 16 * MB, 16LL << 40, NULL, NULL },
	{ "io_weight",	IK_UINT, F(hw_vm, vm_policy.po_limits.lim_io_weight), 0, 1, 10000, NULL, NULL },
	{ "extra_args",	IK_ARGS, F(hw_vm, vm_extra_args), F(hw_vm, vm_n_extra_args), 0, 0, NULL, NULL },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL }
};

const struct inv_opt inv_cloud_init_opts[] = {
	{ "user_data",	IK_PATH, F(hw_cloud_init, ci_user_data), 0, 0, 0, NULL, NULL },
	{ "meta_data",	IK_PATH, F(hw_cloud_init, ci_meta_data), 0, 0, 0, NULL, NULL },
	{ "network_config", IK_PATH, F(hw_cloud_init, ci_network_config), 0, 0, 0, NULL, NULL },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL }
};

const struct inv_opt inv_boot_opts[] = {
	{ "order",	IK_DRIVES, F(hw_boot, order), 0, 0, 0, NULL, NULL },
	{ "once",	IK_DRIVES, F(hw_boot, once), 0, 0, 0, NULL, NULL },
	{ "menu",	IK_BOOL, F(hw_boot, menu), 0, 0, 0, NULL, NULL },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL }
};

const struct inv_opt inv_disk_opts[] = {
	{ "file",	IK_PATH, F(hw_disk, dk_file), 0, 0, 0, NULL, NULL },
	{ "format",	IK_ENUM, F(hw_disk, dk_format), 0, 0, 0, hw_fmt_names, NULL },
	{ "if",		IK_ENUM, F(hw_disk, dk_if), 0, 0, 0, hw_if_names, NULL },
	{ "cache",	IK_ENUM, F(hw_disk, dk_cache), 0, 0, 0, hw_cache_names, NULL },
	{ "index",	IK_INDEX, F(hw_disk, dk_index), 0, 0, 63, NULL, NULL },
	{ "media",	IK_ENUM, F(hw_disk, dk_media), 0, 0, 0, hw_media_names, NULL },
	{ "readonly",	IK_BOOL, F(hw_disk, dk_readonly), 0, 0, 0, NULL, NULL },
	{ "snapshot",	IK_BOOL, F(hw_disk, dk_snapshot), 0, 0, 0, NULL, NULL },
	{ "size",	IK_SIZE, F(hw_disk, dk_size), 0, MB, 64LL << 40, NULL, NULL },
	{ "backing",	IK_PATH, F(hw_disk, dk_backing), 0, 0, 0, NULL, NULL },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL }
};

const struct inv_opt inv_nic_opts[] = {
	{ "model",	IK_WORD, F(hw_nic, nic_model), 0, 0, 0, NULL, NULL },
	{ "mac",	IK_MAC, F(hw_nic, nic_mac), F(hw_nic, nic_mac_set), 0, 0, NULL, NULL },
	{ "net",	IK_ENUM, F(hw_nic, nic_net), 0, 0, 0, hw_net_names, NULL },
	{ "ifname",	IK_WORD, F(hw_nic, nic_ifname), 0, 0, 0, NULL, NULL },
	{ "bridge",	IK_WORD, F(hw_nic, nic_bridge), 0, 0, 0, NULL, NULL },
	{ "hostfwd",	IK_HOSTFWD, F(hw_nic, nic_hostfwd), F(hw_nic, nic_n_hostfwd), 0, 0, NULL, NULL },
	{ "script",	IK_PATH, F(hw_nic, nic_script), 0, 0, 0, NULL, NULL },
	{ "downscript",	IK_PATH, F(hw_nic, nic_downscript), 0, 0, 0, NULL, NULL },
	{ "vhost",	IK_BOOL, F(hw_nic, nic_vhost), 0, 0, 0, NULL, NULL },
	{ "tftp",	IK_PATH, F(hw_nic, nic_tftp), 0, 0, 0, NULL, NULL },
	{ "bootfile",	IK_STR, F(hw_nic, nic_bootfile), 0, 0, 0, NULL, NULL },
	{ "smb",	IK_PATH, F(hw_nic, nic_smb), 0, 0, 0, NULL, NULL },
	{ NULL, 0, 0, 0, 0, 0, NULL, NULL }
};

static cfg_opt_t *
find_opt(cfg_t *cfg, const char *name)
{
	/* Not cfg_getopt(): it reports a miss through the error callback. */
	for (cfg_opt_t *o = cfg->opts; o && o->name; o++)
		if (strcmp(o->name, name) == 0)
			return o;
	return NULL;
}

struct inv_parse *
inv_cfg_ctx(cfg_t *cfg)
{
	cfg_opt_t *o = cfg ? find_opt(cfg, CTX_OPT) : NULL;

	return o && o->simple_value.ptr ? *o->simple_value.ptr : NULL;
}

struct inv_val *
inv_cfg_val(cfg_t *cfg, const char *name, unsigned i)
{
	cfg_opt_t *o = find_opt(cfg, name);

	return o && i < cfg_opt_size(o) ? cfg_opt_getnptr(o, i) : NULL;
}

static int
val_parse(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *res)
{
	size_t n = strlen(value);
	struct inv_val *v = xmalloc(sizeof(*v) + n + 1);

	v->iv_line = cfg->line;
	v->iv_done = false;
	memcpy(v->iv_str, value, n + 1);
	*(struct inv_val **)res = v;
	return 0;
}

static int
include_parse(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *res)
{
	struct inv_parse *ip = inv_cfg_ctx(cfg);
	struct inv_include *inc;

	xgrow(&ip->ip_incs, &ip->ip_cap_incs, ip->ip_n_incs + 1, sizeof(*inc));
	inc = &ip->ip_incs[ip->ip_n_incs++];
	inc->inc_pattern = xstrdup(value);
	inc->inc_line = cfg->line;
	return val_parse(cfg, opt, value, res);
}

/* The " line" default being parsed: a section was just opened. */
static int
mark_parse(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *res)
{
	struct inv_parse *ip = inv_cfg_ctx(cfg);

	if (ip && cfg->name && strcmp(cfg->name, "vm") == 0) {
		free(ip->ip_cur_vm);
		ip->ip_cur_vm = xstrdup(cfg->title);
	}
	return val_parse(cfg, opt, value, res);
}

static int
ctx_parse(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *res)
{
	cfg_error(cfg, "no such option '%s'", opt->name);
	return -1;
}

/* A `vm` section was closed: convert every one not yet converted. */
static int
vm_closed(cfg_t *cfg, cfg_opt_t *opt)
{
	struct inv_parse *ip = inv_cfg_ctx(cfg);

	for (unsigned i = 0; i < cfg_opt_size(opt); i++) {
		cfg_t *sec = cfg_opt_getnsec(opt, i);
		struct inv_val *mark = inv_cfg_val(sec, LINE_OPT, 0);

		/*
		 * A second `vm NAME` replaces the first in libconfuse's tree;
		 * converting each section as it closes keeps both, so the
		 * duplicate can be reported.
		 */
		if (mark && !mark->iv_done) {
			mark->iv_done = true;
			inv_conv_vm(ip, sec);
		}
	}
	free(ip->ip_cur_vm);
	ip->ip_cur_vm = NULL;
	return 0;
}

static const char *
section_kind(cfg_t *cfg)
{
	if (!cfg->name || strcmp(cfg->name, "root") == 0)
		return "";
	return cfg->name;
}

static bool
is_global_option(const char *name)
{
	for (const struct inv_opt *o = inv_global_opts; o->io_name; o++)
		if (strcmp(o->io_name, name) == 0)
			return true;
	return false;
}

/* libconfuse's own messages: the first stops the parse of this file. */
static void
cfg_errfunc(cfg_t *cfg, const char *fmt, va_list ap)
{
	struct inv_parse *ip = inv_cfg_ctx(cfg);
	const char *cls = DC_SYNTAX;
	char *msg, *name = NULL;

	if (vasprintf(&msg, fmt, ap) < 0)
		msg = xstrdup(fmt);
	if (!ip) {
		fprintf(stderr, "libconfuse: %s\n", msg);
		free(msg);
		return;
	}
	if (strncmp(fmt, "no such option", 14) == 0) {
		char *q1 = strchr(msg, '\''), *q2 = strrchr(msg, '\'');

		cls = DC_UNKNOWN;
		if (q1 && q2 > q1)
			name = xstrndup(q1 + 1, (size_t)(q2 - q1 - 1));
	} else if (strstr(fmt, "append to non-list")) {
		cls = DC_TYPE;
	}
	if (name && !ip->ip_main && *section_kind(cfg) == '\0' && is_global_option(name))
		diag_add(&ip->ip_cferr, DIAG_ERROR, ip->ip_file, cfg->line, NULL, cls,
		    "option '%s' may only be set in the main file", name);
	else if (name)
		diag_add(&ip->ip_cferr, DIAG_ERROR, ip->ip_file, cfg->line,
		    ip->ip_cur_vm, cls, "unknown option '%s'%s%s%s", name,
		    *section_kind(cfg) ? " in " : "", section_kind(cfg),
		    *section_kind(cfg) ? " section" : "");
	else
		diag_add(&ip->ip_cferr, DIAG_ERROR, ip->ip_file, cfg->line,
		    ip->ip_cur_vm, cls, "%s", msg);
	ip->ip_err_unknown = name != NULL;
	ip->ip_err_line = cfg->line;
	free(ip->ip_err_name);
	ip->ip_err_name = name;
	free(msg);
}

static size_t
count_opts(const struct inv_opt *tab)
{
	size_t n = 0;

	while (tab[n].io_name)
		n++;
	return n;
}

/* The libconfuse array for tab, plus sections, plus the hidden options. */
static cfg_opt_t *
build(struct inv_parse *ip, const struct inv_opt *tab, bool includes_only,
    const cfg_opt_t *secs, size_t nsecs)
{
	cfg_opt_t *o = xcalloc(count_opts(tab) + nsecs + 3, sizeof(*o));
	cfg_opt_t end = CFG_END();
	size_t n = 0;

	for (; tab->io_name; tab++) {
		bool list = tab->io_kind == IK_NAMES || tab->io_kind == IK_HOSTFWD ||
		    tab->io_kind == IK_HALT;
		cfg_opt_t leaf = CFG_PTR_CB(tab->io_name, 0, CFGF_NONE, val_parse, free);

		if (includes_only && tab->io_kind != IK_INCLUDE)
			continue;
		if (list)
			leaf.flags |= CFGF_LIST;
		if (tab->io_kind == IK_INCLUDE)
			leaf.parsecb = include_parse;
		o[n++] = leaf;
	}
	for (size_t i = 0; i < nsecs; i++)
		o[n++] = secs[i];
	o[n++] = (cfg_opt_t)__CFG_PTR(CTX_OPT, 0, CFGF_NONE, &ip->ip_self, ctx_parse, 0);
	o[n++] = (cfg_opt_t)CFG_PTR_CB(LINE_OPT, "start", CFGF_NONE, mark_parse, free);
	o[n] = end;
	return o;
}

static void
free_built(cfg_opt_t *o)
{
	for (cfg_opt_t *p = o; p->name; p++)
		if (p->type == CFGT_SEC)
			free_built(p->subopts);
	free(o);
}

cfg_t *
inv_cfg_new(struct inv_parse *ip, bool main_file)
{
	cfg_opt_t vm_secs[4] = {
		CFG_SEC("boot", build(ip, inv_boot_opts, false, NULL, 0), CFGF_NONE),
		CFG_SEC("disk", build(ip, inv_disk_opts, false, NULL, 0), CFGF_MULTI),
		CFG_SEC("nic", build(ip, inv_nic_opts, false, NULL, 0), CFGF_MULTI),
		/* MULTI only to tell given from absent (inv_conv_vm allows one). */
		CFG_SEC("cloud_init", build(ip, inv_cloud_init_opts, false, NULL, 0), CFGF_MULTI),
	};
	cfg_opt_t vm = CFG_SEC("vm", build(ip, inv_vm_opts, false, vm_secs, 4),
	    CFGF_MULTI | CFGF_TITLE);
	cfg_opt_t *root;
	cfg_t *cfg;

	vm.validcb = vm_closed;
	root = build(ip, inv_global_opts, !main_file, &vm, 1);
	ip->ip_self = ip;
	/* cfg_init() copies the arrays. */
	cfg = cfg_init(root, CFGF_NONE);
	free_built(root);
	if (cfg)
		cfg_set_error_function(cfg, cfg_errfunc);
	return cfg;
}
