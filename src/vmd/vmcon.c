/* Per-VM console endpoints and VNC password: glue between the daemon (vmd/) and console/. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fdbudget.h"
#include "lib/log.h"
#include "lib/util.h"
#include "qemu/qmp.h"
#include "vmd/conguard.h"
#include "console/console.h"
#include "vmd/daemon.h"
#include "config/inv_expose.h"
#include "vmd/probe.h"
#include "vmd/vmcon.h"

/* The (qemu) prompt and the last answer are enough for a late monitor client. */
#define MONITOR_SCROLLBACK	1024

static struct console *
open_one(struct daemon *d, struct vm *vm, struct console_cfg *cfg, struct conguard **guard)
{
	struct console *c;
	char err[512];

	/* Every telnet client passes the door first: no guests, the password. */
	if (cfg->cc_port >= 0) {
		*guard = conguard_new(d, vm, cfg->cc_what);
		cfg->cc_admit = conguard_admit;
		cfg->cc_admit_arg = *guard;
	}
	c = console_new(d->lp, cfg, err, sizeof(err));
	if (!c && cfg->cc_log) {
		/* An unwritable log must not cost the admin the console. */
		log_vm(LOG_ERR, vm->vm_name, "console log: %s; console without a log", err);
		cfg->cc_log = NULL;
		/* Its output is kept nowhere else: the ring stays while stopped. */
		cfg->cc_release_ms = 0;
		c = console_new(d->lp, cfg, err, sizeof(err));
	}
	if (!c) {
		log_vm(LOG_ERR, vm->vm_name, "no %s console: %s", cfg->cc_what, err);
		return NULL;
	}
	if (cfg->cc_port >= 0)
		log_vm(LOG_INFO, vm->vm_name, "%s on telnet %s port %d", cfg->cc_what,
		    cfg->cc_listen, console_port(c));
	return c;
}

void
vmcon_open(struct daemon *d, struct vm *vm)
{
	const struct inventory *inv = &d->inv;
	const struct hw_vm *hw = vm->vm_hw;
	struct console_cfg cfg = { 0 };
	char *up, *logp, *spool, why[200];

	/* A listener and a log per console (issue 20): never past the reserve. */
	if (fdb_room(2 * ((hw->vm_serial != HW_PORT_NONE) + (hw->vm_monitor != HW_PORT_NONE)),
	    why, sizeof(why)) != 0) {
		log_burst(&d->fd_refused, LOG_ERR, vm->vm_name, "no telnet console: %s", why);
		return;
	}

	up = xasprintf("%s/%s.serial", inv->inv_run_dir, vm->vm_name);
	logp = xasprintf("%s/%s.console.log", inv->inv_log_dir, vm->vm_name);
	spool = xasprintf("%s/%s.console.spool", inv->inv_log_dir, vm->vm_name);
	cfg.cc_vm = vm->vm_name;
	cfg.cc_what = "serial";
	cfg.cc_upstream = up;
	cfg.cc_listen = inv->inv_listen ? inv->inv_listen : "127.0.0.1";
	cfg.cc_port = hw->vm_serial == HW_PORT_NONE ? -1 : hw->vm_serial;
	cfg.cc_scrollback = (size_t)inv->inv_console_scrollback;
	/* A stopped VM's scrollback is in its log: memory only while it runs. */
	cfg.cc_release_ms = CONSOLE_RELEASE_MS;
	cfg.cc_log = logp;
	cfg.cc_log_size = inv->inv_console_log_size;
	cfg.cc_log_keep = inv->inv_console_log_keep;
	cfg.cc_idle_timeout = inv->inv_console_idle_timeout;
	cfg.cc_spool = spool;
	/* ready = "serial:REGEX" reads the lines as they come. */
	cfg.cc_output = probe_output;
	cfg.cc_output_arg = vm;
	vm->vm_con_serial = open_one(d, vm, &cfg, &vm->vm_guard_serial);
	free(up);
	free(logp);
	free(spool);

	if (hw->vm_monitor == HW_PORT_NONE)
		return;
	up = xasprintf("%s/%s.hmp", inv->inv_run_dir, vm->vm_name);
	memset(&cfg, 0, sizeof(cfg));
	cfg.cc_vm = vm->vm_name;
	cfg.cc_what = "monitor";
	cfg.cc_upstream = up;
	/* HMP is root on the host (migrate "exec:..."): loopback unless told. */
	cfg.cc_listen = inv->inv_monitor_listen ? inv->inv_monitor_listen : "127.0.0.1";
	cfg.cc_port = hw->vm_monitor;
	cfg.cc_scrollback = MONITOR_SCROLLBACK;
	/* The prompt of a QEMU that is gone helps nobody: not kept either. */
	cfg.cc_release_ms = CONSOLE_RELEASE_MS;
	cfg.cc_idle_timeout = inv->inv_console_idle_timeout;
	if (!inv_addr_loopback(cfg.cc_listen))
		log_vm(LOG_WARNING, vm->vm_name, "WARNING: the QEMU monitor listens on %s port %d, "
		    "beyond this host (monitor_listen). Anyone who can reach it is root on "
		    "this host (HMP migrate \"exec:...\" runs commands).", cfg.cc_listen,
		    hw->vm_monitor);
	vm->vm_con_monitor = open_one(d, vm, &cfg, &vm->vm_guard_monitor);
	free(up);
}

void
vmcon_up(struct daemon *d, struct vm *vm)
{
	if (vm->vm_con_serial)
		console_upstream_start(vm->vm_con_serial, vm->vm_pid);
	if (vm->vm_con_monitor)
		console_upstream_start(vm->vm_con_monitor, vm->vm_pid);
}

void
vmcon_down(struct vm *vm, const char *why)
{
	if (vm->vm_con_serial)
		console_upstream_stop(vm->vm_con_serial, why);
	if (vm->vm_con_monitor)
		console_upstream_stop(vm->vm_con_monitor, why);
}

void
vmcon_close(struct vm *vm)
{
	/* Logins in progress hold the console: they go first. */
	conguard_free(vm->vm_guard_serial);
	conguard_free(vm->vm_guard_monitor);
	vm->vm_guard_serial = vm->vm_guard_monitor = NULL;
	console_free(vm->vm_con_serial);
	console_free(vm->vm_con_monitor);
	vm->vm_con_serial = vm->vm_con_monitor = NULL;
}

static void
vnc_password_cb(void *arg, struct json_object *ret, const char *error)
{
	struct vm *vm = arg;

	if (error)
		log_vm(LOG_ERR, vm->vm_name, "VNC password not set: %s", error);
	else
		log_vm(LOG_INFO, vm->vm_name, "VNC password set");
}

/*
 * First line of path, at most 8 characters used by VNC (RFB DES auth).
 * The file is a secret read by root in the loop (issue 12): never a FIFO
 * or device that would block us (O_NONBLOCK, then a regular file only),
 * never through a symlink, and only one nobody else may read or change:
 * owned by the daemon's user, no group write, nothing for others. why
 * says what is wrong with it.
 */
static int
read_password(const char *path, char *pw, size_t len, char *why, size_t wlen)
{
	char buf[256];
	struct stat st;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
	if (fd == -1) {
		snprintf(why, wlen, "%s", errno == ELOOP ? "is a symlink" : strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(why, wlen, "%s", strerror(errno));
		close(fd);
		return -EIO;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 0027)) {
		if (!S_ISREG(st.st_mode))
			snprintf(why, wlen, "not a regular file");
		else
			snprintf(why, wlen, "owner %u, mode %04o: it must be %u's, with no "
			    "group write and no access for others", (unsigned)st.st_uid,
			    (unsigned)st.st_mode & 07777, (unsigned)geteuid());
		close(fd);
		return -EPERM;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		snprintf(why, wlen, "%s", strerror(errno));
		return -errno;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!buf[0]) {
		snprintf(why, wlen, "empty");
		return -ENODATA;
	}
	n = (ssize_t)strlen(buf);
	if ((size_t)n >= len)
		n = (ssize_t)len - 1;
	memcpy(pw, buf, (size_t)n);
	pw[n] = '\0';
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

/*
 * No vnc_password_file: a fresh password for this QEMU, 8 characters (all
 * VNC's DES scheme uses), kept for root in state_dir/NAME.vncpass (0600;
 * `vmctl vnc-password NAME`). state_dir is the daemon's alone: no QEMU user
 * may write there.
 */
static int
generate_password(struct daemon *d, struct vm *vm, char *pw, size_t len)
{
	static const char set[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	unsigned char rnd[VMCON_VNC_PW_LEN];
	char *path, line[VMCON_VNC_PW_LEN + 2];
	size_t i;
	int e;

	if (len < sizeof(rnd) + 1)
		return -EINVAL;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -errno;
	/* 57 symbols: the bias of % is < 0.5 % a character, irrelevant here. */
	for (i = 0; i < sizeof(rnd); i++)
		pw[i] = set[rnd[i] % (sizeof(set) - 1)];
	pw[i] = '\0';
	explicit_bzero(rnd, sizeof(rnd));
	snprintf(line, sizeof(line), "%s\n", pw);
	path = inv_vnc_password_path(d->inv.inv_state_dir, vm->vm_name);
	e = file_replace(path, line, strlen(line), 0600);
	explicit_bzero(line, sizeof(line));
	if (e)
		log_vm(LOG_ERR, vm->vm_name, "%s: %s (the VNC password is set, but "
		    "nobody can read it)", path, strerror(-e));
	free(path);
	return 0;
}

void
vmcon_qmp_ready(struct daemon *d, struct vm *vm)
{
	const struct hw_vm *hw = vm->vm_hw;
	struct json_object *args;
	char pw[64], why[160];
	int e;

	if (hw->vm_vnc == HW_VNC_NONE || !vm->vm_qmp)
		return;
	if (!hw->vm_vnc_password_file) {
		e = generate_password(d, vm, pw, sizeof(pw));
		if (e) {
			log_vm(LOG_ERR, vm->vm_name, "VNC password not generated: %s; VNC "
			    "stays locked", strerror(-e));
			return;
		}
		goto set;
	}
	e = read_password(hw->vm_vnc_password_file, pw, sizeof(pw), why, sizeof(why));
	if (e) {
		/* QEMU runs with password=on: the display stays locked. */
		log_vm(LOG_ERR, vm->vm_name, "vnc_password_file %s: %s; VNC stays locked",
		    hw->vm_vnc_password_file, why);
		return;
	}
	if (strlen(pw) > 8)
		log_vm(LOG_WARNING, vm->vm_name, "VNC uses only the first 8 characters of "
		    "the password in %s", hw->vm_vnc_password_file);
set:
	args = json_object_new_object();
	json_object_object_add(args, "protocol", json_object_new_string("vnc"));
	json_object_object_add(args, "password", json_object_new_string(pw));
	explicit_bzero(pw, sizeof(pw));
	e = qmp_send(vm->vm_qmp, "set_password", args, vnc_password_cb, vm);
	if (e)
		log_vm(LOG_ERR, vm->vm_name, "VNC password not sent: %s", strerror(-e));
}
