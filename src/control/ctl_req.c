/* One control request line -> a JSON object with a "cmd". */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

#include "control/ctl_req.h"

/* Deeper nesting than any request needs; json-c recurses per level. */
#define CTL_REQ_DEPTH	32

int
ctl_parse_request(const char *line, size_t n, struct json_object **req,
    const char **cmd, char *err, size_t errlen)
{
	struct json_tokener *tok;
	struct json_object *o, *jcmd;
	bool whole;

	*req = NULL;
	*cmd = NULL;
	if (n > INT_MAX) {
		snprintf(err, errlen, "malformed request: too long");
		return -EINVAL;
	}
	tok = json_tokener_new_ex(CTL_REQ_DEPTH);
	if (!tok) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	o = json_tokener_parse_ex(tok, line, (int)n);
	whole = o && json_tokener_get_error(tok) == json_tokener_success &&
	    json_tokener_get_parse_end(tok) == n;
	json_tokener_free(tok);
	if (!whole || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		snprintf(err, errlen, "malformed request: expected one JSON object per line");
		return -EINVAL;
	}
	if (!json_object_object_get_ex(o, "cmd", &jcmd) ||
	    !json_object_is_type(jcmd, json_type_string)) {
		json_object_put(o);
		snprintf(err, errlen, "malformed request: no \"cmd\"");
		return -EINVAL;
	}
	*req = o;
	*cmd = json_object_get_string(jcmd);
	return 0;
}
