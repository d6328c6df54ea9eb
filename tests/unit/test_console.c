/*
 * The console proxy in one process: a fake QEMU (a unix socket server, as
 * QEMU's chardev is), the real loop, and real TCP clients.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "console/console.h"
#include "lib/loop.h"
#include "console/telnet.h"
#include "tap.h"

static char dir[] = "/tmp/vms-console.XXXXXX";
static char sock_path[256], log_path[256], spool_path[256];
static struct loop *lp;

struct peer {
	int	 fd;
	char	*buf;		/* everything received */
	size_t	 len, cap;
};

static void
stop_cb(struct loop *l, void *arg)
{
	loop_stop(l);
}

/* Run the loop for ms milliseconds. */
static void
spin(unsigned ms)
{
	loop_add_timer(lp, ms, stop_cb, NULL);
	loop_run(lp);
}

static void
pull(struct peer *p)
{
	char tmp[65536];
	ssize_t r;

	while ((r = recv(p->fd, tmp, sizeof(tmp), MSG_DONTWAIT)) > 0) {
		xgrow(&p->buf, &p->cap, p->len + (size_t)r + 1, 1);
		memcpy(p->buf + p->len, tmp, (size_t)r);
		p->len += (size_t)r;
		p->buf[p->len] = '\0';
	}
}

static bool
has(struct peer *p, const char *s)
{
	return p->len && memmem(p->buf, p->len, s, strlen(s)) != NULL;
}

/* Spin until every peer in ps[] (n of them) has received s, at most 3 s. */
static bool
wait_for(struct peer **ps, int n, const char *s)
{
	int i, got, tries;

	for (tries = 0; tries < 300; tries++) {
		for (i = got = 0; i < n; i++) {
			pull(ps[i]);
			got += has(ps[i], s);
		}
		if (got == n)
			return true;
		spin(10);
	}
	return false;
}

static void
reset(struct peer *p)
{
	p->len = 0;
	if (p->buf)
		p->buf[0] = '\0';
}

static int
fake_qemu_listen(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

	unlink(sock_path);
	strcpy(sa.sun_path, sock_path);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 || listen(fd, 1) == -1)
		abort();
	return fd;
}

/* Accept the console's connection (it connects from within spin()). */
static int
fake_qemu_accept(int lfd)
{
	int tries, fd;

	for (tries = 0; tries < 300; tries++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
		if (fd != -1)
			return fd;
		spin(10);
	}
	return -1;
}

static void
qwrite(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		abort();
}

static int
tcp_connect(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		abort();
	return fd;
}

static char *
slurp(const char *path)
{
	static char buf[1 << 20];
	int fd = open(path, O_RDONLY);
	ssize_t r = fd == -1 ? 0 : read(fd, buf, sizeof(buf) - 1);

	if (fd != -1)
		close(fd);
	buf[r > 0 ? r : 0] = '\0';
	return buf;
}

static long
fsize(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/*
 * Memory only while used (issue 20): no buffers before the first output;
 * the ring given back cc_release_ms after the upstream stops, a late client
 * then served from the log; a restart before that keeps it.
 */
static void
test_release(void)
{
	struct console_cfg cfg = { 0 };
	struct console *c;
	struct peer a = { 0 }, b = { 0 }, m = { 0 };
	char err[256], line[64], lpath[300], *gr;
	int lfd, qfd, i;
	uint64_t t0;

	snprintf(lpath, sizeof(lpath), "%s/rel.console.log", dir);
	cfg.cc_vm = "rel";
	cfg.cc_what = "serial";
	cfg.cc_upstream = sock_path;
	cfg.cc_port = 0;
	cfg.cc_scrollback = 1024;
	cfg.cc_log = lpath;
	cfg.cc_release_ms = 300;
	c = console_new(lp, &cfg, err, sizeof(err));
	if (!c) {
		OK(0, "release console: %s", err);
		return;
	}
	a.fd = tcp_connect(console_port(c));
	OK(wait_for(&(struct peer *){ &a }, 1, "is not running"), "a client of a never-started VM is told");
	OK(console_mem(c) == 0, "a console that never had output holds no buffers (%zu bytes)",
	    console_mem(c));
	close(a.fd);
	reset(&a);

	lfd = fake_qemu_listen();
	console_upstream_start(c, 0);
	qfd = fake_qemu_accept(lfd);
	/* 30 lines of 50 bytes: more than the 1024-byte scrollback. */
	for (i = 0; i < 30; i++) {
		snprintf(line, sizeof(line), "line %02d %-40s\r\n", i, "of the first run");
		qwrite(qfd, line);
	}
	qwrite(qfd, "last words\r\n");
	for (i = 0; i < 100 && !strstr(slurp(lpath), "last words"); i++)
		spin(10);
	OK(console_mem(c) >= 1024, "output allocates the ring (%zu bytes)", console_mem(c));

	close(qfd);
	console_upstream_stop(c, "stopped");
	spin(50);
	OK(console_mem(c) >= 1024, "just stopped: the ring is still there");
	t0 = now_ms();
	while (console_mem(c) && now_ms() - t0 < 3000)
		spin(20);
	OK(console_mem(c) == 0 && now_ms() - t0 >= 200,
	    "released %llu ms after the stop", (unsigned long long)(now_ms() - t0 + 50));

	/* A late client of the stopped VM: the log's tail, from a line's start. */
	a.fd = tcp_connect(console_port(c));
	OK(wait_for(&(struct peer *){ &a }, 1, "is not running") && has(&a, "last words\r\n") &&
	    has(&a, "line 29 ") && !has(&a, "line 00 "),
	    "after release a late client still gets the last output, from the log");
	gr = a.buf + TELNET_GREETING_LEN;
	OK(a.len > TELNET_GREETING_LEN + 5 && strncmp(gr, "line ", 5) == 0,
	    "and it starts at a line, as the ring's did: \"%.12s\"", gr);
	OK(console_mem(c) == 2 * 16384, "serving it held only the telnet encoding space (%zu)",
	    console_mem(c));
	close(a.fd);	/* a FIN: the client goes after HALF_CLOSED_MS */
	for (i = 0; i < 400 && console_n_clients(c); i++)
		spin(10);
	OK(console_mem(c) == 0, "and gave it back when the client left (%zu)", console_mem(c));

	/* The VM starts again: new output in a new ring, old output from the log. */
	console_upstream_start(c, 0);
	qfd = fake_qemu_accept(lfd);
	qwrite(qfd, "second boot\r\n");
	for (i = 0; i < 100 && !strstr(slurp(lpath), "second boot"); i++)
		spin(10);
	OK(console_mem(c) >= 1024, "new output allocates the ring again");
	b.fd = tcp_connect(console_port(c));
	OK(wait_for(&(struct peer *){ &b }, 1, "second boot\r\n") && has(&b, "last words\r\n") &&
	    !has(&b, "not running"),
	    "a client after the restart gets the previous run's end and the new output");

	/* Stopped, then started again within the delay: the ring stays. */
	console_upstream_stop(c, "stopped");
	spin(100);
	console_upstream_start(c, 0);
	close(qfd);
	qfd = fake_qemu_accept(lfd);
	spin(500);
	OK(console_mem(c) >= 1024, "a restart within the delay cancels the release");
	qwrite(qfd, "third\r\n");
	OK(wait_for(&(struct peer *){ &b }, 1, "third"), "and output flows");
	close(b.fd);
	close(qfd);
	console_upstream_stop(c, "test over");
	console_free(c);

	/* No log (the monitor): released all the same; a late client gets the notice only. */
	memset(&cfg, 0, sizeof(cfg));
	cfg.cc_vm = "mon";
	cfg.cc_what = "monitor";
	cfg.cc_upstream = sock_path;
	cfg.cc_port = 0;
	cfg.cc_scrollback = 1024;
	cfg.cc_release_ms = 100;
	c = console_new(lp, &cfg, err, sizeof(err));
	if (!c)
		abort();
	console_upstream_start(c, 0);
	qfd = fake_qemu_accept(lfd);
	qwrite(qfd, "(qemu) ");
	for (i = 0; i < 100 && !console_mem(c); i++)
		spin(10);
	close(qfd);
	console_upstream_stop(c, "stopped");
	spin(400);
	m.fd = tcp_connect(console_port(c));
	OK(console_mem(c) == 0 && wait_for(&(struct peer *){ &m }, 1, "is not running") &&
	    !has(&m, "(qemu)"), "a console without a log forgets its scrollback when released");
	close(m.fd);
	console_free(c);
	close(lfd);
	free(a.buf);
	free(b.buf);
	free(m.buf);
}

int
main(void)
{
	struct console_cfg cfg = { 0 };
	struct console *c;
	struct peer a = { 0 }, b = { 0 }, s = { 0 }, r = { 0 }, q = { 0 }, h = { 0 };
	struct peer *ab[2] = { &a, &b };
	char err[256], big[4096];
	int lfd, qfd, port, sv[2], i, rcvbuf = 4096;
	size_t total;
	uint64_t t0;
	FILE *f;

	log_init("test_console", LOG_TO_STDERR, getenv("VMS_DEBUG") ? LOG_DEBUG : LOG_WARNING);
	if (!mkdtemp(dir))
		return 1;
	snprintf(sock_path, sizeof(sock_path), "%s/vm.serial", dir);
	snprintf(log_path, sizeof(log_path), "%s/vm.console.log", dir);
	snprintf(spool_path, sizeof(spool_path), "%s/vm.console.spool", dir);
	lp = loop_new();

	/* QEMU printed this before the daemon connected: only its logfile has it. */
	f = fopen(spool_path, "w");
	fputs("early boot\r\n", f);
	fclose(f);
	lfd = fake_qemu_listen();

	cfg.cc_vm = "vm";
	cfg.cc_what = "serial";
	cfg.cc_upstream = sock_path;
	cfg.cc_port = 0;
	cfg.cc_scrollback = 1024;
	cfg.cc_log = log_path;
	cfg.cc_log_size = 1 << 20;
	cfg.cc_log_keep = 2;
	cfg.cc_spool = spool_path;
	cfg.cc_max_clients = 3;	/* telnet clients a, b, s; the raw one has its own cap */
	c = console_new(lp, &cfg, err, sizeof(err));
	OK(c != NULL, "console_new binds an ephemeral port: %s", c ? "ok" : err);
	if (!c)
		return 1;
	port = console_port(c);
	OK(port > 0, "bound port %d", port);

	console_upstream_start(c, 0);
	qfd = fake_qemu_accept(lfd);
	OK(qfd != -1 && console_upstream_connected(c), "upstream connects to the chardev socket");
	OK(strstr(slurp(log_path), "early boot") && fsize(spool_path) == 0,
	    "spool drained into the log, then emptied");

	qwrite(qfd, "boot line 1\r\nlogin ready\r\n");
	spin(50);
	OK(fsize(spool_path) == 0 && strstr(slurp(log_path), "login ready"),
	    "live output logged");

	/* A late client: greeting, then the scrollback. */
	a.fd = tcp_connect(port);
	OK(wait_for(&ab[0], 1, "login ready"), "late client gets the scrollback");
	OK(a.len >= TELNET_GREETING_LEN && (uint8_t)a.buf[0] == TELNET_IAC &&
	    has(&a, "early boot\r\nboot line 1\r\n"),
	    "telnet negotiation first, then boot messages including the spooled ones");

	/* Input with negotiation mixed in reaches the guest stripped. */
	{
		static const uint8_t in[] = { TELNET_IAC, TELNET_DO, 1, 'l', 's', '\r', 0,
			TELNET_IAC, TELNET_WILL, 31 };
		char got[64] = { 0 };
		ssize_t n = -1;

		if (write(a.fd, in, sizeof(in)) != sizeof(in))
			abort();
		for (i = 0; i < 100 && n <= 0; i++) {
			spin(10);
			n = read(qfd, got, sizeof(got) - 1);
		}
		OK(n == 3 && memcmp(got, "ls\r", 3) == 0, "guest receives \"ls\\r\" (%zd bytes)", n);
	}

	/* Two clients see the same output; 0xFF is doubled for telnet. */
	b.fd = tcp_connect(port);
	spin(30);
	reset(&a);
	qwrite(qfd, "both \xff see\r\n");
	OK(wait_for(ab, 2, "both \xff\xff see"), "two clients get the output, 0xFF doubled");
	OK(console_n_clients(c) == 2, "2 clients");

	/* A raw read-only client (as vmctl console -r): no telnet, input ignored. */
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	r.fd = sv[0];
	OK(console_attach(c, sv[1], CONSOLE_RAW | CONSOLE_READONLY) == 0, "attach a raw read-only client");
	qwrite(qfd, "raw \xff byte\r\n");
	OK(wait_for(&(struct peer *){ &r }, 1, "raw \xff byte") && r.buf[0] != (char)TELNET_IAC,
	    "raw client: no negotiation, 0xFF not doubled");
	qwrite(r.fd, "rm -rf /\r");
	spin(50);
	{
		char got[64];
		OK(read(qfd, got, sizeof(got)) == -1 && errno == EAGAIN,
		    "read-only client's input is not delivered");
	}

	/* Abrupt disconnect (RST) of b: a keeps working. */
	{
		struct linger lg = { 1, 0 };
		setsockopt(b.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(b.fd);
	}
	reset(&a);
	qwrite(qfd, "after reset\r\n");
	OK(wait_for(&ab[0], 1, "after reset") && console_n_clients(c) == 2,
	    "after a client's RST the others still get output (%u clients)", console_n_clients(c));

	/* Garbage from a client disturbs nothing. */
	b.fd = tcp_connect(port);
	spin(20);
	for (i = 0; i < (int)sizeof(big); i++)
		big[i] = (char)(i * 7919 % 256);
	if (write(b.fd, big, sizeof(big)) != sizeof(big))
		abort();
	spin(50);
	{
		char sink[65536];
		while (read(qfd, sink, sizeof(sink)) > 0)
			;
	}
	reset(&a);
	qwrite(qfd, "after garbage\r\n");
	OK(wait_for(&ab[0], 1, "after garbage"), "garbage input: output still flows");

	/* A client that never reads: the guest and client a are not slowed. */
	{
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		s.fd = socket(AF_INET, SOCK_STREAM, 0);
		setsockopt(s.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
		if (connect(s.fd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
			abort();
	}
	spin(20);
	reset(&a);
	fcntl(qfd, F_SETFL, O_NONBLOCK);
	memset(big, 'x', sizeof(big));
	big[sizeof(big) - 1] = '\n';
	t0 = now_ms();
	total = 0;
	/*
	 * 2 MB of guest output in 4 KB writes, the readers reading between
	 * them (a guest's serial port is far slower than this); the fake
	 * guest only writes when the socket takes it.
	 */
	while (total < (2u << 20) && now_ms() - t0 < 20000) {
		ssize_t w = write(qfd, big, sizeof(big));
		if (w > 0)
			total += (size_t)w;
		spin(1);
		pull(&a);
		pull(&b);
	}
	qwrite(qfd, "END-OF-FLOOD\r\n");
	OK(total == (2u << 20), "guest wrote 2 MB in %llu ms with a stuck client attached",
	    (unsigned long long)(now_ms() - t0));
	OK(wait_for(&ab[0], 1, "END-OF-FLOOD") && a.len >= (2u << 20) && !has(&a, "skipped"),
	    "the reading client got all of it (%zu bytes)", a.len);
	OK(console_n_clients(c) == 4, "the stuck client is still connected, not dropped");
	/* Now it reads: it is told how much it missed. */
	for (i = 0; i < 300 && !has(&s, "bytes of output skipped"); i++) {
		pull(&s);
		spin(5);
	}
	OK(has(&s, "bytes of output skipped"), "the stuck client is told what it skipped");

	/* Max telnet clients: the 4th (besides the raw one) is refused with a message. */
	q.fd = tcp_connect(port);
	OK(wait_for(&(struct peer *){ &q }, 1, "too many console clients"),
	    "a client over the maximum is refused politely");
	close(q.fd);

	/* A client that half-closes (FIN after its input) still gets output, for a while. */
	close(s.fd);	/* a FIN: it counts for HALF_CLOSED_MS, or until a send fails */
	qwrite(qfd, "x\r\n");
	for (i = 0; i < 300 && console_n_clients(c) != 3; i++)
		spin(10);
	OK(console_n_clients(c) == 3, "a closed client is gone once output finds it closed");
	h.fd = tcp_connect(port);
	spin(20);
	if (write(h.fd, "\r", 1) != 1 || shutdown(h.fd, SHUT_WR) != 0)
		abort();
	spin(50);
	qwrite(qfd, "after the fin\r\n");
	OK(wait_for(&(struct peer *){ &h }, 1, "after the fin") && console_n_clients(c) == 4,
	    "a half-closed client still receives output");
	t0 = now_ms();
	while (console_n_clients(c) == 4 && now_ms() - t0 < 5000)
		spin(50);
	OK(console_n_clients(c) == 3 && now_ms() - t0 > 1000,
	    "and is dropped %llu ms later", (unsigned long long)(now_ms() - t0));
	close(h.fd);

	/* QEMU restarts: clients are told, the console reconnects by itself. */
	reset(&a);
	{
		char sink[4096];	/* what h typed: unread input would make close() an RST */
		while (read(qfd, sink, sizeof(sink)) > 0)
			;
	}
	close(qfd);
	close(lfd);
	unlink(sock_path);
	OK(wait_for(&ab[0], 1, "vm: serial disconnected: closed by QEMU"), "clients told the upstream went away");
	f = fopen(spool_path, "a");
	fputs("printed while down\r\n", f);
	fclose(f);
	lfd = fake_qemu_listen();
	qfd = fake_qemu_accept(lfd);
	OK(qfd != -1, "console reconnects to the new QEMU");
	OK(wait_for(&ab[0], 1, "printed while down") && wait_for(&ab[0], 1, "vm: serial connected"),
	    "output spooled while disconnected reaches the clients on reconnect");
	qwrite(qfd, "second boot\r\n");
	OK(wait_for(&ab[0], 1, "second boot"), "output flows after the reconnect");

	/* Log rotation through the console: 1 MB limit, 2 MB written. */
	OK(fsize(log_path) <= (1 << 20) && fsize(strcat(strcpy(big, log_path), ".1")) == (1 << 20) &&
	    fsize(strcat(strcpy(big, log_path), ".3")) == -1,
	    "log rotated at 1 MB, keep=2 (current %ld)", fsize(log_path));

	console_upstream_stop(c, "test over");
	OK(!console_upstream_connected(c), "upstream stopped");
	console_free(c);
	pull(&a);
	OK(recv(a.fd, big, 1, MSG_DONTWAIT) == 0, "clients closed with the console");
	close(qfd);
	close(lfd);
	test_release();

	loop_free(lp);
	free(a.buf);
	free(b.buf);
	free(s.buf);
	free(r.buf);
	free(q.buf);
	free(h.buf);
	if (fork() == 0) {
		execlp("rm", "rm", "-rf", dir, (char *)NULL);
		_exit(127);
	}
	return TAP_DONE();
}
