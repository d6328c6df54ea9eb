/* The telnet input filter: negotiation out, data (and IAC IAC) through. */
#include <stdint.h>
#include <string.h>

#include "service/telnet.h"
#include "tap.h"

static size_t
run(int *st, const char *in, size_t n, char *out)
{
	return telnet_filter(st, (const uint8_t *)in, n, (uint8_t *)out);
}

int
main(void)
{
	char out[64];
	size_t n;
	int st = 0;

	n = run(&st, "ls\r\n", 4, out);
	OK(n == 4 && memcmp(out, "ls\r\n", 4) == 0, "plain data passes");
	n = run(&st, "\377\375\001\377\373\003ok", 8, out);
	OK(n == 2 && memcmp(out, "ok", 2) == 0, "DO ECHO, WILL SGA dropped");
	n = run(&st, "\377\372\037\000\120\000\030\377\360x", 10, out);
	OK(n == 1 && out[0] == 'x', "subnegotiation (NAWS) dropped");
	n = run(&st, "a\377\377b", 4, out);
	OK(n == 3 && (uint8_t)out[1] == 0xff, "IAC IAC is a data 0xff");
	n = run(&st, "\r\000q", 3, out);
	OK(n == 2 && memcmp(out, "\rq", 2) == 0, "CR NUL becomes CR");
	/* Sequences cut across reads. */
	n = run(&st, "\377", 1, out);
	OK(n == 0, "lone IAC held");
	n = run(&st, "\375", 1, out);
	OK(n == 0, "IAC DO held");
	n = run(&st, "\001z", 2, out);
	OK(n == 1 && out[0] == 'z', "option byte in the next read dropped");
	n = run(&st, "\r", 1, out);
	n += run(&st, "\000y", 2, out + n);
	OK(n == 2 && memcmp(out, "\ry", 2) == 0, "CR | NUL across reads");
	n = run(&st, "\377\361k", 3, out);
	OK(n == 1 && out[0] == 'k', "IAC NOP dropped");
	return TAP_DONE();
}
