/* Minimal TAP helpers for C unit tests; tests/run counts the lines. */
#ifndef VMS_TAP_H
#define VMS_TAP_H
#include <stdio.h>
#include <string.h>

static int tap_failed;

/* cond is evaluated once. */
#define OK(cond, ...) do { \
	int c_ = !!(cond); \
	if (c_) { printf("ok - "); } \
	else { printf("not ok - "); tap_failed++; } \
	printf(__VA_ARGS__); printf("\n"); \
	if (!c_) printf("#   at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
	fflush(stdout); \
} while (0)

#define OK_STREQ(got, want, ...) do { \
	const char *g_ = (got), *w_ = (want); \
	int eq_ = (g_ && w_) ? strcmp(g_, w_) == 0 : g_ == w_; \
	OK(eq_, __VA_ARGS__); \
	if (!eq_) printf("#   got:  %s\n#   want: %s\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
} while (0)

#define TAP_DONE() (tap_failed ? 1 : 0)
#endif
