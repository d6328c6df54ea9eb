/*
 * vmctl migrate NAME ssh://[USER@]HOST[:PORT]: live migration of a running
 * VM to the vmservice daemon of another host, through one ssh connection
 * (issue 19; vmd/migrate.h has the daemon's side, vmctl(8) the words):
 *
 *   source vmctl                         ssh    destination vmctl
 *   header: "VMSERVICE-MIGRATE 1 NAME LEN\n" + the hardware (LEN bytes)
 *                                  ──────────▶  migrate-check: "ok" or
 *                                  ◀──────────  "refused: WHY"
 *   migrate-out + its socket's end              migrate-in + its stdin
 *   (the source QEMU writes the stream) ──────▶ (the destination QEMU reads)
 *   the daemon answers: completed               the daemon answers: running
 *   (the guest paused here)        ◀──────────  "running" or "failed: WHY"
 *   migrate-done (QEMU quits here) or migrate-resume (the guest runs on here)
 *
 * Never two running copies: the source resumes only when the destination
 * said "failed"; with no word at all (ssh died after completion) the guest
 * stays paused here and vmctl says how to end it (--done or --resume).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config/inventory.h"
#include "lib/sshurl.h"
#include "lib/usock.h"
#include "hw/migtext.h"
#include "lib/util.h"
#include "cmd/vmctl/vmctl.h"
#include "cmd/vmctl/client.h"
#include "cmd/vmctl/vmctl_migrate.h"

#define MAGIC		"VMSERVICE-MIGRATE 1 "
#define HW_MAX		65536
#define READY_SECS	60	/* for the destination's "ok" (an ssh login, a check) */
#define RUNNING_SECS	60	/* for its "running" after completion */

/* --copy-storage, on either side (a process runs one migration). */
static bool copy_storage;

/* A line from fd within secs (no stdio: nothing read past it). */
static int
read_line(int fd, char *buf, size_t len, int secs)
{
	size_t n = 0;
	time_t end = time(NULL) + secs;

	while (n + 1 < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int left = (int)(end - time(NULL));
		ssize_t r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, left * 1000);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r == 0 ? -ETIMEDOUT : -errno;
		r = read(fd, buf + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r == 0 ? -EPIPE : -errno;
		if (buf[n] == '\n') {
			buf[n] = 0;
			return 0;
		}
		n++;
	}
	buf[n] = 0;
	return 0;
}

/* The rest of what fd says (the destination's message), on stderr. */
static void
drain_to_stderr(int fd)
{
	char buf[1024];
	ssize_t r;

	while ((r = read(fd, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, (size_t)r, stderr) != (size_t)r)
			break;
}

static int
write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t r = write(fd, s, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		s += r;
		n -= (size_t)r;
	}
	return 0;
}

static const char *
str_of(struct json_object *o, const char *k)
{
	struct json_object *v;

	return o && json_object_object_get_ex(o, k, &v) && v ? json_object_get_string(v) : NULL;
}

static bool
ok_of(struct json_object *resp)
{
	struct json_object *v;

	return resp && json_object_object_get_ex(resp, "ok", &v) && json_object_get_boolean(v);
}

/* {"cmd":CMD,"vm":NAME} (+ "hw", "host"), fd passed when >= 0. */
static struct json_object *
mreq(const char *sock, const char *cmd, const char *name, const char *hw, const char *host,
    int fd, int *rc)
{
	struct json_object *req = json_object_new_object(), *resp;

	if (copy_storage)
		json_object_object_add(req, "copy_storage", json_object_new_boolean(true));
	json_object_object_add(req, "cmd", json_object_new_string(cmd));
	json_object_object_add(req, "vm", json_object_new_string(name));
	if (hw)
		json_object_object_add(req, "hw", json_object_new_string(hw));
	if (host)
		json_object_object_add(req, strcmp(cmd, "migrate-disk") == 0 ? "disk" : "host",
		    json_object_new_string(host));
	resp = fd >= 0 ? vmctl_request_fd(sock, req, fd, rc) : vmctl_request(sock, req, rc);
	json_object_put(req);
	return resp;
}

/* ---- the destination: run by ssh, stdin the stream, stdout the words ---- */

/*
 * A child that ends us (SIGTERM) when nobody reads our stdout any more
 * (the ssh session is gone: POLLERR on the pipe's write end).
 */
static pid_t
watch_stdout(void)
{
	pid_t parent = getpid(), pid = fork();

	if (pid == 0) {
		struct pollfd p = { .fd = 1, .events = 0 };

		for (;;) {
			if (poll(&p, 1, 1000) < 0 && errno != EINTR)
				_exit(0);
			if (p.revents & (POLLERR | POLLHUP | POLLNVAL)) {
				kill(parent, SIGTERM);
				_exit(0);
			}
			if (getppid() != parent)
				_exit(0);
		}
	}
	return pid;
}

static void
unwatch(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

static int
incoming(const char *sock, const char *name)
{
	char line[512], *hw, *end;
	struct json_object *resp;
	unsigned long len;
	size_t got = 0;
	pid_t watcher;
	int rc;

	/* The header: MAGIC NAME LEN\n, then LEN bytes; nothing read past them. */
	if (read_line(0, line, sizeof(line), READY_SECS) < 0 ||
	    strncmp(line, MAGIC, strlen(MAGIC)) != 0) {
		printf("refused: not a vmservice migration stream\n");
		return VMCTL_FAIL;
	}
	/* MAGIC NAME LEN[ copy-storage] */
	if ((end = strstr(line, " copy-storage")) && end[13] == 0) {
		copy_storage = true;
		*end = 0;
	}
	end = strrchr(line, ' ');
	len = end ? strtoul(end + 1, NULL, 10) : 0;
	if (!end || len == 0 || len > HW_MAX ||
	    strncmp(line + strlen(MAGIC), name, strlen(name)) != 0) {
		printf("refused: a bad header for vm %s: %s\n", name, line);
		return VMCTL_FAIL;
	}
	hw = xmalloc(len + 1);
	while (got < len) {
		ssize_t r = read(0, hw + got, len - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			printf("refused: the stream ended in its header\n");
			free(hw);
			return VMCTL_FAIL;
		}
		got += (size_t)r;
	}
	hw[len] = 0;
	resp = mreq(sock, "migrate-check", name, hw, NULL, -1, &rc);
	if (!ok_of(resp)) {
		printf("refused: %s\n", resp ? str_of(resp, "error") : "the daemon is not running");
		json_object_put(resp);
		free(hw);
		return resp ? VMCTL_FAIL : rc;
	}
	json_object_put(resp);
	printf("ok\n");
	fflush(stdout);
	/*
	 * Answered once the guest runs here, or the stream failed. Should the
	 * source give up before its stream even began (a disk copy refused),
	 * its end of this ssh session closes our stdout: then we go, and with
	 * our connection our daemon's incoming QEMU (vmd/migrate.h).
	 */
	watcher = watch_stdout();
	resp = mreq(sock, "migrate-in", name, hw, NULL, 0, &rc);
	unwatch(watcher);
	free(hw);
	if (!resp) {
		/*
		 * Our daemon went away: its QEMU may still load the guest and run
		 * it (a new daemon adopts it). Not "failed": the source must not
		 * resume on a guess.
		 */
		printf("unknown: the daemon here went away during the migration\n");
		fflush(stdout);
		return rc;
	}
	if (!ok_of(resp)) {
		printf("failed: %s\n", str_of(resp, "error"));
		fflush(stdout);
		json_object_put(resp);
		return VMCTL_FAIL;
	}
	json_object_put(resp);
	if (copy_storage) {
		/*
		 * Arrived, paused (-S): the source's disk copies end only now
		 * (its mirrors flush). Its "go" comes down the same channel,
		 * which QEMU has stopped reading.
		 */
		printf("arrived\n");
		fflush(stdout);
		if (read_line(0, line, sizeof(line), RUNNING_SECS) < 0 || strcmp(line, "go") != 0) {
			resp = mreq(sock, "stop", name, NULL, NULL, -1, &rc);
			json_object_put(resp);
			printf("failed: no word from the source after the guest arrived: stopped "
			    "here\n");
			fflush(stdout);
			return VMCTL_FAIL;
		}
		resp = mreq(sock, "migrate-go", name, NULL, NULL, -1, &rc);
		if (!ok_of(resp)) {
			printf("failed: %s\n", resp ? str_of(resp, "error") : "no daemon");
			fflush(stdout);
			json_object_put(resp);
			return VMCTL_FAIL;
		}
		json_object_put(resp);
	}
	printf("running\n");
	fflush(stdout);
	return VMCTL_OK;
}

/*
 * migrate-nbd NAME DISK, run through ssh on the destination of
 * --copy-storage: one disk's NBD connection, relayed between ssh (stdin,
 * stdout) and the destination QEMU's NBD server on run_dir/NAME.nbd, which
 * is connected to only when the listener is that QEMU (SO_PEERCRED).
 */
static int
nbd_relay(const char *sock, const char *name)
{
	struct json_object *resp, *vms, *v;
	char path[4096], err[512], buf[65536];
	const char *slash = strrchr(sock, '/');
	int rc, fd = -1, e = -ENOENT;
	bool in_open = true, out_open = true;
	pid_t pid = 0;
	time_t end = time(NULL) + READY_SECS;

	/* The destination QEMU listens once QMP set it up: retry a while. */
	while (time(NULL) < end) {
		resp = mreq(sock, "status", name, NULL, NULL, -1, &rc);
		if (resp && json_object_object_get_ex(resp, "vms", &vms) &&
		    json_object_array_length(vms) == 1 &&
		    json_object_object_get_ex(json_object_array_get_idx(vms, 0), "pid", &v) && v)
			pid = (pid_t)json_object_get_int(v);
		json_object_put(resp);
		snprintf(path, sizeof(path), "%.*s/%s.nbd", slash ? (int)(slash - sock) : 1,
		    slash ? sock : ".", name);
		if (pid > 0 && (e = usock_connect(path, pid, &fd, err, sizeof(err))) == 0)
			break;
		if (e != -ENOENT && e != -ECONNREFUSED && e != -EAGAIN && pid > 0) {
			fprintf(stderr, "vmctl migrate-nbd: %s\n", err);
			return VMCTL_FAIL;
		}
		usleep(100000);
	}
	if (fd < 0) {
		fprintf(stderr, "vmctl migrate-nbd: vm %s: no NBD server at %s\n", name, path);
		return VMCTL_FAIL;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
		return VMCTL_FAIL;
	while (in_open || out_open) {
		struct pollfd p[2] = { { .fd = in_open ? 0 : -1, .events = POLLIN },
		    { .fd = out_open ? fd : -1, .events = POLLIN } };
		ssize_t n;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents) {
			n = read(0, buf, sizeof(buf));
			if (n <= 0 || write_all(fd, buf, (size_t)n) < 0) {
				in_open = false;
				shutdown(fd, SHUT_WR);
			}
		}
		if (p[1].revents) {
			n = read(fd, buf, sizeof(buf));
			if (n <= 0 || write_all(1, buf, (size_t)n) < 0) {
				out_open = false;
				close(1);
			}
		}
	}
	close(fd);
	return VMCTL_OK;
}

/* ---- the source ---- */

static pid_t
spawn_ssh(const struct sshurl *u, const char *cmd, const char *name, const char *arg, int in,
    int out)
{
	const char *remote = getenv("VMCTL_REMOTE");
	const char *words[] = { remote && *remote ? remote : "vmctl", cmd, name, arg };
	char **argv = sshurl_argv(u, false, NULL, words, arg ? 4 : 3);
	pid_t pid;

	if (!argv)
		return -1;
	argv[0] = (char *)vmctl_ssh_program();
	pid = fork();
	if (pid == 0) {
		if (dup2(in, 0) < 0 || dup2(out, 1) < 0)
			_exit(255);
		execvp(argv[0], argv);
		fprintf(stderr, "vmctl migrate: cannot run %s: %s (package openssh-client)\n",
		    argv[0], strerror(errno));
		_exit(255);
	}
	free(argv);
	return pid;
}

static void
end_ssh(pid_t pid, bool kill_it)
{
	int st;

	if (pid <= 0)
		return;
	if (kill_it)
		kill(pid, SIGTERM);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
}

static void
end_nbd(pid_t *pids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		end_ssh(pids[i], true);
}

/*
 * --copy-storage: for each disk the guest writes, `ssh HOST vmctl
 * migrate-nbd NAME diskN` on one end of a socket pair, the other end to
 * our daemon (migrate-disk) for its QEMU's mirror job. -1 after a message.
 */
static int
nbd_channels(const char *sock, const char *conf, const char *name, const struct sshurl *u,
    pid_t *pids, size_t *n)
{
	struct inventory inv;
	struct hw_vm *hw;
	struct json_object *resp;
	int rc = 0;

	if (vmctl_load(conf, &inv) < 0)
		return -1;
	if (!(hw = inv_find_vm(&inv, name))) {
		inv_free(&inv);
		return -1;
	}
	for (size_t i = 0; i < hw->vm_n_disks && *n < 64 && !rc; i++) {
		char dev[32];
		int sp[2];

		if (hw->vm_disks[i].dk_readonly || hw->vm_disks[i].dk_media == HW_MEDIA_CDROM)
			continue;
		snprintf(dev, sizeof(dev), "disk%zu", i);
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
			fprintf(stderr, "vmctl migrate: socketpair: %s\n", strerror(errno));
			rc = -1;
			break;
		}
		pids[*n] = spawn_ssh(u, "migrate-nbd", name, dev, sp[0], sp[0]);
		close(sp[0]);
		if (pids[*n] < 0) {
			close(sp[1]);
			rc = -1;
			break;
		}
		(*n)++;
		resp = mreq(sock, "migrate-disk", name, NULL, dev, sp[1], &rc);
		close(sp[1]);
		if (!ok_of(resp)) {
			fprintf(stderr, "vmctl migrate: %s: %s\n", dev, resp ? str_of(resp, "error") :
			    "no answer from the daemon");
			rc = -1;
		} else {
			json_object_object_add(resp, "ok", NULL);
			json_object_put(resp);
			resp = NULL;
			rc = 0;
			continue;
		}
		json_object_put(resp);
	}
	inv_free(&inv);
	return rc;
}

static int
outgoing(const char *sock, const char *conf, const char *name, const char *url)
{
	struct inventory inv;
	struct hw_vm *hw;
	struct sshurl u;
	struct json_object *resp, *vms, *mig = NULL;
	char err[512], line[2048], *text, *head;
	int sv[2] = { -1, -1 }, po[2] = { -1, -1 }, rc, e;
	pid_t ssh, nbd_pids[64];
	size_t n_nbd = 0;

	if (sshurl_parse(url, &u, err, sizeof(err)) < 0) {
		fprintf(stderr, "vmctl migrate: %s\n", err);
		return VMCTL_USAGE;
	}
	if (vmctl_load(conf, &inv) < 0)
		return VMCTL_FAIL;
	if (!(hw = inv_find_vm(&inv, name))) {
		fprintf(stderr, "vmctl migrate: no vm %s in %s\n", name, conf);
		inv_free(&inv);
		return VMCTL_FAIL;
	}
	text = hw_migration_text(hw);
	inv_free(&inv);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    pipe2(po, O_CLOEXEC) < 0) {
		fprintf(stderr, "vmctl migrate: %s\n", strerror(errno));
		free(text);
		return VMCTL_FAIL;
	}
	signal(SIGPIPE, SIG_IGN);
	ssh = spawn_ssh(&u, "migrate-incoming", name, NULL, sv[0], po[1]);
	close(sv[0]);
	close(po[1]);
	head = xasprintf(MAGIC "%s %zu%s\n", name, strlen(text), copy_storage ?
	    " copy-storage" : "");
	e = ssh < 0 ? -1 : write_all(sv[1], head, strlen(head));
	if (!e)
		e = write_all(sv[1], text, strlen(text));
	free(head);
	if (e || (e = read_line(po[0], line, sizeof(line), READY_SECS)) < 0 ||
	    strcmp(line, "ok") != 0) {
		fprintf(stderr, "vmctl migrate: %s: %s\n", url, e == -ETIMEDOUT ?
		    "no answer from the destination" : e ? "the ssh connection failed (see "
		    "ssh's message above)" : line);
		if (!e)
			drain_to_stderr(po[0]);
		end_ssh(ssh, true);
		free(text);
		return VMCTL_FAIL;
	}
	free(text);
	/* --copy-storage: one ssh channel a written disk, before the stream. */
	if (copy_storage && nbd_channels(sock, conf, name, &u, nbd_pids, &n_nbd) < 0) {
		end_ssh(ssh, true);
		end_nbd(nbd_pids, n_nbd);
		close(sv[1]);
		close(po[0]);
		return VMCTL_FAIL;
	}
	/* The destination waits for the stream: the source QEMU writes it. */
	resp = mreq(sock, "migrate-out", name, NULL, u.su_host, sv[1], &rc);
	if (!ok_of(resp)) {
		fprintf(stderr, "vmctl migrate: %s\n", resp ? str_of(resp, "error") :
		    "no answer from the daemon");
		json_object_put(resp);
		end_ssh(ssh, true);
		end_nbd(nbd_pids, n_nbd);
		close(sv[1]);
		close(po[0]);
		return resp ? VMCTL_FAIL : rc;
	}
	if (json_object_object_get_ex(resp, "vms", &vms) && json_object_array_length(vms) == 1)
		json_object_object_get_ex(json_object_array_get_idx(vms, 0), "migration", &mig);
	mig = mig ? json_object_get(mig) : NULL;
	json_object_put(resp);
	e = read_line(po[0], line, sizeof(line), RUNNING_SECS);
	/* --copy-storage: arrived there, paused; our disks are done: "go". */
	if (copy_storage && e == 0 && strcmp(line, "arrived") == 0) {
		e = write_all(sv[1], "go\n", 3) < 0 ? -EPIPE : 0;
		if (!e)
			e = read_line(po[0], line, sizeof(line), RUNNING_SECS);
	}
	close(sv[1]);
	end_nbd(nbd_pids, n_nbd);
	if (e == 0 && strcmp(line, "running") == 0) {
		resp = mreq(sock, "migrate-done", name, NULL, NULL, -1, &rc);
		printf("%s: migrated to %s: downtime %s ms, total %s ms\n", name, u.su_host,
		    str_of(mig, "downtime_ms") ? str_of(mig, "downtime_ms") : "?",
		    str_of(mig, "total_ms") ? str_of(mig, "total_ms") : "?");
		rc = ok_of(resp) ? VMCTL_OK : VMCTL_FAIL;
		if (!ok_of(resp))
			fprintf(stderr, "vmctl migrate: the guest runs on %s, but quitting it here "
			    "failed: %s\n", u.su_host, resp ? str_of(resp, "error") : "no daemon");
	} else if (e == 0 && strncmp(line, "failed", 6) == 0) {
		resp = mreq(sock, "migrate-resume", name, NULL, NULL, -1, &rc);
		fprintf(stderr, "vmctl migrate: %s: %s; the guest runs on here%s\n", u.su_host,
		    line, ok_of(resp) ? "" : " (resuming it failed: see vmctl status)");
		rc = VMCTL_FAIL;
	} else {
		resp = NULL;
		fprintf(stderr, "vmctl migrate: the migration completed, but %s did not say "
		    "whether the guest runs there (%s). It is paused here (state handed-over), "
		    "never resumed on its own: if it runs on %s, `vmctl migrate %s --done` ends "
		    "it here; if not, `vmctl migrate %s --resume` runs it on here.\n", u.su_host,
		    e == -ETIMEDOUT ? "no answer" : e ? "the connection ended" : line, u.su_host,
		    name, name);
		rc = VMCTL_FAIL;
	}
	json_object_put(resp);
	json_object_put(mig);
	close(po[0]);
	end_ssh(ssh, rc != VMCTL_OK);
	return rc;
}

/* --done / --resume: end a handed-over migration by hand. */
static int
finish_by_hand(const char *sock, const char *name, bool done)
{
	struct json_object *resp;
	int rc;

	resp = mreq(sock, done ? "migrate-done" : "migrate-resume", name, NULL, NULL, -1, &rc);
	if (!resp)
		return rc;
	rc = ok_of(resp) ? VMCTL_OK : VMCTL_FAIL;
	if (rc)
		fprintf(stderr, "vmctl migrate: %s\n", str_of(resp, "error"));
	else
		printf("%s: %s\n", name, done ? "migrated: its QEMU here quits" : "resumed here");
	json_object_put(resp);
	return rc;
}

int
vmctl_migrate(struct vmctl *ctl, int argc, char **argv)
{
	const char *conf = NULL, *sock_opt = NULL, *pos[2] = { NULL, NULL };
	bool copy = false, done = false, resume = false, in = strcmp(argv[0],
	    "migrate-incoming") == 0, nbd = strcmp(argv[0], "migrate-nbd") == 0;
	char *sock;
	int npos = 0, rc, i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			vmctl_usage(ctl->ctl_cmd, stdout);
			return VMCTL_OK;
		}
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "-s") == 0) && i + 1 < argc) {
			*(argv[i][1] == 'c' ? &conf : &sock_opt) = argv[i + 1];
			i++;
		} else if (!in && strcmp(argv[i], "--copy-storage") == 0) {
			copy = true;
		} else if (!in && strcmp(argv[i], "--done") == 0) {
			done = true;
		} else if (!in && strcmp(argv[i], "--resume") == 0) {
			resume = true;
		} else if (argv[i][0] == '-' || npos == 2) {
			fprintf(stderr, "vmctl %s: unexpected argument '%s'\n", argv[0], argv[i]);
			vmctl_usage(ctl->ctl_cmd, stderr);
			return VMCTL_USAGE;
		} else {
			pos[npos++] = argv[i];
		}
	}
	if (nbd) {
		if (npos != 2) {
			fprintf(stderr, "vmctl migrate-nbd: name the VM and the disk\n");
			return VMCTL_USAGE;
		}
		if (!(sock = vmctl_socket(ctl, conf, sock_opt)))
			return VMCTL_NO_DAEMON;
		rc = nbd_relay(sock, pos[0]);
		free(sock);
		return rc;
	}
	if (npos != (in || done || resume ? 1 : 2) || (done && resume)) {
		fprintf(stderr, "vmctl %s: %s\n", argv[0], in ? "name the VM" :
		    "name the VM and ssh://[USER@]HOST[:PORT], or the VM and --done or --resume");
		vmctl_usage(ctl->ctl_cmd, stderr);
		return VMCTL_USAGE;
	}
	copy_storage = copy;
	sock = vmctl_socket(ctl, conf, sock_opt);
	if (!sock)
		return VMCTL_NO_DAEMON;
	if (in)
		rc = incoming(sock, pos[0]);
	else if (done || resume)
		rc = finish_by_hand(sock, pos[0], done);
	else
		rc = outgoing(sock, vmctl_conf_path(ctl, conf), pos[0], pos[1]);
	free(sock);
	return rc;
}
