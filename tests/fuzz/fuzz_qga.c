/*
 * libFuzzer harness for the guest agent protocol core (src/qemu/qga.c):
 * the input is what a guest would send. Byte 0 sets the chunk size it is
 * fed in (line reassembly, 0xFF split from its line), byte 1 how far the
 * fake clock moves after each chunk (timeouts, resyncs). A '$' in the
 * input stands for the id of the guest-sync-delimited last sent, so that
 * the fuzzer can reach the synced state a guest can reach. Once ready the
 * client sends commands, a no_reply one among them; a reply may send
 * another, and an error whose text holds FUZZ_FREE frees the client from
 * inside the callback, like the daemon may.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "qemu/qga.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

struct ctx {
	struct qga	*g;
	int		 sent;
	bool		 freed;
	char		 id[24];	/* the last sync id sent, in decimal */
};

static void
reply(void *arg, struct json_object *ret, const char *error)
{
	struct ctx *c = arg;

	if (ret)
		(void)json_object_to_json_string(ret);
	if (error && strstr(error, "FUZZ_FREE") && !c->freed) {
		qga_free(c->g);
		c->freed = true;
	}
	if (!c->freed && c->sent < 8 &&
	    qga_send(c->g, "guest-get-osinfo", NULL, 1000, false, reply, c) == 0)
		c->sent++;
}

static void
ready(void *arg)
{
	struct ctx *c = arg;

	for (int i = 0; i < 3; i++)
		if (qga_send(c->g, i == 2 ? "guest-shutdown" : "guest-ping", NULL, 700 * (i + 1),
		    i == 2, i == 1 ? NULL : reply, c) == 0)
			c->sent++;
}

/* unsynced and closed: only that why is a string. */
static void
lost(void *arg, const char *why)
{
	(void)strlen(why);
}

static const struct qga_cb cbs = { ready, lost, lost };

/* Note the id of a guest-sync-delimited waiting in the output, then let half the output go. */
static void
drain(struct ctx *c)
{
	static const char key[] = "\"guest-sync-delimited\",\"arguments\":{\"id\":";
	const char *o, *p;
	size_t n;

	o = qga_out(c->g, &n);
	p = memmem(o, n, key, sizeof(key) - 1);
	if (p) {
		p += sizeof(key) - 1;
		snprintf(c->id, sizeof(c->id), "%" PRId64, (int64_t)strtoll(p, NULL, 10));
	}
	qga_out_consume(c->g, n / 2 + 1);
}

/* Feed n bytes, '$' as the current sync id. */
static void
feed(struct ctx *c, const uint8_t *p, size_t n)
{
	char buf[64 * 24], err[64];
	size_t i, m = 0;

	for (i = 0; i < n; i++) {
		if (p[i] == '$') {
			memcpy(buf + m, c->id, strlen(c->id));
			m += strlen(c->id);
		} else {
			buf[m++] = (char)p[i];
		}
	}
	qga_feed(c->g, buf, m, err, sizeof(err));
}

/* The libFuzzer entry points. Warnings about odd input would flood its output. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init("fuzz_qga", LOG_TO_STDERR, LOG_CRIT);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctx c = { .id = "0" };
	size_t chunk, off = 0;
	uint64_t now = 1000000, step;

	if (size < 2)
		return 0;
	chunk = (size_t)data[0] % 64 + 1;
	step = (uint64_t)data[1] * 20;
	data += 2, size -= 2;
	c.g = qga_new("fuzz", &cbs, &c);
	qga_tick(c.g, now);
	qga_sync(c.g);
	drain(&c);
	while (off < size && !c.freed) {
		size_t n = size - off < chunk ? size - off : chunk;

		feed(&c, data + off, n);
		if (c.freed)
			break;
		drain(&c);
		if (c.freed)
			break;
		qga_tick(c.g, now += step);
		if (c.freed)
			break;
		drain(&c);
		off += n;
	}
	if (!c.freed)
		qga_free(c.g);
	return 0;
}
