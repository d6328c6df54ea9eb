/* Small helpers used everywhere: allocation, strings, argv vectors. */
#ifndef VMS_UTIL_H
#define VMS_UTIL_H
#include <stddef.h>
#include <sys/types.h>
#include <stdint.h>
#include <stdarg.h>

/*
 * Allocation failure aborts. A VM service that cannot allocate a few bytes
 * cannot do anything useful or safe; the QEMU processes survive the daemon
 * and are re-adopted on restart. (redis' zmalloc makes the same choice.)
 */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* Grow *p (of *cap elements of size sz) to hold at least want elements. */
void xgrow(void *pp, size_t *cap, size_t want, size_t sz);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* snprintf that never overflows and reports truncation as -ENAMETOOLONG. */
int xsnprintf(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A growable NULL-terminated vector of owned strings (an argv). */
struct strv {
	char	**sv_v;		/* NULL-terminated */
	size_t	  sv_n;
	size_t	  sv_cap;
};
void strv_push(struct strv *sv, const char *s);
void strv_pushf(struct strv *sv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void strv_free(struct strv *sv);

/*
 * Split a string into words the way a POSIX shell would for quoting only:
 * whitespace separates, '...' is literal, "..." allows \" \\ \$ \`, a
 * backslash outside quotes escapes the next character. No expansion of any
 * kind. Returns 0, or -EINVAL with a message in err for unterminated quotes.
 */
int shell_split(const char *s, struct strv *out, char *err, size_t errlen);

/* Quote one word for a POSIX shell ('...' with '\'' for quotes), for display. */
char *shell_quote(const char *s);

/*
 * Parse a size with an optional unit: 512, 64K, 256M, 10G, 1T (powers of
 * 1024; "k", "KiB", "KB" and "MB" accepted as the same). Returns 0 or -EINVAL.
 */
int parse_size(const char *s, uint64_t *out);

/* Monotonic clock in milliseconds. */
uint64_t now_ms(void);

/* write(2) until all n bytes are out (EINTR retried). 0 or -errno. */
int fd_write_all(int fd, const void *p, size_t n);
/*
 * Replace path's contents atomically: a fresh temporary beside it (O_EXCL,
 * so never a planted link), then rename(2) over path, which follows
 * nothing: a reader sees the old file or the new one. The temporary is
 * fsynced before the rename and the directory after it, so that a crash
 * leaves the old contents or the new, never an empty file. 0 or -errno.
 */
int file_replace(const char *path, const void *p, size_t n, unsigned mode);
/*
 * Read at most len - 1 bytes of a small regular file into buf (NUL-ended),
 * opened O_NONBLOCK | O_NOCTTY | extra (e.g. O_NOFOLLOW): a FIFO or a
 * device in its place never holds the loop (-EINVAL). Bytes read, or -errno.
 */
ssize_t file_read_small(const char *path, int extra, char *buf, size_t len);

#endif
