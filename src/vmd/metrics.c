/* metrics_file: metrics.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/loop.h"
#include "lib/safe_path.h"
#include "lib/util.h"
#include "vmd/daemon.h"
#include "vmd/metrics.h"

/* A small /proc file into buf (NUL-terminated); -1 when it is gone. */
static int
read_proc(pid_t pid, const char *what, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return 0;
}

/* QEMU's CPU seconds (utime + stime) and RSS bytes from /proc/PID; -1 if gone. */
static int
proc_usage(pid_t pid, double *cpu, long long *rss)
{
	char buf[1024], *p;
	long long utime, stime, pages;

	if (read_proc(pid, "stat", buf, sizeof(buf)) < 0)
		return -1;
	/* After the command name, which may hold anything but ends with ") ". */
	if (!(p = strrchr(buf, ')')) ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld",
	    &utime, &stime) != 2)
		return -1;
	*cpu = (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
	if (read_proc(pid, "statm", buf, sizeof(buf)) < 0 ||
	    sscanf(buf, "%*d %lld", &pages) != 1)
		return -1;
	*rss = pages * sysconf(_SC_PAGESIZE);
	return 0;
}

/* A label value: backslash, quote and newline escaped (VM names are words anyway). */
static void
put_label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void
help(FILE *f, const char *name, const char *type, const char *text)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

/* One metric line per VM: fn prints its value, or nothing to leave it out. */
static void
per_vm(FILE *f, struct daemon *d, const char *name, const char *type, const char *text,
    void (*fn)(FILE *, const char *, const struct vm *, uint64_t), uint64_t now)
{
	help(f, name, type, text);
	for (size_t i = 0; i < d->n_vms; i++)
		fn(f, name, d->vms[i], now);
}

static void
prefix(FILE *f, const char *name, const struct vm *vm)
{
	fprintf(f, "%s{vm=\"", name);
	put_label(f, vm->vm_name);
	fputc('"', f);
}

static void
m_state(FILE *f, const char *name, const struct vm *vm, uint64_t now)
{
	prefix(f, name, vm);
	fprintf(f, ",state=\"%s\"} 1\n", sup_state_name(vm->vm_state));
}

static void
m_up(FILE *f, const char *name, const struct vm *vm, uint64_t now)
{
	prefix(f, name, vm);
	fprintf(f, "} %d\n", sup_has_process(vm) ? 1 : 0);
}

static void
m_uptime(FILE *f, const char *name, const struct vm *vm, uint64_t now)
{
	bool up = vm->vm_state == VS_RUNNING || vm->vm_state == VS_BOOTING ||
	    vm->vm_state == VS_NOT_READY;

	prefix(f, name, vm);
	fprintf(f, "} %.3f\n", up && vm->vm_started_ms ?
	    (double)(now - vm->vm_started_ms) / 1000.0 : 0.0);
}

static void
m_restarts(FILE *f, const char *name, const struct vm *vm, uint64_t now)
{
	prefix(f, name, vm);
	fprintf(f, "} %u\n", vm->vm_restarts);
}

static void
m_reason(FILE *f, const char *name, const struct vm *vm, uint64_t now)
{
	if (vm->vm_reason == SR_NONE)
		return;
	prefix(f, name, vm);
	fprintf(f, ",reason=\"%s\"} 1\n", sup_reason_name(vm->vm_reason));
}

/* QEMU's CPU seconds or RSS bytes; nothing without a QEMU. */
static void
usage_line(FILE *f, const char *name, const struct vm *vm, bool rss_not_cpu)
{
	double cpu;
	long long rss;

	if (vm->vm_pid <= 0 || proc_usage(vm->vm_pid, &cpu, &rss) < 0)
		return;
	prefix(f, name, vm);
	if (rss_not_cpu)
		fprintf(f, "} %lld\n", rss);
	else
		fprintf(f, "} %.2f\n", cpu);
}

static void
m_cpu(FILE *f, const char *name, const struct vm *vm, uint64_t now)
{
	usage_line(f, name, vm, false);
}

static void
m_rss(FILE *f, const char *name, const struct vm *vm, uint64_t now)
{
	usage_line(f, name, vm, true);
}

static void
render(FILE *f, struct daemon *d)
{
	uint64_t now = now_ms();
	double cpu;
	long long rss;

	per_vm(f, d, "vmservice_vm_state", "gauge",
	    "The state each VM is in (vmctl status), 1 on that state's series.", m_state, now);
	per_vm(f, d, "vmservice_vm_up", "gauge", "1 when the VM's QEMU process runs.", m_up, now);
	per_vm(f, d, "vmservice_vm_uptime_seconds", "gauge",
	    "Seconds since the VM's QEMU answered QMP, 0 when it is not up.", m_uptime, now);
	per_vm(f, d, "vmservice_vm_restarts_total", "counter",
	    "Restarts by the VM's restart policy since the daemon started.", m_restarts, now);
	per_vm(f, d, "vmservice_vm_last_stop_reason", "gauge",
	    "Why the VM last stopped, 1 on that reason's series.", m_reason, now);
	per_vm(f, d, "vmservice_vm_cpu_seconds_total", "counter",
	    "CPU time of the VM's QEMU process (user + system).", m_cpu, now);
	per_vm(f, d, "vmservice_vm_rss_bytes", "gauge",
	    "Resident memory of the VM's QEMU process.", m_rss, now);
	help(f, "vmservice_daemon_rss_bytes", "gauge", "Resident memory of vmserviced.");
	if (proc_usage(getpid(), &cpu, &rss) == 0)
		fprintf(f, "vmservice_daemon_rss_bytes %lld\n", rss);
	help(f, "vmservice_vms", "gauge", "VMs the daemon supervises.");
	fprintf(f, "vmservice_vms %zu\n", d->n_vms);
}

void
metrics_write(struct daemon *d)
{
	const char *path = d->inv.inv_metrics_file, *base;
	char err[PATH_MAX + 128], tmp[NAME_MAX + 1];
	FILE *f;
	int dfd, fd, e = 0;

	if (!path)
		return;
	/* No link a non-root user planted on the way (safe_path.h). */
	if ((dfd = sp_open_parent(path, &base, err, sizeof(err))) < 0) {
		log_warn("metrics_file: %s", err);
		return;
	}
	if (snprintf(tmp, sizeof(tmp), ".%s.tmp", base) >= (int)sizeof(tmp)) {
		log_warn("metrics_file %s: name too long", path);
		close(dfd);
		return;
	}
	(void)unlinkat(dfd, tmp, 0);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd == -1 || !(f = fdopen(fd, "w"))) {
		log_warn("metrics_file: cannot create %s beside %s: %s", tmp, path, strerror(errno));
		if (fd != -1)
			close(fd);
		close(dfd);
		return;
	}
	render(f, d);
	if (ferror(f))
		e = EIO;
	if (fclose(f) == EOF && !e)
		e = errno;
	if (!e && renameat(dfd, tmp, dfd, base) == -1)
		e = errno;
	if (e) {
		log_warn("metrics_file %s: %s", path, strerror(e));
		(void)unlinkat(dfd, tmp, 0);
	}
	close(dfd);
}

static void
metrics_cb(struct loop *lp, void *arg)
{
	struct daemon *d = arg;

	d->metrics_timer = 0;
	metrics_write(d);
	if (d->inv.inv_metrics_file)
		d->metrics_timer = loop_add_timer(d->lp, d->inv.inv_metrics_interval * 1000ull,
		    metrics_cb, d);
	d->metrics_due_ms = d->metrics_timer ? now_ms() + d->inv.inv_metrics_interval * 1000ull :
	    0;
}

void
metrics_changed(struct daemon *d)
{
	uint64_t now = now_ms();

	if (!d->inv.inv_metrics_file || !d->lp)
		return;
	if (d->metrics_timer && d->metrics_due_ms <= now + METRICS_COALESCE_MS)
		return;		/* a write comes soon enough */
	if (d->metrics_timer)
		loop_cancel_timer(d->lp, d->metrics_timer);
	d->metrics_timer = loop_add_timer(d->lp, METRICS_COALESCE_MS, metrics_cb, d);
	d->metrics_due_ms = now + METRICS_COALESCE_MS;
}

void
metrics_stop(struct daemon *d)
{
	if (d->metrics_timer)
		loop_cancel_timer(d->lp, d->metrics_timer);
	d->metrics_timer = 0;
}
