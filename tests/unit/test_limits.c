/*
 * Resource limits (issue 17): the options as the inventory reads them
 * (per VM, global, inherited, refused with their lines), the names systemd
 * knows a VM by, the values sent on the bus, and check-config's
 * not-limited warnings for each kind of host.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/inv_limits.h"
#include "config/inventory.h"
#include "hw/machname.h"
#include "lib/util.h"
#include "vmd/machined.h"
#include "tap.h"

static char *
write_conf(const char *text)
{
	char *path = xstrdup("/tmp/vms-limits-XXXXXX");
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
	return path;
}

/* The messages of loading text, one per line. */
static char *
load(const char *text, struct inventory *inv, int *rc)
{
	char *path = write_conf(text), *all = xstrdup("");
	struct diag d = { 0 };

	*rc = inv_load(path, inv, &d);
	for (size_t i = 0; i < d.dg_n; i++) {
		char *t = xasprintf("%s# %d: %s\n", all, d.dg_items[i].di_line, d.dg_items[i].di_msg);
		free(all);
		all = t;
	}
	diag_free(&d);
	unlink(path);
	free(path);
	return all;
}

static void
test_options(void)
{
	struct inventory inv;
	struct hw_vm *a, *b;
	char *msgs;
	int rc;

	msgs = load("cpu_weight = 300\nmemory_max = 2G\n"
	    "vm a {\n memory = 256\n cpu_weight = 50\n cpu_quota = \"150%\"\n io_weight = 10000\n}\n"
	    "vm b {\n memory = 256\n}\n", &inv, &rc);
	OK(rc == 0, "limits load (rc %d: %s)", rc, msgs);
	a = inv_find_vm(&inv, "a");
	b = inv_find_vm(&inv, "b");
	if (a && b) {
		const struct hw_limits *la = &a->vm_policy.po_limits, *lb = &b->vm_policy.po_limits;

		OK(la->lim_cpu_weight == 50 && la->lim_cpu_quota == 150 &&
		    la->lim_io_weight == 10000, "a: its own cpu_weight, cpu_quota, io_weight");
		OK(la->lim_memory_max == 2ULL << 30, "a: memory_max inherited (%llu)",
		    (unsigned long long)la->lim_memory_max);
		OK(lb->lim_cpu_weight == 300 && lb->lim_memory_max == 2ULL << 30 &&
		    !lb->lim_cpu_quota && !lb->lim_io_weight, "b: the globals, the rest unset");
		OK(hw_limits_set(lb) && hw_limits_differ(la, lb), "set and differ");
	}
	inv_free(&inv);
	free(msgs);

	msgs = load("vm c {\n memory = 256\n cpu_quota = 150\n cpu_weight = 0\n"
	    " memory_max = 256\n io_weight = 10001\n}\n", &inv, &rc);
	OK(rc != 0, "bad limits refused");
	OK(strstr(msgs, "# 3: cpu_quota: expected a percentage") != NULL,
	    "cpu_quota without %% named with its line");
	OK(strstr(msgs, "# 4: cpu_weight: 0 is out of range 1..10000") != NULL, "cpu_weight 0");
	OK(strstr(msgs, "# 5: memory_max 256M is not above memory 256M") != NULL,
	    "memory_max not above memory");
	OK(strstr(msgs, "# 6: io_weight: 10001 is out of range") != NULL, "io_weight 10001");
	if (rc == 0)
		inv_free(&inv);
	printf("%s", msgs);
	free(msgs);
}

static void
test_names(void)
{
	char m[HW_MACHNAME_MAX], s[HW_SCOPE_MAX];

	OK(hw_machine_name("web", m, sizeof(m)) == 0 && strcmp(m, "vmservice-web") == 0,
	    "machine name vmservice-web");
	OK(hw_machine_scope(m, s, sizeof(s)) == 0 &&
	    strcmp(s, "machine-vmservice\\x2dweb.scope") == 0, "scope %s", s);
	hw_machine_name("db-1.b_c", m, sizeof(m));
	OK(hw_machine_scope(m, s, sizeof(s)) == 0 &&
	    strcmp(s, "machine-vmservice\\x2ddb\\x2d1.b_c.scope") == 0,
	    "'-' escaped, '.' and '_' kept: %s", s);
	OK(hw_machine_scope(".x", s, sizeof(s)) == 0 && strcmp(s, "machine-\\x2ex.scope") == 0,
	    "a leading '.' escaped: %s", s);
	OK(hw_machine_scope(m, s, 20) < 0, "too small a buffer refused");
	OK(mbus_quota_usec(150) == 1500000 && mbus_quota_usec(0) == UINT64_MAX,
	    "CPUQuotaPerSecUSec: 150%% is 1.5 s a second, none is infinity");
}

static void
test_warnings(void)
{
	struct inventory inv;
	struct cg_probe p = { 0 };
	struct diag d = { 0 };
	char *msgs;
	int rc;
	size_t n;

	msgs = load("vm a {\n memory = 256\n io_weight = 20\n memory_max = 1G\n}\n"
	    "vm off {\n enable = no\n cpu_weight = 5\n}\n", &inv, &rc);
	OK(rc == 0, "loads");
	free(msgs);
	p.cp_backend = CG_NONE;
	snprintf(p.cp_why, sizeof(p.cp_why), "no systemd, and no cgroup v2");
	n = inv_limits_check(&inv, &p, &d);
	OK(n == 2 && d.dg_n == 2 && d.dg_errors == 0, "no backend: two warnings, not errors (%zu)", n);
	/* In the options' order: cpu_weight, cpu_quota, memory_max, io_weight. */
	OK(d.dg_n == 2 && d.dg_items[1].di_line == 3 && strstr(d.dg_items[1].di_msg,
	    "io_weight is not applied on this host: no systemd") != NULL &&
	    strcmp(d.dg_items[1].di_class, DC_NOLIMIT) == 0 && d.dg_items[0].di_line == 4 &&
	    strstr(d.dg_items[0].di_msg, "memory_max") != NULL, "names the option, its line, why");
	diag_free(&d);
	memset(&d, 0, sizeof(d));
	p.cp_backend = CG_CGROUP2;
	p.cp_ctrl = CG_CPU | CG_MEMORY;
	n = inv_limits_check(&inv, &p, &d);
	OK(n == 1 && d.dg_n == 1 && strstr(d.dg_items[0].di_msg, "no io controller"),
	    "cgroup v2 without io: io_weight only");
	diag_free(&d);
	memset(&d, 0, sizeof(d));
	p.cp_backend = CG_SYSTEMD;
	p.cp_ctrl = CG_CPU | CG_MEMORY | CG_IO;
	OK(inv_limits_check(&inv, &p, &d) == 0, "systemd: nothing to say");
	diag_free(&d);
	inv_free(&inv);
}

int
main(void)
{
	test_options();
	test_names();
	test_warnings();
	return TAP_DONE();
}
