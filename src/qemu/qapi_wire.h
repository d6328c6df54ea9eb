/*
 * The QAPI wire format that QMP and the guest agent share (qemu
 * docs/interop/qmp-spec.rst, qemu-ga.rst): one JSON object a line,
 * commands as {"execute", "arguments"}, errors as {"class", "desc"}.
 */
#ifndef VMS_QAPI_WIRE_H
#define VMS_QAPI_WIRE_H
#include <stddef.h>
#include <json-c/json.h>

/*
 * Parse one line (without its '\n'; trailing "\r", blanks ignored) as a
 * single JSON object. 0 with *out set (NULL for a blank line), or -EPROTO
 * with err "malformed WHAT message: ...".
 */
int qapi_parse_line(const char *s, size_t n, const char *what, struct json_object **out,
    char *err, size_t errlen);
/* {"execute": cmd, "arguments": args}; args (owned) may be NULL. */
struct json_object *qapi_command(const char *cmd, struct json_object *args);
/* An error reply's {"class", "desc"} as "Class: desc". */
void qapi_error_str(struct json_object *error, char *buf, size_t len);
#endif
