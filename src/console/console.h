/*
 * A multi-client console proxy: one upstream (QEMU's serial or HMP chardev,
 * a unix socket where QEMU is the server) and any number of clients (telnet
 * over TCP on listen:port, or raw byte streams handed over by the control
 * socket for `vmctl console`).
 *
 * Guest output fans out to every client, to the scrollback ring (which a
 * new client receives first) and to the rotated log. Input from any
 * writable client goes to the guest. Nothing blocks: each client has a
 * bounded output buffer; a client that does not keep up skips output (and
 * is told how much) instead of slowing the guest, the daemon or the other
 * clients. The upstream reconnects when QEMU restarts.
 */
#ifndef VMS_CONSOLE_H
#define VMS_CONSOLE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct loop;
struct console;

/*
 * Admission of a TCP client before it is served (conguard.c: no guests, a
 * password). Returns true to serve fd now; false when the hook took fd
 * (closed it, or attaches it later with console_attach()).
 */
typedef bool (*console_admit_fn)(void *arg, struct console *c, int fd);

struct console_cfg {
	const char	*cc_vm;		/* VM name, for messages */
	const char	*cc_what;	/* "serial", "monitor" */
	const char	*cc_upstream;	/* QEMU's chardev socket */
	const char	*cc_listen;	/* TCP bind address (numeric); NULL: 127.0.0.1 */
	int		 cc_port;	/* TCP port, 0: any free one, < 0: no TCP endpoint */
	size_t		 cc_scrollback;	/* ring size; 0: none */
	/*
	 * The ring is allocated on the first output and given back this long
	 * after console_upstream_stop() (a restart cancels it); 0: kept. See
	 * CONSOLE_RELEASE_MS.
	 */
	unsigned	 cc_release_ms;
	const char	*cc_log;	/* rotated log; NULL: none */
	uint64_t	 cc_log_size;	/* rotate at; 0: never */
	unsigned	 cc_log_keep;
	/*
	 * QEMU's own log of the chardev (logfile=): what QEMU printed while
	 * nobody was connected. Moved into the log and the scrollback on each
	 * upstream connect, then kept empty. NULL: none.
	 */
	const char	*cc_spool;
	size_t		 cc_client_max;	/* per-client output bound; 0: default */
	unsigned	 cc_max_clients; /* telnet clients; 0: default */
	unsigned	 cc_idle_timeout; /* s without input: a telnet client goes; 0: never */
	console_admit_fn cc_admit;	/* NULL: every TCP client is served */
	void		*cc_admit_arg;
	/* Every chunk of guest output, as it arrives (readiness probes); NULL: none. */
	void		(*cc_output)(void *arg, const uint8_t *p, size_t n);
	void		*cc_output_arg;
};

/*
 * A client's output backlog, raised to hold twice the scrollback: about
 * 1-2 s of a busy guest under TCG. Beyond it the client skips output.
 */
#define CONSOLE_CLIENT_MAX_DEFAULT	(64 * 1024)
/*
 * Telnet clients and `vmctl console` clients (handed over by the control
 * socket, hence admins) have separate caps: whoever reaches a telnet port
 * cannot lock the admin out. The output all clients of a console have
 * queued is bounded too (CONSOLE_QUEUE_CLIENTS per-client bounds): beyond
 * it a client that is behind skips output, and one that has not drained
 * any of its backlog for CONSOLE_STALL_MS is dropped.
 */
#define CONSOLE_MAX_CLIENTS_DEFAULT	16
#define CONSOLE_MAX_RAW_CLIENTS		16
#define CONSOLE_QUEUE_CLIENTS		4
#define CONSOLE_STALL_MS		60000
/*
 * How long a stopped VM keeps its scrollback in memory: long enough for a
 * restart or a quick look at why it stopped, short enough that a host with
 * hundreds of stopped VMs holds only their logs (issue 20). After it, a
 * client that connects gets the tail of the console log instead.
 */
#define CONSOLE_RELEASE_MS		60000
#define CONSOLE_CONNECT_INTERVAL_MS	100
#define CONSOLE_CONNECT_ATTEMPTS	300

/* console_attach() flags */
#define CONSOLE_READONLY	0x1u	/* input from this client is dropped */
#define CONSOLE_RAW		0x2u	/* no telnet: a plain byte stream */

/*
 * Create the console and bind its TCP endpoint (if any). The upstream is
 * not connected until console_upstream_start(). Returns NULL with a
 * message in err (port in use, bad address, log not writable).
 */
struct console *console_new(struct loop *lp, const struct console_cfg *cfg,
    char *err, size_t errlen);
/* Closes every client, the listener and the upstream. */
void console_free(struct console *c);

/*
 * QEMU was (re)started or adopted: connect from the loop, retrying while
 * it comes up (usock_retry), then again after every disconnection. Only to
 * a socket whose listener is process peer (SO_PEERCRED; 0: any), never
 * through a symlink (usock_connect): a refusal is logged and ends the
 * retries.
 */
void console_upstream_start(struct console *c, pid_t peer);
/* QEMU is gone: drop the upstream, stop retrying; clients stay. */
void console_upstream_stop(struct console *c, const char *why);
bool console_upstream_connected(const struct console *c);

/*
 * Take over a connected socket as a client (the console owns and closes
 * it). The caller must have removed fd from the loop. Returns 0, or
 * -EMFILE when the console already has its maximum of clients of that
 * kind, telnet or raw (fd closed).
 */
int console_attach(struct console *c, int fd, unsigned flags);

unsigned console_n_clients(const struct console *c);
/* Bytes of buffers held for output now (scrollback, encoding): 0 until used. */
size_t console_mem(const struct console *c);
/* The bound TCP port, or -1. */
int console_port(const struct console *c);
#endif
