/* Thin wrappers over libsystemd's sd_notify. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>

#include "lib/log.h"
#include "vmd/notify.h"

bool
notify_enabled(void)
{
	const char *s = getenv("NOTIFY_SOCKET");
	return s && *s;
}

static void
send_state(const char *state)
{
	int r;

	if (!notify_enabled())
		return;
	r = sd_notify(0, state);
	if (r < 0)
		log_debug("sd_notify(%s): error %d", state, r);
}

void
notify_ready(void)
{
	send_state("READY=1");
}

void
notify_stopping(void)
{
	send_state("STOPPING=1");
}

void
notify_status(const char *fmt, ...)
{
	char buf[512];
	int n;
	va_list ap;

	n = snprintf(buf, sizeof(buf), "STATUS=");
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	send_state(buf);
}

void
notify_extend(uint64_t usec)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "EXTEND_TIMEOUT_USEC=%llu", (unsigned long long)usec);
	send_state(buf);
}
