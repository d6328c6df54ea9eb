/*
 * The guest agent client's socket side against real peers, in the real loop:
 * 1. QEMU with the agent's virtio-serial port and no guest running (-S): the
 *    chardev accepts, nothing ever answers. The sync times out and unsynced
 *    comes QGA_SYNC_TIMEOUT_MS after the connect; the loop is never held;
 *    QEMU's death is "closed".
 * 2. Debian's qemu-ga itself, listening on a unix socket (-m unix-listen):
 *    sync, replies, error replies, a no_reply command answered late with an
 *    error (qemu-ga refuses a blocked guest-shutdown) that must not answer
 *    the next command. Everything that could change the host is blocked (-b
 *    with all but the read-only commands below), and guest-shutdown is sent
 *    only after guest-info reports it disabled.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/loop.h"
#include "lib/util.h"
#include "qemu/qga.h"
#include "qga_rec.h"
#include "tap.h"

#define QEMU	"/usr/bin/qemu-system-x86_64"
#define QGA	"/usr/sbin/qemu-ga"

static void
heartbeat(struct loop *lp, void *arg)
{
	struct rec *r = arg;
	uint64_t t = now_ms();

	if (r->beat && t - r->beat > r->max_gap)
		r->max_gap = t - r->beat;
	r->beat = t;
	loop_add_timer(lp, 10, heartbeat, r);
}

static void
guard(struct loop *lp, void *arg)
{
	loop_stop(lp);
}

/* Run the loop until *counter reaches want or ms pass. */
static bool
run_until(struct rec *r, const int *counter, int want, unsigned ms)
{
	uint64_t end = now_ms() + ms, t, id;

	r->beat = 0;	/* only time inside the loop counts */
	while (*counter < want && (t = now_ms()) < end) {
		id = loop_add_timer(r->lp, end - t, guard, NULL);
		loop_run(r->lp);
		loop_cancel_timer(r->lp, id);
	}
	return *counter >= want;
}

static pid_t
spawn(char *const argv[])
{
	pid_t pid = fork();
	int fd;

	if (pid == 0) {
		fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* The socket appears (test code: polling is fine here, never in the daemon). */
static bool
wait_sock(const char *path, pid_t pid)
{
	struct stat st;
	int i;

	for (i = 0; i < 500; i++) {
		if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode))
			return true;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return false;
		usleep(10000);
	}
	return false;
}

static void
reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void
no_agent(struct rec *r, const char *dir)
{
	char path[256], chardev[300];
	struct qga *g;
	uint64_t t0;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/qga.sock", dir);
	snprintf(chardev, sizeof(chardev), "socket,id=qga0,path=%s,server=on,wait=off", path);
	{
		/* -machine pc: "none" has no PCI bus for virtio-serial; -S: no guest ever runs. */
		char *argv[] = { QEMU, "-machine", "pc", "-accel", "tcg", "-S", "-nodefaults",
		    "-display", "none", "-chardev", chardev, "-device", "virtio-serial",
		    "-device", "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0", NULL };
		pid = spawn(argv);
	}
	if (!wait_sock(path, pid)) {
		OK(0, "QEMU made its chardev socket");
		reap(pid);
		return;
	}
	g = qga_new("t", &cb, r);
	t0 = now_ms();
	qga_connect(g, r->lp, path, pid, 10, 50);
	OK(run_until(r, &r->unsynced, 1, 5000), "no agent: unsynced after %llu ms: %s",
	    (unsigned long long)(r->t_unsynced - t0), r->why);
	OK(r->t_unsynced - t0 >= QGA_SYNC_TIMEOUT_MS && r->t_unsynced - t0 < QGA_SYNC_TIMEOUT_MS + 300,
	    "unsynced %d ms (+ < 300) after the connect", QGA_SYNC_TIMEOUT_MS);
	OK(!qga_is_ready(g) && r->ready == 0, "never ready");
	OK(qga_send(g, "guest-ping", NULL, 1000, false, r_reply, r) == -ENOTCONN,
	    "send refused while unsynced");
	/* Through one resync (QGA_RESYNC_MS) and its timeout: told once. */
	run_until(r, &r->closed, 1, QGA_RESYNC_MS + QGA_SYNC_TIMEOUT_MS + 200);
	OK(r->unsynced == 1 && r->closed == 0, "a failed resync is not told again");
	OK(r->max_gap < 250, "the loop was never held: longest gap between 10 ms timers %llu ms",
	    (unsigned long long)r->max_gap);
	t0 = now_ms();
	kill(pid, SIGKILL);
	OK(run_until(r, &r->closed, 1, 2000), "QEMU killed: closed after %llu ms: %s",
	    (unsigned long long)(r->t_closed - t0), r->why);
	OK(strstr(r->why, "QGA connection") != NULL, "why names the QGA connection");
	waitpid(pid, NULL, 0);
	qga_free(g);
}

/* The commands qemu-ga may run in this test: all read-only. */
static const char *const allowed[] = {
	"guest-sync-delimited", "guest-sync", "guest-ping", "guest-info", "guest-get-osinfo",
	"guest-network-get-interfaces", "guest-get-host-name", "guest-get-time", NULL,
};

/* -b: every RPC qemu-ga lists (-b help) but the allowed ones. */
static bool
block_list(char *buf, size_t len)
{
	char line[128], *nl;
	FILE *f = popen(QGA " -b help 2>&1", "r");
	size_t n = 0;
	int i, ok;

	if (!f)
		return false;
	buf[0] = 0;
	while (fgets(line, sizeof(line), f)) {
		if ((nl = strchr(line, '\n')))
			*nl = 0;
		for (ok = 0, i = 0; allowed[i]; i++)
			ok |= strcmp(line, allowed[i]) == 0;
		if (ok || !line[0])
			continue;
		n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? "," : "", line);
		if (n >= len)
			return false;
	}
	return pclose(f) == 0 && strstr(buf, "guest-shutdown") != NULL;
}

/* guest-info says cmd is there and disabled. */
static bool
disabled(const char *info, const char *cmd)
{
	char want[128];

	snprintf(want, sizeof(want), "{\"enabled\":false,\"name\":\"%s\"", cmd);
	return strstr(info, want) != NULL;
}

static void
real_agent(struct rec *r, const char *dir)
{
	char path[256], block[4096], pidf[300], logf[300];
	struct qga *g;
	uint64_t t0;
	pid_t pid;
	int want;

	if (!block_list(block, sizeof(block))) {
		OK(0, "qemu-ga -b help lists its RPCs, guest-shutdown among them");
		return;
	}
	snprintf(path, sizeof(path), "%s/ga.sock", dir);
	snprintf(pidf, sizeof(pidf), "%s/ga.pid", dir);
	snprintf(logf, sizeof(logf), "%s/ga.log", dir);
	{
		char *argv[] = { QGA, "-m", "unix-listen", "-p", path, "-t", (char *)dir,
		    "-f", pidf, "-l", logf, "-b", block, NULL };
		pid = spawn(argv);
	}
	if (!wait_sock(path, pid)) {
		OK(0, "qemu-ga listens on %s", path);
		reap(pid);
		return;
	}
	g = qga_new("t", &cb, r);
	t0 = now_ms();
	qga_connect(g, r->lp, path, pid, 10, 50);
	OK(run_until(r, &r->ready, 1, 3000) && qga_is_ready(g), "qemu-ga: synced in %llu ms",
	    (unsigned long long)(now_ms() - t0));

	want = r->replies + 1;
	qga_send(g, "guest-info", NULL, 2000, false, r_reply, r);
	OK(run_until(r, &r->replies, want, 3000) && strstr(r->last_reply, "\"version\":\"7."),
	    "guest-info answered (%zu bytes)", strlen(r->last_reply));
	if (!disabled(r->last_reply, "guest-shutdown") || !disabled(r->last_reply, "guest-exec")) {
		OK(0, "guest-info says guest-shutdown and guest-exec are disabled");
		goto out;
	}
	want = r->replies + 1;
	qga_send(g, "guest-ping", NULL, 2000, false, r_reply, r);
	OK(run_until(r, &r->replies, want, 3000) && strcmp(r->last_reply, "{}") == 0 && !r->last_error[0],
	    "guest-ping: {}");
	want = r->replies + 1;
	qga_send(g, "guest-no-such-command", NULL, 2000, false, r_reply, r);
	OK(run_until(r, &r->replies, want, 3000) && strncmp(r->last_error, "CommandNotFound: ", 17) == 0,
	    "unknown command: %s", r->last_error);
	want = r->replies + 1;
	qga_send(g, "guest-network-get-interfaces", NULL, 2000, false, r_reply, r);
	OK(run_until(r, &r->replies, want, 3000) && strstr(r->last_reply, "\"127.0.0.1\""),
	    "guest-network-get-interfaces lists 127.0.0.1");

	/* Blocked, so qemu-ga answers it with an error although it is no_reply. */
	want = r->replies + 1;
	qga_send(g, "guest-shutdown", NULL, 2000, true, r_reply, r);
	OK(run_until(r, &r->replies, want, 3000) && r->last_null,
	    "guest-shutdown (no_reply): done once written");
	want = r->replies + 1;
	qga_send(g, "guest-ping", NULL, 2000, false, r_reply, r);
	OK(run_until(r, &r->replies, want, 3000) && strcmp(r->last_reply, "{}") == 0 && !r->last_error[0],
	    "the next command gets its own reply, not the late refusal: '%s' '%s'",
	    r->last_reply, r->last_error);

	qga_sync(g);
	OK(run_until(r, &r->ready, 2, 3000), "qga_sync: ready again");
	OK(r->unsynced == 0, "never unsynced against a real agent");
	t0 = now_ms();
	kill(pid, SIGTERM);
	OK(run_until(r, &r->closed, 1, 3000), "qemu-ga gone: closed after %llu ms: %s",
	    (unsigned long long)(r->t_closed - t0), r->why);
out:
	reap(pid);
	qga_free(g);
}

int
main(void)
{
	char dir[] = "/tmp/test_qga_socket.XXXXXX";
	struct rec r = { 0 };

	signal(SIGPIPE, SIG_IGN);
	log_init("test_qga_socket", LOG_TO_STDERR, LOG_ERR);
	if (!mkdtemp(dir)) {
		OK(0, "mkdtemp: %s", strerror(errno));
		return TAP_DONE();
	}
	r.lp = loop_new();
	heartbeat(r.lp, &r);
	if (access(QEMU, X_OK) == 0)
		no_agent(&r, dir);
	else
		printf("ok - QEMU and no agent # SKIP %s not installed\n", QEMU);
	memset(&r.ready, 0, sizeof(r) - offsetof(struct rec, ready));
	if (access(QGA, X_OK) == 0)
		real_agent(&r, dir);
	else
		printf("ok - the real qemu-ga # SKIP %s not installed (qemu-guest-agent)\n", QGA);
	loop_free(r.lp);
	{
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", dir);
	}
	return TAP_DONE();
}
