/* Logging: to the journal when started by systemd, else to stderr. */
#ifndef VMS_LOG_H
#define VMS_LOG_H
#include <syslog.h>

enum log_target { LOG_TO_STDERR, LOG_TO_JOURNAL, LOG_TO_SYSLOG };

/*
 * The log sink is the one piece of process-wide mutable state outside the
 * daemon's struct: every module logs, and threading a logger through each
 * call would only add noise. It is set once at start-up.
 */
void log_init(const char *ident, enum log_target target, int max_prio);
/* LOG_TO_JOURNAL when JOURNAL_STREAM matches stderr, else LOG_TO_STDERR. */
enum log_target log_guess_target(void);
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Like log_msg but tags the message with a VM name (journal field VMSERVICE_VM=). */
void log_vm(int prio, const char *vm, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* log_vm with a journal MESSAGE_ID (32 hex digits, one per kind of event). */
void log_vm_id(int prio, const char *vm, const char *msgid, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * A complaint that can repeat for many VMs or many wake-ups (out of file
 * descriptors, say): the first LOG_BURST of an episode are logged, the
 * rest counted; log_burst_end() says how many were not, and starts anew.
 * The caller owns the struct (no global state).
 */
#define LOG_BURST	3
struct log_burst {
	unsigned	 lb_n;
};
void log_burst(struct log_burst *b, int prio, const char *vm, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void log_burst_end(struct log_burst *b, int prio, const char *what);

#define log_err(...)	log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)
#endif
