/*
 * The control socket's answers (ctl_priv.h): one JSON line each, queued on
 * the client's bounded output; requests parked until their VMs reach a
 * goal ("wait":true) and the answer once they have.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "control/ctl_priv.h"
#include "vmd/daemon.h"
#include "vmd/migrate.h"

/* Queue one response line; frees o. Never frees the client. */
void
reply(struct client *cl, struct json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	size_t n = strlen(s);

	if (outbuf_empty(&cl->out))
		cl->last_tx = now_ms();	/* the progress deadline starts */
	if (outbuf_add_line(&cl->out, s, n) < 0) {
		/* It sends requests but never reads answers. */
		cl->closing = true;
		outbuf_free(&cl->out);
	}
	json_object_put(o);
}

void
reply_error(struct client *cl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void
reply_error(struct client *cl, const char *fmt, ...)
{
	struct json_object *o = json_object_new_object();
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "ok", json_object_new_boolean(false));
	json_object_object_add(o, "error", json_object_new_string(msg));
	reply(cl, o);
}

struct json_object *
ok_object(void)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(true));
	return o;
}

const char *
need_string(struct client *cl, struct json_object *req, const char *key, const char *what)
{
	struct json_object *v;

	if (!json_object_object_get_ex(req, key, &v) || !json_object_is_type(v, json_type_string)) {
		reply_error(cl, "missing \"%s\": %s", key, what);
		return NULL;
	}
	return json_object_get_string(v);
}

struct json_object *
vms_array(struct daemon *d, struct vm **vms, size_t n)
{
	struct json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_object_array_add(a, daemon_vm_json(d, vms[i]));
	return a;
}

/* ---- deferred requests ---- */

char **
names_of(struct vm **vms, size_t n)
{
	char **v = xcalloc(n + 1, sizeof(*v));
	size_t i;

	for (i = 0; i < n; i++)
		v[i] = xstrdup(vms[i]->vm_name);
	return v;
}

void
names_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}


bool
vms_done(enum wait_kind kind, struct vm **vms, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct vm *vm = vms[i];
		if (vm->vm_state == VS_ADOPTING)
			return false;	/* a held lock is being sorted out */
		if (kind == W_START && vm->vm_state != VS_RUNNING &&
		    vm->vm_state != VS_PANICKED && vm->vm_state != VS_NOT_READY &&
		    !sup_is_down(vm))
			return false;
		if (kind == W_STOP && !sup_is_down(vm))
			return false;
		if ((kind == W_MIG_IN && vm->vm_state == VS_INCOMING &&
		    !(vm->vm_mig && vm->vm_mig->mg_arrived)) ||
		    (kind == W_MIG_OUT && vm->vm_state == VS_MIGRATING))
			return false;
	}
	return true;
}


/* An autokill client was told this VM's state: only changes are told again. */
void
ak_told(struct client *cl, struct vm **vms, size_t n)
{
	if (cl->autokill && n == 1)
		snprintf(cl->ak_state, sizeof(cl->ak_state), "%s", sup_display_state(vms[0]));
}

/* The answer to a finished request: ok unless some VM missed the goal. */
void
reply_outcome(struct client *cl, enum wait_kind kind, struct vm **vms, size_t n)
{
	struct json_object *o = json_object_new_object();
	char err[2048] = "";
	size_t i, len = 0;
	bool ok = true;

	for (i = 0; i < n && kind == W_START; i++) {
		const struct vm *vm = vms[i];
		const char *r = sup_reason_name(vm->vm_reason);
		if (vm->vm_state == VS_RUNNING)
			continue;
		ok = false;
		len += (size_t)snprintf(err + len, len < sizeof(err) ? sizeof(err) - len : 0,
		    "%svm %s is %s%s%s%s", len ? "; " : "", vm->vm_name,
		    sup_state_name(vm->vm_state), r ? " (" : "", r ? r : "", r ? ")" : "");
		if (vm->vm_detail && len < sizeof(err))
			len += (size_t)snprintf(err + len, sizeof(err) - len, ": %s", vm->vm_detail);
		if (len >= sizeof(err))
			len = sizeof(err) - 1;
	}
	/* A migration's end: where the guest runs now. */
	if (n == 1 && (kind == W_MIG_IN || kind == W_MIG_OUT)) {
		ok = vms[0]->vm_state == (kind == W_MIG_IN ? VS_RUNNING : VS_HANDED_OVER) ||
		    (kind == W_MIG_IN && vms[0]->vm_state == VS_INCOMING && vms[0]->vm_mig &&
		    vms[0]->vm_mig->mg_arrived);
		if (!ok && kind == W_MIG_OUT)
			migrate_resumed(cl->c->d, vms[0]);
		if (!ok)
			snprintf(err, sizeof(err), "vm %s is %s: %s", vms[0]->vm_name,
			    sup_state_name(vms[0]->vm_state), vms[0]->vm_detail ?
			    vms[0]->vm_detail : "migration failed");
	}
	json_object_object_add(o, "ok", json_object_new_boolean(ok));
	json_object_object_add(o, "vms", vms_array(cl->c->d, vms, n));
	if (!ok)
		json_object_object_add(o, "error", json_object_new_string(err));
	reply(cl, o);
	ak_told(cl, vms, n);
}


bool
get_bool(struct json_object *req, const char *key, bool def)
{
	struct json_object *v;

	if (!json_object_object_get_ex(req, key, &v) || !v)
		return def;
	return json_object_get_boolean(v);
}

/* Park the request or answer now, depending on "wait". */
void
finish(struct client *cl, struct json_object *req, enum wait_kind kind,
    struct vm **vms, size_t n)
{
	if (get_bool(req, "wait", false) && !vms_done(kind, vms, n)) {
		cl->wait = kind;
		cl->wait_names = names_of(vms, n);
		cl->wait_n = n;
		free(vms);
		return;
	}
	if (get_bool(req, "wait", false)) {
		reply_outcome(cl, kind, vms, n);
	} else {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "ok", json_object_new_boolean(true));
		json_object_object_add(o, "vms", vms_array(cl->c->d, vms, n));
		reply(cl, o);
		ak_told(cl, vms, n);
	}
	free(vms);
}

struct vm *
one_vm(struct client *cl, struct json_object *req)
{
	struct json_object *jvm;
	struct vm *vm;

	if (!json_object_object_get_ex(req, "vm", &jvm) ||
	    !json_object_is_type(jvm, json_type_string)) {
		reply_error(cl, "missing \"vm\": name one VM");
		return NULL;
	}
	vm = daemon_find_vm(cl->c->d, json_object_get_string(jvm));
	if (!vm)
		reply_error(cl, "unknown vm '%s'", json_object_get_string(jvm));
	return vm;
}

/* A request about one VM, answered once its goal (kind) is reached. */
void
finish_waiting(struct client *cl, struct json_object *req, enum wait_kind kind, struct vm *vm)
{
	struct vm **vms = xcalloc(1, sizeof(*vms));

	vms[0] = vm;
	json_object_object_add(req, "wait", json_object_new_boolean(true));
	finish(cl, req, kind, vms, 1);
}
