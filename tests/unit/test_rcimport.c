/*
 * Unit tests for `vmctl import-rc`: the bash reader (rcword.c) on odd
 * quoting, its errors with their lines, and conversions of whole files
 * (rcimport.c, rcqemu.c) checked on the text they print.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/diag.h"
#include "lib/util.h"
#include "config/rcword.h"
#include "config/rcimport.h"
#include "tap.h"

static struct rcw_file f;
static struct diag d;

static int
parse(const char *text)
{
	rcw_free(&f);
	diag_free(&d);
	memset(&d, 0, sizeof(d));
	return rcw_parse(text, strlen(text), "t.conf", &f, &d);
}

static const char *
val(const char *name, size_t i)
{
	const struct rcw_var *v = rcw_find(&f, name);

	return v && i < v->rv_n ? v->rv_words[i].w_s : NULL;
}

static size_t
count(const char *name)
{
	const struct rcw_var *v = rcw_find(&f, name);

	return v ? v->rv_n : 0;
}

/* The first diagnostic as printed, for the error cases. */
static char *
first_diag(void)
{
	return d.dg_n ? diag_format(&d.dg_items[0]) : xstrdup("(none)");
}

static void
test_quoting(void)
{
	OK(parse("A=plain\n"
	    "B=\"two words\"   # a comment\n"
	    "C='single \"and\" $A'\n"
	    "D=a\"b c\"'d e'f\n"
	    "E=$'tab\\there\\nnl \\'q\\' \\x41'\n"
	    "F=\"$A-${A}-\\$A-\\\"-\\\\\"\n"
	    "G=\"one\\\n"
	    "two\"\n"
	    "H=un\\\n"
	    "quoted\n"
	    "I= ; J=\"\"\n"
	    "export K=\"x y\" L=z\n"
	    "M=$A\"$B\"\n") == 0, "odd quoting parses");
	OK_STREQ(val("A", 0), "plain", "bare word");
	OK_STREQ(val("B", 0), "two words", "double quotes keep the blank; comment after");
	OK_STREQ(val("C", 0), "single \"and\" $A", "single quotes are literal");
	OK_STREQ(val("D", 0), "ab cd ef", "quoted parts concatenate");
	OK_STREQ(val("E", 0), "tab\there\nnl 'q' A", "$'...' escapes");
	OK_STREQ(val("F", 0), "plain-plain-$A-\"-\\", "expansion and escapes in double quotes");
	OK_STREQ(val("G", 0), "onetwo", "backslash-newline inside double quotes joins lines");
	OK_STREQ(val("H", 0), "unquoted", "backslash-newline outside quotes joins lines");
	OK_STREQ(val("I", 0), "", "empty value before ;");
	OK_STREQ(val("J", 0), "", "empty quotes");
	OK_STREQ(val("K", 0), "x y", "export NAME=...");
	OK_STREQ(val("L", 0), "z", "two assignments on one line");
	OK_STREQ(val("M", 0), "plaintwo words", "expansions concatenate");
	OK(d.dg_n == 0, "no diagnostics (%zu)", d.dg_n);
}

static void
test_arrays(void)
{
	OK(parse("QEMU_MACHINES=(vm1 # first\n"
	    "   !vm2   \"v m3\"\n"
	    "# a whole comment line\n"
	    "  'vm4'\\\n"
	    "x )\n"
	    "QEMU_MACHINES+=(vm5)\n"
	    "S=one; S+=\" two\"\n"
	    "declare -a E=()\n") == 0, "arrays parse");
	OK(count("QEMU_MACHINES") == 5, "five elements (%zu)", count("QEMU_MACHINES"));
	OK_STREQ(val("QEMU_MACHINES", 0), "vm1", "element 0");
	OK_STREQ(val("QEMU_MACHINES", 1), "!vm2", "! kept");
	OK_STREQ(val("QEMU_MACHINES", 2), "v m3", "quoted element");
	OK_STREQ(val("QEMU_MACHINES", 3), "vm4x", "continued element");
	OK_STREQ(val("QEMU_MACHINES", 4), "vm5", "+= appends");
	OK_STREQ(val("S", 0), "one two", "+= on a scalar");
	OK(rcw_find(&f, "E") && count("E") == 0, "declare -a with an empty array");
}

static void
test_lines(void)
{
	struct strv w = { 0 };
	int *ln = NULL;

	OK(parse("\n# c\nq=\"-m 64 \\\n  -hda a.img\n  -vnc :1\"\n") == 0, "multi-line value");
	rcw_ifs_split(&rcw_find(&f, "q")->rv_words[0], &w, &ln);
	OK(w.sv_n == 6, "six words (%zu)", w.sv_n);
	if (w.sv_n == 6) {
		OK_STREQ(w.sv_v[2], "-hda", "continued line split at blanks");
		OK(ln[0] == 3 && ln[2] == 4 && ln[4] == 5, "word lines 3 4 5 (%d %d %d)",
		    ln[0], ln[2], ln[4]);
	}
	OK(rcw_find(&f, "q")->rv_line == 3, "assignment line");
	strv_free(&w);
	free(ln);
	ln = NULL;
	OK(parse("q=\"-drive 'file=a b'\"\n") == 0, "quotes inside a value");
	rcw_ifs_split(&rcw_find(&f, "q")->rv_words[0], &w, &ln);
	OK(w.sv_n == 3 && strcmp(w.sv_v[1], "'file=a") == 0,
	    "the rc-script's unquoted expansion keeps inner quotes literal");
	strv_free(&w);
	free(ln);
}

static void
check_error(const char *text, const char *want, const char *what)
{
	char *m;

	OK(parse(text) == -EINVAL, "%s: refused", what);
	m = first_diag();
	OK(strstr(m, want) != NULL, "%s: %s", what, m);
	free(m);
}

static void
test_errors(void)
{
	check_error("A=1\nB=\"open\n\n", "t.conf:2: error: unterminated \" quote",
	    "unterminated double quote at its opening line");
	check_error("A='x\n", "t.conf:1: error: unterminated ' quote", "unterminated single quote");
	check_error("Q=(a\nb\n", "t.conf:1: error: unterminated ( array", "unterminated array");
	check_error("\nA=$(rm -rf /)\n", "t.conf:2: error: $(...) would run a command",
	    "command substitution");
	check_error("A=`id`\n", "t.conf:1: error: `...` would run", "backticks");
	check_error("A=${B:-x}\n", "operator cannot be evaluated", "${B:-x}");
	check_error("A=$1\n", "$1 cannot be known", "positional parameter");
	check_error("A=$'x\n", "unterminated $' quote", "unterminated $'");
	OK(parse("if [ -x /bin/true ]; then\nA=1\nfi\nA=\"$UNSET\"\n") == 0,
	    "other statements are not errors");
	OK(d.dg_n == 4 && d.dg_items[0].di_sev == DIAG_WARNING && d.dg_items[0].di_line == 1 &&
	    d.dg_items[3].di_line == 4, "warnings: if, then-less fi, [ ... ], $UNSET (%zu)",
	    d.dg_n);
	OK_STREQ(val("A", 0), "", "an unset variable is empty");
	{
		const char bin[] = "A=1\nB=\0\n";
		diag_free(&d);
		memset(&d, 0, sizeof(d));
		rcw_free(&f);
		OK(rcw_parse(bin, sizeof(bin) - 1, "t.conf", &f, &d) == -EINVAL && d.dg_n == 1 &&
		    d.dg_items[0].di_line == 2, "a NUL byte is an error at its line");
	}
}

/* Convert text; the printed configuration, or NULL on error. */
static char *
convert(const char *text, int *rc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *o = open_memstream(&buf, &len);

	diag_free(&d);
	memset(&d, 0, sizeof(d));
	*rc = rci_import_text(text, strlen(text), "q.conf", o, &d);
	fclose(o);
	return buf;
}

static void
has(const char *out, const char *want, const char *what)
{
	OK(out && strstr(out, want), "%s: has %s", what, want);
}

static void
test_convert(void)
{
	int rc;
	char *o;

	o = convert("QEMU_MACHINES=(a !b c)\n"
	    "qemu_a=\"-m 256 -hdb /x/b.img -hda /x/a.img -net nic -net user -redir tcp:2222::22\"\n"
	    "qemu_a_haltcmd=\"echo quit | nc localhost 4444\"\n"
	    "qemu_b='-m 1G -nographic disk.img -net none -serial mon:telnet:0.0.0.0:7001,server,nowait'\n"
	    "qemu_b_haltcmd='ssh root@b poweroff'\n"
	    "qemu_c=\"-hda /x/c.img -drive file=/x/d,if=none,id=d1 -device scsi-hd,drive=d1,bootindex=2"
	    " -device virtio-scsi-pci -cpu host,+vmx -machine pc,accel=kvm:tcg,usb=on\"\n"
	    "qemu_c_haltcmd=\"printf 'stop\\\\n' | socat - tcp:localhost:4445\"\n"
	    "qemu_c_type=kvm\n", &rc);
	OK(rc == 0, "a three-VM file converts");
	has(o, "vm a {", "a");
	has(o, "memory = 256M", "bare -m is MiB");
	OK(o && strstr(o, "/x/a.img") < strstr(o, "/x/b.img"), "-hda before -hdb whatever the order");
	has(o, "mac = \"52:54:00:12:34:56\"", "QEMU's default MAC");
	has(o, "hostfwd = { \"tcp::2222-:22\" }", "-redir became hostfwd");
	has(o, "halt = quit", "echo quit | nc");
	has(o, "vm b {\n\t# !b in QEMU_MACHINES: not started at boot\n\tautostart = no",
	    "!b: autostart = no");
	has(o, "file = \"/disk.img\"", "a bare relative word is -hda, relative to /");
	has(o, "serial = 7001", "mon:telnet serial");
	has(o, "halt = acpi\n\thalt_timeout = 30", "a shell haltcmd becomes acpi");
	{
		const char *b = o ? strstr(o, "vm b {") : NULL, *c = o ? strstr(o, "vm c {") : NULL;
		const char *nic = b ? strstr(b, "nic {") : NULL;
		OK(b && c && nic > c, "-net none: no NIC");
	}
	has(o, "if = scsi\n\t\tindex = 2", "-drive if=none + -device scsi-hd,bootindex");
	has(o, "extra_args = \"-cpu host,+vmx -machine usb=on\"", "cpu flags and machine keys kept");
	has(o, "accel = auto", "accel=kvm:tcg is auto");
	has(o, "halt = command\n\thalt_command = \"stop\"", "printf | socat: halt = command");
	{
		const char *c = o ? strstr(o, "vm c {") : NULL;
		OK(c && !strstr(c, "mac = \"52:54:00:12:34:56\"") &&
		    strstr(c, "# QEMU's default MAC 52:54:00:12:34:56 is another NIC's too"),
		    "c's default NIC: a's MAC already, derived, with a note");
	}
	OK(d.dg_errors == 0 && d.dg_n >= 4, "warnings, no errors (%zu)", d.dg_n);
	free(o);

	o = convert("QEMU_MACHINES=(x)\nqemu_x=\"-m 64 -hda 'a b.img\"\n", &rc);
	OK(rc == 0, "inner quotes are not the file's quoting");
	has(o, "file = \"/'a\"", "the rc-script split at the blank");
	free(o);

	o = convert("QEMU_MACHINES=(x)\nqemu_x=\"-m 64\nqemu_y=1\n", &rc);
	OK(rc == -EINVAL && (!o || !*o), "an unterminated quote: an error, nothing printed");
	free(o);
	o = convert("QEMU_MACHINES=('bad name')\nqemu_x=1\n", &rc);
	OK(rc == -EINVAL, "a VM name the inventory refuses is an error");
	free(o);
	o = convert("QEMU_MACHINES='x !y'\nqemu_x='-m 64'\nqemu_y='-m 32'\n", &rc);
	OK(rc == 0 && d.dg_n >= 1 && d.dg_items[0].di_line == 1, "QEMU_MACHINES as a string: "
	    "split, with a warning");
	has(o, "vm y {\n\t# !y in QEMU_MACHINES", "... both VMs");
	free(o);
	o = convert("V=(a)\nV=($V b)\nQEMU_MACHINES=(\"${V}\" $V)\nqemu_a='-m 64'\n", &rc);
	OK(rc == 0 && d.dg_n == 1 && strstr(d.dg_items[0].di_msg, "listed twice"),
	    "A=($A x) sees the old A");
	free(o);
	o = convert("qemu_x=1\n", &rc);
	OK(rc == -EINVAL, "no QEMU_MACHINES is an error");
	free(o);
	o = convert("QEMU_MACHINES=(x)\nqemu_x='-kernel /k -append \"a -foo $b\"'\n", &rc);
	has(o, "append = \"\\\"a\"", "inner double quote escaped for libconfuse");
	has(o, "extra_args = \"-foo '\\$b\\\"'\"", "and $ escaped (libconfuse expands ${...})");
	free(o);
}

int
main(void)
{
	test_quoting();
	test_arrays();
	test_lines();
	test_errors();
	test_convert();
	rcw_free(&f);
	diag_free(&d);
	return TAP_DONE();
}
