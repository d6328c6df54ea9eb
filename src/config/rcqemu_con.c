/*
 * vmctl import-rc: serial ports, monitors (-serial, -monitor, -chardev,
 * -mon) and display options as serial/monitor/vnc settings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/rc_priv.h"
#include "config/rcq_priv.h"

/* ---- consoles and display ----------------------------------------------- */

/* "telnet:HOST:PORT,server,nowait" (or tcp:): the port, else -1. */
static int
telnet_port(struct rq *q, const char *s, bool *raw_tcp)
{
	char host[256], rest[256] = "";
	unsigned port;
	int n;

	*raw_tcp = strncmp(s, "tcp:", 4) == 0;
	if (strncmp(s, "telnet:", 7) != 0 && !*raw_tcp)
		return -1;
	s += *raw_tcp ? 4 : 7;
	host[0] = '\0';
	if (*s == ':')
		n = sscanf(s, ":%u%255s", &port, rest) >= 1;
	else
		n = sscanf(s, "%255[^:]:%u%255s", host, &port, rest) >= 2;
	if (!n || port < 1 || port > 65535)
		return -1;
	if (!strstr(rest, "server"))
		return -1;	/* QEMU connecting out: nothing to listen on */
	if (*host && strcmp(host, "localhost") && strcmp(host, "127.0.0.1") &&
	    strcmp(host, "::1"))
		rci_warn(q->vm, q->line, "%s %s: listened on %s; vmservice listens on the "
		    "global `listen` address (and monitors on monitor_listen)", q->opt, q->arg,
		    host);
	return (int)port;
}

/*
 * -chardev socket,id=ID,host=H,port=P,server=on,wait=off[,telnet=on]: kept
 * by id for a -serial chardev:ID or -mon chardev=ID; used by neither, it
 * goes to extra_args at the end (another device uses it).
 */
void
rcq_h_chardev(struct rq *q)
{
	const char *type, *id, *port, *server, *host;
	struct rci_chardev *c;
	struct kv kv;

	rcq_kv_split(q->arg, "backend", &kv);
	type = rcq_kv_get(&kv, "backend");
	id = rcq_kv_get(&kv, "id");
	port = rcq_kv_get(&kv, "port");
	server = rcq_kv_get(&kv, "server");
	host = rcq_kv_get(&kv, "host");
	if (!type || strcmp(type, "socket") || !id || !rcq_is_uint(port) || !server ||
	    rcq_parse_onoff(server) != 1 || atoi(port) < 1 || atoi(port) > 65535) {
		rcq_to_extra(q, "not a listening TCP socket");
		rcq_kv_free(&kv);
		return;
	}
	if (host && *host && strcmp(host, "localhost") && strcmp(host, "127.0.0.1") &&
	    strcmp(host, "::1"))
		rci_warn(q->vm, q->line, "%s %s: listened on %s; vmservice listens on the "
		    "global `listen` address (and monitors on monitor_listen)", q->opt, q->arg,
		    host);
	q->vm->v_chardevs = xrealloc(q->vm->v_chardevs,
	    (q->vm->v_n_chardevs + 1) * sizeof(*c));
	c = &q->vm->v_chardevs[q->vm->v_n_chardevs++];
	c->ch_id = xstrdup(id);
	c->ch_arg = xstrdup(q->arg);
	c->ch_port = atoi(port);
	c->ch_line = q->line;
	c->ch_used = false;
	rcq_kv_free(&kv);
}

/* The -chardev named id, marked used; NULL if none. */
static struct rci_chardev *
chardev(struct rci_vm *vm, const char *id)
{
	for (size_t i = 0; i < vm->v_n_chardevs; i++)
		if (strcmp(vm->v_chardevs[i].ch_id, id) == 0) {
			vm->v_chardevs[i].ch_used = true;
			return &vm->v_chardevs[i];
		}
	return NULL;
}

void
rcq_h_mon(struct rq *q)
{
	struct rci_chardev *c;
	const char *id, *mode;
	struct kv kv;

	rcq_kv_split(q->arg, "chardev", &kv);
	id = rcq_kv_get(&kv, "chardev");
	mode = rcq_kv_get(&kv, "mode");
	if (id && (!mode || strcmp(mode, "readline") == 0) && (c = chardev(q->vm, id)) != NULL)
		q->vm->v_monitor = c->ch_port;
	else
		rcq_dropped(q, "vmservice owns QEMU's monitors (monitor = PORT for a telnet one)");
	rcq_kv_free(&kv);
}

void
rcq_h_serial(struct rq *q)
{
	const char *s = q->arg;
	struct rci_chardev *c;
	bool raw;
	int port;

	if (q->vm->v_n_serials++ > 0) {
		/* ttyS1 and on: after ours, so in the same places. */
		strv_push(&q->vm->v_extra, q->opt);
		strv_push(&q->vm->v_extra, q->arg);
		rci_note(q->vm, q->line, "%s %s: a further serial port, kept in extra_args",
		    q->opt, q->arg);
		return;
	}
	if (strncmp(s, "mon:", 4) == 0) {
		rci_warn(q->vm, q->line, "%s %s: the monitor is not multiplexed onto the "
		    "serial port (see `monitor`)", q->opt, q->arg);
		s += 4;
	}
	if (strncmp(s, "chardev:", 8) == 0 && (c = chardev(q->vm, s + 8)) != NULL) {
		q->vm->v_serial = c->ch_port;
	} else if ((port = telnet_port(q, s, &raw)) > 0) {
		q->vm->v_serial = port;
		if (raw)
			rci_warn(q->vm, q->line, "%s %s: raw TCP becomes a telnet port", q->opt,
			    q->arg);
	} else {
		rcq_dropped(q, "vmservice keeps the first serial port itself (console proxy "
		    "and log_dir/NAME.console.log)");
	}
}

void
rcq_h_monitor(struct rq *q)
{
	bool raw;
	int port = telnet_port(q, q->arg, &raw);

	if (port > 0)
		q->vm->v_monitor = port;
	else
		rcq_dropped(q, "vmservice owns QEMU's monitors (monitor = PORT for a telnet one)");
}

void
rcq_h_vnc(struct rq *q)
{
	struct kv kv;
	const char *d;
	const char *colon;

	rcq_kv_split(q->arg, "display", &kv);
	d = rcq_kv_get(&kv, "display");
	colon = d ? strrchr(d, ':') : NULL;
	if (d && strcmp(d, "none") == 0) {
		rcq_kv_free(&kv);
		return;
	}
	if (!colon || !rcq_is_uint(colon + 1) || atoi(colon + 1) > 99) {
		rcq_dropped(q, "not a display :N, 0..99");
		rcq_kv_free(&kv);
		return;
	}
	q->vm->v_vnc = atoi(colon + 1);
	if (colon != d && strncmp(d, "localhost:", 10) && strncmp(d, "127.0.0.1:", 10))
		rci_warn(q->vm, q->line, "%s %s: vmservice's VNC listens on the global `listen` "
		    "address", q->opt, q->arg);
	if (rcq_kv_get(&kv, "password"))
		rci_note(q->vm, q->line, "%s %s: password: set vnc_password_file (else the "
		    "daemon sets a generated one)", q->opt, q->arg);
	rcq_rest_dropped(q, &kv);
	rcq_kv_free(&kv);
}

void rcq_h_k(struct rq *q) { rcq_is_word(q->arg) ? rci_set(&q->vm->v_keymap, q->arg) :
    rcq_to_extra(q, "not a keymap name"); }
void rcq_h_std_vga(struct rq *q) { rci_set(&q->vm->v_vga, "std"); }

void
rcq_h_vga(struct rq *q)
{
	static const char *const vgas[] = { "std", "cirrus", "vmware", "qxl", "virtio",
	    "none", NULL };

	if (rcq_in_list(q->arg, vgas))
		rci_set(&q->vm->v_vga, q->arg);
	else
		rcq_to_extra(q, "a card vmservice has no name for");
}

void
rcq_h_usbdevice(struct rq *q)
{
	if (strcmp(q->arg, "tablet") == 0)
		q->vm->v_tablet = true;
	else
		rcq_to_extra(q, "a USB device vmservice has no option for");
}

void
rcq_h_balloon(struct rq *q)
{
	if (strncmp(q->arg, "virtio", 6) == 0)
		q->vm->v_balloon = true;
	else if (strcmp(q->arg, "none") != 0)
		rcq_to_extra(q, "not virtio");
}

void
rcq_h_localtime(struct rq *q)
{
	/* Removed from QEMU (2.x); the same thing spelt today. */
	strv_push(&q->vm->v_extra, "-rtc");
	strv_push(&q->vm->v_extra, "base=localtime");
	rci_note(q->vm, q->line, "-localtime: kept in extra_args as -rtc base=localtime");
}
