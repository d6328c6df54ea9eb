/* Unit tests for src/lib: splitting, quoting, sizes, diagnostics. */
#include <errno.h>
#include <stdlib.h>

#include "lib/diag.h"
#include "lib/util.h"
#include "hw/hw.h"
#include "tap.h"

static void
test_split(void)
{
	struct strv sv = { 0 };
	char err[128];

	OK(shell_split("  -device 'a b'  \"c\\\"d\" e\\ f ''", &sv, err, sizeof(err)) == 0,
	    "shell_split accepts quoted input");
	OK(sv.sv_n == 5, "shell_split yields 5 words (got %zu)", sv.sv_n);
	if (sv.sv_n == 5) {
		OK_STREQ(sv.sv_v[0], "-device", "word 1");
		OK_STREQ(sv.sv_v[1], "a b", "single quotes keep spaces");
		OK_STREQ(sv.sv_v[2], "c\"d", "double quotes allow \\\"");
		OK_STREQ(sv.sv_v[3], "e f", "backslash escapes a space");
		OK_STREQ(sv.sv_v[4], "", "empty quotes give an empty word");
	}
	strv_free(&sv);
	OK(shell_split("a 'b", &sv, err, sizeof(err)) == -EINVAL, "unterminated quote refused");
	OK_STREQ(err, "unterminated ' quote", "message names the quote");
	strv_free(&sv);
	OK(shell_split("$(rm -rf /) `x` ;|&", &sv, err, sizeof(err)) == 0 && sv.sv_n == 5,
	    "no expansion: metacharacters stay literal words");
	strv_free(&sv);
}

static void
test_quote(void)
{
	char *q;

	q = shell_quote("plain-word_1.2");
	OK_STREQ(q, "plain-word_1.2", "safe word left alone");
	free(q);
	q = shell_quote("it's a b");
	OK_STREQ(q, "'it'\\''s a b'", "quote inside quotes");
	free(q);
	q = shell_quote("");
	OK_STREQ(q, "''", "empty word quoted");
	free(q);
}

static void
test_size(void)
{
	uint64_t v = 0;

	OK(parse_size("512", &v) == 0 && v == 512, "plain bytes");
	OK(parse_size("64K", &v) == 0 && v == 65536, "K suffix");
	OK(parse_size("256M", &v) == 0 && v == 256ULL << 20, "M suffix");
	OK(parse_size("10GiB", &v) == 0 && v == 10ULL << 30, "GiB suffix");
	OK(parse_size("1t", &v) == 0 && v == 1ULL << 40, "lower-case t");
	OK(parse_size("12Q", &v) == -EINVAL, "unknown unit refused");
	OK(parse_size("-1", &v) == -EINVAL, "negative refused");
	OK(parse_size("99999999999999T", &v) == -EINVAL, "overflow refused");
}

static void
test_ids(void)
{
	uint8_t a[6], b[6], c[6], u1[16], u2[16];
	char buf[37];

	hw_derive_mac("web", 0, a);
	hw_derive_mac("web", 0, b);
	hw_derive_mac("web", 1, c);
	OK(memcmp(a, b, 6) == 0, "derived MAC is stable");
	OK(memcmp(a, c, 6) != 0, "derived MAC differs per NIC");
	OK(a[0] == 0x52 && a[1] == 0x54 && a[2] == 0, "derived MAC in 52:54:00");
	hw_format_mac(a, buf);
	OK(hw_parse_mac(buf, b) == 0 && memcmp(a, b, 6) == 0, "MAC round-trips (%s)", buf);
	OK(hw_parse_mac("01:00:5e:00:00:01", b) == -1, "multicast MAC refused");
	OK(hw_parse_mac("52:54:00:12:34", b) == -1, "short MAC refused");
	hw_derive_uuid("web", u1);
	hw_derive_uuid("db", u2);
	OK(memcmp(u1, u2, 16) != 0, "UUIDs differ per VM");
	hw_format_uuid(u1, buf);
	OK(strlen(buf) == 36 && buf[14] == '8', "UUID is version 8 (%s)", buf);
}

static void
test_diag(void)
{
	struct diag d = { 0 };
	char *s;

	diag_add(&d, DIAG_ERROR, "a.conf", 12, "web", DC_RANGE, "smp %d too big", 999);
	diag_add(&d, DIAG_WARNING, "a.conf", 0, NULL, DC_VALUE, "odd");
	OK(d.dg_errors == 1 && d.dg_n == 2, "diag counts errors");
	s = diag_format(&d.dg_items[0]);
	OK_STREQ(s, "a.conf:12: error: vm web: smp 999 too big [out-of-range]", "diag format");
	free(s);
	s = diag_format(&d.dg_items[1]);
	OK_STREQ(s, "a.conf: warning: odd [bad-value]", "diag format without line or vm");
	free(s);
	diag_free(&d);
}

int
main(void)
{
	test_split();
	test_quote();
	test_size();
	test_ids();
	test_diag();
	return TAP_DONE();
}
