/* Is KVM usable for the user QEMU runs as? See qemu_kvm.h. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/util.h"
#include "qemu/qemu_kvm.h"
#include "qemu/qemu_priv.h"
#include "qemu/qemu_proc.h"

/* Exit codes of the probe child beyond errno values (all < 128). */
#define PROBE_BAD_API	200
#define PROBE_NO_DROP	201

static int
open_kvm(void)
{
	int fd = open(QKVM_DEVICE, O_RDWR | O_CLOEXEC | O_NOCTTY), v;

	if (fd == -1)
		return -errno;
	v = ioctl(fd, KVM_GET_API_VERSION, 0);
	close(fd);
	if (v == -1)
		return -ENODEV;	/* not a KVM device */
	return v == KVM_API_VERSION ? 0 : -EPROTO;
}

static void
explain(int e, const struct qpriv *p, char *why, size_t len)
{
	const char *user = p && p->qp_user[0] ? p->qp_user : "this user";

	switch (-e) {
	case 0:
		snprintf(why, len, "%s usable by %s", QKVM_DEVICE, user);
		break;
	case ENOENT:
		snprintf(why, len, "no %s on this host", QKVM_DEVICE);
		break;
	case EACCES: case EPERM:
		snprintf(why, len, "%s not accessible to %s", QKVM_DEVICE, user);
		break;
	case ENODEV: case ENXIO:
		snprintf(why, len, "%s is not a working KVM device (module not loaded?)",
		    QKVM_DEVICE);
		break;
	case EPROTO:
		snprintf(why, len, "%s speaks an unknown KVM API version", QKVM_DEVICE);
		break;
	case ECHILD:
		snprintf(why, len, "cannot become %s to try %s", user, QKVM_DEVICE);
		break;
	case ETIMEDOUT:
		snprintf(why, len, "trying %s as %s took over %d ms (killed)", QKVM_DEVICE, user,
		    QKVM_PROBE_TIMEOUT_MS);
		break;
	default:
		snprintf(why, len, "%s: %s", QKVM_DEVICE, strerror(-e));
		break;
	}
}

/* SIGKILL pid and reap it: a killed probe ends at once. */
static void
kill_reap(pid_t pid)
{
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
}

/*
 * Reap the probe child, at most QKVM_PROBE_TIMEOUT_MS after now: the
 * daemon's loop waits here, so the wait has a deadline (a child stuck in
 * a name service lookup or a blocking open is killed). 0 with *st, or
 * -ETIMEDOUT, or -errno; the child is gone either way.
 */
static int
wait_probe(pid_t pid, int *st)
{
	struct pollfd pfd = { .events = POLLIN };
	uint64_t end = now_ms() + QKVM_PROBE_TIMEOUT_MS, now;
	int r, e;

	if ((pfd.fd = qproc_pidfd_open(pid)) < 0) {
		kill_reap(pid);
		return pfd.fd;
	}
	do {
		now = now_ms();
		r = poll(&pfd, 1, now >= end ? 0 : (int)(end - now));
	} while (r == -1 && errno == EINTR);
	e = r == -1 ? -errno : r == 0 ? -ETIMEDOUT : 0;
	close(pfd.fd);
	if (e) {
		kill_reap(pid);
		return e;
	}
	while (waitpid(pid, st, 0) == -1)
		if (errno != EINTR)
			return -errno;
	return 0;
}

int
qkvm_probe(const struct qpriv *p, char *why, size_t len)
{
	const char *step = NULL;
	int e, st;
	pid_t pid;

	if (!p || !p->qp_switch) {
		e = open_kvm();
		explain(e, p, why, len);
		return e;
	}
	pid = fork();
	if (pid == -1) {
		e = -errno;
		snprintf(why, len, "cannot fork to try %s: %s", QKVM_DEVICE, strerror(errno));
		return e;
	}
	if (pid == 0) {
		/* The child: exactly the privileges QEMU will have, nothing kept. */
		signal(SIGPIPE, SIG_DFL);
		if (qpriv_drop(p, &step))
			_exit(PROBE_NO_DROP);
		e = open_kvm();
		_exit(e == -EPROTO ? PROBE_BAD_API : -e);
	}
	if ((e = wait_probe(pid, &st)) != 0) {
		if (e == -ETIMEDOUT)
			explain(e, p, why, len);
		else
			snprintf(why, len, "waiting for the %s probe: %s", QKVM_DEVICE,
			    strerror(-e));
		return e;
	}
	if (!WIFEXITED(st))
		e = -ECHILD;
	else if (WEXITSTATUS(st) == PROBE_BAD_API)
		e = -EPROTO;
	else if (WEXITSTATUS(st) == PROBE_NO_DROP)
		e = -ECHILD;
	else
		e = -WEXITSTATUS(st);
	explain(e, p, why, len);
	return e;
}

bool
qkvm_says_kvm_failed(const char *text)
{
	/*
	 * QEMU's words when KVM is there but fails: "KVM internal error",
	 * "Could not access KVM kernel module", "failed to initialize kvm",
	 * "kvm_init_vcpu failed", "failed to set MSR" (a KVM ioctl).
	 */
	static const char *const marks[] = {
		"kvm", "KVM", "failed to set MSR", NULL
	};

	if (!text)
		return false;
	for (size_t i = 0; marks[i]; i++)
		if (strstr(text, marks[i]))
			return true;
	return false;
}
