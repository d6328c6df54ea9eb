/*
 * Tap devices for real, in a network namespace of our own (unshare), so the
 * host's interfaces are never touched. Skips when we may not unshare.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmd/tap.h"
#include "tap.h"

/* Run argv, its stdout in out (NUL-terminated); returns the exit status. */
static int
run(char *out, size_t outlen, const char *const argv[])
{
	int p[2], st;
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	if (pipe(p) == -1)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	while (out && n + 1 < outlen && (r = read(p[0], out + n, outlen - n - 1)) > 0)
		n += (size_t)r;
	if (out)
		out[n] = 0;
	close(p[0]);
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define RUN(...) run(NULL, 0, (const char *const[]){ __VA_ARGS__, NULL })

static int
flags_of(const char *name)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	r = ioctl(s, SIOCGIFFLAGS, &ifr) == 0 ? ifr.ifr_flags : -1;
	close(s);
	return r;
}

static int
mtu_of(const char *name)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	r = ioctl(s, SIOCGIFMTU, &ifr) == 0 ? ifr.ifr_mtu : -1;
	close(s);
	return r;
}

static bool
in_list(const struct strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->sv_n; i++)
		if (strcmp(sv->sv_v[i], s) == 0)
			return true;
	return false;
}

static void
test_names(void)
{
	char a[IF_NAMESIZE], b[IF_NAMESIZE], c[IF_NAMESIZE];

	hw_derive_ifname("web", 0, a);
	OK_STREQ(a, "vms-web-0", "short name: vms-VM-N");
	hw_derive_ifname("abcdefghi", 3, a);
	OK_STREQ(a, "vms-abcdefghi-3", "15 characters still fit");
	hw_derive_ifname("a-very-long-vm-name", 0, a);
	hw_derive_ifname("a-very-long-vm-name", 0, b);
	hw_derive_ifname("a-very-long-vm-other", 0, c);
	OK(strlen(a) == IF_NAMESIZE - 1, "long name shortened to 15 (%s)", a);
	OK(strncmp(a, "vms-a-ver", 9) == 0 && strcmp(a + strlen(a) - 2, "-0") == 0,
	    "long name keeps prefix, start and index (%s)", a);
	OK_STREQ(a, b, "derivation is deterministic");
	OK(strcmp(a, c) != 0, "same start, different VM: different names (%s %s)", a, c);
	hw_derive_ifname("a-very-long-vm-name", 12, b);
	OK(strlen(b) == IF_NAMESIZE - 1 && strcmp(b + strlen(b) - 3, "-12") == 0,
	    "two-digit index fits (%s)", b);
}

static void
test_bridge(void)
{
	char out[4096], err[256];
	struct tap t, u;
	int e;

	e = tap_open(&t, "vms-t-0", "br0", TAP_EXCL | TAP_VNET_HDR, err, sizeof(err));
	OK(e == 0, "tap on br0 created (%s)", e ? err : "ok");
	OK(t.tp_fd >= 0 && (fcntl(t.tp_fd, F_GETFD) & FD_CLOEXEC), "tap fd is close-on-exec");
	OK_STREQ(t.tp_name, "vms-t-0", "name kept");
	OK(flags_of("vms-t-0") > 0 && (flags_of("vms-t-0") & IFF_UP), "tap is up");
	OK(mtu_of("vms-t-0") == 1400, "tap took the bridge's MTU (%d)", mtu_of("vms-t-0"));
	run(out, sizeof(out), (const char *const[]){ "ip", "-o", "link", "show", "vms-t-0", NULL });
	OK(strstr(out, "master br0") != NULL, "tap enslaved to br0");
	run(out, sizeof(out), (const char *const[]){ "ip", "-d", "-o", "link", "show", "vms-t-0",
	    NULL });
	OK(strstr(out, "vnet_hdr on") != NULL || strstr(out, "vnet_hdr") != NULL,
	    "vnet_hdr flag set");

	e = tap_open(&u, "vms-t-0", "br0", TAP_EXCL, err, sizeof(err));
	OK(e == -EBUSY && strstr(err, "tap name vms-t-0 is in use"), "same name again: in use (%s)",
	    err);
	OK(u.tp_fd == -1, "no fd left on failure");
	e = tap_open(&u, "br0", NULL, TAP_EXCL, err, sizeof(err));
	OK(e != 0 && strstr(err, "br0 is in use"), "name of a bridge refused (%s)", err);
	e = tap_open(&u, "lo", NULL, 0, err, sizeof(err));
	OK(e != 0 && strstr(err, "not a tap"), "name of a non-tap refused (%s)", err);

	tap_close(&t);
	OK(!tap_exists("vms-t-0"), "closing the fd removed the tap");
	tap_close(&t);
	OK(t.tp_fd == -1, "tap_close twice is harmless");
}

static void
test_errors(void)
{
	char err[256];
	struct tap t;
	cap_t saved, c;
	cap_value_t na = CAP_NET_ADMIN;
	int e;

	e = tap_open(&t, "vms-m-0", "nobr0", TAP_EXCL, err, sizeof(err));
	OK(e == -ENODEV && strstr(err, "bridge nobr0 does not exist"), "missing bridge (%s)", err);
	OK(!tap_exists("vms-m-0"), "no tap left behind by a missing bridge");
	e = tap_open(&t, "vms-m-0", "lo", TAP_EXCL, err, sizeof(err));
	OK(e != 0 && strstr(err, "lo is not a bridge"), "not a bridge (%s)", err);
	OK(!tap_exists("vms-m-0"), "no tap left behind by a failed attach");

	/* Drop CAP_NET_ADMIN from the effective set (we keep it permitted). */
	saved = cap_get_proc();
	c = cap_dup(saved);
	cap_set_flag(c, CAP_EFFECTIVE, 1, &na, CAP_CLEAR);
	OK(cap_set_proc(c) == 0, "dropped CAP_NET_ADMIN");
	e = tap_open(&t, "vms-c-0", "br0", TAP_EXCL, err, sizeof(err));
	OK(e == -EPERM && strstr(err, "needs CAP_NET_ADMIN") && strstr(err, "vms-c-0"),
	    "without CAP_NET_ADMIN: clear error (%s)", err);
	OK(cap_set_proc(saved) == 0, "CAP_NET_ADMIN back");
	OK(!tap_exists("vms-c-0"), "nothing created without the capability");
	cap_free(c);
	cap_free(saved);

	e = tap_open(&t, "vms-v-0", NULL, TAP_VHOST | TAP_VNET_HDR, err, sizeof(err));
	OK(e == 0, "vhost asked (%s)", e ? err : "ok");
	OK(access("/dev/vhost-net", F_OK) == 0 ? t.tp_vhost_fd >= 0 : t.tp_vhost_fd == -1,
	    "vhost fd iff /dev/vhost-net exists (%d)", t.tp_vhost_fd);
	tap_close(&t);
	e = tap_open(&t, "vms-toolongname-0", NULL, 0, err, sizeof(err));
	OK(e == -EINVAL && strstr(err, "bad tap name"), "over-long name refused (%s)", err);
}

static void
test_leftovers(void)
{
	struct strv sv = { 0 };
	char err[256];
	struct tap held;
	int e;

	RUN("ip", "tuntap", "add", "vms-old-0", "mode", "tap");
	RUN("ip", "tuntap", "add", "other-0", "mode", "tap");
	RUN("ip", "link", "add", "vms-notap", "type", "bridge");
	e = tap_open(&held, "vms-held-1", "br0", TAP_EXCL, err, sizeof(err));
	OK(e == 0, "a held tap (%s)", e ? err : "ok");
	e = tap_list(TAP_PREFIX, &sv);
	OK(e == 0 && sv.sv_n == 2, "tap_list finds 2 (%zu)", sv.sv_n);
	OK(in_list(&sv, "vms-old-0") && in_list(&sv, "vms-held-1"), "persistent and held taps listed");
	OK(!in_list(&sv, "other-0") && !in_list(&sv, "vms-notap"),
	    "other prefix and non-tap not listed");
	OK(tap_held("vms-old-0") == 0, "persistent tap nobody holds: not held");
	OK(tap_held("vms-held-1") == 1, "open tap: held");
	RUN("ip", "link", "set", "vms-held-1", "down");
	OK(tap_held("vms-held-1") == 1, "open tap, link down: still held");
	OK(tap_held("vms-none") == -ENODEV, "tap_held of a missing interface: -ENODEV");
	e = tap_delete("vms-old-0", err, sizeof(err));
	OK(e == 0 && !tap_exists("vms-old-0"), "persistent leftover deleted (%s)", e ? err : "ok");
	e = tap_delete("vms-held-1", err, sizeof(err));
	OK(e == 0 && !tap_exists("vms-held-1"), "tap deleted while its fd is open (%s)",
	    e ? err : "ok");
	tap_close(&held);
	e = tap_delete("vms-none", err, sizeof(err));
	OK(e == -ENODEV, "delete of a missing interface: -ENODEV");
	OK(tap_exists("other-0") && tap_exists("vms-notap"), "others untouched");
	strv_free(&sv);
}

int
main(void)
{
	test_names();
	if (unshare(CLONE_NEWNET) == -1) {
		printf("ok - tap devices # SKIP cannot unshare a network namespace: %s\n",
		    strerror(errno));
		return TAP_DONE();
	}
	if (RUN("ip", "link", "add", "br0", "type", "bridge") != 0 ||
	    RUN("ip", "link", "set", "br0", "mtu", "1400") != 0) {
		printf("ok - tap devices # SKIP cannot create a bridge in the namespace\n");
		return TAP_DONE();
	}
	test_bridge();
	test_errors();
	test_leftovers();
	return TAP_DONE();
}
