/* Console proxy: QEMU chardev socket <-> telnet/raw clients, ring, log. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/usock.h"
#include "lib/usock_retry.h"
#include "lib/util.h"
#include "lib/acceptor.h"
#include "console/console.h"
#include "console/console_log.h"
#include "lib/loop.h"
#include "lib/outbuf.h"
#include "lib/ringbuf.h"
#include "console/telnet.h"

#define CHUNK		16384		/* one read from the upstream or a client */
#define UP_IN_MAX	(64 * 1024)	/* input queued for a guest not reading */
#define CLIENT_SNDBUF	(32 * 1024)	/* the kernel doubles it */
/*
 * QEMU writes a guest's serial output to the socket a byte at a time. After
 * a short read we stop reading for BATCH_MS so the next read takes a batch:
 * a few ms of echo delay instead of ~7 syscalls per byte (fan-out, log).
 */
#define BATCH_MS	5
#define BATCH_SHORT	1024
/*
 * A client that shut down its sending side (`printf 'uptime\r' | socat -
 * TCP:...`) still gets output this long, then is dropped: a FIN cannot be
 * told from a close until a send fails, and an idle guest sends nothing.
 */
#define HALF_CLOSED_MS	2000
/* The most of a spool read back at a connect (more if the scrollback is larger). */
#define SPOOL_READ_MAX	(1024 * 1024)
#define SWEEP_MS	1000	/* idle and stalled clients are looked for this often */

struct client {
	struct console	*cl_con;
	struct client	*cl_next;
	int		 cl_fd;
	unsigned	 cl_flags;
	struct telnet	 cl_tn;
	struct outbuf	 cl_out;
	uint64_t	 cl_skipped;	/* output dropped since the last notice */
	bool		 cl_pollout;
	bool		 cl_eof;	/* peer sent FIN: output only, until the timer */
	uint64_t	 cl_timer;
	size_t		 cl_counted;	/* its share of c_queued */
	uint64_t	 cl_last_rx;	/* now_ms(): its last input (or connect) */
	uint64_t	 cl_last_tx;	/* now_ms(): its backlog last drained (or was empty) */
	uint64_t	 cl_sent_seen;	/* cl_out.ob_sent at cl_last_tx */
	char		 cl_peer[64];
};

struct console {
	struct loop	*c_lp;
	char		*c_vm, *c_what, *c_upstream, *c_spool;
	int		 c_listen_fd;
	struct acceptor	 c_acc;
	int		 c_port;
	size_t		 c_client_max;
	unsigned	 c_max_clients;	/* telnet */
	unsigned	 c_idle_ms;	/* telnet; 0: no idle timeout */
	console_admit_fn c_admit;
	void		*c_admit_arg;
	void		(*c_output)(void *arg, const uint8_t *p, size_t n);
	void		*c_output_arg;

	struct client	*c_clients;
	unsigned	 c_n_clients;
	unsigned	 c_n_raw;	/* of which `vmctl console` */
	size_t		 c_queued;	/* every client's backlog */
	size_t		 c_queue_max;
	uint64_t	 c_sweep_timer;

	int		 c_up_fd;	/* -1: not connected */
	pid_t		 c_up_peer;	/* the QEMU serving the upstream; 0: any */
	bool		 c_up_wanted;	/* between upstream_start and _stop */
	bool		 c_up_pollout;
	bool		 c_up_paused;	/* not reading for BATCH_MS */
	uint64_t	 c_batch_timer;
	struct usock_retry c_up_conn;	/* connecting, while QEMU starts */
	struct outbuf	 c_up_in;	/* client input waiting for the guest */
	int		 c_spool_fd;
	size_t		 c_spool_max;	/* read at most its last bytes */

	struct ringbuf	 c_ring;	/* storage from the first output (ringbuf.h) */
	unsigned	 c_release_ms;	/* 0: the ring is kept while stopped */
	uint64_t	 c_release_timer;
	/*
	 * The ring was released and every byte since is in the log too: a
	 * late client gets the log's tail while that holds more than the ring.
	 */
	bool		 c_from_log;
	struct console_log c_log;
	bool		 c_log_on;
	bool		 c_log_failing;	/* warned once; quiet until it works again */
	/*
	 * Telnet encoding space, 2 * CHUNK: allocated for the first telnet
	 * client's output, freed when the last client goes. Inside every
	 * console it cost a thousand idle VMs 64 MB (calloc touches it).
	 */
	uint8_t		*c_enc;
};

static void client_drop(struct client *cl, const char *why);

/* --- clients --------------------------------------------------------- */

/* c_queued follows every change of a client's backlog. */
static void
client_account(struct client *cl)
{
	size_t pend = outbuf_len(&cl->cl_out);

	cl->cl_con->c_queued = cl->cl_con->c_queued - cl->cl_counted + pend;
	cl->cl_counted = pend;
}

static void
client_watch(struct client *cl)
{
	/* Level-triggered: a peer at EOF would wake us forever. */
	loop_mod_fd(cl->cl_con->c_lp, cl->cl_fd, (cl->cl_eof ? 0 : EPOLLIN) |
	    (cl->cl_pollout ? EPOLLOUT : 0));
}

static void
client_set_pollout(struct client *cl, bool on)
{
	if (cl->cl_pollout == on)
		return;
	cl->cl_pollout = on;
	client_watch(cl);
}

/*
 * Queue bytes (already encoded) for a client and try to send them at once.
 * Guest output over the bound is skipped, never queued: a client that does
 * not read costs at most c_client_max bytes and never back-pressures the
 * guest. force (negotiation replies, notices: small) may exceed the bound
 * up to twice; past that the client is dropped. Returns false if the
 * client was dropped (cl is freed).
 */
static bool client_flushed(struct client *cl);

static bool
client_queue(struct client *cl, const void *p, size_t n, bool force)
{
	struct console *c = cl->cl_con;
	size_t pend = outbuf_len(&cl->cl_out);
	ssize_t rc;

	/*
	 * A client with a backlog also skips when all clients together hold
	 * c_queue_max: silent clients cannot pin a scrollback copy each. One
	 * that keeps up (no backlog) always gets live output.
	 */
	if (!force && (cl->cl_skipped || pend + n > c->c_client_max ||
	    (pend && c->c_queued + n > c->c_queue_max))) {
		/* Once skipping, skip until the backlog is out: no holes inside it. */
		cl->cl_skipped += n;
		return true;
	}
	if (outbuf_add(&cl->cl_out, p, n) < 0) {
		client_drop(cl, "output buffer overflow");
		return false;
	}
	rc = outbuf_flush(&cl->cl_out, cl->cl_fd);
	client_account(cl);
	if (rc < 0) {
		client_drop(cl, strerror((int)-rc));
		return false;
	}
	return client_flushed(cl);
}

/* A bracketed line from us, not the guest: "\r\n[vmservice] ...\r\n". */
static bool
client_notice(struct client *cl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool
client_notice(struct client *cl, const char *fmt, ...)
{
	char msg[256];
	int len;
	va_list ap;

	len = snprintf(msg, sizeof(msg), "\r\n[vmservice] ");
	va_start(ap, fmt);
	len += vsnprintf(msg + len, sizeof(msg) - (size_t)len - 2, fmt, ap);
	va_end(ap);
	if ((size_t)len > sizeof(msg) - 3)
		len = sizeof(msg) - 3;
	msg[len++] = '\r';
	msg[len++] = '\n';
	return client_queue(cl, msg, (size_t)len, true);
}

/* Guest bytes for one client, escaped for telnet unless raw. */
static bool
client_output(struct client *cl, const uint8_t *p, size_t n)
{
	struct console *c = cl->cl_con;
	size_t off, len;

	if (cl->cl_flags & CONSOLE_RAW)
		return client_queue(cl, p, n, false);
	if (!c->c_enc)
		c->c_enc = xmalloc(2 * CHUNK);
	for (off = 0; off < n; off += len) {
		len = n - off < CHUNK ? n - off : CHUNK;
		if (!client_queue(cl, c->c_enc, telnet_encode(p + off, len, c->c_enc), false))
			return false;
	}
	return true;
}

/* After a flush: tell a client that caught up what it missed; poll for more. */
static bool
client_flushed(struct client *cl)
{
	uint64_t skipped = cl->cl_skipped;

	if (outbuf_empty(&cl->cl_out) && skipped) {
		cl->cl_skipped = 0;
		return client_notice(cl, "%llu bytes of output skipped: this client "
		    "did not keep up", (unsigned long long)skipped);
	}
	client_set_pollout(cl, !outbuf_empty(&cl->cl_out));
	return true;
}

static void
client_drop(struct client *cl, const char *why)
{
	struct console *c = cl->cl_con;
	struct client **pp;

	for (pp = &c->c_clients; *pp; pp = &(*pp)->cl_next) {
		if (*pp == cl) {
			*pp = cl->cl_next;
			break;
		}
	}
	c->c_n_clients--;
	if (cl->cl_flags & CONSOLE_RAW)
		c->c_n_raw--;
	c->c_queued -= cl->cl_counted;
	log_vm(LOG_INFO, c->c_vm, "%s client %s disconnected (%s)", c->c_what,
	    cl->cl_peer, why);
	if (cl->cl_timer)
		loop_cancel_timer(c->c_lp, cl->cl_timer);
	loop_del_fd(c->c_lp, cl->cl_fd);
	close(cl->cl_fd);
	outbuf_free(&cl->cl_out);
	free(cl);
	if (!c->c_clients) {
		/* Nobody to encode for: the next client allocates it again. */
		free(c->c_enc);
		c->c_enc = NULL;
	}
}

static void
half_closed_done(struct loop *lp, void *arg)
{
	struct client *cl = arg;

	cl->cl_timer = 0;
	client_drop(cl, "closed");
}

static void upstream_send(struct console *c, const uint8_t *p, size_t n);

static void
client_readable(struct client *cl)
{
	struct console *c = cl->cl_con;
	uint8_t in[4096], data[4096], reply[4096 + 2];
	size_t dlen, rlen;
	ssize_t r;

	r = read(cl->cl_fd, in, sizeof(in));
	if (r == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r == 0 && !cl->cl_eof) {
		cl->cl_eof = true;
		client_watch(cl);
		cl->cl_timer = loop_add_timer(c->c_lp, HALF_CLOSED_MS, half_closed_done, cl);
		return;
	}
	if (r <= 0) {
		client_drop(cl, r == 0 ? "closed" : strerror(errno));
		return;
	}
	cl->cl_last_rx = now_ms();
	if (cl->cl_flags & CONSOLE_RAW) {
		if (!(cl->cl_flags & CONSOLE_READONLY))
			upstream_send(c, in, (size_t)r);
		return;
	}
	telnet_decode(&cl->cl_tn, in, (size_t)r, data, &dlen, reply, &rlen);
	if (rlen && !client_queue(cl, reply, rlen, true))
		return;
	if (dlen && !(cl->cl_flags & CONSOLE_READONLY))
		upstream_send(c, data, dlen);
}

static void
client_event(struct loop *lp, int fd, uint32_t events, void *arg)
{
	struct client *cl = arg;
	ssize_t rc;

	if (events & EPOLLOUT) {
		rc = outbuf_flush(&cl->cl_out, fd);
		client_account(cl);
		if (rc < 0) {
			client_drop(cl, strerror((int)-rc));
			return;
		}
		if (!client_flushed(cl))
			return;
	}
	/* EPOLLHUP/ERR: read() reports the EOF or the error. */
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		client_readable(cl);
}

static void
peer_name(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[NI_MAXHOST], serv[NI_MAXSERV];

	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == -1 ||
	    ss.ss_family == AF_UNIX ||
	    getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), serv, sizeof(serv),
	    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(buf, len, "local");
		return;
	}
	snprintf(buf, len, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, serv);
}

static void sweep_arm(struct console *c);

/*
 * After a release (console_upstream_stop) the scrollback is the log's tail:
 * the last rb_cap bytes of the current file, cut after the first newline
 * as the ring does once it wrapped. Used while the file holds more than
 * the refilling ring. Returns 1 if it replayed, 0 to use the ring, -1 if
 * the client was dropped.
 */
static int
replay_log(struct console *c, struct client *cl)
{
	size_t cap = c->c_ring.rb_cap, skip = 0;
	uint64_t before;
	uint8_t *buf, *nl;
	char err[256];
	ssize_t n;
	bool alive, asleep;

	if (c->c_from_log && c->c_ring.rb_len >= cap)
		c->c_from_log = false;	/* full again: the ring has it all */
	if (!c->c_from_log || !c->c_log_on || c->c_log_failing || cap == 0 ||
	    c->c_log.cl_size <= c->c_ring.rb_len)
		return 0;
	asleep = c->c_log.cl_fd == -1;
	if (console_log_wake(&c->c_log, err, sizeof(err)) != 0) {
		log_vm(LOG_WARNING, c->c_vm, "%s: scrollback: %s", c->c_what, err);
		return 0;
	}
	buf = xmalloc(cap);
	n = console_log_tail(&c->c_log, buf, cap, &before);
	if (asleep)
		console_log_sleep(&c->c_log);
	if (n <= 0 || (size_t)n <= c->c_ring.rb_len) {
		if (n < 0)
			log_vm(LOG_WARNING, c->c_vm, "%s: scrollback from %s: %s", c->c_what,
			    c->c_log.cl_path, strerror((int)-n));
		free(buf);
		return 0;
	}
	if (before && (nl = memchr(buf, '\n', (size_t)n)) != NULL)
		skip = (size_t)(nl - buf) + 1;
	alive = client_output(cl, buf + skip, (size_t)n - skip);
	free(buf);
	return alive ? 1 : -1;
}

/*
 * Once a second while there are clients: telnet clients silent for the
 * idle timeout go, and so does any client whose backlog has not shrunk
 * for CONSOLE_STALL_MS (it does not read: its queued output is memory).
 */
static void
sweep(struct loop *lp, void *arg)
{
	struct console *c = arg;
	struct client *cl, *next;
	uint64_t now = now_ms();

	c->c_sweep_timer = 0;
	for (cl = c->c_clients; cl; cl = next) {
		next = cl->cl_next;
		if (outbuf_empty(&cl->cl_out) || cl->cl_out.ob_sent != cl->cl_sent_seen) {
			cl->cl_last_tx = now;
			cl->cl_sent_seen = cl->cl_out.ob_sent;
		} else if (now >= cl->cl_last_tx + CONSOLE_STALL_MS) {
			client_drop(cl, "not reading its output");
			continue;
		}
		if (c->c_idle_ms && !(cl->cl_flags & CONSOLE_RAW) && !cl->cl_eof &&
		    now >= cl->cl_last_rx + c->c_idle_ms) {
			/* The notice may drop it already: then it is gone, fine. */
			if (client_notice(cl, "idle for %u s: disconnected", c->c_idle_ms / 1000))
				client_drop(cl, "idle");
		}
	}
	sweep_arm(c);
}

static void
sweep_arm(struct console *c)
{
	if (!c->c_sweep_timer && c->c_clients)
		c->c_sweep_timer = loop_add_timer(c->c_lp, SWEEP_MS, sweep, c);
}

int
console_attach(struct console *c, int fd, unsigned flags)
{
	struct client *cl;
	struct iovec iov[2];
	uint8_t greet[TELNET_GREETING_LEN];
	int i, n, fl, rc;

	if ((flags & CONSOLE_RAW) ? c->c_n_raw >= CONSOLE_MAX_RAW_CLIENTS :
	    c->c_n_clients - c->c_n_raw >= c->c_max_clients) {
		static const char full[] = "\r\n[vmservice] too many console clients\r\n";
		if (send(fd, full, sizeof(full) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			log_debug("console: refusal not sent: %s", strerror(errno));
		close(fd);
		return -EMFILE;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1) {
		rc = -errno;
		close(fd);
		return rc;
	}
	cl = xcalloc(1, sizeof(*cl));
	cl->cl_con = c;
	cl->cl_fd = fd;
	cl->cl_flags = flags;
	/* Guest output stops at c_client_max (client_queue); replies and notices may go on. */
	outbuf_init(&cl->cl_out, 2 * c->c_client_max);
	peer_name(fd, cl->cl_peer, sizeof(cl->cl_peer));
	rc = loop_add_fd(c->c_lp, fd, EPOLLIN, client_event, cl);
	if (rc) {
		close(fd);
		free(cl);
		return rc;
	}
	cl->cl_next = c->c_clients;
	c->c_clients = cl;
	c->c_n_clients++;
	if (flags & CONSOLE_RAW)
		c->c_n_raw++;
	cl->cl_last_rx = cl->cl_last_tx = now_ms();
	sweep_arm(c);
	log_vm(LOG_INFO, c->c_vm, "%s client %s connected%s (%u now)", c->c_what, cl->cl_peer,
	    flags & CONSOLE_READONLY ? " read-only" : "", c->c_n_clients);

	if (!(flags & CONSOLE_RAW)) {
		telnet_init(&cl->cl_tn, greet);
		if (!client_queue(cl, greet, sizeof(greet), true))
			return 0;
	}
	/* The scrollback first, so boot messages and the prompt are there. */
	rc = replay_log(c, cl);
	if (rc < 0)
		return 0;
	n = rc ? 0 : ringbuf_spans(&c->c_ring, iov);
	for (i = 0; i < n; i++)
		if (!client_output(cl, iov[i].iov_base, iov[i].iov_len))
			return 0;
	if (c->c_up_fd == -1)
		client_notice(cl, "vm %s is not running (%s not connected)", c->c_vm, c->c_what);
	return 0;
}

static void
listener_event(struct loop *lp, int fd, uint32_t events, void *arg)
{
	struct console *c = arg;
	int cfd, one = 1, sndbuf = CLIENT_SNDBUF;

	/* Out of fds, acc_accept() pauses the listener: no busy loop. */
	while ((cfd = acc_accept(&c->c_acc)) != -1) {
		/* Keystrokes and their echo are single bytes: no Nagle delay. */
		setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		/* A vanished peer is found and its slot freed eventually. */
		setsockopt(cfd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
		/*
		 * A fixed kernel send buffer: autotuning would let a client that
		 * stopped reading hold megabytes in the kernel before our own
		 * bound (c_client_max) is even reached.
		 */
		setsockopt(cfd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		if (c->c_admit && !c->c_admit(c->c_admit_arg, c, cfd))
			continue;
		console_attach(c, cfd, 0);
	}
}

static int
listen_tcp(struct console *c, const char *addr, int port, char *err, size_t errlen)
{
	struct addrinfo hints = { 0 }, *ai;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char serv[16];
	int fd, rc, one = 1;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	snprintf(serv, sizeof(serv), "%d", port);
	rc = getaddrinfo(addr, serv, &hints, &ai);
	if (rc) {
		snprintf(err, errlen, "VM %s: %s address %s: %s", c->c_vm, c->c_what, addr,
		    gai_strerror(rc));
		return -EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 || listen(fd, 16) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) == -1)
		goto fail;
	freeaddrinfo(ai);
	c->c_port = ntohs(ss.ss_family == AF_INET6 ?
	    ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
	c->c_listen_fd = fd;
	return 0;
fail:
	rc = -errno;
	snprintf(err, errlen, "VM %s: %s endpoint %s:%d: %s", c->c_vm, c->c_what, addr, port,
	    strerror(errno));
	if (fd != -1)
		close(fd);
	freeaddrinfo(ai);
	return rc;
}

/* --- upstream -------------------------------------------------------- */

/* Guest output: ring, log, every client. */
static void
deliver(struct console *c, const uint8_t *p, size_t n)
{
	struct client *cl, *next;
	char err[256];
	int rc;

	ringbuf_write(&c->c_ring, p, n);
	if (c->c_output)
		c->c_output(c->c_output_arg, p, n);
	if (c->c_log_on) {
		rc = console_log_wake(&c->c_log, err, sizeof(err));
		if (!rc)
			rc = console_log_write(&c->c_log, p, n, err, sizeof(err));
		if (rc && !c->c_log_failing)
			log_vm(LOG_WARNING, c->c_vm, "console log: %s (output still "
			    "reaches clients)", err);
		else if (!rc && c->c_log_failing)
			log_vm(LOG_INFO, c->c_vm, "console log writable again");
		c->c_log_failing = rc != 0;
		/* The log misses bytes now: the ring has the newest ones. */
		if (rc)
			c->c_from_log = false;
	}
	for (cl = c->c_clients; cl; cl = next) {
		next = cl->cl_next;
		client_output(cl, p, n);
	}
}

static void
notice_all(struct console *c, const char *what, const char *why)
{
	struct client *cl, *next;

	for (cl = c->c_clients; cl; cl = next) {
		next = cl->cl_next;
		client_notice(cl, "vm %s: %s %s%s%s", c->c_vm, c->c_what, what,
		    why ? ": " : "", why ? why : "");
	}
}

/*
 * Move what QEMU logged while nobody read the socket into the log and the
 * ring, then empty the spool. Done after connecting, so nothing printed in
 * between is lost (at worst a few bytes appear twice).
 */
static void
spool_drain(struct console *c)
{
	uint8_t buf[CHUNK];
	char err[512];
	ssize_t r;
	uint64_t total = 0, skipped;
	int fd;

	if (!c->c_spool)
		return;
	if (c->c_spool_fd == -1) {
		fd = console_spool_open(c->c_spool, err, sizeof(err));
		if (fd < 0) {
			if (fd != -ENOENT)
				log_vm(LOG_WARNING, c->c_vm, "%s", err);
			return;
		}
		c->c_spool_fd = fd;
	}
	/* Bounded: the spool's size is up to its writer (a 20 GB sparse file). */
	if (console_spool_tail(c->c_spool_fd, c->c_spool_max, &skipped) != 0)
		return;
	if (skipped)
		log_vm(LOG_WARNING, c->c_vm, "%s: %llu bytes, only the last %zu recovered",
		    c->c_spool, (unsigned long long)(skipped + c->c_spool_max), c->c_spool_max);
	while (total < c->c_spool_max &&
	    (r = read(c->c_spool_fd, buf, sizeof(buf))) > 0) {
		deliver(c, buf, (size_t)r);
		total += (uint64_t)r;
	}
	if (ftruncate(c->c_spool_fd, 0) == -1)
		log_vm(LOG_WARNING, c->c_vm, "%s: truncate: %s", c->c_spool, strerror(errno));
	if (total)
		log_vm(LOG_INFO, c->c_vm, "%s: %llu bytes printed while nobody was "
		    "connected, recovered from %s", c->c_what, (unsigned long long)total,
		    c->c_spool);
}

/*
 * QEMU logs each chunk right after writing it to the socket (chardev
 * qemu_chr_write_buffer), so once we have read it the spool copy is a
 * duplicate: keep the spool empty while connected.
 */
static void
spool_trim(struct console *c)
{
	if (c->c_spool_fd != -1 && ftruncate(c->c_spool_fd, 0) == -1)
		log_vm(LOG_DEBUG, c->c_vm, "%s: truncate: %s", c->c_spool, strerror(errno));
}

static void upstream_close(struct console *c, const char *why, bool retry);
static void upstream_connect(struct console *c, unsigned first_ms);

static void
upstream_watch(struct console *c)
{
	loop_mod_fd(c->c_lp, c->c_up_fd, (c->c_up_paused ? 0 : EPOLLIN) |
	    (c->c_up_pollout ? EPOLLOUT : 0));
}

static void
upstream_set_pollout(struct console *c, bool on)
{
	if (c->c_up_pollout == on)
		return;
	c->c_up_pollout = on;
	upstream_watch(c);
}

static void
batch_done(struct loop *lp, void *arg)
{
	struct console *c = arg;

	c->c_batch_timer = 0;
	c->c_up_paused = false;
	if (c->c_up_fd != -1)
		upstream_watch(c);
}

/* Client input for the guest; dropped while not connected or over the bound. */
static void
upstream_send(struct console *c, const uint8_t *p, size_t n)
{
	ssize_t rc;

	if (c->c_up_fd == -1)
		return;
	if (outbuf_add(&c->c_up_in, p, n) < 0) {
		log_vm(LOG_DEBUG, c->c_vm, "%s: guest not reading, %zu input bytes dropped",
		    c->c_what, n);
		return;
	}
	rc = outbuf_flush(&c->c_up_in, c->c_up_fd);
	if (rc < 0) {
		upstream_close(c, strerror((int)-rc), true);
		return;
	}
	upstream_set_pollout(c, !outbuf_empty(&c->c_up_in));
}

static void
upstream_event(struct loop *lp, int fd, uint32_t events, void *arg)
{
	struct console *c = arg;
	uint8_t buf[CHUNK];
	ssize_t r;

	if (events & EPOLLOUT) {
		r = outbuf_flush(&c->c_up_in, fd);
		if (r < 0) {
			upstream_close(c, strerror((int)-r), true);
			return;
		}
		upstream_set_pollout(c, !outbuf_empty(&c->c_up_in));
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	r = read(fd, buf, sizeof(buf));
	if (r == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		upstream_close(c, r == 0 ? "closed by QEMU" : strerror(errno), true);
		return;
	}
	deliver(c, buf, (size_t)r);
	spool_trim(c);
	if ((size_t)r < BATCH_SHORT && !c->c_batch_timer) {
		c->c_up_paused = true;
		upstream_watch(c);
		c->c_batch_timer = loop_add_timer(c->c_lp, BATCH_MS, batch_done, c);
	}
}

static void
upstream_close(struct console *c, const char *why, bool retry)
{
	if (c->c_up_fd != -1) {
		loop_del_fd(c->c_lp, c->c_up_fd);
		close(c->c_up_fd);
		c->c_up_fd = -1;
		c->c_up_pollout = false;
		c->c_up_paused = false;
		outbuf_free(&c->c_up_in);
		/* QEMU logs a chunk after sending it: by EOF the spool holds only copies. */
		spool_trim(c);
		log_vm(LOG_INFO, c->c_vm, "%s upstream disconnected: %s", c->c_what, why);
		notice_all(c, "disconnected", why);
	}
	if (c->c_spool_fd != -1) {
		/* A restarted QEMU may recreate the file: reopen on the next connect. */
		close(c->c_spool_fd);
		c->c_spool_fd = -1;
	}
	usock_retry_stop(&c->c_up_conn);
	if (c->c_batch_timer) {
		loop_cancel_timer(c->c_lp, c->c_batch_timer);
		c->c_batch_timer = 0;
	}
	/* QEMU may be restarting (system_reset keeps it, a crash does not). */
	if (retry && c->c_up_wanted)
		upstream_connect(c, CONSOLE_CONNECT_INTERVAL_MS);
}

static void
upstream_connected(void *arg, int fd, int e, const char *err)
{
	struct console *c = arg;

	if (fd < 0 && USOCK_REFUSED(e)) {
		/* Not QEMU's socket: no retry would make it so. */
		log_vm(LOG_ERR, c->c_vm, "%s upstream refused: %s", c->c_what, err);
		notice_all(c, "not connected", "its socket is not the VM's QEMU (see the log)");
		return;
	}
	if (fd >= 0 && (e = loop_add_fd(c->c_lp, fd, EPOLLIN, upstream_event, c)) != 0)
		close(fd);
	if (fd < 0 || e) {
		log_vm(LOG_WARNING, c->c_vm, "%s: gave up connecting to %s: %s", c->c_what,
		    c->c_upstream, strerror(-e));
		return;
	}
	c->c_up_fd = fd;
	log_vm(LOG_INFO, c->c_vm, "%s upstream connected (%s)", c->c_what, c->c_upstream);
	spool_drain(c);
	notice_all(c, "connected", NULL);
}

/* Issue 12: never through a link, only to this VM's QEMU. */
static void
upstream_connect(struct console *c, unsigned first_ms)
{
	usock_retry_start(&c->c_up_conn, c->c_lp, c->c_upstream, c->c_up_peer,
	    CONSOLE_CONNECT_ATTEMPTS, first_ms, CONSOLE_CONNECT_INTERVAL_MS,
	    upstream_connected, c);
}

/*
 * The VM has been stopped c_release_ms: give back the ring. Its bytes are
 * in the log, which late clients get instead (replay_log). Without a log
 * the caller chose to lose them (a monitor's last prompt is of no use once
 * its QEMU is gone); with a log that is failing they are kept.
 */
static void
release_done(struct loop *lp, void *arg)
{
	struct console *c = arg;
	size_t held = ringbuf_mem(&c->c_ring);

	c->c_release_timer = 0;
	if (c->c_log_on && c->c_log_failing)
		return;
	ringbuf_release(&c->c_ring);
	c->c_from_log = c->c_log_on;
	/* Nor a descriptor: the log opens again for a replay or new output. */
	if (c->c_log_on)
		console_log_sleep(&c->c_log);
	if (held)
		log_vm(LOG_DEBUG, c->c_vm, "%s: %zu bytes of scrollback released (stopped %u s)%s",
		    c->c_what, held, c->c_release_ms / 1000, c->c_log_on ? "; the log has them" : "");
}

static void
release_cancel(struct console *c)
{
	if (c->c_release_timer) {
		loop_cancel_timer(c->c_lp, c->c_release_timer);
		c->c_release_timer = 0;
	}
}

void
console_upstream_start(struct console *c, pid_t peer)
{
	release_cancel(c);
	c->c_up_wanted = true;
	c->c_up_peer = peer;
	if (c->c_up_fd == -1)
		upstream_connect(c, 0);
}

void
console_upstream_stop(struct console *c, const char *why)
{
	c->c_up_wanted = false;
	upstream_close(c, why, false);
	release_cancel(c);
	if (c->c_release_ms && ringbuf_mem(&c->c_ring))
		c->c_release_timer = loop_add_timer(c->c_lp, c->c_release_ms, release_done, c);
}

size_t
console_mem(const struct console *c)
{
	return ringbuf_mem(&c->c_ring) + (c->c_enc ? 2 * CHUNK : 0);
}

bool
console_upstream_connected(const struct console *c)
{
	return c->c_up_fd != -1;
}

/* --- life cycle ------------------------------------------------------ */

struct console *
console_new(struct loop *lp, const struct console_cfg *cfg, char *err, size_t errlen)
{
	struct console *c = xcalloc(1, sizeof(*c));
	char what[64];
	int rc;

	c->c_lp = lp;
	c->c_vm = xstrdup(cfg->cc_vm);
	c->c_what = xstrdup(cfg->cc_what);
	c->c_upstream = xstrdup(cfg->cc_upstream);
	c->c_spool = cfg->cc_spool ? xstrdup(cfg->cc_spool) : NULL;
	c->c_listen_fd = c->c_up_fd = c->c_spool_fd = -1;
	c->c_port = -1;
	c->c_client_max = cfg->cc_client_max ? cfg->cc_client_max : CONSOLE_CLIENT_MAX_DEFAULT;
	/* Room for a whole scrollback, escaped, plus live output behind it. */
	if (c->c_client_max < 2 * cfg->cc_scrollback + CHUNK * 2)
		c->c_client_max = 2 * cfg->cc_scrollback + CHUNK * 2;
	c->c_max_clients = cfg->cc_max_clients ? cfg->cc_max_clients
	    : CONSOLE_MAX_CLIENTS_DEFAULT;
	c->c_admit = cfg->cc_admit;
	c->c_admit_arg = cfg->cc_admit_arg;
	c->c_output = cfg->cc_output;
	c->c_output_arg = cfg->cc_output_arg;
	c->c_queue_max = CONSOLE_QUEUE_CLIENTS * c->c_client_max;
	c->c_spool_max = cfg->cc_scrollback > SPOOL_READ_MAX ? cfg->cc_scrollback : SPOOL_READ_MAX;
	c->c_idle_ms = cfg->cc_idle_timeout * 1000u;
	outbuf_init(&c->c_up_in, UP_IN_MAX);
	ringbuf_init(&c->c_ring, cfg->cc_scrollback);
	c->c_release_ms = cfg->cc_release_ms;
	c->c_log.cl_fd = -1;
	if (cfg->cc_log) {
		rc = console_log_open(&c->c_log, cfg->cc_log, cfg->cc_log_size, cfg->cc_log_keep,
		    err, errlen);
		if (rc)
			goto fail;
		c->c_log_on = true;
		/* Checked and created now; held open only once there is output. */
		console_log_sleep(&c->c_log);
	}
	if (cfg->cc_port >= 0) {
		rc = listen_tcp(c, cfg->cc_listen ? cfg->cc_listen : "127.0.0.1", cfg->cc_port,
		    err, errlen);
		if (rc)
			goto fail;
		snprintf(what, sizeof(what), "%s: %s", c->c_vm, c->c_what);
		acc_init(&c->c_acc, lp, c->c_listen_fd, what);
		rc = loop_add_fd(lp, c->c_listen_fd, EPOLLIN, listener_event, c);
		if (rc) {
			snprintf(err, errlen, "VM %s: %s endpoint: %s", c->c_vm, c->c_what,
			    strerror(-rc));
			goto fail;
		}
	}
	return c;
fail:
	console_free(c);
	return NULL;
}

void
console_free(struct console *c)
{
	if (!c)
		return;
	while (c->c_clients)
		client_drop(c->c_clients, "console closed");
	if (c->c_sweep_timer)
		loop_cancel_timer(c->c_lp, c->c_sweep_timer);
	release_cancel(c);
	acc_stop(&c->c_acc);
	c->c_up_wanted = false;
	upstream_close(c, "console closed", false);
	if (c->c_listen_fd != -1) {
		loop_del_fd(c->c_lp, c->c_listen_fd);
		close(c->c_listen_fd);
	}
	if (c->c_log_on)
		console_log_close(&c->c_log);
	ringbuf_free(&c->c_ring);
	free(c->c_enc);
	free(c->c_vm);
	free(c->c_what);
	free(c->c_upstream);
	free(c->c_spool);
	free(c);
}

unsigned
console_n_clients(const struct console *c)
{
	return c->c_n_clients;
}

int
console_port(const struct console *c)
{
	return c->c_port;
}
