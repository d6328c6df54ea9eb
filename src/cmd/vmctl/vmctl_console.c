/*
 * vmctl console, monitor and qmp: the control socket's console switch (the
 * connection becomes the guest's serial port after one JSON line), and
 * one-shot HMP / QMP commands answered through the daemon's QMP connection.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "lib/util.h"
#include "cmd/vmctl/vmctl.h"
#include "cmd/vmctl/client.h"

#define ESCAPE_CHAR	0x1d	/* Ctrl-], as telnet and virsh console */
#define LINGER_MS	1000	/* stdin not a tty and at EOF: wait for output this long */

struct con_args {
	const char	*conf, *sock;
	const char	*pos[3];
	int		 npos;
	bool		 readonly;
};

/* 0, 2 (usage), -1 (help printed). */
static int
parse(struct vmctl *ctl, int argc, char **argv, struct con_args *a, int want)
{
	int i;

	memset(a, 0, sizeof(*a));
	for (i = 1; i < argc; i++) {
		const char *s = argv[i];
		if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
			vmctl_usage(ctl->ctl_cmd, stdout);
			return -1;
		} else if ((strcmp(s, "-c") == 0 || strcmp(s, "-s") == 0) && i + 1 < argc) {
			*(s[1] == 'c' ? &a->conf : &a->sock) = argv[++i];
		} else if ((strcmp(s, "-r") == 0 || strcmp(s, "--read-only") == 0) &&
		    strcmp(ctl->ctl_cmd->name, "console") == 0) {
			a->readonly = true;
		} else if (s[0] == '-' && s[1] && a->npos < 1) {
			fprintf(stderr, "vmctl %s: unknown option %s\n", ctl->ctl_cmd->name, s);
			vmctl_usage(ctl->ctl_cmd, stderr);
			return 2;
		} else if (a->npos < want) {
			a->pos[a->npos++] = s;
		} else {
			fprintf(stderr, "vmctl %s: unexpected argument '%s'\n", ctl->ctl_cmd->name, s);
			vmctl_usage(ctl->ctl_cmd, stderr);
			return 2;
		}
	}
	if (a->npos != want) {
		vmctl_usage(ctl->ctl_cmd, stderr);
		return 2;
	}
	return 0;
}

/* The response line, read a byte at a time: what follows it is console data. */
static struct json_object *
read_line(int fd)
{
	char buf[65536];
	size_t n = 0;
	ssize_t r;

	while (n < sizeof(buf) - 1) {
		r = read(fd, buf + n, 1);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return NULL;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return json_tokener_parse(buf);
}

static const char *
str_of(struct json_object *o, const char *key, const char *def)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : def;
}

static bool
ok_of(struct json_object *o)
{
	struct json_object *v;

	return json_object_object_get_ex(o, "ok", &v) && json_object_get_boolean(v);
}

/* Relay stdin <-> fd until Ctrl-], EOF from the daemon, or (piped) idle output. */
static int
relay(int fd, bool tty)
{
	struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = 0, .events = POLLIN } };
	char buf[16384], *esc;
	bool in_open = true;
	ssize_t n;
	int r;

	for (;;) {
		r = poll(p, in_open ? 2 : 1, in_open ? -1 : LINGER_MS);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return r == 0 ? 0 : 1;	/* idle after our input ended: done */
		if (p[0].revents) {
			n = read(fd, buf, sizeof(buf));
			if (n <= 0) {
				fprintf(stderr, "%s[vmctl: the daemon closed the console]%s",
				    tty ? "\r\n" : "", tty ? "\r\n" : "\n");
				return n == 0 ? 0 : 1;
			}
			if (fd_write_all(1, buf, (size_t)n))
				return 1;
		}
		if (in_open && p[1].revents) {
			n = read(0, buf, sizeof(buf));
			if (n <= 0) {
				/* Not shutdown(SHUT_WR): the daemon drops a client at EOF. */
				in_open = false;
				continue;
			}
			esc = memchr(buf, ESCAPE_CHAR, (size_t)n);
			if (esc) {
				fd_write_all(fd, buf, (size_t)(esc - buf));
				return 0;
			}
			if (fd_write_all(fd, buf, (size_t)n))
				return 1;
		}
	}
}

int
vmctl_console(struct vmctl *ctl, int argc, char **argv)
{
	struct con_args a;
	struct json_object *req, *resp;
	struct termios saved, raw;
	const char *s;
	char *sock;
	bool tty;
	int fd, rc;

	if ((rc = parse(ctl, argc, argv, &a, 1)) != 0)
		return rc < 0 ? 0 : rc;
	sock = vmctl_socket(ctl, a.conf, a.sock);
	fd = vmctl_connect(sock);
	free(sock);
	if (fd == -1)
		return VMCTL_NO_DAEMON;
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("console"));
	json_object_object_add(req, "vm", json_object_new_string(a.pos[0]));
	json_object_object_add(req, "readonly", json_object_new_boolean(a.readonly));
	s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	rc = fd_write_all(fd, s, strlen(s)) || fd_write_all(fd, "\n", 1);
	json_object_put(req);
	resp = rc ? NULL : read_line(fd);
	if (!resp) {
		fprintf(stderr, "vmctl console: no answer from vmserviced\n");
		close(fd);
		return VMCTL_NO_DAEMON;
	}
	if (!ok_of(resp)) {
		fprintf(stderr, "vmctl console: %s\n", str_of(resp, "error", "refused"));
		json_object_put(resp);
		close(fd);
		return VMCTL_FAIL;
	}
	tty = isatty(0) && tcgetattr(0, &saved) == 0;
	fprintf(stderr, "Connected to the console of %s (%s%s). Escape character is ^].\n",
	    a.pos[0], str_of(resp, "state", "?"), a.readonly ? ", read-only" : "");
	json_object_put(resp);
	if (tty) {
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(0, TCSADRAIN, &raw);
	}
	rc = relay(fd, tty);
	if (tty) {
		tcsetattr(0, TCSADRAIN, &saved);
		fprintf(stderr, "\n");
	}
	close(fd);
	return rc;
}

static int
one_shot(struct vmctl *ctl, const struct con_args *a, struct json_object *req, bool hmp)
{
	struct json_object *resp, *ret = NULL;
	const char *out;
	char *sock;
	int rc;

	sock = vmctl_socket(ctl, a->conf, a->sock);
	resp = vmctl_request(sock, req, &rc);
	free(sock);
	json_object_put(req);
	if (!resp)
		return rc;
	if (!ok_of(resp)) {
		fprintf(stderr, "vmctl %s: %s\n", ctl->ctl_cmd->name,
		    str_of(resp, "error", "request failed"));
		json_object_put(resp);
		return VMCTL_FAIL;
	}
	if (hmp) {
		/* HMP ends lines with CR LF. */
		for (out = str_of(resp, "output", ""); *out; out++)
			if (*out != '\r')
				putchar(*out);
	} else {
		json_object_object_get_ex(resp, "return", &ret);
		printf("%s\n", ret ? json_object_to_json_string_ext(ret, JSON_C_TO_STRING_PLAIN)
		    : "{}");
	}
	json_object_put(resp);
	return fflush(stdout) == 0 ? VMCTL_OK : VMCTL_FAIL;
}

int
vmctl_monitor(struct vmctl *ctl, int argc, char **argv)
{
	struct json_object *req;
	struct con_args a;
	int rc;

	if ((rc = parse(ctl, argc, argv, &a, 2)) != 0)
		return rc < 0 ? 0 : rc;
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("monitor"));
	json_object_object_add(req, "vm", json_object_new_string(a.pos[0]));
	json_object_object_add(req, "command", json_object_new_string(a.pos[1]));
	return one_shot(ctl, &a, req, true);
}

int
vmctl_qmp(struct vmctl *ctl, int argc, char **argv)
{
	struct json_object *req, *cmd, *x, *args = NULL;
	struct con_args a;
	int rc;

	if ((rc = parse(ctl, argc, argv, &a, 2)) != 0)
		return rc < 0 ? 0 : rc;
	cmd = json_tokener_parse(a.pos[1]);
	if (!cmd || !json_object_is_type(cmd, json_type_object) ||
	    !json_object_object_get_ex(cmd, "execute", &x) ||
	    !json_object_is_type(x, json_type_string)) {
		fprintf(stderr, "vmctl %s: expected a JSON object like "
		    "'{\"execute\":\"%s\"}', got: %s\n", argv[0],
		    strcmp(argv[0], "agent") == 0 ? "guest-ping" : "query-status", a.pos[1]);
		json_object_put(cmd);
		return VMCTL_USAGE;
	}
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string(argv[0]));
	json_object_object_add(req, "vm", json_object_new_string(a.pos[0]));
	json_object_object_add(req, "execute", json_object_get(x));
	if (json_object_object_get_ex(cmd, "arguments", &args) && args)
		json_object_object_add(req, "arguments", json_object_get(args));
	json_object_put(cmd);
	return one_shot(ctl, &a, req, false);
}

/* Positional arguments (options and their values left out). */
static int
count_pos(int argc, char **argv)
{
	int i, n = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "-s") == 0)
			i++;
		else if (argv[i][0] != '-' || !argv[i][1])
			n++;
	}
	return n;
}

/* As qemu-img snapshot -l and HMP info snapshots. */
void
vmctl_snapshot_print(struct json_object *list)
{
	size_t i;

	if (!list || !json_object_is_type(list, json_type_array))
		return;
	printf("%-4s %-20s %12s %-19s %s\n", "ID", "TAG", "VM SIZE", "DATE", "VM CLOCK");
	for (i = 0; i < json_object_array_length(list); i++) {
		struct json_object *s = json_object_array_get_idx(list, i), *v;
		long long size = 0, sec = 0, vsec = 0, vns = 0;
		char date[32] = "-";
		time_t t;

		if (json_object_object_get_ex(s, "vm-state-size", &v))
			size = json_object_get_int64(v);
		if (json_object_object_get_ex(s, "date-sec", &v))
			sec = json_object_get_int64(v);
		if (json_object_object_get_ex(s, "vm-clock-sec", &v))
			vsec = json_object_get_int64(v);
		if (json_object_object_get_ex(s, "vm-clock-nsec", &v))
			vns = json_object_get_int64(v);
		t = (time_t)sec;
		strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", localtime(&t));
		printf("%-4s %-20s %12lld %-19s %02lld:%02lld:%02lld.%03lld\n",
		    str_of(s, "id", "?"), str_of(s, "name", "?"), size, date, vsec / 3600,
		    vsec / 60 % 60, vsec % 60, vns / 1000000);
	}
}

/*
 * vmctl snapshot NAME create|revert|delete TAG, or NAME list: the daemon's
 * QMP jobs for a running machine; vmctl_snapoff.c for one no QEMU runs.
 */
int
vmctl_snapshot(struct vmctl *ctl, int argc, char **argv)
{
	static const char *const ops[] = { "list", "create", "revert", "delete", NULL };
	struct json_object *req, *resp, *ret = NULL, *v;
	struct con_args a;
	const char *conf;
	char *sock;
	size_t o;
	int rc, want = count_pos(argc, argv) == 2 ? 2 : 3;

	if ((rc = parse(ctl, argc, argv, &a, want)) != 0)
		return rc < 0 ? 0 : rc;
	for (o = 0; ops[o] && strcmp(a.pos[1], ops[o]) != 0; o++)
		;
	if (!ops[o] || (want == 2) != (o == 0)) {
		fprintf(stderr, "vmctl snapshot: %s\n", !ops[o] ? "the operation is create, "
		    "list, revert or delete" : want == 2 ? "create, revert and delete need a TAG" :
		    "list takes no TAG");
		vmctl_usage(ctl->ctl_cmd, stderr);
		return VMCTL_USAGE;
	}
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("snapshot"));
	json_object_object_add(req, "vm", json_object_new_string(a.pos[0]));
	json_object_object_add(req, "op", json_object_new_string(a.pos[1]));
	if (want == 3)
		json_object_object_add(req, "tag", json_object_new_string(a.pos[2]));
	sock = vmctl_socket(ctl, a.conf, a.sock);
	resp = vmctl_request(sock, req, &rc);
	free(sock);
	json_object_put(req);
	conf = vmctl_conf_path(ctl, a.conf);
	if (!resp && rc == VMCTL_NO_DAEMON) {
		fprintf(stderr, "vmctl snapshot: working on vm %s's disks directly\n", a.pos[0]);
		return vmctl_snapshot_offline(conf, NULL, a.pos[0], a.pos[1],
		    want == 3 ? a.pos[2] : NULL);
	}
	if (!resp)
		return rc;
	if (!ok_of(resp) && json_object_object_get_ex(resp, "offline", &v) &&
	    json_object_get_boolean(v)) {
		/* A saved state is bound to its disks as they are now. */
		if (o != 0 && json_object_object_get_ex(resp, "saved", &v) &&
		    json_object_get_boolean(v)) {
			fprintf(stderr, "vmctl snapshot: vm %s has a saved state: changing its "
			    "disks now would make its restore refuse it; start it (it resumes) "
			    "and take the snapshot while it runs\n", a.pos[0]);
			json_object_put(resp);
			return VMCTL_FAIL;
		}
		json_object_object_get_ex(resp, "disks", &v);
		rc = vmctl_snapshot_offline(conf, v, a.pos[0], a.pos[1], want == 3 ? a.pos[2] :
		    NULL);
		json_object_put(resp);
		return rc;
	}
	if (!ok_of(resp)) {
		fprintf(stderr, "vmctl snapshot: %s\n", str_of(resp, "error", "request failed"));
		json_object_put(resp);
		return VMCTL_FAIL;
	}
	json_object_object_get_ex(resp, "return", &ret);
	if (want == 2)
		vmctl_snapshot_print(ret);
	json_object_put(resp);
	return fflush(stdout) == 0 ? VMCTL_OK : VMCTL_FAIL;
}
