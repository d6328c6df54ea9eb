/*
 * The guest console log, rotated by size: NAME.console.log, then .1 (the
 * newest old one) ... .keep. A file never grows past the configured size;
 * a write that would cross it is split and the rest goes to a fresh file.
 */
#ifndef VMS_CONSOLE_LOG_H
#define VMS_CONSOLE_LOG_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct console_log {
	int		 cl_fd;		/* -1: not open */
	char		*cl_path;
	uint64_t	 cl_size;	/* bytes in the current file */
	uint64_t	 cl_max;	/* 0: never rotate */
	unsigned	 cl_keep;	/* rotated files kept; 0: truncate instead */
};

/*
 * Open (create, append to) path. O_NOFOLLOW: the log directory may be
 * shared with less trusted users, a planted symlink must not redirect
 * the daemon's writes. Returns 0 or -errno with a message in err.
 */
int console_log_open(struct console_log *cl, const char *path, uint64_t max_size,
    unsigned keep, char *err, size_t errlen);
/* Append all n bytes, rotating as needed. Returns 0 or -errno (+ err). */
int console_log_write(struct console_log *cl, const void *buf, size_t n,
    char *err, size_t errlen);
void console_log_close(struct console_log *cl);
/*
 * A console whose VM is down holds no descriptor for its log (issue 20:
 * 1,000 declared VMs, 1,000 fds otherwise): sleep closes the file and
 * keeps the path; wake opens it again, with open's checks (O_NOFOLLOW, a
 * regular file). Wake is a no-op on an open log. 0 or -errno (+ err).
 */
void console_log_sleep(struct console_log *cl);
int console_log_wake(struct console_log *cl, char *err, size_t errlen);
/*
 * The last (at most) max bytes of the current file into buf, from the fd
 * written to (no path lookup: the directory may be shared). Returns the
 * count and the bytes before them in *before, or -errno. A regular file
 * the daemon writes: the read does not block on a guest.
 */
ssize_t console_log_tail(struct console_log *cl, void *buf, size_t max, uint64_t *before);

/*
 * The chardev spool (console.h cc_spool) is a file the QEMU user writes:
 * opened O_NONBLOCK | O_NOFOLLOW | O_NOCTTY, and only a regular file with
 * one link is taken (a FIFO would block, a device or a hard link to
 * another file must not be read and truncated as root). Returns the fd
 * (O_RDWR, for the truncation) or -errno with a message in err.
 */
int console_spool_open(const char *path, char *err, size_t errlen);
/*
 * Seek fd to its last max bytes: a spool may be huge (sparse, gigabytes)
 * and only its end fits the log and the scrollback. Returns 0 and the
 * bytes skipped before that point, or -errno.
 */
int console_spool_tail(int fd, uint64_t max, uint64_t *skipped);
#endif
