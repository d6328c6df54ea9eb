/* Telnet codec: negotiation, IAC stripping, 0xFF escaping. */
#include <string.h>

#include "console/telnet.h"

static bool
bit(const uint8_t *set, uint8_t opt)
{
	return set[opt >> 3] & (1u << (opt & 7));
}

static void
setbit(uint8_t *set, uint8_t opt, bool on)
{
	if (on)
		set[opt >> 3] |= (uint8_t)(1u << (opt & 7));
	else
		set[opt >> 3] &= (uint8_t)~(1u << (opt & 7));
}

/* Options we perform (WILL) and let the client perform (DO). */
static bool
us_ok(uint8_t opt)
{
	return opt == TELNET_OPT_ECHO || opt == TELNET_OPT_SGA || opt == TELNET_OPT_BINARY;
}

static bool
him_ok(uint8_t opt)
{
	return opt == TELNET_OPT_SGA || opt == TELNET_OPT_BINARY;
}

void
telnet_init(struct telnet *tn, uint8_t greet[TELNET_GREETING_LEN])
{
	static const uint8_t g[TELNET_GREETING_LEN] = {
		TELNET_IAC, TELNET_WILL, TELNET_OPT_ECHO,
		TELNET_IAC, TELNET_WILL, TELNET_OPT_SGA,
		TELNET_IAC, TELNET_DO, TELNET_OPT_SGA,
		/* A client in LINEMODE would edit lines locally. */
		TELNET_IAC, TELNET_DONT, TELNET_OPT_LINEMODE,
	};

	memset(tn, 0, sizeof(*tn));
	tn->tn_state = TN_DATA;
	setbit(tn->tn_us_req, TELNET_OPT_ECHO, true);
	setbit(tn->tn_us_req, TELNET_OPT_SGA, true);
	setbit(tn->tn_him_req, TELNET_OPT_SGA, true);
	memcpy(greet, g, sizeof(g));
}

static void
put3(uint8_t *reply, size_t *len, uint8_t verb, uint8_t opt)
{
	reply[(*len)++] = TELNET_IAC;
	reply[(*len)++] = verb;
	reply[(*len)++] = opt;
}

/*
 * RFC 1143's rule that prevents negotiation loops: answer only a request
 * that changes an option's state, never an acknowledgment of our own.
 * A reply is 3 bytes for the 3 bytes of the request, so it fits in reply.
 */
static void
negotiate(struct telnet *tn, uint8_t verb, uint8_t opt, uint8_t *reply, size_t *rlen)
{
	bool ours = verb == TELNET_DO || verb == TELNET_DONT;
	uint8_t *on = ours ? tn->tn_us : tn->tn_him;
	uint8_t *req = ours ? tn->tn_us_req : tn->tn_him_req;
	bool asked = bit(req, opt);
	bool enable = verb == TELNET_DO || verb == TELNET_WILL;
	bool acceptable = ours ? us_ok(opt) : him_ok(opt);

	setbit(req, opt, false);
	if (enable) {
		if (bit(on, opt))
			return;
		if (acceptable) {
			setbit(on, opt, true);
			if (!asked)
				put3(reply, rlen, ours ? TELNET_WILL : TELNET_DO, opt);
		} else {
			put3(reply, rlen, ours ? TELNET_WONT : TELNET_DONT, opt);
		}
	} else {
		if (bit(on, opt)) {
			setbit(on, opt, false);
			put3(reply, rlen, ours ? TELNET_WONT : TELNET_DONT, opt);
		}
		/* Refusal of our request, or already off: no answer. */
	}
}

/*
 * A data byte from the client. RFC 854: the NVT sends CR as CR NUL and
 * end-of-line as CR LF; a serial line's Enter is a lone CR, so both become
 * CR (a CR LF passed through would be two newlines to a tty with ICRNL).
 * In BINARY mode (RFC 856) bytes are not interpreted.
 */
static void
data_byte(struct telnet *tn, uint8_t c, uint8_t *data, size_t *dlen)
{
	if (tn->tn_cr) {
		tn->tn_cr = false;
		if (c == '\0' || c == '\n')
			return;
	}
	if (c == '\r' && !bit(tn->tn_him, TELNET_OPT_BINARY))
		tn->tn_cr = true;
	data[(*dlen)++] = c;
}

void
telnet_decode(struct telnet *tn, const uint8_t *in, size_t n,
    uint8_t *data, size_t *data_len, uint8_t *reply, size_t *reply_len)
{
	size_t i;
	uint8_t c;

	*data_len = 0;
	*reply_len = 0;
	for (i = 0; i < n; i++) {
		c = in[i];
		switch (tn->tn_state) {
		case TN_DATA:
			if (c == TELNET_IAC)
				tn->tn_state = TN_IAC;
			else
				data_byte(tn, c, data, data_len);
			break;
		case TN_IAC:
			tn->tn_state = TN_DATA;
			if (c == TELNET_IAC) {
				data_byte(tn, c, data, data_len);
			} else if (c >= TELNET_WILL && c <= TELNET_DONT) {
				tn->tn_verb = c;
				tn->tn_state = TN_OPT;
			} else if (c == TELNET_SB) {
				tn->tn_state = TN_SB;
			} else if (c == TELNET_IP) {
				/* The client's "interrupt" key: ^C to the guest. */
				data_byte(tn, 0x03, data, data_len);
			}
			/* NOP, GA, AYT, stray SE, garbage: ignored. */
			break;
		case TN_OPT:
			tn->tn_state = TN_DATA;
			negotiate(tn, tn->tn_verb, c, reply, reply_len);
			break;
		case TN_SB:
			/* Subnegotiation payload (NAWS, TTYPE...) is not used. */
			if (c == TELNET_IAC)
				tn->tn_state = TN_SB_IAC;
			break;
		case TN_SB_IAC:
			if (c == TELNET_SE) {
				tn->tn_state = TN_DATA;
			} else if (c == TELNET_IAC) {
				tn->tn_state = TN_SB;	/* escaped 0xFF inside SB */
			} else {
				/*
				 * IAC <cmd> inside SB is a malformed (unterminated)
				 * subnegotiation: end it and take the command, so a
				 * broken client cannot swallow its own input forever.
				 */
				tn->tn_state = TN_IAC;
				i--;
			}
			break;
		}
	}
}

size_t
telnet_encode(const uint8_t *in, size_t n, uint8_t *out)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		out[o++] = in[i];
		if (in[i] == TELNET_IAC)
			out[o++] = TELNET_IAC;
	}
	return o;
}
