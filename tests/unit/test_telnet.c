/* Unit tests for the telnet codec: negotiation, stripping, splits, escaping. */
#include <stdlib.h>
#include <string.h>

#include "console/telnet.h"
#include "tap.h"

#define IAC	TELNET_IAC

struct out {
	uint8_t	 data[4096];
	size_t	 dlen;
	uint8_t	 reply[4096];
	size_t	 rlen;
};

/* Feed in[0..n) in pieces cut at the given offsets (sorted), collect output. */
static void
feed_split(struct telnet *tn, const uint8_t *in, size_t n, const size_t *cuts,
    size_t ncuts, struct out *o)
{
	uint8_t d[4096], r[4096];
	size_t dl, rl, at = 0, k;

	o->dlen = o->rlen = 0;
	for (k = 0; k <= ncuts; k++) {
		size_t end = k < ncuts ? cuts[k] : n;
		telnet_decode(tn, in + at, end - at, d, &dl, r, &rl);
		if (dl > end - at || rl > end - at + 2)
			abort();	/* the documented bounds */
		memcpy(o->data + o->dlen, d, dl);
		o->dlen += dl;
		memcpy(o->reply + o->rlen, r, rl);
		o->rlen += rl;
		at = end;
	}
}

static void
feed(struct telnet *tn, const uint8_t *in, size_t n, struct out *o)
{
	feed_split(tn, in, n, NULL, 0, o);
}

static void
test_greeting(void)
{
	struct telnet tn;
	uint8_t g[TELNET_GREETING_LEN];
	static const uint8_t want[] = {
		IAC, TELNET_WILL, 1, IAC, TELNET_WILL, 3, IAC, TELNET_DO, 3,
		IAC, TELNET_DONT, 34,
	};

	telnet_init(&tn, g);
	OK(memcmp(g, want, sizeof(want)) == 0,
	    "greeting: WILL ECHO, WILL SGA, DO SGA, DONT LINEMODE");
}

/* What netkit telnet sends on connecting to us, then "ls" Enter. */
static const uint8_t session[] = {
	IAC, TELNET_DO, 1, IAC, TELNET_DO, 3, IAC, TELNET_WILL, 3,
	IAC, TELNET_WILL, 31,				/* NAWS */
	IAC, TELNET_SB, 31, 0, 80, 0, 24, IAC, TELNET_SE,
	IAC, TELNET_WILL, 24,				/* TTYPE */
	IAC, TELNET_SB, 24, 0, 'x', 't', 'e', 'r', 'm', IAC, TELNET_SE,
	'l', 's', '\r', '\0',
};
static const uint8_t session_reply[] = {
	IAC, TELNET_DONT, 31, IAC, TELNET_DONT, 24,
};

static void
test_session(void)
{
	struct telnet tn;
	uint8_t g[TELNET_GREETING_LEN];
	struct out o;

	telnet_init(&tn, g);
	feed(&tn, session, sizeof(session), &o);
	OK(o.dlen == 3 && memcmp(o.data, "ls\r", 3) == 0,
	    "client session: data is \"ls\\r\" (got %zu bytes)", o.dlen);
	OK(o.rlen == sizeof(session_reply) && memcmp(o.reply, session_reply, o.rlen) == 0,
	    "acks of our requests unanswered, NAWS/TTYPE refused once each");
}

/* Every split into two reads, and one byte at a time, gives the same result. */
static void
test_splits(void)
{
	struct telnet tn;
	uint8_t g[TELNET_GREETING_LEN];
	struct out o;
	size_t cut, bad = 0, all[sizeof(session)];

	for (cut = 0; cut <= sizeof(session); cut++) {
		telnet_init(&tn, g);
		feed_split(&tn, session, sizeof(session), &cut, 1, &o);
		if (o.dlen != 3 || memcmp(o.data, "ls\r", 3) != 0 ||
		    o.rlen != sizeof(session_reply) ||
		    memcmp(o.reply, session_reply, o.rlen) != 0)
			bad++;
	}
	OK(bad == 0, "split into two reads at each of %zu boundaries: same output "
	    "(%zu differ)", sizeof(session) + 1, bad);

	for (cut = 0; cut < sizeof(session); cut++)
		all[cut] = cut + 1;
	telnet_init(&tn, g);
	feed_split(&tn, session, sizeof(session), all, sizeof(session) - 1, &o);
	OK(o.dlen == 3 && memcmp(o.data, "ls\r", 3) == 0 &&
	    o.rlen == sizeof(session_reply) && memcmp(o.reply, session_reply, o.rlen) == 0,
	    "one byte per read: same output");
}

static void
test_sb_across_reads(void)
{
	struct telnet tn;
	uint8_t g[TELNET_GREETING_LEN];
	struct out o1, o2, o3;
	/* An IAC IAC (escaped 0xFF) inside SB must not end it. */
	static const uint8_t a[] = { 'a', IAC, TELNET_SB, 24, 0, IAC };
	static const uint8_t b[] = { IAC, 'q', IAC };
	static const uint8_t c[] = { TELNET_SE, 'b' };

	telnet_init(&tn, g);
	feed(&tn, a, sizeof(a), &o1);
	feed(&tn, b, sizeof(b), &o2);
	feed(&tn, c, sizeof(c), &o3);
	OK(o1.dlen == 1 && o1.data[0] == 'a' && o2.dlen == 0 && o3.dlen == 1 &&
	    o3.data[0] == 'b', "SB...IAC IAC...SE over three reads is stripped");
	OK(o1.rlen + o2.rlen + o3.rlen == 0, "subnegotiation gets no reply");
}

static void
test_ff_both_ways(void)
{
	struct telnet tn;
	uint8_t g[TELNET_GREETING_LEN], enc[16];
	struct out o;
	static const uint8_t in[] = { 'x', IAC, IAC, 'y', IAC };
	static const uint8_t in2[] = { IAC, 'z' };
	static const uint8_t raw[] = { 0xff, 'a', 0xff, 0xff };
	static const uint8_t want[] = { 0xff, 0xff, 'a', 0xff, 0xff, 0xff, 0xff };
	size_t n;

	telnet_init(&tn, g);
	feed(&tn, in, sizeof(in), &o);
	OK(o.dlen == 3 && memcmp(o.data, "x\xffy", 3) == 0, "IAC IAC decodes to 0xFF");
	feed(&tn, in2, sizeof(in2), &o);
	OK(o.dlen == 2 && o.data[0] == 0xff && o.data[1] == 'z',
	    "IAC IAC split across reads decodes to 0xFF");
	n = telnet_encode(raw, sizeof(raw), enc);
	OK(n == sizeof(want) && memcmp(enc, want, n) == 0, "0xFF encodes to IAC IAC");
	n = telnet_encode((const uint8_t *)"plain\r\n", 7, enc);
	OK(n == 7 && memcmp(enc, "plain\r\n", 7) == 0, "other bytes pass through encode");
}

static void
test_cr(void)
{
	struct telnet tn;
	uint8_t g[TELNET_GREETING_LEN];
	struct out o;
	static const uint8_t crnul[] = { 'a', '\r', '\0', 'b', '\r', '\n', 'c', '\r', 'd',
		'\r', '\r', '\0', '\n' };
	static const uint8_t split1[] = { 'e', '\r' };
	static const uint8_t split2[] = { '\n', 'f' };
	static const uint8_t binary[] = { IAC, TELNET_WILL, 0, '\r', '\0' };

	telnet_init(&tn, g);
	feed(&tn, crnul, sizeof(crnul), &o);
	OK(o.dlen == 10 && memcmp(o.data, "a\rb\rc\rd\r\r\n", 10) == 0,
	    "CR NUL and CR LF become CR, CR x stays, LF after CR NUL is data "
	    "(got %zu bytes)", o.dlen);
	feed(&tn, split1, sizeof(split1), &o);
	feed(&tn, split2, sizeof(split2), &o);
	OK(o.dlen == 1 && o.data[0] == 'f', "CR | LF split across reads: LF dropped");

	telnet_init(&tn, g);
	feed(&tn, binary, sizeof(binary), &o);
	OK(o.dlen == 2 && o.data[0] == '\r' && o.data[1] == '\0' && o.rlen == 3 &&
	    o.reply[1] == TELNET_DO, "client BINARY accepted; CR NUL then passes verbatim");
}

static void
test_negotiation_loops(void)
{
	struct telnet tn;
	uint8_t g[TELNET_GREETING_LEN];
	struct out o;
	static const uint8_t dont_echo[] = { IAC, TELNET_DONT, 1 };
	static const uint8_t do_echo[] = { IAC, TELNET_DO, 1 };
	static const uint8_t do_x[] = { IAC, TELNET_DO, 99 };
	static const uint8_t wont_sga[] = { IAC, TELNET_WONT, 3 };
	static const uint8_t ip[] = { IAC, TELNET_IP, IAC, 241 /* NOP */, IAC, 0, 'k' };
	static const uint8_t unterminated[] = { IAC, TELNET_SB, 24, 'j', 'u', 'n', 'k',
		IAC, TELNET_WILL, 1, 'o', 'k' };

	telnet_init(&tn, g);
	feed(&tn, do_echo, 3, &o);
	OK(o.rlen == 0, "DO ECHO acknowledges our WILL: no reply");
	feed(&tn, dont_echo, 3, &o);
	OK(o.rlen == 3 && o.reply[1] == TELNET_WONT && o.reply[2] == 1,
	    "DONT ECHO when on: WONT ECHO");
	feed(&tn, dont_echo, 3, &o);
	OK(o.rlen == 0, "DONT ECHO again: no reply (no loop)");
	feed(&tn, do_echo, 3, &o);
	OK(o.rlen == 3 && o.reply[1] == TELNET_WILL, "DO ECHO when off: WILL ECHO");
	feed(&tn, do_x, 3, &o);
	OK(o.rlen == 3 && o.reply[1] == TELNET_WONT && o.reply[2] == 99,
	    "DO unknown option: WONT");
	feed(&tn, wont_sga, 3, &o);
	OK(o.rlen == 0, "WONT SGA refusing our DO: no reply");
	feed(&tn, ip, sizeof(ip), &o);
	OK(o.dlen == 2 && o.data[0] == 0x03 && o.data[1] == 'k' && o.rlen == 0,
	    "IAC IP becomes ^C; NOP and unknown commands vanish");
	feed(&tn, unterminated, sizeof(unterminated), &o);
	OK(o.dlen == 2 && memcmp(o.data, "ok", 2) == 0 && o.rlen == 3 &&
	    o.reply[1] == TELNET_DONT, "IAC WILL inside SB ends the SB and is answered");
}

/* Random garbage: bounds hold, and any split gives the same output. */
static void
test_garbage(void)
{
	enum { N = 200000 };
	uint8_t *in = malloc(N);
	struct telnet a, b;
	uint8_t g[TELNET_GREETING_LEN];
	static uint8_t d1[N], r1[N + 2], d2[N], r2[N + 2];
	size_t dl1, rl1, dl2 = 0, rl2 = 0, at = 0, i, dl, rl;
	unsigned seed = 12345;

	for (i = 0; i < N; i++) {
		seed = seed * 1103515245 + 12345;
		/* Bias towards the interesting bytes. */
		in[i] = (seed >> 16) % 4 == 0 ? (uint8_t)(240 + (seed >> 8) % 16)
		    : (uint8_t)(seed >> 8);
	}
	telnet_init(&a, g);
	telnet_decode(&a, in, N, d1, &dl1, r1, &rl1);
	telnet_init(&b, g);
	while (at < N) {
		seed = seed * 1103515245 + 12345;
		size_t len = 1 + (seed >> 16) % 7;
		if (len > N - at)
			len = N - at;
		telnet_decode(&b, in + at, len, d2 + dl2, &dl, r2 + rl2, &rl);
		if (dl > len || rl > len + 2)
			break;
		dl2 += dl;
		rl2 += rl;
		at += len;
	}
	OK(at == N, "random splits of garbage respect the output bounds");
	OK(dl1 == dl2 && rl1 == rl2 && memcmp(d1, d2, dl1) == 0 && memcmp(r1, r2, rl1) == 0,
	    "200 KB of garbage: one read and random small reads agree (%zu data, %zu reply)",
	    dl1, rl1);
	free(in);
}

int
main(void)
{
	test_greeting();
	test_session();
	test_splits();
	test_sb_across_reads();
	test_ff_both_ways();
	test_cr();
	test_negotiation_loops();
	test_garbage();
	return TAP_DONE();
}
