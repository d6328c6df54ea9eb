/* qemu_proc with real processes (not QEMU): spawn, pidfd, signal, reap, log tail. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/child.h"
#include "qemu/qemu_proc.h"
#include "tap.h"

static int
wait_exit(pid_t pid, int pidfd, int *status)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	if (poll(&p, 1, 5000) != 1)
		return -1;
	return qproc_reap(pid, status);
}

/* Wait until pid has exec'ed path (its /proc/PID/exe names it). */
static void
wait_exec(pid_t pid, const char *path)
{
	char p[64], buf[4096];
	ssize_t n;
	int i;

	snprintf(p, sizeof(p), "/proc/%d/exe", (int)pid);
	for (i = 0; i < 500; i++) {
		n = readlink(p, buf, sizeof(buf) - 1);
		if (n > 0) {
			buf[n] = 0;
			if (strstr(buf, path))
				return;
		}
		usleep(10000);
	}
}

static void
copy_file(const char *from, const char *to)
{
	char buf[65536];
	ssize_t n;
	int in = open(from, O_RDONLY | O_CLOEXEC), out;

	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			break;
	close(in);
	close(out);
}

/*
 * Adoption identity with real processes: a fake "emulator" (a copy of sh
 * under a name of our own) given a QEMU-like command line.
 */
static void
test_ident(const char *dir, const sigset_t *mask)
{
	char emu[256], other[256], pf[256], log[256], why[512], err[256];
	char *fake[] = { emu, "-c", "sleep 30; :", "qemu", "-name", "guest=web", "-pidfile", pf,
	    NULL };
	char *fake2[] = { emu, "-c", "sleep 30; :", "qemu", "-name", "guest=db", "-pidfile", pf,
	    NULL };
	char *sleeper[] = { "/bin/sleep", "30", NULL };
	struct qproc_ident id, idx;
	pid_t pid, pid2, pid3;
	int fd, fd2, fd3, status;

	snprintf(emu, sizeof(emu), "%s/qemu-system-fake", dir);
	snprintf(other, sizeof(other), "%s/link-to-emu", dir);
	snprintf(pf, sizeof(pf), "%s/web.pid", dir);
	snprintf(log, sizeof(log), "%s/ident.log", dir);
	copy_file("/bin/sh", emu);
	OK(symlink(emu, other) == 0, "symlink to the emulator");

	OK(qproc_ident_from_argv(fake, &id) == 0 && strcmp(id.qi_exe, emu) == 0 &&
	    strcmp(id.qi_name, "guest=web") == 0 && strcmp(id.qi_pidfile, pf) == 0,
	    "identity taken from the argv");
	OK(qproc_ident_from_argv(sleeper, &idx) == -EINVAL, "an argv without -name: no identity");

	OK(qproc_exe_matches(emu, other), "exe matches the emulator's resolved path");
	{
		char del[300];
		snprintf(del, sizeof(del), "%s (deleted)", emu);
		OK(qproc_exe_matches(del, emu), "an upgraded (deleted) emulator still matches");
		snprintf(del, sizeof(del), "%s (gone)", emu);
		OK(!qproc_exe_matches(del, emu), "only the kernel's \" (deleted)\" suffix");
		snprintf(del, sizeof(del), "%sx", emu);
		OK(!qproc_exe_matches(del, emu), "a longer name is another program");
	}
	OK(!qproc_exe_matches("/bin/sleep", emu), "another program does not match");

	OK(qproc_spawn(fake, log, mask, &pid, &fd, err, sizeof(err)) == 0, "spawn fake QEMU web");
	OK(qproc_spawn(fake2, log, mask, &pid2, &fd2, err, sizeof(err)) == 0, "spawn fake QEMU db");
	OK(qproc_spawn(sleeper, log, mask, &pid3, &fd3, err, sizeof(err)) == 0, "spawn sleep");
	wait_exec(pid, "qemu-system-fake");
	wait_exec(pid2, "qemu-system-fake");
	wait_exec(pid3, "sleep");

	OK(qproc_check_ident(pid, &id, why, sizeof(why)) == 0, "web's QEMU is identified: %s",
	    why);
	id.qi_exe = other;
	OK(qproc_check_ident(pid, &id, why, sizeof(why)) == 0,
	    "emulator configured through a symlink: identified");
	id.qi_exe = emu;
	OK(qproc_check_ident(pid2, &id, why, sizeof(why)) == -EPERM && strstr(why, "-name"),
	    "another VM's QEMU is not web's: %s", why);
	OK(qproc_check_ident(pid3, &id, why, sizeof(why)) == -EPERM && strstr(why, "runs"),
	    "a live sleep (pid reuse) is not web's QEMU: %s", why);
	OK(qproc_check_ident(getpid(), &id, why, sizeof(why)) == -EPERM, "nor is this test");
	{
		struct qproc_ident o = id;
		char opf[300];
		snprintf(opf, sizeof(opf), "%s/other/web.pid", dir);
		o.qi_pidfile = opf;
		OK(qproc_check_ident(pid, &o, why, sizeof(why)) == -EPERM &&
		    strstr(why, "-pidfile"), "same name, another run_dir: not ours: %s", why);
		o = id;
		o.qi_name = "guest=we";
		OK(qproc_check_ident(pid, &o, why, sizeof(why)) == -EPERM,
		    "a name prefix is not the name");
		o = id;
		o.qi_exe = "/usr/bin/qemu-system-x86_64";
		OK(qproc_check_ident(pid, &o, why, sizeof(why)) == -EPERM,
		    "cmdline right, emulator wrong: not ours");
	}
	/* The emulator upgraded under a running QEMU: new file, same path. */
	OK(unlink(emu) == 0, "emulator removed");
	OK(qproc_check_ident(pid, &id, why, sizeof(why)) == 0,
	    "running QEMU of a removed emulator still identified: %s", why);
	copy_file("/bin/sh", emu);
	OK(qproc_check_ident(pid, &id, why, sizeof(why)) == 0,
	    "running QEMU of a replaced emulator still identified: %s", why);

	qproc_signal(pid, fd, SIGKILL);
	qproc_signal(pid2, fd2, SIGKILL);
	qproc_signal(pid3, fd3, SIGKILL);
	wait_exit(pid, fd, &status);
	wait_exit(pid2, fd2, &status);
	wait_exit(pid3, fd3, &status);
	close(fd);
	close(fd2);
	close(fd3);
	OK(qproc_check_ident(pid, &id, why, sizeof(why)) == -ESRCH, "a dead pid: %s", why);
}

static void
test_lock(const char *dir)
{
	char lk[256], ln[256];
	int fd, fd2;
	pid_t p;

	snprintf(lk, sizeof(lk), "%s/web.lock", dir);
	snprintf(ln, sizeof(ln), "%s/evil.lock", dir);
	OK(qproc_lock(lk, &fd) == 0, "lock taken");
	OK(qproc_lock(lk, &fd2) == -EWOULDBLOCK, "a second open file cannot take it");
	p = fork();
	if (p == 0) {
		/* The child keeps the lock after the parent lets go (QEMU's case). */
		sleep(2);
		_exit(0);
	}
	close(fd);
	OK(qproc_lock(lk, &fd2) == -EWOULDBLOCK, "held while a child has the file");
	waitpid(p, NULL, 0);
	OK(qproc_lock(lk, &fd2) == 0, "free once the last holder is gone");
	close(fd2);
	OK(symlink("/etc/passwd", ln) == 0, "symlink planted");
	OK(qproc_lock(ln, &fd2) == -ELOOP, "a symlinked lock file is refused");
	if (geteuid() == 0) {
		/* Planted by another user, who keeps it locked: replaced. */
		int pl;
		snprintf(ln, sizeof(ln), "%s/planted.lock", dir);
		pl = open(ln, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
		OK(pl >= 0 && fchown(pl, 65534, 65534) == 0 && flock(pl, LOCK_EX) == 0,
		    "a lock file of another owner, held");
		OK(qproc_lock(ln, &fd2) == 0, "replaced by our own and locked");
		{
			struct stat st;
			OK(fstat(fd2, &st) == 0 && st.st_uid == 0, "the lock file is ours");
		}
		close(fd2);
		close(pl);
	}
}

int
main(void)
{
	char dir[] = "/tmp/test_qproc.XXXXXX", log[256], err[256], *tail;
	char *echo[] = { "/bin/echo", "hello from the child", NULL };
	char *sleeper[] = { "/bin/sleep", "30", NULL };
	char *missing[] = { "/nonexistent/qemu-system-x86_64", "-name", "x", NULL };
	sigset_t mask;
	pid_t pid;
	int pidfd, status, fd;

	sigemptyset(&mask);
	if (!mkdtemp(dir))
		return 1;
	snprintf(log, sizeof(log), "%s/vm.qemu.log", dir);

	OK(qproc_spawn(echo, log, &mask, &pid, &pidfd, err, sizeof(err)) == 0, "spawn echo");
	OK(wait_exit(pid, pidfd, &status) == 1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "pidfd fires and the exit status is reaped");
	close(pidfd);
	tail = qproc_log_tail(log, 0, 2000);
	OK_STREQ(tail, "hello from the child", "stdout appended to the log");
	free(tail);

	off_t off = qproc_log_size(log);
	OK(qproc_spawn(missing, log, &mask, &pid, &pidfd, err, sizeof(err)) == 0,
	    "spawn of a missing binary forks fine");
	OK(wait_exit(pid, pidfd, &status) == 1 && WEXITSTATUS(status) == 127, "exec failure: exit 127");
	close(pidfd);
	tail = qproc_log_tail(log, off, 2000);
	OK(tail && strstr(tail, "cannot execute /nonexistent/qemu-system-x86_64: No such file") &&
	    !strstr(tail, "hello"), "exec failure named in the log, earlier runs left out: %s",
	    tail ? tail : "(null)");
	free(tail);
	OK(qproc_log_tail(log, qproc_log_size(log), 2000) == NULL, "nothing new: no tail");

	OK(qproc_spawn(sleeper, log, &mask, &pid, &pidfd, err, sizeof(err)) == 0, "spawn sleep");
	for (int i = 0; i < 100 && getsid(pid) != pid; i++)
		usleep(10000);	/* the child calls setsid() right after fork */
	OK(getsid(pid) == pid, "child is in its own session");
	OK(qproc_signal(pid, pidfd, SIGTERM) == 0, "SIGTERM through the pidfd");
	OK(wait_exit(pid, pidfd, &status) == 1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM,
	    "killed by SIGTERM");
	OK(qproc_signal(pid, pidfd, SIGKILL) == -ESRCH, "signal after reaping: ESRCH, no PID reuse race");
	close(pidfd);
	{
		char b[32];
		child_describe(status, b, sizeof(b));
		OK_STREQ(b, "signal 15", "wait status described");
	}

	/* A log that is a symlink is refused (O_NOFOLLOW). */
	snprintf(err, sizeof(err), "%s/link.log", dir);
	OK(symlink("/etc/passwd", err) == 0, "symlink made");
	OK(qproc_spawn(echo, err, &mask, &pid, &pidfd, log, sizeof(log)) == -ELOOP,
	    "symlinked log refused");

	/* The long tail starts at a line boundary. */
	snprintf(log, sizeof(log), "%s/big.log", dir);
	fd = open(log, O_WRONLY | O_CREAT, 0644);
	for (int i = 0; i < 1000; i++)
		dprintf(fd, "line %d\n", i);
	close(fd);
	tail = qproc_log_tail(log, 0, 100);
	OK(tail && strncmp(tail, "line ", 5) == 0 && strstr(tail, "line 999") &&
	    tail[strlen(tail) - 1] == '9', "tail cut at a line start: %.20s...", tail ? tail : "");
	free(tail);

	test_ident(dir, &mask);
	test_lock(dir);
	{
		uint64_t age = 0;
		OK(qproc_age_ms(getpid(), &age) == 0 && age < 60000, "own age from /proc: %llu ms",
		    (unsigned long long)age);
		OK(qproc_age_ms(1, &age) == 0 && age > 0, "pid 1 is older");
	}
	{
		char *rm[] = { "/bin/rm", "-rf", dir, NULL };
		snprintf(log, sizeof(log), "/dev/null");
		if (qproc_spawn(rm, log, &mask, &pid, &pidfd, err, sizeof(err)) == 0) {
			wait_exit(pid, pidfd, &status);
			close(pidfd);
		}
	}
	return TAP_DONE();
}
