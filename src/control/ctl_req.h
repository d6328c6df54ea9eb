/*
 * Parsing one control request line (PROTOCOL.md), apart from the socket
 * code so that it can be fuzzed and tested without a daemon.
 */
#ifndef VMS_CTL_REQ_H
#define VMS_CTL_REQ_H
#include <stddef.h>
#include <json-c/json.h>

/*
 * line[0..n) (no newline) must be exactly one JSON object with a string
 * "cmd". Returns 0 with *req (owned by the caller) and *cmd (inside *req),
 * or -EINVAL with *req NULL and the message for the client in err.
 */
int ctl_parse_request(const char *line, size_t n, struct json_object **req,
    const char **cmd, char *err, size_t errlen);
#endif
