/* Per-VM console endpoints and VNC password: glue between daemon.c and console.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "emulator/qmp.h"
#include "service/console.h"
#include "service/daemon.h"
#include "service/vmcon.h"

/* The (qemu) prompt and the last answer are enough for a late monitor client. */
#define MONITOR_SCROLLBACK	1024

static bool
is_loopback(const char *addr)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, addr, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, addr, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

static struct console *
open_one(struct daemon *d, struct vm *vm, struct console_cfg *cfg)
{
	struct console *c;
	char err[512];

	c = console_new(d->lp, cfg, err, sizeof(err));
	if (!c && cfg->cc_log) {
		/* An unwritable log must not cost the admin the console. */
		log_vm(LOG_ERR, vm->vm_name, "console log: %s; console without a log", err);
		cfg->cc_log = NULL;
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
	char *up, *logp, *spool;

	up = xasprintf("%s/%s.serial", inv->inv_run_dir, vm->vm_name);
	logp = xasprintf("%s/%s.console.log", inv->inv_log_dir, vm->vm_name);
	spool = xasprintf("%s/%s.console.spool", inv->inv_log_dir, vm->vm_name);
	cfg.cc_vm = vm->vm_name;
	cfg.cc_what = "serial";
	cfg.cc_upstream = up;
	cfg.cc_listen = inv->inv_listen ? inv->inv_listen : "127.0.0.1";
	cfg.cc_port = hw->vm_serial == HW_PORT_NONE ? -1 : hw->vm_serial;
	cfg.cc_scrollback = (size_t)inv->inv_console_scrollback;
	cfg.cc_log = logp;
	cfg.cc_log_size = inv->inv_console_log_size;
	cfg.cc_log_keep = inv->inv_console_log_keep;
	cfg.cc_spool = spool;
	vm->vm_con_serial = open_one(d, vm, &cfg);
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
	if (!is_loopback(cfg.cc_listen))
		log_vm(LOG_WARNING, vm->vm_name, "WARNING: the QEMU monitor listens on %s port %d, "
		    "beyond this host (monitor_listen). Anyone who can reach it is root on "
		    "this host (HMP migrate \"exec:...\" runs commands).", cfg.cc_listen,
		    hw->vm_monitor);
	vm->vm_con_monitor = open_one(d, vm, &cfg);
	free(up);
}

void
vmcon_up(struct daemon *d, struct vm *vm)
{
	if (vm->vm_con_serial)
		console_upstream_start(vm->vm_con_serial);
	if (vm->vm_con_monitor)
		console_upstream_start(vm->vm_con_monitor);
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

void
vmcon_qmp_ready(struct daemon *d, struct vm *vm)
{
	const struct hw_vm *hw = vm->vm_hw;
	struct json_object *args;
	char pw[64], why[160];
	int e;

	if (hw->vm_vnc == HW_VNC_NONE || !hw->vm_vnc_password_file || !vm->vm_qmp)
		return;
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
	args = json_object_new_object();
	json_object_object_add(args, "protocol", json_object_new_string("vnc"));
	json_object_object_add(args, "password", json_object_new_string(pw));
	explicit_bzero(pw, sizeof(pw));
	e = qmp_send(vm->vm_qmp, "set_password", args, vnc_password_cb, vm);
	if (e)
		log_vm(LOG_ERR, vm->vm_name, "VNC password not sent: %s", strerror(-e));
}
