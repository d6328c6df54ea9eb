/*
 * The inventory as a library: the model filled from tests/config/good,
 * error lines after comments (libconfuse 3.3 miscounts them), files around
 * the read buffer's size, and every option documented in the man page and
 * the example config.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util.h"
#include "config/inv_priv.h"
#include "config/inventory.h"
#include "tap.h"

static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;

	if (!fp)
		return xstrdup("");
	if (getdelim(&buf, &len, '\0', fp) < 0) {
		free(buf);
		buf = xstrdup("");
	}
	fclose(fp);
	return buf;
}

static void
test_good(const char *top)
{
	char *path = xasprintf("%s/tests/config/good/all.conf", top);
	struct inventory inv;
	struct diag d = { 0 };
	struct hw_vm *full, *base, *extra;
	uint8_t mac[6], uuid[16];
	int rc = inv_load(path, &inv, &d);

	OK(rc == 0 && d.dg_n == 0, "good/all.conf loads without a message (rc %d, %zu)", rc, d.dg_n);
	diag_print(&d, stdout);
	OK(inv.inv_n_vms == 3, "3 VMs");
	OK(inv.inv_n_files == 2, "main file and one include read");
	full = inv_find_vm(&inv, "full");
	base = inv_find_vm(&inv, "base");
	extra = inv_find_vm(&inv, "extra");
	OK(full && base && extra && inv.inv_vms[2].vm_name == extra->vm_name,
	    "VMs found, the included one last");
	if (!full || !base || !extra)
		goto out;
	OK(inv.inv_halt_timeout == 45 && inv.inv_start_parallel == 2, "globals set");
	OK(base->vm_policy.po_halt_timeout == 45 && base->vm_policy.po_term_timeout == 15 &&
	    base->vm_policy.po_start_delay == 3, "per-VM timeouts and delay inherit the globals");
	OK(full->vm_policy.po_halt_timeout == 60 && full->vm_policy.po_term_timeout == 20 &&
	    full->vm_policy.po_start_delay == 5, "per-VM timeouts and delay override");
	OK(full->vm_n_extra_args == 4 &&
	    strcmp(full->vm_extra_args[1], "virtio-rng-pci,id=rng0") == 0 &&
	    strcmp(full->vm_extra_args[3], "kvm-pit.lost_tick_policy=delay") == 0,
	    "extra_args split like a shell, quotes removed");
	OK(full->vm_policy.po_n_after == 2 && strcmp(full->vm_policy.po_after[1], "extra") == 0, "after list");
	OK(full->vm_n_nics == 4 && full->vm_nics[0].nic_mac_set &&
	    full->vm_nics[0].nic_n_hostfwd == 2, "nic 0: given MAC, two hostfwd");
	hw_derive_mac("full", 1, mac);
	OK(!full->vm_nics[1].nic_mac_set && memcmp(mac, full->vm_nics[1].nic_mac, 6) == 0,
	    "nic 1: MAC derived from name and index");
	hw_derive_uuid("full", uuid);
	OK(memcmp(uuid, full->vm_uuid, 16) == 0, "UUID derived from the name");
	OK(full->vm_disks[1].dk_size == 2ULL << 30 && full->vm_disks[1].dk_backing,
	    "disk 1: size and backing");
	OK(full->vm_disks[0].dk_loc.line == 40 && full->vm_nics[0].nic_loc.line == 60,
	    "sections remember their opening line (40, 60)");
	OK(hw_vm_optloc(full, "nic0.hostfwd.1").line == 64, "each list element has its line");
	OK(base->vm_memory == 512ULL << 20 && base->vm_serial == HW_PORT_NONE &&
	    base->vm_policy.po_enable && base->vm_policy.po_autostart && strcmp(base->vm_type, "system-x86_64") == 0,
	    "defaults");
	OK(extra->vm_disks[0].dk_file[0] == '/' &&
	    strstr(extra->vm_disks[0].dk_file, "/good/inc/../../files/disk.img"),
	    "paths in an included file are relative to that file");
out:
	inv_free(&inv);
	diag_free(&d);
	free(path);
}

/* Write text to a temporary file; returns its path. */
static char *
temp_conf(const char *text)
{
	char *path = xstrdup("/tmp/vmstest-inv.XXXXXX");
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		perror("temp_conf");
	close(fd);
	return path;
}

static void
test_bad_leaves_empty(void)
{
	char *path = temp_conf("vm a { memory = lots }\n");
	struct inventory inv;
	struct diag d = { 0 };
	int rc = inv_load(path, &inv, &d);

	OK(rc == -EINVAL && inv.inv_n_vms == 0 && inv.inv_vms == NULL && d.dg_errors == 1,
	    "an error: -EINVAL, inventory left empty, one error");
	inv_free(&inv);
	diag_free(&d);
	unlink(path);
	free(path);
	rc = inv_load("/nonexistent/vmservice.conf", &inv, &d);
	OK(rc == -ENOENT && d.dg_errors == 1, "a missing file: -ENOENT");
	diag_free(&d);
}

static int
first_error_line(const char *text)
{
	char *path = temp_conf(text);
	struct inventory inv;
	struct diag d = { 0 };
	int line;

	inv_load(path, &inv, &d);
	line = d.dg_n ? d.dg_items[0].di_line : -1;
	inv_free(&inv);
	diag_free(&d);
	unlink(path);
	free(path);
	return line;
}

static void
test_lines(void)
{
	OK(first_error_line("# one\n# two\n// three\n/* four\nfive */\nvm a { smp = x }\n") == 6,
	    "line right after #, // and /* */ comments");
	OK(first_error_line("vm a { # it's a comment with 'quotes\"\n extra_args = \"# not a comment\"\n"
	    " smp = x }\n") == 3, "quotes inside comments and # inside strings");
	OK(first_error_line("vm a {\n  extra_args = \"two\nlines\"\n  smp = x\n}\n") == 4,
	    "line after a string spanning two lines");
	OK(first_error_line("vm a {\n bogus = 1\n}\nvm b { smp = 0 }\n") == 2,
	    "unknown option reported at its line");
}

/* The console, monitor and VNC options (issue 4). */
static void
test_console_opts(void)
{
	char *path = temp_conf("console_scrollback = 8K\nconsole_log_size = 2M\n"
	    "console_log_keep = 0\nmonitor_listen = \"::1\"\n"
	    "vm a { serial = 4501\n vnc = 1\n vnc_password_file = \"/etc/pw\" }\nvm b { }\n");
	struct inventory inv;
	struct diag d = { 0 };
	int rc = inv_load(path, &inv, &d);

	OK(rc == 0 && inv.inv_console_scrollback == 8192 &&
	    inv.inv_console_log_size == 2 << 20 && inv.inv_console_log_keep == 0 &&
	    inv.inv_monitor_listen && strcmp(inv.inv_monitor_listen, "::1") == 0,
	    "console_scrollback, console_log_size, console_log_keep, monitor_listen read");
	OK(rc == 0 && inv.inv_vms[0].vm_vnc_password_file &&
	    strcmp(inv.inv_vms[0].vm_vnc_password_file, "/etc/pw") == 0 &&
	    inv.inv_vms[1].vm_vnc_password_file == NULL, "vnc_password_file read per VM");
	inv_free(&inv);
	diag_free(&d);
	unlink(path);
	free(path);

	path = temp_conf("vm a { }\n");
	rc = inv_load(path, &inv, &d);
	OK(rc == 0 && inv.inv_console_scrollback == 65536 &&
	    inv.inv_console_log_size == 1 << 20 && inv.inv_console_log_keep == 5 &&
	    inv.inv_monitor_listen == NULL, "console defaults: 64K, 1M, 5, monitor on loopback");
	inv_free(&inv);
	diag_free(&d);
	unlink(path);
	free(path);

	path = temp_conf("console_scrollback = 1G\nvm a { }\n");
	rc = inv_load(path, &inv, &d);
	OK(rc == -EINVAL && d.dg_n == 1 && strstr(d.dg_items[0].di_msg, "out of range 0..16M"),
	    "console_scrollback over 16M refused: %s", d.dg_n ? d.dg_items[0].di_msg : "");
	inv_free(&inv);
	diag_free(&d);
	unlink(path);
	free(path);

	OK(first_error_line("\nmonitor_listen = \"localhost\"\nvm a { }\n") == 2,
	    "monitor_listen must be a numeric address");
}

/* Files of sizes around 4096 (the first read buffer) lose nothing. */
static void
test_sizes(void)
{
	for (size_t size = 4090; size <= 4100; size++) {
		const char *tail = "vm a { smp = x }\n";
		char *text = xmalloc(size + 1);

		memset(text, '#', size);
		text[size - strlen(tail) - 1] = '\n';
		memcpy(text + size - strlen(tail), tail, strlen(tail) + 1);
		OK(first_error_line(text) == 2, "file of %zu bytes read whole", size);
		free(text);
	}
}

static void
documented(const struct inv_opt *tab, const char *section, const char *man,
    const char *example)
{
	for (; tab->io_name; tab++) {
		char *in_man = xasprintf("Ic %s", tab->io_name);
		char *in_man2 = xasprintf(" %s = Ar", tab->io_name);
		char *in_man3 = xasprintf("Ic sockets , %s ,", tab->io_name);
		char *in_ex = xasprintf("%s = ", tab->io_name);

		OK(strstr(man, in_man) || strstr(man, in_man2) || strstr(man, in_man3),
		    "%s option %s is in vmservice.conf.5", section, tab->io_name);
		OK(strstr(example, in_ex), "%s option %s is in etc/vmservice.conf",
		    section, tab->io_name);
		free(in_man);
		free(in_man2);
		free(in_man3);
		free(in_ex);
	}
}

static void
test_docs(const char *top)
{
	char *p1 = xasprintf("%s/man/vmservice.conf.5", top);
	char *p2 = xasprintf("%s/etc/vmservice.conf", top);
	char *man = slurp(p1), *ex = slurp(p2);

	documented(inv_global_opts, "global", man, ex);
	documented(inv_vm_opts, "vm", man, ex);
	documented(inv_boot_opts, "boot", man, ex);
	documented(inv_disk_opts, "disk", man, ex);
	documented(inv_nic_opts, "nic", man, ex);
	free(man);
	free(ex);
	free(p1);
	free(p2);
}

int
main(void)
{
	const char *top = getenv("VMS_TOP") ? getenv("VMS_TOP") : ".";

	test_good(top);
	test_bad_leaves_empty();
	test_lines();
	test_sizes();
	test_console_opts();
	test_docs(top);
	return TAP_DONE();
}
