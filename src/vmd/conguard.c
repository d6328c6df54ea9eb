/* Who may use a telnet endpoint: no guest, and the password when one is set. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "qemu/qemu_priv.h"
#include "vmd/conguard.h"
#include "console/console.h"
#include "vmd/daemon.h"
#include "lib/loop.h"
#include "lib/peer.h"
#include "console/telnet.h"

#define PW_MAX		128	/* longest password accepted (bytes) */
#define LOGIN_MS	30000	/* to type the password */
#define LOGINS_MAX	4	/* logins in progress per endpoint */
/* More than FAIL_MAX failures within FAIL_WINDOW_MS lock logins that long. */
#define FAIL_MAX	5
#define FAIL_WINDOW_MS	60000
/* Refusals of guests are logged at most this often per endpoint. */
#define REFUSE_LOG_MS	10000

struct login {
	struct conguard	*lg_g;
	struct console	*lg_con;
	struct login	*lg_next;
	int		 lg_fd;
	uint64_t	 lg_timer;
	struct telnet	 lg_tn;
	char		 lg_pw[PW_MAX + 1];
	size_t		 lg_len;
	bool		 lg_long;	/* typed more than PW_MAX */
	char		 lg_peer[64];
};

struct conguard {
	struct daemon	*g_d;
	struct vm	*g_vm;
	char		 g_what[16];
	struct login	*g_logins;
	unsigned	 g_n_logins;
	unsigned	 g_fails;	/* in the window that began at: */
	uint64_t	 g_fail_ms;
	uint64_t	 g_refuse_ms;	/* last refusal logged */
	unsigned	 g_refused;	/* refusals not logged since */
};

struct conguard *
conguard_new(struct daemon *d, struct vm *vm, const char *what)
{
	struct conguard *g = xcalloc(1, sizeof(*g));

	g->g_d = d;
	g->g_vm = vm;
	snprintf(g->g_what, sizeof(g->g_what), "%s", what);
	return g;
}

/* A one-line answer to a client we do not serve, then close it. */
static void
say_close(int fd, const char *msg)
{
	char line[256];
	int n = snprintf(line, sizeof(line), "\r\n[vmservice] %s\r\n", msg);

	if (send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("conguard: answer not sent: %s", strerror(errno));
	close(fd);
}

static void
login_free(struct login *lg, bool close_fd)
{
	struct conguard *g = lg->lg_g;
	struct login **pp;

	for (pp = &g->g_logins; *pp; pp = &(*pp)->lg_next)
		if (*pp == lg) {
			*pp = lg->lg_next;
			break;
		}
	g->g_n_logins--;
	if (lg->lg_timer)
		loop_cancel_timer(g->g_d->lp, lg->lg_timer);
	loop_del_fd(g->g_d->lp, lg->lg_fd);
	if (close_fd)
		close(lg->lg_fd);
	explicit_bzero(lg, sizeof(*lg));
	free(lg);
}

void
conguard_free(struct conguard *g)
{
	if (!g)
		return;
	while (g->g_logins)
		login_free(g->g_logins, true);
	free(g);
}

bool
conguard_uid_is_qemu(struct daemon *d, uid_t uid)
{
	const struct passwd *pw;
	const char *user, *last = NULL;
	uid_t u;
	size_t i;

	if (uid == 0 || uid == geteuid())
		return false;
	for (i = 0; i < d->n_vms; i++) {
		struct vm *vm = d->vms[i];

		if (vm->vm_pid > 0 && peer_pid_uid(vm->vm_pid, &u) == 0 && u == uid)
			return true;
		/* Most VMs share one runas: look each name up once. */
		user = vm->vm_hw->vm_runas ? vm->vm_hw->vm_runas : QPRIV_DEFAULT_USER;
		if (last && strcmp(user, last) == 0)
			continue;
		last = user;
		pw = getpwnam(user);
		if (pw && pw->pw_uid == uid)
			return true;
	}
	return false;
}

/*
 * Why the client on fd must be refused, or NULL. Fails closed: a peer on
 * this host that cannot be identified is refused.
 */
static const char *
guest_check(struct conguard *g, int fd, struct peer_info *pi, char *why, size_t len)
{
	struct daemon *d = g->g_d;
	char err[256];
	size_t i;
	uid_t u;
	int h;

	if (peer_lookup(fd, pi, err, sizeof(err))) {
		snprintf(why, len, "cannot identify the client (%s)", err);
		return why;
	}
	if (!pi->pi_found) {
		if (!pi->pi_loopback)
			return NULL;	/* another host: the password's business */
		snprintf(why, len, "loopback client %s not found by sock_diag", pi->pi_addr);
		return why;
	}
	if (conguard_uid_is_qemu(d, pi->pi_uid)) {
		snprintf(why, len, "its socket belongs to uid %u, a QEMU user (a guest?)",
		    (unsigned)pi->pi_uid);
		return why;
	}
	/*
	 * QEMU as root or as the daemon's user: the socket's holder tells.
	 * Only a QEMU running as the socket's owner can have made it (slirp
	 * opens its own), so only those fd tables are read (~0.2 ms each).
	 */
	for (i = 0; i < d->n_vms; i++) {
		struct vm *vm = d->vms[i];

		if (vm->vm_pid <= 0 || peer_pid_uid(vm->vm_pid, &u) != 0 || u != pi->pi_uid)
			continue;
		h = peer_pid_holds(vm->vm_pid, pi->pi_ino);
		if (h == 1) {
			snprintf(why, len, "its socket is held by VM %s's QEMU (pid %d): a guest",
			    vm->vm_name, (int)vm->vm_pid);
			return why;
		}
		if (h < 0 && h != -ENOENT && h != -ESRCH) {
			snprintf(why, len, "cannot read the sockets of VM %s's QEMU (pid %d), "
			    "which runs as the client's uid %u: %s", vm->vm_name, (int)vm->vm_pid,
			    (unsigned)u, strerror(-h));
			return why;
		}
	}
	return NULL;
}

static void
refuse(struct conguard *g, struct console *c, int fd, const char *peer, const char *why)
{
	uint64_t now = now_ms();

	if (!g->g_refuse_ms || now - g->g_refuse_ms >= REFUSE_LOG_MS) {
		if (g->g_refused)
			log_vm(LOG_WARNING, g->g_vm->vm_name, "%s port %d: %u more clients "
			    "refused since the last message", g->g_what, console_port(c),
			    g->g_refused);
		log_vm(LOG_WARNING, g->g_vm->vm_name, "%s port %d: refused client %s: %s",
		    g->g_what, console_port(c), peer, why);
		g->g_refuse_ms = now;
		g->g_refused = 0;
	} else {
		g->g_refused++;
	}
	say_close(fd, "refused: connections from guests are not served");
}

/*
 * First line of path; 0, or -errno (-ENODATA: empty, -EMSGSIZE: over
 * PW_MAX, -EINVAL: not a regular file).
 */
static int
read_pw(const char *path, char *pw, size_t len)
{
	char buf[PW_MAX + 2];
	ssize_t n;

	/* Read in the loop at each login: never a FIFO or device that would hold it. */
	n = file_read_small(path, 0, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!buf[0])
		return -ENODATA;
	n = (ssize_t)strlen(buf);
	if ((size_t)n >= len || n > PW_MAX) {
		explicit_bzero(buf, sizeof(buf));
		return -EMSGSIZE;
	}
	memcpy(pw, buf, (size_t)n + 1);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

/* Equal strings, in a time that depends on neither content nor where they differ. */
static bool
pw_equal(const char *a, const char *b)
{
	char x[PW_MAX + 1] = { 0 }, y[PW_MAX + 1] = { 0 };
	unsigned char diff = 0;
	size_t i;

	memcpy(x, a, strnlen(a, PW_MAX));
	memcpy(y, b, strnlen(b, PW_MAX));
	for (i = 0; i < sizeof(x); i++)
		diff |= (unsigned char)(x[i] ^ y[i]);
	explicit_bzero(x, sizeof(x));
	explicit_bzero(y, sizeof(y));
	return diff == 0;
}

static bool
locked(struct conguard *g)
{
	return g->g_fails >= FAIL_MAX && now_ms() - g->g_fail_ms < FAIL_WINDOW_MS;
}

static void
count_failure(struct conguard *g)
{
	uint64_t now = now_ms();

	if (!g->g_fail_ms || now - g->g_fail_ms >= FAIL_WINDOW_MS) {
		g->g_fail_ms = now;
		g->g_fails = 0;
	}
	if (++g->g_fails == FAIL_MAX)
		log_vm(LOG_WARNING, g->g_vm->vm_name, "%s: %d failed logins within %d s: "
		    "logins refused for the rest of that time", g->g_what, FAIL_MAX,
		    FAIL_WINDOW_MS / 1000);
}

static void
login_check(struct login *lg)
{
	struct conguard *g = lg->lg_g;
	const char *path = g->g_vm->vm_hw->vm_policy.po_console_password_file;
	char pw[PW_MAX + 1];
	bool ok;
	int e, fd = lg->lg_fd;

	e = path ? read_pw(path, pw, sizeof(pw)) : -ENOENT;
	if (e) {
		/* Fail closed: no password readable, no login. */
		log_vm(LOG_ERR, g->g_vm->vm_name, "%s: console_password_file %s: %s; "
		    "login refused", g->g_what, path ? path : "(unset)",
		    e == -ENODATA ? "empty" : e == -EINVAL ? "not a regular file" : strerror(-e));
		login_free(lg, false);
		say_close(fd, "login unavailable");
		return;
	}
	ok = !lg->lg_long && !locked(g) && pw_equal(lg->lg_pw, pw);
	explicit_bzero(pw, sizeof(pw));
	if (!ok) {
		log_vm(LOG_WARNING, g->g_vm->vm_name, "%s: failed login from %s", g->g_what,
		    lg->lg_peer);
		count_failure(g);
		login_free(lg, false);
		say_close(fd, "login incorrect");
		return;
	}
	log_vm(LOG_INFO, g->g_vm->vm_name, "%s: login from %s", g->g_what, lg->lg_peer);
	{
		struct console *c = lg->lg_con;

		login_free(lg, false);
		if (send(fd, "\r\n", 2, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			log_debug("conguard: %s", strerror(errno));
		console_attach(c, fd, 0);
	}
}

/*
 * Read a byte at a time up to the end of the password line, so that what
 * the client typed after it (`printf 'pw\r\ninfo status\r\n' | socat ...`)
 * stays in the socket for the console. A CR's LF or NUL (RFC 854) is taken.
 */
static void
login_event(struct loop *lp, int fd, uint32_t events, void *arg)
{
	struct login *lg = arg;
	uint8_t in, data[1], reply[3];
	size_t dlen, rlen;
	ssize_t r;
	int n;

	for (n = 0; n < 512; n++) {
		r = recv(fd, &in, 1, MSG_DONTWAIT);
		if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			login_free(lg, true);
			return;
		}
		telnet_decode(&lg->lg_tn, &in, 1, data, &dlen, reply, &rlen);
		if (rlen && send(fd, reply, rlen, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			login_free(lg, true);
			return;
		}
		if (!dlen)
			continue;
		if (data[0] == '\r' || data[0] == '\n') {
			if (data[0] == '\r' && recv(fd, &in, 1, MSG_PEEK | MSG_DONTWAIT) == 1 &&
			    (in == '\n' || in == '\0') && recv(fd, &in, 1, MSG_DONTWAIT) != 1)
				log_debug("conguard: %s", strerror(errno));
			login_check(lg);
			return;
		}
		if (lg->lg_len < PW_MAX)
			lg->lg_pw[lg->lg_len++] = (char)data[0];
		else
			lg->lg_long = true;
	}
}

static void
login_timeout(struct loop *lp, void *arg)
{
	struct login *lg = arg;
	int fd = lg->lg_fd;

	lg->lg_timer = 0;
	login_free(lg, false);
	say_close(fd, "login timed out");
}

static void
login_start(struct conguard *g, struct console *c, int fd, const char *peer)
{
	static const char prompt[] = "Password: ";
	uint8_t greet[TELNET_GREETING_LEN];
	struct login *lg;

	if (locked(g)) {
		say_close(fd, "too many failed logins: try again later");
		return;
	}
	if (g->g_n_logins >= LOGINS_MAX) {
		say_close(fd, "too many logins in progress");
		return;
	}
	lg = xcalloc(1, sizeof(*lg));
	lg->lg_g = g;
	lg->lg_con = c;
	lg->lg_fd = fd;
	snprintf(lg->lg_peer, sizeof(lg->lg_peer), "%s", peer);
	/* WILL ECHO, and no echo from us: the password is not shown. */
	telnet_init(&lg->lg_tn, greet);
	if (send(fd, greet, sizeof(greet), MSG_NOSIGNAL | MSG_DONTWAIT) < 0 ||
	    send(fd, prompt, sizeof(prompt) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 ||
	    loop_add_fd(g->g_d->lp, fd, EPOLLIN, login_event, lg) != 0) {
		close(fd);
		free(lg);
		return;
	}
	lg->lg_next = g->g_logins;
	g->g_logins = lg;
	g->g_n_logins++;
	lg->lg_timer = loop_add_timer(g->g_d->lp, LOGIN_MS, login_timeout, lg);
}

bool
conguard_admit(void *arg, struct console *c, int fd)
{
	struct conguard *g = arg;
	struct peer_info pi;
	char why[512];

	if (guest_check(g, fd, &pi, why, sizeof(why))) {
		refuse(g, c, fd, pi.pi_addr, why);
		return false;
	}
	if (!g->g_vm->vm_hw->vm_policy.po_console_password_file)
		return true;
	login_start(g, c, fd, pi.pi_addr);
	return false;
}
