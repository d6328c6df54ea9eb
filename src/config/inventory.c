/*
 * inv_load(): read the main file and its includes, convert, check.
 * See inv_priv.h for how the pieces fit.
 */
#include <errno.h>
#include <glob.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util.h"
#include "qemu/qemu_argv.h"
#include "hw/validate.h"
#include "config/inv_priv.h"
#include "config/uidmap.h"

#define INV_MAX_DEPTH	8	/* include nesting */
#define INV_MAX_RETRY	100	/* unknown options skipped per file */

static const char *
add_file(struct inv_parse *ip, const char *path)
{
	struct inventory *inv = ip->ip_inv;

	xgrow(&inv->inv_files, &ip->ip_files_cap, inv->inv_n_files + 1, sizeof(char *));
	inv->inv_files[inv->inv_n_files] = xstrdup(path);
	return inv->inv_files[inv->inv_n_files++];
}

static void
diag_truncate(struct diag *d, size_t n)
{
	while (d->dg_n > n) {
		struct diag_item *it = &d->dg_items[--d->dg_n];

		if (it->di_sev == DIAG_ERROR)
			d->dg_errors--;
		free(it->di_file);
		free(it->di_vm);
		free(it->di_msg);
	}
}

static void
diag_move(struct diag *to, struct diag *from)
{
	for (size_t i = 0; i < from->dg_n; i++) {
		struct diag_item *it = &from->dg_items[i];

		diag_add(to, it->di_sev, it->di_file, it->di_line, it->di_vm,
		    it->di_class, "%s", it->di_msg);
	}
	diag_free(from);
}

static void
drop_vms(struct inventory *inv, size_t keep)
{
	while (inv->inv_n_vms > keep)
		hw_vm_free(&inv->inv_vms[--inv->inv_n_vms]);
}

static void
drop_includes(struct inv_parse *ip, size_t keep)
{
	while (ip->ip_n_incs > keep)
		free(ip->ip_incs[--ip->ip_n_incs].inc_pattern);
}

/* The VM whose section opens on line of the current file, if any. */
static const char *
vm_at(const struct inv_parse *ip, int line)
{
	for (size_t i = 0; i < ip->ip_inv->inv_n_vms; i++) {
		const struct hw_vm *vm = &ip->ip_inv->inv_vms[i];

		if (vm->vm_loc.file == ip->ip_file && vm->vm_loc.line == line)
			return vm->vm_name;
	}
	return NULL;
}

/*
 * Parse buf; on an unknown option, blank it and parse again so that every
 * error of the file is reported at once. Returns the parsed tree.
 */
static cfg_t *
parse_text(struct inv_parse *ip, char *buf, size_t len, const char *path)
{
	size_t dmark = ip->ip_diag->dg_n, vmark = ip->ip_inv->inv_n_vms;
	size_t imark = ip->ip_n_incs;

	for (int attempt = 0;; attempt++) {
		cfg_t *cfg = inv_cfg_new(ip, ip->ip_main);
		FILE *fp = fmemopen(buf, len, "r");
		int rc;

		if (!cfg || !fp) {
			diag_add(ip->ip_diag, DIAG_ERROR, path, 0, NULL, DC_SYNTAX,
			    "cannot set up the parser: %s", strerror(errno));
			if (fp)
				fclose(fp);
			if (cfg)
				cfg_free(cfg);
			ip->ip_broken = true;
			return NULL;
		}
		cfg->filename = xstrdup(path);
		ip->ip_err_unknown = false;
		rc = cfg_parse_fp(cfg, fp);
		fclose(fp);
		free(ip->ip_cur_vm);
		ip->ip_cur_vm = NULL;
		if (rc == CFG_SUCCESS && (rc = inv_text_unclosed(buf)) != 0) {
			diag_add(ip->ip_diag, DIAG_ERROR, path, rc, vm_at(ip, rc),
			    DC_SYNTAX, "section opened here is never closed");
			ip->ip_broken = true;
			return cfg;
		}
		if (rc == CFG_SUCCESS)
			return cfg;
		if (ip->ip_err_unknown && attempt < INV_MAX_RETRY &&
		    inv_text_blank_option(buf, ip->ip_err_line, ip->ip_err_name)) {
			cfg_free(cfg);
			diag_truncate(ip->ip_diag, dmark);
			drop_vms(ip->ip_inv, vmark);
			drop_includes(ip, imark);
			continue;
		}
		ip->ip_broken = true;
		return cfg;
	}
}

static void load_file(struct inv_parse *ip, const char *path, const char *from,
    int from_line);

static bool
has_glob_chars(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

static void
load_includes(struct inv_parse *ip, const char *file, struct inv_include *incs,
    size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *pat = inv_resolve(ip, incs[i].inc_pattern);
		glob_t g;
		int rc;

		memset(&g, 0, sizeof(g));
		/* A directory that does not exist simply matches nothing. */
		rc = glob(pat, 0, NULL, &g);
		if (rc == GLOB_NOMATCH && !has_glob_chars(pat))
			diag_add(ip->ip_diag, DIAG_ERROR, file, incs[i].inc_line, NULL,
			    DC_INCLUDE, "include %s: %s", pat, strerror(ENOENT));
		else if (rc != 0 && rc != GLOB_NOMATCH)
			diag_add(ip->ip_diag, DIAG_ERROR, file, incs[i].inc_line, NULL,
			    DC_INCLUDE, "include %s: cannot read the directory", pat);
		for (size_t j = 0; rc == 0 && j < g.gl_pathc; j++)
			load_file(ip, g.gl_pathv[j], file, incs[i].inc_line);
		globfree(&g);
		free(pat);
	}
}

/* Is real one of the files being read (an include loop)? */
static bool
on_stack(const struct inv_parse *ip, const char *real)
{
	for (size_t i = 0; i < ip->ip_depth; i++)
		if (strcmp(ip->ip_stack[i], real) == 0)
			return true;
	return false;
}

static void
load_file(struct inv_parse *ip, const char *path, const char *from, int from_line)
{
	char real[PATH_MAX], *buf, *dircopy, *saved_dir = ip->ip_dir;
	const char *saved_file = ip->ip_file, *file;
	bool saved_main = ip->ip_main;
	struct inv_include *incs;
	struct stat st;
	size_t len, n_incs, imark = ip->ip_n_incs;
	int err = 0;
	cfg_t *cfg;

	if (!realpath(path, real) || !(buf = inv_text_read(path, &len, &err, &st))) {
		if (!err)
			err = errno;
		diag_add(ip->ip_diag, DIAG_ERROR, from ? from : path, from_line, NULL,
		    from ? DC_INCLUDE : DC_NOFILE, "%s%s: %s", from ? "include " : "",
		    from ? path : "cannot read", err == EILSEQ ? "not a text file" : strerror(err));
		ip->ip_broken = true;
		if (!from)
			ip->ip_main_errno = err;
		return;
	}
	/*
	 * Read by root, the configuration says what root runs (scripts,
	 * emulator_dir, extra_args): only root may be able to change it
	 * (issue 12). Group root writing it is root's business (a checkout
	 * made with umask 002 is 0664 root:root).
	 */
	if (geteuid() == 0 && (st.st_uid != 0 || (st.st_mode & 002) ||
	    ((st.st_mode & 020) && st.st_gid != 0))) {
		diag_add(ip->ip_diag, DIAG_ERROR, from ? from : path, from_line, NULL,
		    from ? DC_INCLUDE : DC_NOFILE, "%s%s: owner %u:%u, mode %04o: a file root "
		    "reads its configuration from must be root's, writable by no other "
		    "group and not by others", from ? "include " : "", path,
		    (unsigned)st.st_uid, (unsigned)st.st_gid, (unsigned)st.st_mode & 07777);
		ip->ip_broken = true;
		if (!from)
			ip->ip_main_errno = EPERM;
		free(buf);
		return;
	}
	if (ip->ip_depth >= INV_MAX_DEPTH || on_stack(ip, real)) {
		diag_add(ip->ip_diag, DIAG_ERROR, from, from_line, NULL, DC_INCLUDE,
		    "include %s: %s", path, ip->ip_depth >= INV_MAX_DEPTH ?
		    "nested too deeply" : "includes itself");
		free(buf);
		return;
	}
	file = add_file(ip, path);
	ip->ip_stack = xrealloc(ip->ip_stack, (ip->ip_depth + 1) * sizeof(char *));
	ip->ip_stack[ip->ip_depth++] = xstrdup(real);
	dircopy = xstrdup(real);
	ip->ip_dir = xstrdup(dirname(dircopy));
	free(dircopy);
	ip->ip_file = file;
	ip->ip_main = from == NULL;

	cfg = parse_text(ip, buf, len, file);
	if (cfg && ip->ip_main)
		inv_conv_options(ip, cfg, inv_global_opts, ip->ip_inv, NULL, "");
	if (cfg)
		cfg_free(cfg);
	free(buf);
	diag_move(ip->ip_diag, &ip->ip_cferr);

	/* This file's includes, taken off the shared list before recursing. */
	n_incs = ip->ip_n_incs - imark;
	incs = xcalloc(n_incs, sizeof(*incs));
	if (n_incs)
		memcpy(incs, ip->ip_incs + imark, n_incs * sizeof(*incs));
	ip->ip_n_incs = imark;
	load_includes(ip, file, incs, n_incs);
	for (size_t i = 0; i < n_incs; i++)
		free(incs[i].inc_pattern);
	free(incs);

	free(ip->ip_stack[--ip->ip_depth]);
	free(ip->ip_dir);
	ip->ip_dir = saved_dir;
	ip->ip_file = saved_file;
	ip->ip_main = saved_main;
}

static void
set_defaults(struct inventory *inv)
{
	inv->inv_run_dir = xstrdup(INV_DEFAULT_RUN_DIR);
	inv->inv_state_dir = xstrdup("/var/lib/vmservice");
	inv->inv_log_dir = xstrdup("/var/log/vmservice");
	inv->inv_emulator_dir = xstrdup("/usr/bin");
	inv->inv_listen = xstrdup("127.0.0.1");
	inv->inv_halt_timeout = 30;
	inv->inv_term_timeout = 10;
	inv->inv_save_timeout = 300;
	inv->inv_notify_timeout = 30;
	inv->inv_metrics_interval = 15;
	inv->inv_on_host_shutdown = HW_SHUTDOWN_POWEROFF;
	inv->inv_start_parallel = 0;
	inv->inv_start_delay = 0;
	inv->inv_restart_delay = 1;
	inv->inv_restart_max_delay = 60;
	inv->inv_restart_burst = 5;
	inv->inv_restart_interval = 60;
	inv->inv_console_scrollback = 64 * 1024;
	inv->inv_console_log_size = 1024 * 1024;
	inv->inv_console_log_keep = 5;
	inv->inv_console_idle_timeout = 3600;
	inv->inv_monitor_listen = NULL;
	inv->inv_accel = HW_ACCEL_AUTO;
	inv->inv_firmware = HW_FW_BIOS;
	uidmap_parse(UIDMAP_DEFAULT_RANGE, &inv->inv_uid_lo, &inv->inv_uid_hi, NULL, 0);
}

/* A VM's own limit wins; those it does not set are the global ones. */
static void
inherit_limits(struct hw_limits *l, const struct hw_limits *g)
{
	if (!l->lim_cpu_weight)
		l->lim_cpu_weight = g->lim_cpu_weight;
	if (!l->lim_cpu_quota)
		l->lim_cpu_quota = g->lim_cpu_quota;
	if (!l->lim_memory_max)
		l->lim_memory_max = g->lim_memory_max;
	if (!l->lim_io_weight)
		l->lim_io_weight = g->lim_io_weight;
}

static void
inherit(struct inventory *inv)
{
	for (size_t i = 0; i < inv->inv_n_vms; i++) {
		struct hw_vm *vm = &inv->inv_vms[i];

		inherit_limits(&vm->vm_policy.po_limits, &inv->inv_limits);
		if (vm->vm_policy.po_halt_timeout == INV_INHERIT)
			vm->vm_policy.po_halt_timeout = inv->inv_halt_timeout;
		if (vm->vm_policy.po_save_timeout == INV_INHERIT)
			vm->vm_policy.po_save_timeout = inv->inv_save_timeout;
		if ((int)vm->vm_policy.po_on_host_shutdown == INV_SHUTDOWN_INHERIT)
			vm->vm_policy.po_on_host_shutdown = inv->inv_on_host_shutdown;
		if (vm->vm_policy.po_term_timeout == INV_INHERIT)
			vm->vm_policy.po_term_timeout = inv->inv_term_timeout;
		if (vm->vm_policy.po_start_delay == INV_INHERIT)
			vm->vm_policy.po_start_delay = inv->inv_start_delay;
		if (vm->vm_policy.po_restart_delay == INV_INHERIT)
			vm->vm_policy.po_restart_delay = inv->inv_restart_delay;
		if (vm->vm_policy.po_restart_max_delay == INV_INHERIT)
			vm->vm_policy.po_restart_max_delay = inv->inv_restart_max_delay;
		if (vm->vm_policy.po_restart_burst == INV_INHERIT)
			vm->vm_policy.po_restart_burst = inv->inv_restart_burst;
		if (vm->vm_policy.po_restart_interval == INV_INHERIT)
			vm->vm_policy.po_restart_interval = inv->inv_restart_interval;
		if (vm->vm_accel == INV_ACCEL_INHERIT)
			vm->vm_accel = (enum hw_accel)inv->inv_accel;
		if (vm->vm_firmware == INV_FIRMWARE_INHERIT)
			vm->vm_firmware = (enum hw_firmware)inv->inv_firmware;
		if (!vm->vm_runas && inv->inv_runas)
			vm->vm_runas = xstrdup(inv->inv_runas);
		if (!vm->vm_policy.po_console_password_file && inv->inv_console_password_file)
			vm->vm_policy.po_console_password_file = xstrdup(inv->inv_console_password_file);
	}
}

static bool
vm_has_errors(const struct diag *d, size_t from, const char *name)
{
	for (size_t i = from; i < d->dg_n; i++)
		if (d->dg_items[i].di_sev == DIAG_ERROR && d->dg_items[i].di_vm &&
		    strcmp(d->dg_items[i].di_vm, name) == 0)
			return true;
	return false;
}

/*
 * The QEMU driver refuses some combinations the options allow (an IDE disk
 * that is read-only, a cdrom on virtio): build each clean VM's command line
 * now, so that a configuration that passes is one that can be started.
 * KVM is assumed usable: the answer must not depend on the checking host.
 */
static void
check_argv(const struct inventory *inv, struct diag *d, size_t from)
{
	struct qemu_env env = {
		.qe_emulator_dir = inv->inv_emulator_dir,
		.qe_run_dir = inv->inv_run_dir,
		.qe_state_dir = inv->inv_state_dir,
		.qe_log_dir = inv->inv_log_dir,
		.qe_listen = inv->inv_listen,
		.qe_kvm_usable = true,
	};

	for (size_t i = 0; i < inv->inv_n_vms; i++) {
		const struct hw_vm *vm = &inv->inv_vms[i];
		struct strv out = { 0 };
		char err[512] = "";

		if (vm_has_errors(d, from, vm->vm_name))
			continue;
		if (qemu_argv(vm, &env, &out, err, sizeof(err)) < 0)
			diag_add(d, DIAG_ERROR, vm->vm_loc.file, vm->vm_loc.line,
			    vm->vm_name, DC_CONFLICT, "cannot be expressed for QEMU: %s", err);
		strv_free(&out);
	}
}

static size_t
file_rank(const struct inventory *inv, const char *file)
{
	for (size_t i = 0; file && i < inv->inv_n_files; i++)
		if (strcmp(inv->inv_files[i], file) == 0)
			return i;
	return inv->inv_n_files;
}

/* Messages in file order, then line order; stable otherwise. */
static void
sort_diag(const struct inventory *inv, struct diag *d, size_t from)
{
	for (size_t i = from + 1; i < d->dg_n; i++) {
		struct diag_item it = d->dg_items[i];
		size_t r = file_rank(inv, it.di_file), j = i;

		while (j > from) {
			struct diag_item *p = &d->dg_items[j - 1];
			size_t pr = file_rank(inv, p->di_file);

			if (pr < r || (pr == r && p->di_line <= it.di_line))
				break;
			d->dg_items[j] = *p;
			j--;
		}
		d->dg_items[j] = it;
	}
}

int
inv_load(const char *path, struct inventory *inv, struct diag *d)
{
	struct inv_opts o = { 0 };

	return inv_load_opts(path, inv, d, &o);
}

int
inv_load_opts(const char *path, struct inventory *inv, struct diag *d, struct inv_opts *o)
{
	struct inv_parse ip;
	size_t first = d->dg_n, errors = d->dg_errors;
	int rc = 0;

	memset(inv, 0, sizeof(*inv));
	memset(&ip, 0, sizeof(ip));
	o->io_pending = false;
	ip.ip_opts = o;
	ip.ip_inv = inv;
	ip.ip_diag = d;
	inv->inv_path = xstrdup(path);
	set_defaults(inv);

	load_file(&ip, path, NULL, 0);
	if (ip.ip_main_errno)
		rc = -ip.ip_main_errno;
	inherit(inv);
	for (size_t i = 0; i < inv->inv_n_vms; i++) {
		struct hw_vm *vm = &inv->inv_vms[i];
		struct qemu_env env = { .qe_emulator_dir = inv->inv_emulator_dir };
		char *emu = ip.ip_broken ? NULL : qemu_emulator_path(vm, &env);

		hw_validate_vm(vm, emu, d);
		free(emu);
	}
	/* A file that stopped half-way gives a partial list: no cross checks. */
	if (!ip.ip_broken)
		inv_check(&ip);
	if (!ip.ip_broken)
		check_argv(inv, d, first);
	sort_diag(inv, d, first);

	free(ip.ip_err_name);
	free(ip.ip_cur_vm);
	free(ip.ip_incs);
	free(ip.ip_stack);
	if (rc == 0 && d->dg_errors > errors)
		rc = -EINVAL;
	if (rc < 0)
		inv_free(inv);
	return rc;
}

void
inv_free(struct inventory *inv)
{
	for (size_t i = 0; i < inv->inv_n_vms; i++)
		hw_vm_free(&inv->inv_vms[i]);
	free(inv->inv_vms);
	for (size_t i = 0; i < inv->inv_n_files; i++)
		free(inv->inv_files[i]);
	free(inv->inv_files);
	free(inv->inv_path);
	free(inv->inv_run_dir);
	free(inv->inv_state_dir);
	free(inv->inv_log_dir);
	free(inv->inv_emulator_dir);
	free(inv->inv_listen);
	free(inv->inv_monitor_listen);
	free(inv->inv_runas);
	free(inv->inv_console_password_file);
	free(inv->inv_notify_command);
	free(inv->inv_metrics_file);
	memset(inv, 0, sizeof(*inv));
}

struct hw_vm *
inv_find_vm(const struct inventory *inv, const char *name)
{
	for (size_t i = 0; i < inv->inv_n_vms; i++)
		if (strcmp(inv->inv_vms[i].vm_name, name) == 0)
			return &inv->inv_vms[i];
	return NULL;
}

char *
inv_vnc_password_path(const char *state_dir, const char *vm)
{
	return xasprintf("%s/%s.vncpass", state_dir, vm);
}
