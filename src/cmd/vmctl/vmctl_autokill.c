/*
 * vmctl start NAME --autokill: the VM lives as long as this process's
 * connection (PROTOCOL.md, "autokill"). Prints the VM's state as the daemon
 * tells it, and exits when the daemon closes the connection (the VM is
 * down). However vmctl ends (exit, a signal, SIGKILL), the kernel closes
 * the connection and the daemon kills the VM.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <json-c/json.h>

#include "lib/util.h"
#include "cmd/vmctl/vmctl.h"
#include "cmd/vmctl/client.h"

#define AK_MAX_LINE	(16 * 1024 * 1024)

static const char *
member(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : NULL;
}

/* One answer line: print the state (and why it stopped); *down when it is. */
static int
one_line(const char *line, bool *down)
{
	struct json_object *o = json_tokener_parse(line), *vms = NULL, *ok;
	int rc = VMCTL_OK;
	size_t i;

	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		fprintf(stderr, "vmctl start: malformed response from vmserviced\n");
		return VMCTL_FAIL;
	}
	if (json_object_object_get_ex(o, "vms", &vms) && vms)
		for (i = 0; i < json_object_array_length(vms); i++) {
			struct json_object *vm = json_object_array_get_idx(vms, i);
			const char *st = member(vm, "state"), *r = member(vm, "stop_reason");

			st = st ? st : "?";
			*down = strcmp(st, "stopped") == 0 || strcmp(st, "failed") == 0;
			printf("%s: %s%s%s%s\n", member(vm, "name") ? member(vm, "name") : "?", st,
			    *down && r ? " (" : "", *down && r ? r : "", *down && r ? ")" : "");
			if (strcmp(st, "failed") == 0)
				rc = VMCTL_FAIL;
		}
	if (!json_object_object_get_ex(o, "ok", &ok) || !json_object_get_boolean(ok)) {
		fprintf(stderr, "vmctl start: %s\n", member(o, "error") ? member(o, "error") :
		    "request failed");
		rc = VMCTL_FAIL;
		/* Refused (no VM in the answer): nothing more comes. */
		if (!vms)
			*down = true;
	}
	json_object_put(o);
	fflush(stdout);
	return rc;
}

int
vmctl_autokill(const char *sock, const char *name, bool wait)
{
	struct json_object *req = json_object_new_object();
	char *buf = NULL, *nl;
	size_t n = 0, cap = 0, len;
	bool down = false, said = false;
	const char *s;
	int fd, rc = VMCTL_OK;
	ssize_t r;

	json_object_object_add(req, "cmd", json_object_new_string("start"));
	json_object_object_add(req, "vm", json_object_new_string(name));
	json_object_object_add(req, "wait", json_object_new_boolean(wait));
	json_object_object_add(req, "autokill", json_object_new_boolean(true));
	fd = vmctl_connect(sock);
	if (fd == -1) {
		json_object_put(req);
		return VMCTL_NO_DAEMON;
	}
	s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	buf = xasprintf("%s\n", s);
	json_object_put(req);
	for (s = buf, len = strlen(buf); len; ) {
		r = send(fd, s, len, MSG_NOSIGNAL);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			fprintf(stderr, "vmctl start: cannot send to %s: %s\n", sock, strerror(errno));
			free(buf);
			close(fd);
			return VMCTL_NO_DAEMON;
		}
		s += r;
		len -= (size_t)r;
	}
	free(buf);
	buf = NULL;
	/* Until the daemon closes: each line one state of the VM. */
	for (;;) {
		xgrow(&buf, &cap, n + 4096 + 1, 1);
		r = read(fd, buf + n, 4096);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0 || n + (size_t)r > AK_MAX_LINE)
			break;
		n += (size_t)r;
		buf[n] = 0;
		while ((nl = strchr(buf, '\n')) != NULL) {
			*nl = 0;
			if (one_line(buf, &down) != VMCTL_OK)
				rc = VMCTL_FAIL;
			said = true;
			if (down && rc != VMCTL_OK)
				goto out;	/* refused, or failed to start: done */
			n -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, n + 1);
		}
	}
out:
	close(fd);
	free(buf);
	if (!said || (!down && rc == VMCTL_OK)) {
		fprintf(stderr, "vmctl start: vmserviced closed the connection (%s)\n", sock);
		return VMCTL_NO_DAEMON;
	}
	return rc;
}
