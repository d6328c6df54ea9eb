/* The client side of the control protocol (PROTOCOL.md): status, start, stop, ... */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "lib/usock.h"
#include "lib/util.h"
#include "config/inventory.h"
#include "cmd/vmctl/vmctl.h"
#include "cmd/vmctl/client.h"

#define MAX_RESPONSE	(16 * 1024 * 1024)

struct ctl_args {
	const char	*cmd;
	const char	*conf;
	const char	*sock;
	const char	*pos[2];
	int		 npos;
	bool		 json, no_wait, autokill, force;
	long		 timeout;	/* -1: none */
};

/* 0, 2 (usage error), or -1 (help printed: exit 0). */
static int
parse(struct vmctl *ctl, int argc, char **argv, struct ctl_args *a, int maxpos)
{
	char *end;
	int i;

	memset(a, 0, sizeof(*a));
	a->cmd = argv[0];
	a->timeout = -1;
	for (i = 1; i < argc; i++) {
		const char *s = argv[i];
		if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
			vmctl_usage(ctl->ctl_cmd, stdout);
			return -1;
		} else if ((strcmp(s, "-c") == 0 || strcmp(s, "-s") == 0 ||
		    strcmp(s, "--timeout") == 0) && i + 1 >= argc) {
			fprintf(stderr, "vmctl %s: %s needs a value\n", a->cmd, s);
			return 2;
		} else if (strcmp(s, "-c") == 0) {
			a->conf = argv[++i];
		} else if (strcmp(s, "-s") == 0) {
			a->sock = argv[++i];
		} else if (strcmp(s, "--json") == 0 && (strcmp(a->cmd, "status") == 0 ||
		    strcmp(a->cmd, "events") == 0)) {
			a->json = true;
		} else if (strcmp(s, "--no-wait") == 0 && strcmp(a->cmd, "status") != 0 &&
		    strcmp(a->cmd, "events") != 0) {
			a->no_wait = true;
		} else if (strcmp(s, "--autokill") == 0 && strcmp(a->cmd, "start") == 0) {
			a->autokill = true;
		} else if (strcmp(s, "--force") == 0 && strcmp(a->cmd, "start") == 0) {
			a->force = true;
		} else if (strcmp(s, "--timeout") == 0 && (strcmp(a->cmd, "stop") == 0 ||
		    strcmp(a->cmd, "wait") == 0)) {
			errno = 0;
			a->timeout = strtol(argv[++i], &end, 10);
			if (errno || *end || end == argv[i] || a->timeout < 0 ||
			    a->timeout > 86400) {
				fprintf(stderr, "vmctl %s: bad --timeout '%s': a number of "
				    "seconds from 0 to 86400\n", a->cmd, argv[i]);
				return 2;
			}
		} else if (s[0] == '-' && s[1]) {
			fprintf(stderr, "vmctl %s: unknown option %s\n", a->cmd, s);
			vmctl_usage(ctl->ctl_cmd, stderr);
			return 2;
		} else if (a->npos < maxpos) {
			a->pos[a->npos++] = s;
		} else {
			fprintf(stderr, "vmctl %s: unexpected argument '%s'\n", a->cmd, s);
			vmctl_usage(ctl->ctl_cmd, stderr);
			return 2;
		}
	}
	return 0;
}

/*
 * run_dir from a plain scan of the main file: the socket is found without
 * loading the inventory, so a half-edited file does not cut vmctl off the
 * daemon (which runs the last version that validated) and nothing runs
 * `qemu -device help` to answer a status. The last assignment wins, as in
 * the parser; relative paths are relative to the file's directory, as in
 * the inventory. 0 with *dir (NULL: the file sets none), or -errno.
 */
static int
scan_run_dir(const char *conf, char **dir)
{
	char line[4096], *p, *e;
	FILE *fp = fopen(conf, "re");

	*dir = NULL;
	if (!fp)
		return -errno;
	while (fgets(line, sizeof(line), fp)) {
		p = line + strspn(line, " \t");
		if (strncmp(p, "run_dir", 7) != 0)
			continue;
		p += 7 + strspn(p + 7, " \t");
		if (*p++ != '=')
			continue;
		p += strspn(p, " \t");
		if (*p == '"')
			e = strchr(++p, '"');
		else
			e = p + strcspn(p, " \t\r\n#");
		if (!e || e == p)
			continue;
		*e = 0;
		free(*dir);
		if (*p == '/') {
			*dir = xstrdup(p);
		} else {
			const char *slash = strrchr(conf, '/');
			*dir = slash ? xasprintf("%.*s/%s", (int)(slash - conf), conf, p) :
			    xstrdup(p);
		}
	}
	fclose(fp);
	return 0;
}

/*
 * The control socket, newly allocated: -s (of the command, else the one
 * before it), else $VMSERVICE_SOCKET, else
 * run_dir/INV_SOCKET_NAME with run_dir scanned from the configuration
 * file, else the compiled default. NULL after a message when a file named
 * by -c or $VMSERVICE_CONF cannot be read (a typo must not silently reach
 * another daemon); a missing default file just means the default socket.
 */
static char *
socket_path(struct vmctl *ctl, const struct ctl_args *a)
{
	const char *env = getenv("VMSERVICE_SOCKET"), *cenv = getenv("VMSERVICE_CONF");
	bool named = a->conf || ctl->ctl_conf || (cenv && *cenv);
	const char *conf;
	char *dir, *p;
	int e;

	if (a->sock || ctl->ctl_sock)
		return xstrdup(a->sock ? a->sock : ctl->ctl_sock);
	if (env && *env)
		return xstrdup(env);
	conf = vmctl_conf_path(ctl, a->conf);
	e = scan_run_dir(conf, &dir);
	if (e && named) {
		fprintf(stderr, "vmctl: cannot read %s: %s (vmctl finds the daemon's socket "
		    "through its run_dir; -s SOCKET or $VMSERVICE_SOCKET name the socket "
		    "instead)\n", conf, strerror(-e));
		return NULL;
	}
	if (e && e != -ENOENT)
		fprintf(stderr, "vmctl: warning: cannot read %s (%s): using %s/%s\n", conf,
		    strerror(-e), INV_DEFAULT_RUN_DIR, INV_SOCKET_NAME);
	p = xasprintf("%s/" INV_SOCKET_NAME, dir ? dir : INV_DEFAULT_RUN_DIR);
	free(dir);
	return p;
}

char *
vmctl_socket(struct vmctl *ctl, const char *conf, const char *sock)
{
	struct ctl_args a = { .conf = conf, .sock = sock };

	return socket_path(ctl, &a);
}

int
vmctl_connect(const char *sock)
{
	char err[600];
	int fd, e;

	if (!sock)
		return -1;	/* vmctl_socket() said why */
	e = usock_dial(sock, &fd, err, sizeof(err));
	if (e == -EACCES)
		fprintf(stderr, "vmctl: permission denied on %s\n", sock);
	else if (e == -ENAMETOOLONG)
		fprintf(stderr, "vmctl: %s\n", err);
	else if (e)
		fprintf(stderr, "vmctl: vmserviced is not running (%s)\n", err);
	return e ? -1 : fd;
}

/*
 * Send one request, read one response line. Returns the parsed response,
 * or NULL with *rc set (4: no daemon, 1: protocol trouble).
 */
/* The first byte of a request, with pass_fd as SCM_RIGHTS. 1, or -1. */
static int
send_fd(int fd, const char *s, int pass_fd)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = { .iov_base = (void *)s, .iov_len = 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	ssize_t r;

	memset(&u, 0, sizeof(u));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	do
		r = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	return r == 1 ? 1 : -1;
}

static struct json_object *request_fd(const char *sock, struct json_object *req, int pass_fd,
    int *rc);

static struct json_object *
request(const char *sock, struct json_object *req, int *rc)
{
	return request_fd(sock, req, -1, rc);
}

/* request(), pass_fd (>= 0) travelling with its first byte. */
static struct json_object *
request_fd(const char *sock, struct json_object *req, int pass_fd, int *rc)
{
	const char *s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	char *buf = NULL, *nl = NULL;
	size_t n = 0, cap = 0, len = strlen(s);
	struct json_object *resp;
	ssize_t r;
	int fd;

	fd = vmctl_connect(sock);
	if (fd == -1) {
		*rc = VMCTL_NO_DAEMON;
		return NULL;
	}
	if (pass_fd >= 0) {
		if (send_fd(fd, s, pass_fd) < 0)
			goto lost;
		s++;
		len--;
	}
	while (len) {
		r = send(fd, s, len, MSG_NOSIGNAL);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			goto lost;
		s += r;
		len -= (size_t)r;
	}
	if (send(fd, "\n", 1, MSG_NOSIGNAL) != 1)
		goto lost;
	while (!nl) {
		xgrow(&buf, &cap, n + 65536 + 1, 1);
		r = read(fd, buf + n, 65536);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0 || n + (size_t)r > MAX_RESPONSE)
			goto lost;
		n += (size_t)r;
		buf[n] = 0;
		nl = strchr(buf, '\n');
	}
	close(fd);
	*nl = 0;
	resp = json_tokener_parse(buf);
	free(buf);
	if (!resp || !json_object_is_type(resp, json_type_object)) {
		json_object_put(resp);
		fprintf(stderr, "vmctl: malformed response from vmserviced\n");
		*rc = 1;
		return NULL;
	}
	return resp;
lost:
	fprintf(stderr, "vmctl: vmserviced closed the connection (%s)\n", sock);
	free(buf);
	close(fd);
	*rc = VMCTL_NO_DAEMON;
	return NULL;
}

struct json_object *
vmctl_request(const char *sock, struct json_object *req, int *rc)
{
	return request(sock, req, rc);
}

struct json_object *
vmctl_request_fd(const char *sock, struct json_object *req, int fd, int *rc)
{
	return request_fd(sock, req, fd, rc);
}

static const char *
str_or(struct json_object *o, const char *key, const char *def)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !v)
		return def;
	return json_object_get_string(v);
}

static bool
ok_of(struct json_object *resp)
{
	struct json_object *v;

	return json_object_object_get_ex(resp, "ok", &v) && json_object_get_boolean(v);
}

static void
fmt_uptime(struct json_object *vm, char *buf, size_t len)
{
	struct json_object *v;
	long s;

	if (!json_object_object_get_ex(vm, "uptime", &v) || !v) {
		snprintf(buf, len, "-");
		return;
	}
	s = (long)json_object_get_double(v);
	if (s < 60)
		snprintf(buf, len, "%lds", s);
	else if (s < 3600)
		snprintf(buf, len, "%ldm%02lds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
	else
		snprintf(buf, len, "%ldd%02ldh", s / 86400, (s % 86400) / 3600);
}

/*
 * The STATE column: the state, and for a paused guest why ("paused
 * (internal-error)", "paused (panicked)"); run_state is QEMU's own word.
 */
static void
fmt_state(struct json_object *vm, char *buf, size_t len)
{
	const char *state = str_or(vm, "state", "?"), *rs = str_or(vm, "run_state", NULL);
	struct json_object *pv;

	if ((json_object_object_get_ex(vm, "panicked", &pv) && json_object_get_boolean(pv)) ||
	    (rs && strcmp(rs, "guest-panicked") == 0))
		snprintf(buf, len, "paused (panicked)");
	else if (strcmp(state, "paused") == 0 && rs && strcmp(rs, "paused") != 0)
		snprintf(buf, len, "paused (%s)", rs);
	else if (strcmp(state, "saving") == 0 && json_object_object_get_ex(vm, "progress", &pv) &&
	    pv)
		snprintf(buf, len, "saving (%d%%)", json_object_get_int(pv));
	else
		snprintf(buf, len, "%s", state);
	/* Not in the inventory: supervised since vmctl attach. */
	if (json_object_object_get_ex(vm, "attached", &pv) && json_object_get_boolean(pv))
		snprintf(buf + strlen(buf), len - strlen(buf), " (attached)");
}

/* The ACCEL column: "tcg (kvm failed)", "tcg (no kvm)" when auto fell back. */
static void
fmt_accel(struct json_object *vm, char *buf, size_t len)
{
	const char *a = str_or(vm, "accel", "-"), *note = str_or(vm, "accel_note", NULL);

	if (!note)
		snprintf(buf, len, "%s", a);
	else
		snprintf(buf, len, "%s (%s)", a,
		    strncmp(note, "kvm failed", 10) == 0 ? "kvm failed" : "no kvm");
}

/* The GUEST-IP column: what the guest agent reports, first address. */
static const char *
guest_ip(struct json_object *vm)
{
	struct json_object *ips, *ip;

	if (!json_object_object_get_ex(vm, "guest_ips", &ips) ||
	    !json_object_is_type(ips, json_type_array) || !json_object_array_length(ips))
		return "-";
	ip = json_object_array_get_idx(ips, 0);
	return json_object_is_type(ip, json_type_string) ? json_object_get_string(ip) : "-";
}

static void
print_table(struct json_object *vms)
{
	size_t i, n = json_object_array_length(vms);
	char up[32], stop[96], state[64], accel[48];
	int ws = 12, wa = 5, wi = 0;

	for (i = 0; i < n; i++) {
		struct json_object *vm = json_object_array_get_idx(vms, i), *ag;

		/* Only with an agent somewhere: the table others parse stays as it was. */
		if (json_object_object_get_ex(vm, "agent", &ag) && ag &&
		    (int)strlen(guest_ip(vm)) + 1 > wi)
			wi = (int)strlen(guest_ip(vm)) + 1 < 9 ? 9 : (int)strlen(guest_ip(vm)) + 1;
		fmt_state(vm, state, sizeof(state));
		fmt_accel(vm, accel, sizeof(accel));
		if ((int)strlen(state) > ws)
			ws = (int)strlen(state);
		if ((int)strlen(accel) > wa)
			wa = (int)strlen(accel);
	}
	printf("%-16s %-*s %-8s %-8s %-*s %-7s %-7s %-15s %*s%s\n", "NAME", ws, "STATE", "PID",
	    "UPTIME", wa, "ACCEL", "SERIAL", "MONITOR", "VNC", -wi, wi ? "GUEST-IP" : "",
	    "LAST-STOP");
	for (i = 0; i < n; i++) {
		struct json_object *vm = json_object_array_get_idx(vms, i);
		const char *reason = str_or(vm, "stop_reason", NULL);
		const char *exit_ = str_or(vm, "last_exit", NULL);

		fmt_state(vm, state, sizeof(state));
		fmt_accel(vm, accel, sizeof(accel));
		fmt_uptime(vm, up, sizeof(up));
		if (reason && exit_)
			snprintf(stop, sizeof(stop), "%s (%s)", reason, exit_);
		else
			snprintf(stop, sizeof(stop), "%s", reason ? reason : "-");
		printf("%-16s %-*s %-8s %-8s %-*s %-7s %-7s %-15s %*s%s\n",
		    str_or(vm, "name", "?"), ws, state, str_or(vm, "pid", "-"),
		    up, wa, accel, str_or(vm, "serial", "-"),
		    str_or(vm, "monitor", "-"), str_or(vm, "vnc", "-"), -wi,
		    wi ? guest_ip(vm) : "", stop);
	}
	/* Why a VM runs under TCG although accel = auto: the full reason. */
	for (i = 0; i < n; i++) {
		struct json_object *vm = json_object_array_get_idx(vms, i);
		const char *note = str_or(vm, "accel_note", NULL);

		if (note)
			printf("%s: %s: %s\n", str_or(vm, "name", "?"), str_or(vm, "accel", "?"),
			    note);
	}
	/* What a guest agent says of its guest. */
	for (i = 0; i < n; i++) {
		struct json_object *vm = json_object_array_get_idx(vms, i);
		const char *os = str_or(vm, "guest_os", NULL), *ag = str_or(vm, "agent", NULL);

		if (os || (ag && strcmp(ag, "answering") != 0 && str_or(vm, "pid", NULL)))
			printf("%s: guest agent %s%s%s\n", str_or(vm, "name", "?"), ag ? ag : "?",
			    os ? ", guest OS: " : "", os ? os : "");
	}
	/* The memory balloon (balloon = yes): what the guest has, what was asked. */
	for (i = 0; i < n; i++) {
		struct json_object *vm = json_object_array_get_idx(vms, i), *b, *v;
		char tgt[32] = "unknown";

		if (!json_object_object_get_ex(vm, "balloon", &b) || !b ||
		    !json_object_object_get_ex(b, "actual", &v))
			continue;
		long long actual = json_object_get_int64(v);
		if (json_object_object_get_ex(b, "target", &v) && v)
			snprintf(tgt, sizeof(tgt), "%lldM", (long long)(json_object_get_int64(v) >> 20));
		printf("%s: balloon: actual %lldM, target %s\n", str_or(vm, "name", "?"),
		    actual >> 20, tgt);
	}
	/* Why a VM failed to start (QEMU's own words) is worth a line. */
	for (i = 0; i < n; i++) {
		struct json_object *vm = json_object_array_get_idx(vms, i);
		const char *detail = str_or(vm, "stop_detail", NULL);

		struct json_object *in;

		if (detail && strcmp(str_or(vm, "state", ""), "failed") == 0)
			printf("%s: %s\n", str_or(vm, "name", "?"), detail);
		else if (strcmp(str_or(vm, "state", ""), "paused") == 0 &&
		    str_or(vm, "run_state", NULL) &&
		    strcmp(str_or(vm, "run_state", ""), "internal-error") == 0)
			printf("%s: the guest's CPUs stopped (internal-error, see %s.qemu.log); "
			    "`vmctl stop %s` ends it with SIGTERM\n", str_or(vm, "name", "?"),
			    str_or(vm, "name", "?"), str_or(vm, "name", "?"));
		if (json_object_object_get_ex(vm, "restart_in", &in) && in)
			printf("%s: restart %s in %.1f s\n", str_or(vm, "name", "?"),
			    str_or(vm, "restarts", "?"), json_object_get_double(in));
	}
	/* Reload left these behind: say so, and how to finish. */
	for (i = 0; i < n; i++) {
		struct json_object *vm = json_object_array_get_idx(vms, i), *v;
		const char *name = str_or(vm, "name", "?");

		if (json_object_object_get_ex(vm, "restart_pending", &v) &&
		    json_object_get_boolean(v))
			printf("%s: restart-pending (%s): `vmctl restart %s` applies the new "
			    "configuration\n", name, str_or(vm, "pending_change", "?"), name);
		if (json_object_object_get_ex(vm, "removed", &v) && json_object_get_boolean(v))
			printf("%s: removed from the inventory; dropped once stopped\n", name);
	}
}

int
vmctl_status(struct vmctl *ctl, int argc, char **argv)
{
	struct json_object *req, *resp, *vms = NULL;
	struct ctl_args a;
	char *sock;
	int rc = 0;

	if ((rc = parse(ctl, argc, argv, &a, 1)) != 0)
		return rc < 0 ? 0 : rc;
	sock = socket_path(ctl, &a);
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("status"));
	if (a.npos)
		json_object_object_add(req, "vm", json_object_new_string(a.pos[0]));
	/* The table reads a missing member as null or false: a smaller answer. */
	if (!a.json)
		json_object_object_add(req, "compact", json_object_new_boolean(true));
	resp = request(sock, req, &rc);
	json_object_put(req);
	free(sock);
	if (!resp)
		return rc;
	if (!ok_of(resp)) {
		fprintf(stderr, "vmctl status: %s\n", str_or(resp, "error", "request failed"));
		json_object_put(resp);
		return 1;
	}
	json_object_object_get_ex(resp, "vms", &vms);
	if (a.json)
		printf("%s\n", json_object_to_json_string_ext(resp, JSON_C_TO_STRING_PLAIN));
	else if (vms)
		print_table(vms);
	/* LSB: status of one VM that is not running is 3. */
	if (a.npos && vms && json_object_array_length(vms) == 1 &&
	    strcmp(str_or(json_object_array_get_idx(vms, 0), "state", ""), "running") != 0)
		rc = VMCTL_NOT_RUNNING;
	json_object_put(resp);
	return rc;
}

int
vmctl_lifecycle(struct vmctl *ctl, int argc, char **argv)
{
	struct json_object *req, *resp, *vms = NULL;
	struct ctl_args a;
	char *sock;
	size_t i;
	int rc;

	if ((rc = parse(ctl, argc, argv, &a, 1)) != 0)
		return rc < 0 ? 0 : rc;
	if (a.npos != 1) {
		fprintf(stderr, "vmctl %s: name a VM, or all\n", a.cmd);
		vmctl_usage(ctl->ctl_cmd, stderr);
		return 2;
	}
	sock = socket_path(ctl, &a);
	if (a.autokill) {
		rc = sock ? vmctl_autokill(sock, a.pos[0], !a.no_wait) : VMCTL_NO_DAEMON;
		free(sock);
		return rc;
	}
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string(a.cmd));
	json_object_object_add(req, "vm", json_object_new_string(a.pos[0]));
	json_object_object_add(req, "wait", json_object_new_boolean(!a.no_wait));
	if (a.force)
		json_object_object_add(req, "force", json_object_new_boolean(true));
	if (a.timeout >= 0)
		json_object_object_add(req, "timeout", json_object_new_int((int)a.timeout));
	resp = request(sock, req, &rc);
	json_object_put(req);
	free(sock);
	if (!resp)
		return rc;
	if (json_object_object_get_ex(resp, "vms", &vms) && vms)
		for (i = 0; i < json_object_array_length(vms); i++) {
			struct json_object *vm = json_object_array_get_idx(vms, i);
			const char *r = str_or(vm, "stop_reason", NULL);
			const char *st = str_or(vm, "state", "?");
			bool down = strcmp(st, "stopped") == 0 || strcmp(st, "failed") == 0;
			printf("%s: %s%s%s%s\n", str_or(vm, "name", "?"), st,
			    down && r ? " (" : "", down && r ? r : "", down && r ? ")" : "");
		}
	rc = 0;
	if (!ok_of(resp)) {
		fprintf(stderr, "vmctl %s: %s\n", a.cmd, str_or(resp, "error", "request failed"));
		rc = 1;
	}
	json_object_put(resp);
	return rc;
}

/*
 * {"cmd":CMD[,"vm":VM]} to the daemon. Returns the response when it says
 * ok, else NULL with the error printed and *rc set (1, or 4 when the daemon
 * cannot be reached).
 */
static struct json_object *
simple_request(struct vmctl *ctl, const struct ctl_args *a, const char *vm, int *rc)
{
	struct json_object *req, *resp;
	char *sock = socket_path(ctl, a);

	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string(a->cmd));
	if (vm)
		json_object_object_add(req, "vm", json_object_new_string(vm));
	resp = request(sock, req, rc);
	json_object_put(req);
	free(sock);
	if (resp && !ok_of(resp)) {
		fprintf(stderr, "vmctl %s: %s\n", a->cmd, str_or(resp, "error", "request failed"));
		json_object_put(resp);
		*rc = 1;
		return NULL;
	}
	return resp;
}

/* Each line of a response array, prefixed, to fp. */
static void
print_lines(struct json_object *resp, const char *key, FILE *fp, const char *prefix)
{
	struct json_object *a;
	size_t i;

	if (!json_object_object_get_ex(resp, key, &a) || !a ||
	    !json_object_is_type(a, json_type_array))
		return;
	for (i = 0; i < json_object_array_length(a); i++)
		fprintf(fp, "%s%s\n", prefix,
		    json_object_get_string(json_object_array_get_idx(a, i)));
}

/*
 * Exit 0: the daemon runs the new inventory (changes on stdout, warnings
 * on stderr). Exit 1: it kept the old one; every error (as check-config
 * prints them) on stderr.
 */
int
vmctl_reload(struct vmctl *ctl, int argc, char **argv)
{
	struct json_object *req, *resp;
	struct ctl_args a;
	char *sock;
	int rc;

	if ((rc = parse(ctl, argc, argv, &a, 0)) != 0)
		return rc < 0 ? 0 : rc;
	sock = socket_path(ctl, &a);
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("reload"));
	resp = request(sock, req, &rc);
	json_object_put(req);
	free(sock);
	if (!resp)
		return rc;
	print_lines(resp, "errors", stderr, "");
	print_lines(resp, "warnings", stderr, "vmctl reload: warning: ");
	if (!ok_of(resp)) {
		fprintf(stderr, "vmctl reload: %s\n", str_or(resp, "error", "request failed"));
		json_object_put(resp);
		return 1;
	}
	print_lines(resp, "changes", stdout, "");
	json_object_put(resp);
	return 0;
}

int
vmctl_revert(struct vmctl *ctl, int argc, char **argv)
{
	struct json_object *resp, *done = NULL;
	struct ctl_args a;
	size_t i;
	int rc;

	if ((rc = parse(ctl, argc, argv, &a, 1)) != 0)
		return rc < 0 ? 0 : rc;
	if (a.npos != 1) {
		fprintf(stderr, "vmctl revert: name one VM\n");
		vmctl_usage(ctl->ctl_cmd, stderr);
		return 2;
	}
	if (!(resp = simple_request(ctl, &a, a.pos[0], &rc)))
		return rc;
	if (json_object_object_get_ex(resp, "reverted", &done) && done)
		for (i = 0; i < json_object_array_length(done); i++)
			printf("%s: reverted %s\n", a.pos[0],
			    json_object_get_string(json_object_array_get_idx(done, i)));
	json_object_put(resp);
	return 0;
}

int
vmctl_reset_nvram(struct vmctl *ctl, int argc, char **argv)
{
	struct json_object *resp;
	struct ctl_args a;
	int rc;

	if ((rc = parse(ctl, argc, argv, &a, 1)) != 0)
		return rc < 0 ? 0 : rc;
	if (a.npos != 1) {
		fprintf(stderr, "vmctl reset-nvram: name one VM\n");
		vmctl_usage(ctl->ctl_cmd, stderr);
		return 2;
	}
	if (!(resp = simple_request(ctl, &a, a.pos[0], &rc)))
		return rc;
	printf("%s: NVRAM reset\n", a.pos[0]);
	json_object_put(resp);
	return 0;
}

/* vmctl wait: SIGALRM ends the wait with the timeout's exit status. */
static void
wait_alarm(int sig)
{
	static const char msg[] = "vmctl wait: timed out\n";

	(void)sig;
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(VMCTL_TIMED_OUT);
}

int
vmctl_wait(struct vmctl *ctl, int argc, char **argv)
{
	struct json_object *req, *resp;
	struct ctl_args a;
	char *sock;
	int rc;

	if ((rc = parse(ctl, argc, argv, &a, 1)) != 0)
		return rc < 0 ? 0 : rc;
	if (a.npos != 1) {
		fprintf(stderr, "vmctl wait: name a VM, or all\n");
		vmctl_usage(ctl->ctl_cmd, stderr);
		return 2;
	}
	if (a.timeout >= 0) {
		if (a.timeout == 0)
			wait_alarm(SIGALRM);
		signal(SIGALRM, wait_alarm);
		alarm((unsigned)a.timeout);
	}
	sock = socket_path(ctl, &a);
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("wait"));
	json_object_object_add(req, "vm", json_object_new_string(a.pos[0]));
	resp = request(sock, req, &rc);
	json_object_put(req);
	free(sock);
	if (!resp)
		return rc;
	rc = 0;
	if (!ok_of(resp)) {
		fprintf(stderr, "vmctl wait: %s\n", str_or(resp, "error", "request failed"));
		rc = 1;
	}
	json_object_put(resp);
	return rc;
}

/* One event line as text: "2026-12-03 19:05:01.123 web: stopped -> waiting (why) [reason]". */
static void
print_event(struct json_object *ev)
{
	struct json_object *v;
	double t = json_object_object_get_ex(ev, "time", &v) ? json_object_get_double(v) : 0;
	time_t sec = (time_t)t;
	char date[32];

	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", localtime(&sec));
	printf("%s.%03d %s: %s -> %s (%s)", date, (int)((t - (double)sec) * 1000),
	    str_or(ev, "vm", "?"), str_or(ev, "from", "?"), str_or(ev, "to", "?"),
	    str_or(ev, "why", ""));
	if (json_object_object_get_ex(ev, "stop_reason", &v) && v)
		printf(" [%s]", json_object_get_string(v));
	putchar('\n');
}

/*
 * vmctl events [NAME] [--json]: the table's transitions as they happen,
 * one line each (flushed at once, for pipes), until the daemon goes
 * (exit 1) or vmctl is interrupted.
 */
int
vmctl_events(struct vmctl *ctl, int argc, char **argv)
{
	struct json_object *req, *ev;
	struct ctl_args a;
	char *sock, *buf = NULL, *nl;
	size_t n = 0, cap = 0;
	bool subscribed = false;
	ssize_t r;
	int fd, rc;

	if ((rc = parse(ctl, argc, argv, &a, 1)) != 0)
		return rc < 0 ? 0 : rc;
	sock = socket_path(ctl, &a);
	fd = vmctl_connect(sock);
	free(sock);
	if (fd == -1)
		return VMCTL_NO_DAEMON;
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("events"));
	if (a.npos)
		json_object_object_add(req, "vm", json_object_new_string(a.pos[0]));
	const char *line = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	if (dprintf(fd, "%s\n", line) < 0) {
		fprintf(stderr, "vmctl events: cannot send the request: %s\n", strerror(errno));
		json_object_put(req);
		close(fd);
		return VMCTL_FAIL;
	}
	json_object_put(req);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (;;) {
		xgrow(&buf, &cap, n + 65536 + 1, 1);
		r = read(fd, buf + n, 65536);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = 0;
		while ((nl = memchr(buf, '\n', n)) != NULL) {
			*nl = 0;
			ev = json_tokener_parse(buf);
			if (!ev || !json_object_is_type(ev, json_type_object)) {
				fprintf(stderr, "vmctl events: malformed line from vmserviced\n");
				json_object_put(ev);
				goto out;
			}
			if (!subscribed) {
				subscribed = true;
				if (!ok_of(ev)) {
					fprintf(stderr, "vmctl events: %s\n",
					    str_or(ev, "error", "request failed"));
					json_object_put(ev);
					goto out;
				}
			} else if (a.json) {
				puts(json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN));
			} else {
				print_event(ev);
			}
			json_object_put(ev);
			n -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, n);
		}
		if (n > MAX_RESPONSE)
			break;
	}
	if (subscribed)
		fprintf(stderr, "vmctl events: vmserviced closed the stream\n");
	else
		fprintf(stderr, "vmctl events: no answer from vmserviced\n");
out:
	free(buf);
	close(fd);
	return VMCTL_FAIL;
}
