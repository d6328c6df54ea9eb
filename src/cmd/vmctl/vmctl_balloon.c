/* vmctl balloon NAME SIZE: the memory balloon of a running VM (PROTOCOL.md "balloon"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "cmd/vmctl/vmctl.h"
#include "cmd/vmctl/client.h"

static const char *
err_of(struct json_object *resp)
{
	struct json_object *v;

	return json_object_object_get_ex(resp, "error", &v) && v ? json_object_get_string(v) :
	    "request failed";
}

int
vmctl_balloon(struct vmctl *ctl, int argc, char **argv)
{
	const char *conf = NULL, *sock_opt = NULL, *pos[2];
	struct json_object *req, *resp, *ok;
	int i, npos = 0, rc;
	char *sock;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			vmctl_usage(ctl->ctl_cmd, stdout);
			return VMCTL_OK;
		}
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "-s") == 0) && i + 1 < argc) {
			*(argv[i][1] == 'c' ? &conf : &sock_opt) = argv[i + 1];
			i++;
		} else if (argv[i][0] == '-' || npos == 2) {
			fprintf(stderr, "vmctl balloon: unexpected argument '%s'\n", argv[i]);
			vmctl_usage(ctl->ctl_cmd, stderr);
			return VMCTL_USAGE;
		} else {
			pos[npos++] = argv[i];
		}
	}
	if (npos != 2) {
		fprintf(stderr, "vmctl balloon: name a VM and a size (e.g. 512M)\n");
		vmctl_usage(ctl->ctl_cmd, stderr);
		return VMCTL_USAGE;
	}
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("balloon"));
	json_object_object_add(req, "vm", json_object_new_string(pos[0]));
	/* The daemon reads the size as the inventory's memory (a bare number is MiB). */
	json_object_object_add(req, "size", json_object_new_string(pos[1]));
	sock = vmctl_socket(ctl, conf, sock_opt);
	resp = vmctl_request(sock, req, &rc);
	free(sock);
	json_object_put(req);
	if (!resp)
		return rc;
	rc = json_object_object_get_ex(resp, "ok", &ok) && json_object_get_boolean(ok) ?
	    VMCTL_OK : VMCTL_FAIL;
	if (rc != VMCTL_OK)
		fprintf(stderr, "vmctl balloon: %s\n", err_of(resp));
	json_object_put(resp);
	return rc;
}
