/*
 * A server-side telnet codec (RFC 854, 855; options per RFC 857 ECHO,
 * RFC 858 SUPPRESS-GO-AHEAD, RFC 856 BINARY; loop-free negotiation in the
 * spirit of RFC 1143). No I/O: bytes in, bytes out, so it can be tested
 * byte boundary by byte boundary.
 *
 * The server asks for character mode (WILL ECHO, WILL SGA, DO SGA): the
 * guest echoes, the client sends each key as it is typed.
 */
#ifndef VMS_TELNET_H
#define VMS_TELNET_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TELNET_IAC	255
#define TELNET_DONT	254
#define TELNET_DO	253
#define TELNET_WONT	252
#define TELNET_WILL	251
#define TELNET_SB	250
#define TELNET_IP	244	/* interrupt process */
#define TELNET_SE	240

#define TELNET_OPT_BINARY	0
#define TELNET_OPT_ECHO		1
#define TELNET_OPT_SGA		3
#define TELNET_OPT_LINEMODE	34

enum telnet_state {
	TN_DATA, TN_IAC, TN_OPT, TN_SB, TN_SB_IAC
};

struct telnet {
	enum telnet_state tn_state;
	uint8_t		 tn_verb;	/* WILL/WONT/DO/DONT awaiting its option */
	bool		 tn_cr;		/* last data byte was a CR (RFC 854 CR NUL/LF) */
	/* Option state, one bit per option: enabled, and requested by us. */
	uint8_t		 tn_us[32], tn_us_req[32];
	uint8_t		 tn_him[32], tn_him_req[32];
};

/*
 * Start a session. The opening negotiation (TELNET_GREETING_LEN bytes) is
 * written to greet; the caller sends it to the client first.
 */
#define TELNET_GREETING_LEN	12
void telnet_init(struct telnet *tn, uint8_t greet[TELNET_GREETING_LEN]);

/*
 * Decode n bytes from the client. Data for the guest goes to data
 * (*data_len), negotiation replies for the client to reply (*reply_len).
 * data must hold n bytes and reply n + 2 (a request split across calls is
 * answered when its last byte arrives). Any byte sequence is accepted; state carries across calls, so a
 * sequence may be split anywhere.
 */
void telnet_decode(struct telnet *tn, const uint8_t *in, size_t n,
    uint8_t *data, size_t *data_len, uint8_t *reply, size_t *reply_len);

/*
 * Escape guest output for the client: 0xFF becomes IAC IAC. out must hold
 * 2 * n bytes. Returns the bytes written.
 */
size_t telnet_encode(const uint8_t *in, size_t n, uint8_t *out);
#endif
