/*
 * vmserviced: supervise the inventory's VMs from boot to a safe shutdown.
 * main(): options, runtime directories, the pidfile lock, daemonizing with
 * a readiness pipe, signals as a file descriptor, then the loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/child.h"
#include "lib/log.h"
#include "lib/util.h"
#include "control/control.h"
#include "qemu/qemu_kvm.h"
#include "qemu/qemu_priv.h"
#include "vmd/alert.h"
#include "vmd/metrics.h"
#include "vmd/daemon.h"
#include "vmd/machine.h"
#include "vmd/dcaps.h"
#include "lib/loop.h"
#include "vmd/nicmodels.h"
#include "vmd/notify.h"
#include "vmd/reload.h"
#include "vmd/scripts.h"
#include "config/inventory.h"
#include "config/vmpriv.h"

static const char usage_text[] =
    "usage: vmserviced [-c FILE] [-D] [-v] [--help]\n"
    "  -c FILE   inventory (default $VMSERVICE_CONF or " INV_DEFAULT_PATH ")\n"
    "  -D        daemonize; exit once the control socket listens\n"
    "  -v        debug logging\n";

/* Log and exit 1; with -D, also tell the waiting parent (ready_fd). */
static void __attribute__((noreturn, format(printf, 2, 3)))
die_ready(int ready_fd, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_err("%s", msg);
	if (ready_fd != -1 && write(ready_fd, msg, strlen(msg)) < 0)
		exit(1);
	exit(1);
}

#define die(...)	die_ready(-1, __VA_ARGS__)

/* mkdir -p, the last component with mode; it must end up a directory. */
static void
make_dir(const char *path, mode_t mode)
{
	char *p = xstrdup(path), *s;
	struct stat st;

	for (s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0755) == -1 && errno != EEXIST)
			die("cannot create %s: %s", p, strerror(errno));
		*s = '/';
	}
	if (mkdir(p, mode) == -1 && errno != EEXIST)
		die("cannot create %s: %s", p, strerror(errno));
	if (stat(p, &st) == -1 || !S_ISDIR(st.st_mode))
		die("%s is not a directory", p);
	if (access(p, W_OK) == -1)
		die("%s is not writable: %s", p, strerror(errno));
	free(p);
}

/* run_dir/vmserviced.pid, flocked for as long as we live. */
static int
lock_pidfile(const char *run_dir)
{
	char *path = xasprintf("%s/vmserviced.pid", run_dir), buf[32];
	ssize_t n;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd == -1)
		die("cannot open %s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK)
			die("cannot lock %s: %s", path, strerror(errno));
		n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = 0;
		buf[strcspn(buf, "\n")] = 0;
		die("another vmserviced (pid %s) is already running on %s", *buf ? buf : "?",
		    run_dir);
	}
	free(path);
	return fd;
}

static void
write_pid(int fd)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());

	if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, (size_t)n, 0) != n)
		log_warn("cannot write pidfile: %s", strerror(errno));
}

static void
signal_cb(struct loop *lp, int fd, uint32_t events, void *arg)
{
	struct daemon *d = arg;
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			if (d->exiting) {
				log_info("already stopping every VM");
				break;
			}
			log_info("%s: stopping every VM, then exiting", strsignal((int)si.ssi_signo));
			d->exiting = true;
			notify_stopping();
			daemon_stop_all(d, -1);
			break;
		case SIGQUIT:
			/*
			 * Restart the daemon, not the VMs (an upgrade: the package's
			 * postinst, `service vmservice restart-daemon`): exit now and
			 * leave every QEMU, lock and intent file as it is; the next
			 * daemon adopts them. During a stop-all it would abandon the
			 * stop half done: the stop goes on instead.
			 */
			if (d->exiting) {
				log_info("SIGQUIT: ignored, already stopping every VM");
				break;
			}
			log_info("SIGQUIT: exiting and leaving every VM running "
			    "(the next vmserviced adopts them)");
			notify_stopping();
			loop_stop(lp);
			break;
		case SIGHUP:
			/* reload_run() logs every error and change. */
			log_info("SIGHUP: reloading the inventory");
			json_object_put(reload_run(d));
			break;
		}
	}
}

/* A VM's downscripts ended: it may start again, or the daemon exit. */
static void
scripts_done_cb(void *arg)
{
	struct daemon *d = arg;

	alert_kick(d);
	d->dirty = true;
}

/* An emulator told its NIC models: a reload waiting for them goes on. */
static void
nicm_done_cb(void *arg)
{
	struct daemon *d = arg;

	reload_resume(d);
	d->dirty = true;	/* (daemon_idle -> the control's idle hook answers its clients) */
}

/*
 * -D: fork; the parent only waits to exit with the child's verdict. The
 * child gets the pipe's write end, for "OK" or the reason it failed.
 */
static int
daemonize(void)
{
	char buf[2048];
	int p[2];
	ssize_t n;
	size_t got = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) == -1)
		die("pipe: %s", strerror(errno));
	pid = fork();
	if (pid == -1)
		die("fork: %s", strerror(errno));
	if (pid > 0) {
		close(p[1]);
		while (got < sizeof(buf) - 1 &&
		    (n = read(p[0], buf + got, sizeof(buf) - 1 - got)) != 0) {
			if (n == -1) {
				if (errno == EINTR)
					continue;
				break;
			}
			got += (size_t)n;
		}
		buf[got] = 0;
		if (strcmp(buf, "OK") == 0)
			_exit(0);
		/* The child logged the reason to stderr already when it could. */
		if (!got)
			fprintf(stderr, "vmserviced: failed to start\n");
		_exit(1);
	}
	close(p[0]);
	setsid();
	return p[1];
}

static void
detach_stdio(void)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	struct stat st;

	if (null == -1)
		return;
	dup2(null, 0);
	dup2(null, 1);
	/*
	 * Keep stderr only if it is a file (tests, a log file). A terminal goes
	 * away, and a pipe would keep the caller's pipeline (`service vmservice
	 * start | cat`, ssh without a tty) open until the daemon exits.
	 */
	if (fstat(2, &st) == -1 || !S_ISREG(st.st_mode)) {
		log_init("vmserviced", LOG_TO_SYSLOG, LOG_INFO);
		dup2(null, 2);
	}
	close(null);
}

/*
 * Each running VM costs the daemon several descriptors (QMP, consoles,
 * pidfd, lock, clients): the 1,024 soft limit systemd and most shells give
 * a service runs out near 200 VMs. The hard limit is ours to take
 * (the unit sets LimitNOFILE= too, for the same reason).
 */
static void
raise_nofile(void)
{
	struct rlimit rl;
	rlim_t old;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_warn("getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
		return;
	}
	if (rl.rlim_cur >= rl.rlim_max)
		return;
	old = rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		log_warn("cannot raise the file descriptor limit from %llu to %llu: %s",
		    (unsigned long long)old, (unsigned long long)rl.rlim_max, strerror(errno));
	else
		log_info("file descriptor limit raised from %llu to %llu",
		    (unsigned long long)old, (unsigned long long)rl.rlim_max);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct daemon d = { .sig_fd = -1, .pid_fd = -1, .ready_fd = -1 };
	struct ctl *ctl;
	struct diag dg = { 0 };
	bool opt_D = false, opt_v = false;
	const char *conf = getenv("VMSERVICE_CONF");
	char err[1024];
	sigset_t mask;
	int c, e;

	while ((c = getopt_long(argc, argv, "c:Dvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 'D': opt_D = true; break;
		case 'v': opt_v = true; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: fputs(usage_text, stderr); return 2;
		}
	}
	if (optind != argc) {
		fputs(usage_text, stderr);
		return 2;
	}
	if (!conf || !*conf)
		conf = INV_DEFAULT_PATH;
	/* Issue 12: nothing of the shell that started us lives on in the daemon. */
	e = child_close_inherited();
	log_init("vmserviced", log_guess_target(), opt_v ? LOG_DEBUG : LOG_INFO);
	if (e)
		log_warn("cannot close inherited file descriptors: %s", strerror(-e));
	raise_nofile();

	/*
	 * NIC models are not judged at start (issue 12): asking the emulator
	 * would hold up the start by a QEMU run as root; a wrong one fails its
	 * VM's start with QEMU's words. Reloads judge them (nicmodels.h).
	 */
	e = inv_load_opts(conf, &d.inv, &dg, &(struct inv_opts){ .io_flags = INV_NO_EXEC });
	diag_print(&dg, stderr);
	diag_free(&dg);
	if (e)
		die("%s: cannot load the inventory", conf);
	d.conf_path = xstrdup(conf);
	make_dir(d.inv.inv_run_dir, 0755);
	/* Issue 12: QEMUs adopted from an earlier version must not write it either. */
	if (qpriv_close_run_dir(d.inv.inv_run_dir, err, sizeof(err)) != 0)
		die("%s", err);
	make_dir(d.inv.inv_state_dir, 0750);
	make_dir(d.inv.inv_log_dir, 0750);
	d.pid_fd = lock_pidfile(d.inv.inv_run_dir);
	if (opt_D)
		d.ready_fd = daemonize();
	write_pid(d.pid_fd);
	/* Least privilege (issue 6): from here on only what we use. */
	if (dcaps_limit(err, sizeof(err)) != 0)
		die_ready(d.ready_fd, "%s", err);

	/* Signals become events; QEMU gets the mask we started with. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGQUIT);
	/*
	 * SIGPIPE is blocked rather than ignored: a write to a pipe whose reader
	 * died (stderr into a logger that exited) must fail with EPIPE, not kill
	 * the daemon. Blocked, not SIG_IGN, because an ignored signal stays
	 * ignored across exec, into QEMU and the scripts, while every child
	 * restores child_mask. It is not read from the signalfd.
	 */
	sigaddset(&mask, SIGPIPE);
	if (sigprocmask(SIG_BLOCK, &mask, &d.child_mask) == -1)
		die_ready(d.ready_fd, "sigprocmask: %s", strerror(errno));
	sigdelset(&mask, SIGPIPE);
	d.sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	d.lp = loop_new();
	if (d.sig_fd == -1 || !d.lp)
		die_ready(d.ready_fd, "cannot set up the event loop: %s", strerror(errno));
	/* Without it SIGTERM would be blocked and never read: unstoppable. */
	e = loop_add_fd(d.lp, d.sig_fd, EPOLLIN, signal_cb, &d);
	if (e)
		die_ready(d.ready_fd, "cannot watch the signalfd: %s", strerror(-e));
	d.scripts = scripts_new(d.lp, &d.child_mask, scripts_done_cb, &d);
	d.nicm = nicm_new(d.lp, &d.child_mask, nicm_done_cb, &d);
	machines_init(&d);

	d.env.qe_emulator_dir = d.inv.inv_emulator_dir;
	d.env.qe_run_dir = d.inv.inv_run_dir;
	d.env.qe_state_dir = d.inv.inv_state_dir;
	d.env.qe_log_dir = d.inv.inv_log_dir;
	d.env.qe_listen = d.inv.inv_listen;
	{
		/*
		 * For the log only: each start decides for its VM's runas user
		 * (op_spawn). No trial guest here: a KVM that opens but cannot
		 * run guests shows itself in the first guest, which then falls
		 * back to TCG (vmserviced(8), ACCELERATION).
		 */
		struct hw_vm any = { .vm_name = "(default runas)", .vm_runas = d.inv.inv_runas };
		struct qpriv qp;
		char why[160];
		bool kvm = false;

		if (vmpriv_resolve_any(&d.inv, &any, &qp, why, sizeof(why)) == 0) {
			kvm = qkvm_probe(&qp, why, sizeof(why)) == 0;
			qpriv_free(&qp);
		}

		log_info("starting with %s: %zu VMs; kvm: %s%s", conf, d.inv.inv_n_vms, why,
		    kvm ? "" : " (accel = auto runs VMs under TCG)");
	}

	/*
	 * The control socket before the VMs' consoles and adoption: whatever
	 * the VMs take of the descriptor budget, vmctl can reach the daemon.
	 */
	d.sock_path = xasprintf("%s/" INV_SOCKET_NAME, d.inv.inv_run_dir);
	ctl = ctl_new(&d, d.sock_path, err, sizeof(err));
	if (!ctl)
		die_ready(d.ready_fd, "%s", err);
	daemon_init_vms(&d);
	daemon_autostart(&d);
	loop_set_idle(d.lp, daemon_idle, &d);

	notify_ready();
	if (d.ready_fd != -1) {
		if (write(d.ready_fd, "OK", 2) != 2)
			log_warn("cannot report readiness: %s", strerror(errno));
		close(d.ready_fd);
		d.ready_fd = -1;
		detach_stdio();
	}

	metrics_changed(&d);
	e = loop_run(d.lp);
	metrics_stop(&d);
	metrics_write(&d);	/* every VM's last state */
	if (e)
		log_err("event loop: %s", strerror(-e));
	ctl_free(ctl);
	daemon_free_vms(&d);
	reload_free(&d);
	alert_free(&d);
	machines_free(&d);
	scripts_free(d.scripts);
	nicm_free(d.nicm);
	loop_free(d.lp);
	{
		char *pf = xasprintf("%s/vmserviced.pid", d.inv.inv_run_dir);
		unlink(pf);
		free(pf);
	}
	close(d.pid_fd);
	close(d.sig_fd);
	log_info("exiting");
	inv_free(&d.inv);
	free(d.sock_path);
	free(d.conf_path);
	return e ? 1 : 0;
}
