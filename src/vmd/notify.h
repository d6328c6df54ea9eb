/* sd_notify(3) to the service manager; every call is a no-op without NOTIFY_SOCKET. */
#ifndef VMS_NOTIFY_H
#define VMS_NOTIFY_H
#include <stdbool.h>
#include <stdint.h>

bool notify_enabled(void);
void notify_ready(void);
void notify_stopping(void);
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* EXTEND_TIMEOUT_USEC: the manager waits at least usec more from now. */
void notify_extend(uint64_t usec);
#endif
