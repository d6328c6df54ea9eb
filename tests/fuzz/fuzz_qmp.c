/*
 * libFuzzer harness for the QMP protocol core (src/qemu/qmp.c): the
 * input is what QEMU would send, fed in chunks whose sizes come from the
 * first byte so that line reassembly is exercised too. Once ready, the
 * client sends commands, so that replies find pending ids (1 is
 * qmp_capabilities, then 2, 3, ...); a reply may send another command and
 * an event may free the client, like the daemon does.
 */
#include <stdint.h>
#include <string.h>

#include "lib/log.h"
#include "qemu/qmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

struct ctx {
	struct qmp	*q;
	int		 sent;
	bool		 freed;
};

static void
reply(void *arg, struct json_object *ret, const char *error)
{
	struct ctx *c = arg;

	if (ret)
		(void)json_object_to_json_string(ret);
	if (error)
		(void)strlen(error);
	if (!c->freed && c->sent < 8 && qmp_send(c->q, "query-status", NULL, reply, c) == 0)
		c->sent++;
}

static void
ready(void *arg)
{
	struct ctx *c = arg;

	for (int i = 0; i < 3; i++)
		if (qmp_send(c->q, i ? "query-status" : "cont", NULL, i == 1 ? NULL : reply, c) == 0)
			c->sent++;
}

static void
event(void *arg, const char *name, struct json_object *data)
{
	struct ctx *c = arg;

	if (data)
		(void)json_object_to_json_string(data);
	/* The daemon drops QMP from inside callbacks when a VM goes away. */
	if (strcmp(name, "FUZZ_FREE") == 0 && !c->freed) {
		qmp_free(c->q);
		c->freed = true;
	}
}

static void
closed(void *arg, const char *why)
{
	(void)strlen(why);
}

static const struct qmp_cb cbs = { ready, event, closed };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* Warnings about odd replies would flood the fuzzer's output. */
	log_init("fuzz_qmp", LOG_TO_STDERR, LOG_CRIT);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctx c = { 0 };
	char err[256];
	size_t chunk, off = 0, outn;

	if (size == 0)
		return 0;
	chunk = (size_t)data[0] % 64 + 1;
	data++, size--;
	c.q = qmp_new("fuzz", &cbs, &c);
	while (off < size && !c.freed) {
		size_t n = size - off < chunk ? size - off : chunk;

		if (qmp_feed(c.q, (const char *)data + off, n, err, sizeof(err)) != 0 ||
		    c.freed)
			break;
		(void)qmp_out(c.q, &outn);
		qmp_out_consume(c.q, outn / 2);
		off += n;
	}
	if (!c.freed)
		qmp_free(c.q);
	return 0;
}
