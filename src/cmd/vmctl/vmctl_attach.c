/*
 * vmctl attach NAME PID: the daemon supervises a QEMU it did not start
 * (vmserviced(8), "Attached QEMUs"); and vmctl show for such a VM, which
 * is in the daemon, not in the inventory file.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/util.h"
#include "cmd/vmctl/vmctl.h"
#include "cmd/vmctl/client.h"

static const char *
member(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : NULL;
}

int
vmctl_attach(struct vmctl *ctl, int argc, char **argv)
{
	struct json_object *req, *resp, *ok, *vms;
	const char *conf = NULL, *err;
	char *sock, *end;
	long pid;
	int rc, n = vmctl_args(ctl, argc, argv, &conf, NULL, NULL);

	if (n == -2)
		return VMCTL_OK;
	if (n != 2) {
		if (n >= 0)
			vmctl_usage(ctl->ctl_cmd, stderr);
		return VMCTL_USAGE;
	}
	errno = 0;
	pid = strtol(argv[1], &end, 10);
	if (errno || *end || end == argv[1] || pid <= 0 || pid > 0x7fffffffL) {
		fprintf(stderr, "vmctl attach: bad PID '%s'\n", argv[1]);
		return VMCTL_USAGE;
	}
	sock = vmctl_socket(ctl, conf, NULL);
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("attach"));
	json_object_object_add(req, "vm", json_object_new_string(argv[0]));
	json_object_object_add(req, "pid", json_object_new_int((int)pid));
	resp = vmctl_request(sock, req, &rc);
	json_object_put(req);
	free(sock);
	if (!resp)
		return rc;
	if (!json_object_object_get_ex(resp, "ok", &ok) || !json_object_get_boolean(ok)) {
		err = member(resp, "error");
		fprintf(stderr, "vmctl attach: %s\n", err ? err : "request failed");
		json_object_put(resp);
		return VMCTL_FAIL;
	}
	if (json_object_object_get_ex(resp, "vms", &vms) && json_object_array_length(vms) == 1) {
		struct json_object *vm = json_object_array_get_idx(vms, 0);
		const char *st = member(vm, "state"), *rs = member(vm, "run_state");

		printf("%s: %s (attached pid %ld, run state %s, accel %s)\n", argv[0],
		    st ? st : "?", pid, rs ? rs : "?", member(vm, "accel") ?
		    member(vm, "accel") : "?");
	}
	json_object_put(resp);
	return VMCTL_OK;
}

/*
 * vmctl show NAME [--argv [--shell]] for a VM the inventory does not have:
 * an attached one, as the daemon knows it. VMCTL_OK or VMCTL_FAIL after
 * printing it, -1 when the daemon has no attached VM of that name (nothing
 * printed: the caller says the VM is unknown).
 */
int
vmctl_show_attached(struct vmctl *ctl, const char *conf, const char *name, bool want_argv,
    bool want_shell)
{
	struct json_object *req, *resp, *vms, *vm, *a, *att;
	char *sock = vmctl_socket(ctl, conf, NULL);
	size_t i;
	int rc;

	if (!sock)
		return -1;
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("status"));
	json_object_object_add(req, "vm", json_object_new_string(name));
	resp = vmctl_request(sock, req, &rc);
	json_object_put(req);
	free(sock);
	if (!resp)
		return -1;
	if (!json_object_object_get_ex(resp, "vms", &vms) || !vms ||
	    json_object_array_length(vms) != 1 ||
	    !json_object_object_get_ex(vm = json_object_array_get_idx(vms, 0), "attached",
	    &att) || !json_object_get_boolean(att) ||
	    !json_object_object_get_ex(vm, "argv", &a) || !a) {
		json_object_put(resp);
		return -1;
	}
	if (!want_argv) {
		printf("name: %s\nattached: pid %s\nstate: %s\nexe: %s\nqmp: %s\n", name,
		    member(vm, "pid") ? member(vm, "pid") : "-", member(vm, "state"),
		    member(vm, "exe"), member(vm, "qmp_socket"));
		printf("(not in the inventory: no serial console proxy, no restart policy)\n");
	}
	for (i = 0; want_argv && i < json_object_array_length(a); i++) {
		const char *w = json_object_get_string(json_object_array_get_idx(a, i));
		char *q;

		if (!want_shell) {
			printf("%s\n", w);
			continue;
		}
		q = shell_quote(w);
		printf("%s%s", i ? " " : "", q);
		free(q);
	}
	if (want_argv && want_shell)
		printf("\n");
	json_object_put(resp);
	return VMCTL_OK;
}
