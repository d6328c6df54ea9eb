/*
 * Option text -> typed model, driven by the tables in inv_schema.c. Each
 * problem is reported with the option's own line; the field keeps its
 * default so that later checks do not cascade from one bad value.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <regex.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/safe_path.h"
#include "lib/util.h"
#include "config/inv_priv.h"
#include "config/uidmap.h"

/* A size in the largest unit that divides it: 16M, 64T, 0. */
static const char *
size_name(long long v, char buf[32])
{
	static const char units[] = "TGMK";
	int shift = 40;

	for (const char *u = units; *u; u++, shift -= 10) {
		if (v && v % (1LL << shift) == 0) {
			snprintf(buf, 32, "%lld%c", v >> shift, *u);
			return buf;
		}
	}
	snprintf(buf, 32, "%lld", v);
	return buf;
}

_Static_assert(sizeof(enum hw_accel) == sizeof(int) && sizeof(enum hw_net) == sizeof(int),
    "IK_ENUM stores enums as int");

#define FIELD(base, o, type)	((type *)((char *)(base) + (o)->io_off))

struct conv {
	struct inv_parse	*ip;
	const struct inv_opt	*o;
	const struct inv_val	*v;
	const char		*vm;	/* for messages */
};

static void
err(const struct conv *c, const char *cls, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
err(const struct conv *c, const char *cls, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	diag_add(c->ip->ip_diag, DIAG_ERROR, c->ip->ip_file, c->v->iv_line, c->vm,
	    cls, "%s: %s", c->o->io_name, msg ? msg : fmt);
	free(msg);
}

char *
inv_resolve(const struct inv_parse *ip, const char *path)
{
	if (path[0] == '/')
		return xstrdup(path);
	return xasprintf("%s/%s", ip->ip_dir, path);
}

static bool
parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on" }, *const no[] = { "no", "false", "off" };

	for (int i = 0; i < 3; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return *out = true, true;
		if (strcasecmp(s, no[i]) == 0)
			return *out = false, true;
	}
	return false;
}

/* A decimal number in min..max; reports the problem and returns false. */
static bool
parse_num(const struct conv *c, const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (!*s || *end || (!isdigit((unsigned char)*s) && *s != '-')) {
		err(c, DC_TYPE, "expected a number, got '%s'", s);
		return false;
	}
	if (errno == ERANGE || v < min || v > max) {
		err(c, DC_RANGE, "%s is out of range %lld..%lld", s, min, max);
		return false;
	}
	*out = v;
	return true;
}

static bool
is_word(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._+-", *s))
			return false;
	return true;
}

bool
inv_valid_vm_name(const char *s)
{
	if (!isalnum((unsigned char)*s) || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._-", *s))
			return false;
	return true;
}

static bool
in_words(const char *const *w, const char *s)
{
	for (; *w; w++)
		if (strcmp(*w, s) == 0)
			return true;
	return false;
}

static char *
join_names(const struct hw_name *n)
{
	char *s = NULL;

	for (; n->name; n++) {
		char *t = xasprintf("%s%s%s", s ? s : "", s ? ", " : "", n->name);
		free(s);
		s = t;
	}
	return s;
}

static bool
valid_port(const char *s, size_t n)
{
	long v = 0;

	if (n == 0 || n > 5)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

static bool
valid_ip4(const char *s, size_t n)
{
	char buf[INET_ADDRSTRLEN];
	struct in_addr a;

	if (n == 0)
		return true;
	if (n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(AF_INET, buf, &a) == 1;
}

/* [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport, QEMU's own syntax. */
bool
inv_valid_hostfwd(const char *s)
{
	const char *c1 = strchr(s, ':'), *dash, *c2, *c3;

	if (!c1 || !(c1 - s == 0 || (c1 - s == 3 && (strncmp(s, "tcp", 3) == 0 ||
	    strncmp(s, "udp", 3) == 0))))
		return false;
	dash = strchr(c1 + 1, '-');
	if (!dash)
		return false;
	c2 = memchr(c1 + 1, ':', (size_t)(dash - c1 - 1));
	c3 = strrchr(dash + 1, ':');
	return c2 && c3 && valid_ip4(c1 + 1, (size_t)(c2 - c1 - 1)) &&
	    valid_port(c2 + 1, (size_t)(dash - c2 - 1)) &&
	    valid_ip4(dash + 1, (size_t)(c3 - dash - 1)) &&
	    valid_port(c3 + 1, strlen(c3 + 1));
}

static void
set_str(char **field, char *s)
{
	free(*field);
	*field = s;
}

/*
 * ready = qmp | agent | "serial:REGEX" (POSIX extended, matched against each
 * line of the serial console) | "tcp:HOST:PORT" (a numeric address).
 */
static bool
conv_ready(const struct conv *c, void *base)
{
	const struct inv_opt *o = c->o;
	const char *s = c->v->iv_str;
	char **arg = (char **)((char *)base + o->io_noff);
	enum hw_ready r;
	char why[256], host[64];
	int port;

	if (strcmp(s, "qmp") == 0) {
		r = HW_READY_QMP;
	} else if (strcmp(s, "agent") == 0) {
		r = HW_READY_AGENT;
	} else if (strncmp(s, "serial:", 7) == 0) {
		regex_t re;
		int e = regcomp(&re, s + 7, REG_EXTENDED | REG_NOSUB);

		if (e) {
			regerror(e, &re, why, sizeof(why));
			err(c, DC_VALUE, "bad regular expression '%s': %s", s + 7, why);
			return false;
		}
		regfree(&re);
		if (!s[7]) {
			err(c, DC_VALUE, "ready = serial: needs a regular expression");
			return false;
		}
		r = HW_READY_SERIAL;
	} else if (strncmp(s, "tcp:", 4) == 0) {
		if (hw_ready_tcp_parse(s + 4, host, sizeof(host), &port, why, sizeof(why))) {
			err(c, DC_VALUE, "bad ready = tcp:%s", why);
			return false;
		}
		r = HW_READY_TCP;
	} else {
		err(c, DC_VALUE, "bad value '%s' (one of: qmp, agent, serial:REGEX, "
		    "tcp:HOST:PORT)", s);
		return false;
	}
	*FIELD(base, o, enum hw_ready) = r;
	set_str(arg, r == HW_READY_SERIAL ? xstrdup(s + 7) : r == HW_READY_TCP ?
	    xstrdup(s + 4) : NULL);
	return true;
}

/* One scalar value; false when it was rejected. */
static bool
conv_scalar(const struct conv *c, void *base)
{
	const struct inv_opt *o = c->o;
	const char *s = c->v->iv_str;
	long long n;
	uint64_t sz;
	bool b;

	switch (o->io_kind) {
	case IK_STR:
		set_str(FIELD(base, o, char *), xstrdup(s));
		return true;
	case IK_UIDS: {
		char why[128];
		uid_t lo, hi;

		if (uidmap_parse(s, &lo, &hi, why, sizeof(why))) {
			err(c, DC_VALUE, "bad value '%s': want LOW-HIGH, 0 < LOW < HIGH", s);
			return false;
		}
		*FIELD(base, o, uid_t) = lo;
		*(uid_t *)((char *)base + o->io_noff) = hi;
		c->ip->ip_uid_file = c->ip->ip_file;
		c->ip->ip_uid_line = c->v->iv_line;
		return true;
	}
	case IK_WORD:
		if (!is_word(s) || (o->io_words && !in_words(o->io_words, s))) {
			err(c, DC_VALUE, "bad value '%s'", s);
			return false;
		}
		set_str(FIELD(base, o, char *), xstrdup(s));
		return true;
	case IK_PATH:
		if (!*s) {
			err(c, DC_VALUE, "empty path");
			return false;
		}
		set_str(FIELD(base, o, char *), inv_resolve(c->ip, s));
		return true;
	case IK_PROGRAM: {
		char why[PATH_MAX + 256], real[PATH_MAX];
		char *full = inv_resolve(c->ip, s);

		if (!*s || sp_trusted_program(full, real, why, sizeof(why)) < 0) {
			err(c, DC_VALUE, "%s", *s ? why : "empty path");
			free(full);
			return false;
		}
		set_str(FIELD(base, o, char *), full);
		return true;
	}
	case IK_ADDR: {
		unsigned char a[16];

		if (inet_pton(AF_INET, s, a) != 1 && inet_pton(AF_INET6, s, a) != 1) {
			err(c, DC_VALUE, "'%s' is not a numeric IP address", s);
			return false;
		}
		set_str(FIELD(base, o, char *), xstrdup(s));
		return true;
	}
	case IK_TYPE:
		if (strncmp(s, "system-", 7) != 0 || !s[7] ||
		    strspn(s + 7, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(s + 7)) {
			err(c, DC_VALUE, "bad value '%s' (expected system-ARCH, e.g. system-x86_64)", s);
			return false;
		}
		set_str(FIELD(base, o, char *), xstrdup(s));
		return true;
	case IK_DRIVES:
		for (const char *p = s; *p; p++)
			if (*p < 'a' || *p > 'p' || strchr(p + 1, *p)) {
				err(c, DC_VALUE, "bad drive list '%s' (letters a-p, each once)", s);
				return false;
			}
		if (!*s) {
			err(c, DC_VALUE, "empty drive list");
			return false;
		}
		set_str(FIELD(base, o, char *), xstrdup(s));
		return true;
	case IK_BOOL:
		if (!parse_bool(s, &b)) {
			err(c, DC_TYPE, "expected yes or no, got '%s'", s);
			return false;
		}
		*FIELD(base, o, bool) = b;
		return true;
	case IK_UINT:
		if (!parse_num(c, s, o->io_min, o->io_max, &n))
			return false;
		*FIELD(base, o, unsigned) = (unsigned)n;
		return true;
	case IK_PERCENT: {
		size_t l = strlen(s);
		char num[24];

		if (l < 2 || l >= sizeof(num) || s[l - 1] != '%') {
			err(c, DC_TYPE, "expected a percentage such as 50%% or 200%%, got '%s'", s);
			return false;
		}
		memcpy(num, s, l - 1);
		num[l - 1] = 0;
		if (!parse_num(c, num, o->io_min, o->io_max, &n))
			return false;
		*FIELD(base, o, unsigned) = (unsigned)n;
		return true;
	}
	case IK_INDEX:
		if (!parse_num(c, s, o->io_min, o->io_max, &n))
			return false;
		*FIELD(base, o, int) = (int)n;
		return true;
	case IK_PORT:
	case IK_VNC:
		if (strcmp(s, "none") == 0) {
			*FIELD(base, o, int) = -1;
			return true;
		}
		if (!parse_num(c, s, o->io_kind == IK_PORT ? 1 : 0,
		    o->io_kind == IK_PORT ? 65535 : 99, &n))
			return false;
		*FIELD(base, o, int) = (int)n;
		return true;
	case IK_SIZE:
	case IK_MIB: {
		const char *unit = "";

		if (parse_size(s, &sz) < 0) {
			if (isdigit((unsigned char)*s))
				err(c, DC_VALUE, "bad size '%s' (a number with K, M, G or T)", s);
			else
				err(c, DC_TYPE, "expected a size such as 512M or 2G, got '%s'", s);
			return false;
		}
		/* memory = 512 is 512 MiB, as QEMU's -m 512 and every rc-script read it. */
		if (o->io_kind == IK_MIB && s[strspn(s, "0123456789")] == 0) {
			unit = " (MiB: a number without a unit is megabytes)";
			sz = sz > (UINT64_MAX >> 20) ? UINT64_MAX : sz << 20;
		}
		if (sz < (uint64_t)o->io_min || sz > (uint64_t)o->io_max) {
			char lo[32], hi[32];

			err(c, DC_RANGE, "%s%s is out of range %s..%s", s, unit,
			    size_name(o->io_min, lo), size_name(o->io_max, hi));
			return false;
		}
		*FIELD(base, o, uint64_t) = sz;
		return true;
	}
	case IK_ENUM: {
		int v = hw_lookup(o->io_names, s);

		if (v < 0) {
			char *all = join_names(o->io_names);
			err(c, DC_VALUE, "bad value '%s' (one of: %s)", s, all);
			free(all);
			return false;
		}
		*FIELD(base, o, int) = v;
		return true;
	}
	case IK_MAC:
		if (hw_parse_mac(s, FIELD(base, o, uint8_t)) < 0) {
			err(c, DC_VALUE, "bad MAC address '%s' (xx:xx:xx:xx:xx:xx, unicast)", s);
			return false;
		}
		*(bool *)((char *)base + o->io_noff) = true;
		return true;
	case IK_ARGS: {
		struct strv sv = { 0 };
		char e[256];

		if (shell_split(s, &sv, e, sizeof(e)) < 0) {
			strv_free(&sv);
			err(c, DC_VALUE, "%s", e);
			return false;
		}
		for (size_t i = 0; i < *(size_t *)((char *)base + o->io_noff); i++)
			free((*FIELD(base, o, char **))[i]);
		free(*FIELD(base, o, char **));
		*FIELD(base, o, char **) = sv.sv_v;
		*(size_t *)((char *)base + o->io_noff) = sv.sv_n;
		return true;
	}
	case IK_READY:
		return conv_ready(c, base);
	case IK_NAMES:
	case IK_HOSTFWD:
	case IK_INCLUDE:
	case IK_HALT:
		break;
	}
	return false;
}

/* halt = acpi, or a ladder: halt = { agent, acpi }. Each step once. */
static void
conv_halt(struct conv *c, cfg_t *sec, void *base)
{
	const struct inv_opt *o = c->o;
	cfg_opt_t *opt = cfg_getopt(sec, o->io_name);
	unsigned n = cfg_opt_size(opt), *count = (unsigned *)((char *)base + o->io_noff);
	enum hw_halt *steps = FIELD(base, o, enum hw_halt), got[HW_HALT_MAX];
	unsigned k = 0;

	for (unsigned i = 0; i < n; i++) {
		int v;

		c->v = cfg_opt_getnptr(opt, i);
		v = hw_lookup(o->io_names, c->v->iv_str);
		if (v < 0) {
			char *all = join_names(o->io_names);
			err(c, DC_VALUE, "bad halt step '%s' (one of: %s)", c->v->iv_str, all);
			free(all);
			return;
		}
		for (unsigned j = 0; j < k; j++)
			if (got[j] == (enum hw_halt)v) {
				err(c, DC_VALUE, "halt step '%s' given twice", c->v->iv_str);
				return;
			}
		if (k == HW_HALT_MAX) {
			err(c, DC_VALUE, "more than %d halt steps", HW_HALT_MAX);
			return;
		}
		got[k++] = (enum hw_halt)v;
	}
	if (!k) {
		err(c, DC_VALUE, "empty halt list");
		return;
	}
	memset(steps, 0, sizeof(got));
	memcpy(steps, got, k * sizeof(got[0]));
	*count = k;
}

static void
conv_list(struct conv *c, cfg_t *sec, void *base, struct hw_vm *vm, const char *key)
{
	const struct inv_opt *o = c->o;
	cfg_opt_t *opt = cfg_getopt(sec, o->io_name);
	unsigned n = cfg_opt_size(opt);
	char ***list = FIELD(base, o, char **);
	size_t *count = (size_t *)((char *)base + o->io_noff);

	*list = xcalloc(n + 1, sizeof(char *));
	for (unsigned i = 0; i < n; i++) {
		char k[96];

		c->v = cfg_opt_getnptr(opt, i);
		if (o->io_kind == IK_NAMES && !inv_valid_vm_name(c->v->iv_str)) {
			err(c, DC_VALUE, "bad VM name '%s'", c->v->iv_str);
			continue;
		}
		if (o->io_kind == IK_HOSTFWD && !inv_valid_hostfwd(c->v->iv_str)) {
			err(c, DC_VALUE, "bad hostfwd '%s' "
			    "(expected [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport)",
			    c->v->iv_str);
			continue;
		}
		snprintf(k, sizeof(k), "%s%s.%zu", key, o->io_name, *count);
		hw_vm_set_optloc(vm, k, (struct hw_loc){ c->ip->ip_file, c->v->iv_line });
		(*list)[(*count)++] = xstrdup(c->v->iv_str);
	}
}

void
inv_conv_options(struct inv_parse *ip, cfg_t *sec, const struct inv_opt *tab,
    void *base, struct hw_vm *vm, const char *key)
{
	for (const struct inv_opt *o = tab; o->io_name; o++) {
		struct conv c = { ip, o, NULL, vm ? vm->vm_name : NULL };
		char k[96];

		if (o->io_kind == IK_INCLUDE || !(c.v = inv_cfg_val(sec, o->io_name, 0)))
			continue;
		snprintf(k, sizeof(k), "%s%s", key, o->io_name);
		if (vm)
			hw_vm_set_optloc(vm, k, (struct hw_loc){ ip->ip_file, c.v->iv_line });
		if (o->io_kind == IK_HALT)
			conv_halt(&c, sec, base);
		else if (o->io_kind == IK_NAMES || o->io_kind == IK_HOSTFWD)
			conv_list(&c, sec, base, vm, key);
		else
			conv_scalar(&c, base);
	}
}

static struct hw_loc
section_loc(struct inv_parse *ip, cfg_t *sec)
{
	struct inv_val *mark = inv_cfg_val(sec, " line", 0);

	return (struct hw_loc){ ip->ip_file, mark ? mark->iv_line : sec->line };
}

static void
conv_disks(struct inv_parse *ip, cfg_t *sec, struct hw_vm *vm)
{
	unsigned n = cfg_size(sec, "disk");

	vm->vm_disks = xcalloc(n, sizeof(*vm->vm_disks));
	for (unsigned i = 0; i < n; i++) {
		cfg_t *s = cfg_getnsec(sec, "disk", i);
		struct hw_disk *d = &vm->vm_disks[vm->vm_n_disks++];
		char key[32];

		d->dk_loc = section_loc(ip, s);
		d->dk_format = HW_FMT_AUTO;
		d->dk_if = HW_IF_VIRTIO;
		d->dk_cache = HW_CACHE_WRITEBACK;
		d->dk_index = HW_INDEX_AUTO;
		d->dk_media = HW_MEDIA_DISK;
		snprintf(key, sizeof(key), "disk%u", i);
		hw_vm_set_optloc(vm, key, d->dk_loc);
		snprintf(key, sizeof(key), "disk%u.", i);
		inv_conv_options(ip, s, inv_disk_opts, d, vm, key);
	}
}

static void
conv_nics(struct inv_parse *ip, cfg_t *sec, struct hw_vm *vm)
{
	unsigned n = cfg_size(sec, "nic");

	vm->vm_nics = xcalloc(n, sizeof(*vm->vm_nics));
	for (unsigned i = 0; i < n; i++) {
		cfg_t *s = cfg_getnsec(sec, "nic", i);
		struct hw_nic *nic = &vm->vm_nics[vm->vm_n_nics++];
		char key[32];

		nic->nic_loc = section_loc(ip, s);
		nic->nic_model = xstrdup("virtio-net-pci");
		nic->nic_net = HW_NET_USER;
		snprintf(key, sizeof(key), "nic%u", i);
		hw_vm_set_optloc(vm, key, nic->nic_loc);
		snprintf(key, sizeof(key), "nic%u.", i);
		inv_conv_options(ip, s, inv_nic_opts, nic, vm, key);
		/* Stable MACs keep DHCP leases across restarts. */
		if (!nic->nic_mac_set)
			hw_derive_mac(vm->vm_name, i, nic->nic_mac);
	}
}

void
inv_conv_vm(struct inv_parse *ip, cfg_t *sec)
{
	struct inventory *inv = ip->ip_inv;
	struct hw_vm *vm;
	cfg_t *boot;

	xgrow(&inv->inv_vms, &ip->ip_vms_cap, inv->inv_n_vms + 1, sizeof(*vm));
	vm = &inv->inv_vms[inv->inv_n_vms++];
	memset(vm, 0, sizeof(*vm));
	vm->vm_loc = section_loc(ip, sec);
	vm->vm_name = xstrdup(cfg_title(sec));
	if (!inv_valid_vm_name(vm->vm_name))
		diag_add(ip->ip_diag, DIAG_ERROR, ip->ip_file, vm->vm_loc.line,
		    vm->vm_name, DC_VALUE, "bad VM name (letters, digits, '.', '_', "
		    "'-', starting with a letter or digit, at most 64)");
	vm->vm_type = xstrdup("system-x86_64");
	vm->vm_policy.po_enable = true;
	vm->vm_policy.po_autostart = true;
	vm->vm_memory = 512 * 1024 * 1024;
	vm->vm_accel = INV_ACCEL_INHERIT;
	vm->vm_firmware = INV_FIRMWARE_INHERIT;
	vm->vm_serial = HW_PORT_NONE;
	vm->vm_monitor = HW_PORT_NONE;
	vm->vm_vnc = HW_VNC_NONE;
	vm->vm_policy.po_halt[0] = HW_HALT_ACPI;
	vm->vm_policy.po_n_halt = 1;
	vm->vm_policy.po_acpi_repeat = 3;
	vm->vm_policy.po_ready_timeout = 300;
	vm->vm_policy.po_save_timeout = INV_INHERIT;
	vm->vm_policy.po_on_host_shutdown = (enum hw_host_shutdown)INV_SHUTDOWN_INHERIT;
	vm->vm_policy.po_halt_timeout = INV_INHERIT;
	vm->vm_policy.po_term_timeout = INV_INHERIT;
	vm->vm_policy.po_start_delay = INV_INHERIT;
	vm->vm_policy.po_restart = HW_RESTART_NO;
	vm->vm_policy.po_restart_delay = INV_INHERIT;
	vm->vm_policy.po_restart_max_delay = INV_INHERIT;
	vm->vm_policy.po_restart_burst = INV_INHERIT;
	vm->vm_policy.po_restart_interval = INV_INHERIT;
	vm->vm_policy.po_on_panic = HW_PANIC_RESTART;
	inv_conv_options(ip, sec, inv_vm_opts, vm, vm, "");
	boot = cfg_getsec(sec, "boot");
	if (boot)
		inv_conv_options(ip, boot, inv_boot_opts, &vm->vm_boot, vm, "boot.");
	conv_disks(ip, sec, vm);
	conv_nics(ip, sec, vm);
	if (cfg_size(sec, "cloud_init") > 1)
		diag_add(ip->ip_diag, DIAG_ERROR, ip->ip_file, vm->vm_loc.line, vm->vm_name,
		    DC_VALUE, "more than one cloud_init section");
	if ((boot = cfg_size(sec, "cloud_init") ? cfg_getnsec(sec, "cloud_init", 0) : NULL)) {
		vm->vm_cloud_init.ci_on = true;
		hw_vm_set_optloc(vm, "cloud_init", section_loc(ip, boot));
		inv_conv_options(ip, boot, inv_cloud_init_opts, &vm->vm_cloud_init, vm,
		    "cloud_init.");
	}
	hw_derive_uuid(vm->vm_name, vm->vm_uuid);
}
