/*
 * The rc-script's VMs as vmservice.conf (rcimport.h).
 *
 * What /etc/rc.d/qemu did, and so what "equivalent" means here: for each
 * QEMU_MACHINES entry without a leading `!` it ran
 *   /usr/bin/qemu-${qemu_NAME_type} (or /usr/bin/qemu) \
 *       -name NAME -pidfile /var/run/qemu/NAME.pid -daemonize -nographic ${qemu_NAME}
 * (the last unquoted: split at blanks, quotes inside left alone); at stop it
 * eval'd qemu_NAME_haltcmd, waited qemu_NAME_haltcmd_wait seconds (30), then
 * sent SIGTERM; without a haltcmd, SIGTERM at once. A `!NAME` entry was
 * neither started nor stopped: here a VM with autostart = no.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/util.h"
#include "config/rcword.h"
#include "config/rcimport.h"
#include "config/rc_priv.h"

/* Far more than any rc configuration; a bound for /dev/zero named by mistake. */
#define RCI_TEXT_MAX	(4 * 1024 * 1024)

void
rci_set(char **field, const char *val)
{
	free(*field);
	*field = xstrdup(val);
}

static void
vnote(struct rci_vm *vm, int line, bool warn, const char *fmt, va_list ap)
{
	char *msg;

	if (vasprintf(&msg, fmt, ap) < 0)
		msg = xstrdup(fmt);
	strv_pushf(&vm->v_notes, "%s (%s:%d)", msg, vm->v_file, line);
	if (warn)
		diag_add(vm->v_d, DIAG_WARNING, vm->v_file, line, vm->v_name, DC_UNKNOWN,
		    "%s", msg);
	free(msg);
}

void
rci_note(struct rci_vm *vm, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vnote(vm, line, false, fmt, ap);
	va_end(ap);
}

void
rci_warn(struct rci_vm *vm, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vnote(vm, line, true, fmt, ap);
	va_end(ap);
}

static void
vm_free(struct rci_vm *vm)
{
	char **s[] = { &vm->v_name, &vm->v_type, &vm->v_memory, &vm->v_machine, &vm->v_cpu,
	    &vm->v_accel, &vm->v_kernel, &vm->v_initrd, &vm->v_append, &vm->v_cdrom,
	    &vm->v_boot_order, &vm->v_boot_once, &vm->v_vga, &vm->v_keymap, &vm->v_halt,
	    &vm->v_halt_command, &vm->v_halt_timeout };

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		free(*s[i]);
	for (size_t i = 0; i < 5; i++)
		free(vm->v_smp[i]);
	for (size_t i = 0; i < vm->v_n_disks; i++) {
		struct rci_disk *d = &vm->v_disks[i];
		free(d->rd_file), free(d->rd_format), free(d->rd_if), free(d->rd_cache);
		free(d->rd_media), free(d->rd_index), free(d->rd_id);
	}
	free(vm->v_disks);
	for (size_t i = 0; i < vm->v_n_nics; i++) {
		struct rci_nic *n = &vm->v_nics[i];
		free(n->rn_model), free(n->rn_mac), free(n->rn_net), free(n->rn_ifname);
		free(n->rn_bridge), free(n->rn_script), free(n->rn_downscript), free(n->rn_key);
		strv_free(&n->rn_hostfwd);
	}
	free(vm->v_nics);
	for (size_t i = 0; i < vm->v_n_chardevs; i++)
		free(vm->v_chardevs[i].ch_id), free(vm->v_chardevs[i].ch_arg);
	free(vm->v_chardevs);
	strv_free(&vm->v_redir);
	strv_free(&vm->v_extra);
	strv_free(&vm->v_notes);
}

static bool
valid_name(const char *s)
{
	if (!*s || strlen(s) > 64 || !strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789", *s))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
	    strlen(s);
}

static const struct rcw_var *
vm_var(const struct rcw_file *f, const char *vm, const char *suffix)
{
	char name[128];

	snprintf(name, sizeof(name), "qemu_%s%s", vm, suffix);
	return rcw_find(f, name);
}

/* ---- the stop: qemu_NAME_haltcmd ----------------------------------------- */

/* The port or socket the consumer of a pipe talks to: "7100", or "" unknown. */
static void
pipe_target(const struct strv *w, char *port, size_t len)
{
	snprintf(port, len, "%s", "");
	for (size_t i = 1; i < w->sv_n; i++) {
		const char *s = w->sv_v[i], *c = strrchr(s, ':');
		if (strspn(s, "0123456789") == strlen(s))
			snprintf(port, len, "%s", s);
		else if (c && c[1] && strspn(c + 1, "0123456789") == strlen(c + 1))
			snprintf(port, len, "%s", c + 1);	/* socat TCP:host:port */
	}
}

/*
 * "echo CMD | nc HOST PORT" (printf, netcat, ncat, socat, telnet too): the
 * monitor command CMD, else NULL.
 */
static char *
monitor_command(const char *hc, char *port, size_t plen)
{
	static const char *const senders[] = { "echo", "printf", NULL };
	static const char *const takers[] = { "nc", "netcat", "ncat", "socat", "telnet", NULL };
	struct strv l = { 0 }, r = { 0 };
	const char *bar = NULL;
	char *cmd = NULL, q = 0;
	size_t i;

	for (const char *s = hc; *s && !bar; s++) {
		if (q) {
			q = *s == q ? 0 : q;
		} else if (*s == '\'' || *s == '"') {
			q = *s;
		} else if (*s == '\\' && s[1]) {
			s++;
		} else if (*s == '|' && s[1] != '|') {
			bar = s;
		}
	}
	if (bar) {
		char *left = xstrndup(hc, (size_t)(bar - hc));
		int e = shell_split(left, &l, NULL, 0) | shell_split(bar + 1, &r, NULL, 0);
		free(left);
		if (e == 0 && l.sv_n >= 2 && r.sv_n >= 1) {
			const char *taker = strrchr(r.sv_v[0], '/') ? strrchr(r.sv_v[0], '/') + 1 :
			    r.sv_v[0];
			bool ok = false;
			for (i = 0; senders[i]; i++)
				ok |= strcmp(l.sv_v[0], senders[i]) == 0;
			for (i = 0; takers[i] && ok; i++)
				if (strcmp(taker, takers[i]) == 0)
					break;
			if (ok && takers[i]) {
				for (i = 1; i < l.sv_n && l.sv_v[i][0] == '-'; i++)
					;	/* echo -e, -n */
				for (; i < l.sv_n; i++) {
					char *t = xasprintf("%s%s%s", cmd ? cmd : "", cmd ? " " : "",
					    l.sv_v[i]);
					free(cmd);
					cmd = t;
				}
				/* printf 'system_powerdown\n', echo -e '...\n' */
				while (cmd && strlen(cmd) >= 2 &&
				    strcmp(cmd + strlen(cmd) - 2, "\\n") == 0)
					cmd[strlen(cmd) - 2] = '\0';
				pipe_target(&r, port, plen);
			}
		}
	}
	strv_free(&l);
	strv_free(&r);
	if (cmd && !*cmd) {
		free(cmd);
		cmd = NULL;
	}
	return cmd;
}

static void
import_halt(struct rci_vm *vm, const struct rcw_file *f)
{
	const struct rcw_var *hc = vm_var(f, vm->v_name, "_haltcmd");
	const struct rcw_var *wait = vm_var(f, vm->v_name, "_haltcmd_wait");
	const char *w = wait && wait->rv_n ? wait->rv_words[0].w_s : "";
	char port[16] = "", *cmd;

	if (!hc || !hc->rv_n || !*hc->rv_words[0].w_s) {
		rci_set(&vm->v_halt, "quit");
		rci_note(vm, vm->v_line, "no qemu_%s_haltcmd: the rc-script sent SIGTERM at "
		    "once; halt = acpi would let the guest shut down", vm->v_name);
		return;
	}
	if (*w && strspn(w, "0123456789") == strlen(w) && strlen(w) < 6)
		rci_set(&vm->v_halt_timeout, w);
	else {
		if (*w)
			rci_warn(vm, wait->rv_line, "qemu_%s_haltcmd_wait=%s is not a number of "
			    "seconds: the rc-script's default 30", vm->v_name, w);
		rci_set(&vm->v_halt_timeout, "30");
	}
	cmd = monitor_command(hc->rv_words[0].w_s, port, sizeof(port));
	if (!cmd) {
		rci_set(&vm->v_halt, "acpi");
		rci_warn(vm, hc->rv_line, "qemu_%s_haltcmd is not `echo CMD | nc HOST PORT`: "
		    "vmservice sends monitor commands, it never runs a shell command; "
		    "halt = acpi (the power button) instead of: %s", vm->v_name,
		    hc->rv_words[0].w_s);
		return;
	}
	if (*port && vm->v_monitor > 0 && atoi(port) != vm->v_monitor)
		rci_warn(vm, hc->rv_line, "qemu_%s_haltcmd talks to port %s, not the monitor's "
		    "%d: taken as a monitor command all the same", vm->v_name, port,
		    vm->v_monitor);
	if (strcmp(cmd, "system_powerdown") == 0) {
		rci_set(&vm->v_halt, "acpi");
	} else if (strcmp(cmd, "quit") == 0 || strcmp(cmd, "q") == 0) {
		rci_set(&vm->v_halt, "quit");
	} else {
		rci_set(&vm->v_halt, "command");
		rci_set(&vm->v_halt_command, cmd);
	}
	free(cmd);
}

/* ---- one VM ---------------------------------------------------------------- */

static void
import_type(struct rci_vm *vm, const struct rcw_file *f)
{
	const struct rcw_var *t = vm_var(f, vm->v_name, "_type");
	const char *s = t && t->rv_n ? t->rv_words[0].w_s : "";
	size_t n = strlen(s);

	if (!*s) {
		rci_note(vm, vm->v_line, "no qemu_%s_type: the rc-script ran /usr/bin/qemu; "
		    "vmservice runs qemu-system-x86_64", vm->v_name);
	} else if (strncmp(s, "system-", 7) == 0 && n > 7 &&
	    strspn(s + 7, "abcdefghijklmnopqrstuvwxyz0123456789_") == n - 7) {
		rci_set(&vm->v_type, s);
	} else if (strcmp(s, "kvm") == 0) {
		/* /usr/bin/qemu-kvm: the x86_64 emulator with KVM. */
		if (!vm->v_accel)
			rci_set(&vm->v_accel, "kvm");
		rci_note(vm, t->rv_line, "qemu_%s_type=kvm: qemu-system-x86_64 with accel = kvm",
		    vm->v_name);
	} else {
		rci_warn(vm, t->rv_line, "qemu_%s_type=%s: not a system emulator "
		    "(system-ARCH): qemu-system-x86_64 instead", vm->v_name, s);
	}
}

/* Run from /: the rc-script's relative paths were relative to it. */
static void
abs_path(struct rci_vm *vm, char **p, int line)
{
	char *a;

	if (!*p || **p == '/')
		return;
	a = xasprintf("/%s", *p);
	rci_warn(vm, line, "relative path %s: the rc-script ran QEMU in /: %s", *p, a);
	free(*p);
	*p = a;
}

static void
import_vm(struct rci_vm *vm, const struct rcw_file *f, const struct rcw_var *opts)
{
	struct strv words = { 0 };
	int *lines = NULL;

	vm->v_line = opts->rv_line;
	vm->v_serial = vm->v_monitor = vm->v_vnc = RCI_UNSET;
	if (opts->rv_array)
		rci_warn(vm, opts->rv_line, "qemu_%s is an array: the rc-script used its first "
		    "element only", vm->v_name);
	rcw_ifs_split(&opts->rv_words[0], &words, &lines);
	rci_qemu_options(vm, &words, lines);
	rci_qemu_finish(vm);
	import_type(vm, f);
	if (!vm->v_accel)
		rci_note(vm, vm->v_line, "no -enable-kvm: the rc-script's QEMU emulated (TCG) "
		    "unless it was qemu-kvm; vmservice's accel = auto takes KVM when it can");
	import_halt(vm, f);
	for (size_t i = 0; i < vm->v_n_disks; i++)
		abs_path(vm, &vm->v_disks[i].rd_file, vm->v_disks[i].rd_line);
	abs_path(vm, &vm->v_cdrom, vm->v_line);
	abs_path(vm, &vm->v_kernel, vm->v_line);
	abs_path(vm, &vm->v_initrd, vm->v_line);
	for (size_t i = 0; i < vm->v_n_nics; i++) {
		abs_path(vm, &vm->v_nics[i].rn_script, vm->v_nics[i].rn_line);
		abs_path(vm, &vm->v_nics[i].rn_downscript, vm->v_nics[i].rn_line);
	}
	strv_free(&words);
	free(lines);
}

/*
 * QEMU gave every VM without macaddr= the same 52:54:00:12:34:56: fine on
 * separate user networks, refused by the inventory (one MAC, one NIC). The
 * first keeps it, the others get vmservice's derived ones.
 */
static void
dedup_macs(struct rci_vm *vms, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t a = 0; a < vms[i].v_n_nics; a++) {
			struct rci_nic *x = &vms[i].v_nics[a];
			bool dup = false;

			if (!x->rn_default_mac || !x->rn_mac)
				continue;
			for (size_t j = 0; j <= i && !dup; j++)
				for (size_t b = 0; b < vms[j].v_n_nics && !dup; b++) {
					const struct rci_nic *y = &vms[j].v_nics[b];
					if (y != x && y->rn_mac && (j < i || b < a) &&
					    strcasecmp(y->rn_mac, x->rn_mac) == 0)
						dup = true;
				}
			if (!dup)
				continue;
			rci_warn(&vms[i], x->rn_line, "QEMU's default MAC %s is another NIC's "
			    "too: vmservice derives this one", x->rn_mac);
			free(x->rn_mac);
			x->rn_mac = NULL;
		}
}

/* ---- output ---------------------------------------------------------------- */

/* A libconfuse "..." string: \ " and $ escaped (it expands ${NAME}). */
static void
put_quoted(FILE *o, const char *val)
{
	fputc('"', o);
	for (const char *s = val; *s; s++) {
		if (*s == '\\' || *s == '"' || *s == '$')
			fprintf(o, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", o);
		else if (*s == '\t')
			fputs("\\t", o);
		else
			fputc(*s, o);
	}
	fputc('"', o);
}

static void
put_str(FILE *o, const char *key, const char *val, const char *indent)
{
	fprintf(o, "%s%s = ", indent, key);
	put_quoted(o, val);
	fputc('\n', o);
}

/*
 * A note quotes the rc file (a haltcmd, an option): a newline in it would
 * end the comment and make the rest configuration. Control bytes are
 * written as \n or ?.
 */
static void
put_comment(FILE *o, const char *s)
{
	fputs("\t# ", o);
	for (; *s; s++) {
		if (*s == '\n')
			fputs("\\n", o);
		else
			fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, o);
	}
	fputc('\n', o);
}

static void
put_opt(FILE *o, const char *key, const char *val, const char *indent)
{
	if (val)
		fprintf(o, "%s%s = %s\n", indent, key, val);
}

static void
emit_disk(FILE *o, const struct rci_disk *d)
{
	fprintf(o, "\tdisk {\n");
	put_str(o, "file", d->rd_file, "\t\t");
	put_opt(o, "format", d->rd_format, "\t\t");
	put_opt(o, "if", d->rd_if, "\t\t");
	put_opt(o, "cache", d->rd_cache, "\t\t");
	put_opt(o, "index", d->rd_index, "\t\t");
	put_opt(o, "media", d->rd_media, "\t\t");
	if (d->rd_readonly != RCI_UNSET)
		put_opt(o, "readonly", d->rd_readonly ? "yes" : "no", "\t\t");
	if (d->rd_snapshot != RCI_UNSET)
		put_opt(o, "snapshot", d->rd_snapshot ? "yes" : "no", "\t\t");
	fprintf(o, "\t}\n");
}

static void
emit_nic(FILE *o, const struct rci_nic *n)
{
	fprintf(o, "\tnic {\n");
	put_str(o, "model", n->rn_model, "\t\t");
	if (n->rn_mac)
		put_str(o, "mac", n->rn_mac, "\t\t");
	put_opt(o, "net", n->rn_net, "\t\t");
	if (n->rn_ifname)
		put_str(o, "ifname", n->rn_ifname, "\t\t");
	if (n->rn_bridge)
		put_str(o, "bridge", n->rn_bridge, "\t\t");
	if (n->rn_hostfwd.sv_n) {
		fprintf(o, "\t\thostfwd = {");
		for (size_t i = 0; i < n->rn_hostfwd.sv_n; i++) {
			fputs(i ? ", " : " ", o);
			put_quoted(o, n->rn_hostfwd.sv_v[i]);	/* quotes in it too (a fuzzer found them) */
		}
		fprintf(o, " }\n");
	}
	if (n->rn_script)
		put_str(o, "script", n->rn_script, "\t\t");
	if (n->rn_downscript)
		put_str(o, "downscript", n->rn_downscript, "\t\t");
	if (n->rn_vhost)
		put_opt(o, "vhost", "yes", "\t\t");
	fprintf(o, "\t}\n");
}

static void
put_port(FILE *o, const char *key, int v)
{
	if (v != RCI_UNSET)
		fprintf(o, "\t%s = %d\n", key, v);
}

static void
emit_vm(FILE *o, const struct rci_vm *vm)
{
	static const char *const smp[] = { "smp", "sockets", "cores", "threads", "maxcpus" };

	fprintf(o, "\n# From qemu_%s (%s:%d).\nvm %s {\n", vm->v_name, vm->v_file, vm->v_line,
	    vm->v_name);
	if (vm->v_disabled)
		fprintf(o, "\t# !%s in QEMU_MACHINES: not started at boot\n\tautostart = no\n",
		    vm->v_name);
	if (vm->v_type)
		put_str(o, "type", vm->v_type, "\t");
	if (vm->v_machine)
		put_str(o, "machine", vm->v_machine, "\t");
	if (vm->v_cpu)
		put_str(o, "cpu", vm->v_cpu, "\t");
	for (size_t i = 0; i < 5; i++)
		put_opt(o, smp[i], vm->v_smp[i], "\t");
	put_opt(o, "memory", vm->v_memory ? vm->v_memory : "128M", "\t");
	put_opt(o, "accel", vm->v_accel, "\t");
	if (vm->v_kernel)
		put_str(o, "kernel", vm->v_kernel, "\t");
	if (vm->v_initrd)
		put_str(o, "initrd", vm->v_initrd, "\t");
	if (vm->v_append)
		put_str(o, "append", vm->v_append, "\t");
	if (vm->v_boot_order || vm->v_boot_once || vm->v_boot_menu) {
		fprintf(o, "\tboot {\n");
		if (vm->v_boot_order)
			put_str(o, "order", vm->v_boot_order, "\t\t");
		if (vm->v_boot_once)
			put_str(o, "once", vm->v_boot_once, "\t\t");
		if (vm->v_boot_menu)
			put_opt(o, "menu", "yes", "\t\t");
		fprintf(o, "\t}\n");
	}
	if (vm->v_cdrom)
		put_str(o, "cdrom", vm->v_cdrom, "\t");
	for (size_t i = 0; i < vm->v_n_disks; i++)
		emit_disk(o, &vm->v_disks[i]);
	for (size_t i = 0; i < vm->v_n_nics; i++)
		if (vm->v_nics[i].rn_front)
			emit_nic(o, &vm->v_nics[i]);
	put_port(o, "serial", vm->v_serial);
	put_port(o, "monitor", vm->v_monitor);
	put_port(o, "vnc", vm->v_vnc);
	put_opt(o, "vga", vm->v_vga, "\t");
	if (vm->v_balloon)
		put_opt(o, "balloon", "yes", "\t");
	if (vm->v_tablet)
		put_opt(o, "usb_tablet", "yes", "\t");
	if (vm->v_keymap)
		put_str(o, "keymap", vm->v_keymap, "\t");
	put_opt(o, "halt", vm->v_halt, "\t");
	if (vm->v_halt_command)
		put_str(o, "halt_command", vm->v_halt_command, "\t");
	put_opt(o, "halt_timeout", vm->v_halt_timeout, "\t");
	for (size_t i = 0; i < vm->v_notes.sv_n; i++)
		put_comment(o, vm->v_notes.sv_v[i]);
	if (vm->v_extra.sv_n) {
		char *all = NULL;
		for (size_t i = 0; i < vm->v_extra.sv_n; i++) {
			char *q = shell_quote(vm->v_extra.sv_v[i]);
			char *t = xasprintf("%s%s%s", all ? all : "", all ? " " : "", q);
			free(q);
			free(all);
			all = t;
		}
		put_str(o, "extra_args", all, "\t");
		free(all);
	}
	fprintf(o, "}\n");
}

/* ---- the file ---------------------------------------------------------------- */

static int
import_vms(const struct rcw_file *f, const char *name, FILE *o, struct diag *d)
{
	const struct rcw_var *m = rcw_find(f, "QEMU_MACHINES");
	struct strv list = { 0 };
	int *lines = NULL;
	struct rci_vm *vms;
	size_t n = 0;

	if (!m) {
		diag_add(d, DIAG_ERROR, name, 0, NULL, DC_MISSING,
		    "no QEMU_MACHINES: not an rc-script qemu.conf");
		return -EINVAL;
	}
	if (!m->rv_array) {
		/* QEMU_MACHINES="a b": one word to "${QEMU_MACHINES[@]}"; split, as meant. */
		diag_add(d, DIAG_WARNING, name, m->rv_line, NULL, DC_TYPE,
		    "QEMU_MACHINES is not an array: its words taken as the list");
		rcw_ifs_split(&m->rv_words[0], &list, &lines);
	} else {
		for (size_t i = 0; i < m->rv_n; i++) {
			strv_push(&list, m->rv_words[i].w_s);
			lines = xrealloc(lines, (i + 1) * sizeof(int));
			lines[i] = m->rv_words[i].w_len ? m->rv_words[i].w_ln[0] : m->rv_line;
		}
	}
	vms = xcalloc(list.sv_n + 1, sizeof(*vms));
	for (size_t i = 0; i < list.sv_n; i++) {
		const char *e = list.sv_v[i];
		bool off = *e == '!';
		const struct rcw_var *opts;
		bool seen = false;

		e += off;
		for (size_t j = 0; j < n; j++)
			seen |= strcmp(vms[j].v_name, e) == 0;
		if (!valid_name(e)) {
			diag_add(d, DIAG_ERROR, name, lines[i], NULL, DC_VALUE,
			    "QEMU_MACHINES entry '%s': not a VM name vmservice takes (letters, "
			    "digits, '.', '_', '-')", list.sv_v[i]);
			continue;
		}
		if (seen) {
			diag_add(d, DIAG_WARNING, name, lines[i], e, DC_DUP_VM,
			    "listed twice in QEMU_MACHINES: the first is kept");
			continue;
		}
		if (!(opts = vm_var(f, e, "")) || !opts->rv_n) {
			diag_add(d, DIAG_WARNING, name, m->rv_line, e, DC_MISSING,
			    "no qemu_%s: the rc-script would run QEMU bare; left out", e);
			continue;
		}
		vms[n].v_file = name;
		vms[n].v_d = d;
		vms[n].v_name = xstrdup(e);
		vms[n].v_disabled = off;
		import_vm(&vms[n], f, opts);
		n++;
	}
	dedup_macs(vms, n);
	if (d->dg_errors == 0) {
		fprintf(o, "# vmservice.conf made by `vmctl import-rc` from %s, the classic\n"
		    "# rc-script's configuration. Review the notes in each section, then\n"
		    "# check it with `vmctl check-config -c FILE` and compare a VM with\n"
		    "# `vmctl show NAME --argv -c FILE`. The globals are vmservice's\n"
		    "# defaults (vmservice.conf(5)).\n", name);
		for (size_t i = 0; i < n; i++)
			emit_vm(o, &vms[i]);
	}
	for (size_t i = 0; i < n; i++)
		vm_free(&vms[i]);
	free(vms);
	strv_free(&list);
	free(lines);
	return d->dg_errors ? -EINVAL : 0;
}

int
rci_import_text(const char *text, size_t len, const char *name, FILE *out, struct diag *d)
{
	struct rcw_file f = { 0 };
	char *buf = NULL;
	size_t blen = 0;
	FILE *mem;
	int rc;

	if ((rc = rcw_parse(text, len, name, &f, d)) == 0) {
		/* Nothing on out unless all of it is good. */
		if (!(mem = open_memstream(&buf, &blen))) {
			rcw_free(&f);
			return -errno;
		}
		rc = import_vms(&f, name, mem, d);
		if (fclose(mem) != 0 && rc == 0)
			rc = -EIO;
		if (rc == 0 && fwrite(buf, 1, blen, out) != blen)
			rc = -EIO;
		free(buf);
	}
	rcw_free(&f);
	return rc;
}

int
rci_import_file(const char *path, FILE *out, struct diag *d)
{
	bool in = strcmp(path, "-") == 0;
	size_t n = 0, cap = 4096;
	char *buf;
	int fd, rc;

	/* O_NONBLOCK then blocking: a FIFO without a writer does not hang open(2). */
	fd = in ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || (!in && fcntl(fd, F_SETFL, 0) == -1)) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		return rc;
	}
	buf = xmalloc(cap);
	for (;;) {
		ssize_t r;

		if (n == cap) {
			if (cap > RCI_TEXT_MAX) {
				rc = -EFBIG;
				goto out;
			}
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	rc = rci_import_text(buf, n, in ? "(stdin)" : path, out, d);
out:
	if (!in)
		close(fd);
	free(buf);
	return rc;
}
