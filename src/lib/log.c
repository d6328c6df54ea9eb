/* Logging to stderr, syslog or the systemd journal. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>

#include "lib/log.h"

static struct {
	const char	*ident;
	enum log_target	 target;
	int		 max_prio;
} logcfg = { "vmservice", LOG_TO_STDERR, LOG_INFO };

void
log_init(const char *ident, enum log_target target, int max_prio)
{
	logcfg.ident = ident;
	logcfg.target = target;
	logcfg.max_prio = max_prio;
	if (target == LOG_TO_SYSLOG)
		openlog(ident, LOG_PID, LOG_DAEMON);
}

enum log_target
log_guess_target(void)
{
	/* systemd sets JOURNAL_STREAM=dev:ino for the stream behind stderr. */
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return LOG_TO_STDERR;
	if (fstat(2, &st) == -1)
		return LOG_TO_STDERR;
	if ((unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino)
		return LOG_TO_JOURNAL;
	return LOG_TO_STDERR;
}

static void
log_emit(int prio, const char *vm, const char *msgid, const char *fmt, va_list ap)
{
	static const char *names[] = { "emerg", "alert", "crit", "error",
	    "warning", "notice", "info", "debug" };
	char msg[2048];

	if (prio > logcfg.max_prio)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	switch (logcfg.target) {
	case LOG_TO_JOURNAL:
		if (vm && msgid)
			sd_journal_send("MESSAGE=%s: %s", vm, msg, "PRIORITY=%d", prio,
			    "VMSERVICE_VM=%s", vm, "MESSAGE_ID=%s", msgid,
			    "SYSLOG_IDENTIFIER=%s", logcfg.ident, NULL);
		else if (vm)
			sd_journal_send("MESSAGE=%s: %s", vm, msg, "PRIORITY=%d", prio,
			    "VMSERVICE_VM=%s", vm, "SYSLOG_IDENTIFIER=%s", logcfg.ident, NULL);
		else
			sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", prio,
			    "SYSLOG_IDENTIFIER=%s", logcfg.ident, NULL);
		break;
	case LOG_TO_SYSLOG:
		if (vm)
			syslog(prio, "%s: %s", vm, msg);
		else
			syslog(prio, "%s", msg);
		break;
	case LOG_TO_STDERR:
		if (vm)
			fprintf(stderr, "%s: %s: %s: %s\n", logcfg.ident,
			    names[prio & 7], vm, msg);
		else
			fprintf(stderr, "%s: %s: %s\n", logcfg.ident, names[prio & 7], msg);
		break;
	}
}

void
log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(prio, NULL, NULL, fmt, ap);
	va_end(ap);
}

void
log_vm(int prio, const char *vm, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(prio, vm, NULL, fmt, ap);
	va_end(ap);
}

void
log_vm_id(int prio, const char *vm, const char *msgid, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(prio, vm, msgid, fmt, ap);
	va_end(ap);
}

void
log_burst(struct log_burst *b, int prio, const char *vm, const char *fmt, ...)
{
	va_list ap;

	if (b->lb_n++ >= LOG_BURST)
		return;
	va_start(ap, fmt);
	log_emit(prio, vm, NULL, fmt, ap);
	va_end(ap);
}

void
log_burst_end(struct log_burst *b, int prio, const char *what)
{
	if (b->lb_n > LOG_BURST)
		log_msg(prio, "%u more %s not logged", b->lb_n - LOG_BURST, what);
	b->lb_n = 0;
}
