/* QAPI wire format helpers shared by the QMP and guest agent clients. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "qemu/qapi_wire.h"

int
qapi_parse_line(const char *s, size_t n, const char *what, struct json_object **out,
    char *err, size_t errlen)
{
	struct json_tokener *tok;
	struct json_object *o;
	size_t end;

	*out = NULL;
	while (n && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n == 0)
		return 0;
	tok = json_tokener_new_ex(64);
	if (!tok)
		abort();
	o = json_tokener_parse_ex(tok, s, (int)n);
	end = json_tokener_get_parse_end(tok);
	if (!o || json_tokener_get_error(tok) != json_tokener_success || end != n ||
	    !json_object_is_type(o, json_type_object)) {
		snprintf(err, errlen, "malformed %s message: %s", what,
		    o ? "not a single JSON object" :
		    json_tokener_error_desc(json_tokener_get_error(tok)));
		json_object_put(o);
		json_tokener_free(tok);
		return -EPROTO;
	}
	json_tokener_free(tok);
	*out = o;
	return 0;
}

struct json_object *
qapi_command(const char *cmd, struct json_object *args)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "execute", json_object_new_string(cmd));
	if (args)
		json_object_object_add(o, "arguments", args);
	return o;
}

void
qapi_error_str(struct json_object *error, char *buf, size_t len)
{
	struct json_object *cls = NULL, *desc = NULL;

	json_object_object_get_ex(error, "class", &cls);
	json_object_object_get_ex(error, "desc", &desc);
	snprintf(buf, len, "%s: %s", cls ? json_object_get_string(cls) : "Error",
	    desc ? json_object_get_string(desc) : "(no description)");
}
