/*
 * libFuzzer harness for control requests: the input is what a client sends,
 * cut into lines the way control.c does (LF, optional CR before it); each
 * line goes through ctl_parse_request() and then the same field reads the
 * handlers make ("vm", "wait", "timeout").
 */
#include <stdint.h>
#include <string.h>

#include "control/ctl_req.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
use_fields(struct json_object *req)
{
	struct json_object *v;

	if (json_object_object_get_ex(req, "vm", &v) && v &&
	    json_object_is_type(v, json_type_string))
		(void)strcmp(json_object_get_string(v), "all");
	if (json_object_object_get_ex(req, "wait", &v) && v)
		(void)json_object_get_boolean(v);
	if (json_object_object_get_ex(req, "timeout", &v) && v &&
	    json_object_is_type(v, json_type_int))
		(void)json_object_get_int(v);
	/* The daemon echoes names back in errors and logs. */
	(void)json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *nl;
	struct json_object *req;
	const char *cmd;
	char err[128];
	size_t n;

	while (size && (nl = memchr(s, '\n', size)) != NULL) {
		n = (size_t)(nl - s);
		if (n && s[n - 1] == '\r')
			n--;
		if (n && ctl_parse_request(s, n, &req, &cmd, err, sizeof(err)) == 0) {
			if (strlen(cmd) > n)
				__builtin_trap();	/* cmd must lie inside the request */
			use_fields(req);
			json_object_put(req);
		}
		size -= (size_t)(nl - s) + 1;
		s = nl + 1;
	}
	/* A last line without newline is still parsed on EOF (half-close). */
	if (size && ctl_parse_request(s, size, &req, &cmd, err, sizeof(err)) == 0) {
		use_fields(req);
		json_object_put(req);
	}
	return 0;
}
