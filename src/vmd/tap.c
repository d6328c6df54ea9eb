/* Tap devices: see tap.h. ioctls on /dev/net/tun, a socket, and rtnetlink. */
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "vmd/tap.h"

void
tap_init(struct tap *t)
{
	t->tp_fd = -1;
	t->tp_vhost_fd = -1;
	t->tp_name[0] = '\0';
}

void
tap_close(struct tap *t)
{
	if (t->tp_vhost_fd != -1)
		close(t->tp_vhost_fd);
	if (t->tp_fd != -1)
		close(t->tp_fd);
	t->tp_fd = t->tp_vhost_fd = -1;
}


bool
tap_exists(const char *name)
{
	return if_nametoindex(name) != 0;
}

static int
ctl_socket(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	return s == -1 ? -errno : s;
}

/* ifr_name = name, the rest zero. */
static void
ifr_for(struct ifreq *ifr, const char *name)
{
	size_t n = strnlen(name, sizeof(ifr->ifr_name) - 1);

	memset(ifr, 0, sizeof(*ifr));
	memcpy(ifr->ifr_name, name, n);
}

/* True when the driver behind name is drv ("tun" for tun and tap, "bridge"). */
static bool
driver_is(int s, const char *name, const char *drv)
{
	struct ethtool_drvinfo di = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr;

	ifr_for(&ifr, name);
	ifr.ifr_data = (void *)&di;
	return ioctl(s, SIOCETHTOOL, &ifr) == 0 && strcmp(di.driver, drv) == 0;
}

static int
set_up(int s, const char *name, char *err, size_t errlen)
{
	struct ifreq ifr;
	int e;

	ifr_for(&ifr, name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == -1)
		goto fail;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) == -1)
		goto fail;
	return 0;
fail:
	e = errno;
	snprintf(err, errlen, "tap %s: cannot bring it up: %s", name, strerror(e));
	return -e;
}

/*
 * Enslave name to bridge, with the bridge's MTU first (as qemu-bridge-helper
 * does): a smaller tap MTU would lower the whole bridge's.
 */
static int
attach(int s, const char *name, const char *bridge, char *err, size_t errlen)
{
	struct ifreq ifr;
	int mtu, e;

	ifr_for(&ifr, bridge);
	if (ioctl(s, SIOCGIFMTU, &ifr) == -1) {
		e = errno;
		if (e == ENODEV)
			snprintf(err, errlen, "bridge %s does not exist", bridge);
		else
			snprintf(err, errlen, "bridge %s: %s", bridge, strerror(e));
		return -e;
	}
	mtu = ifr.ifr_mtu;
	ifr_for(&ifr, name);
	ifr.ifr_mtu = mtu;
	if (ioctl(s, SIOCSIFMTU, &ifr) == -1) {
		e = errno;
		snprintf(err, errlen, "tap %s: cannot set MTU %d of bridge %s: %s", name, mtu,
		    bridge, strerror(e));
		return -e;
	}
	ifr_for(&ifr, bridge);
	ifr.ifr_ifindex = (int)if_nametoindex(name);
	if (ifr.ifr_ifindex == 0 || ioctl(s, SIOCBRADDIF, &ifr) == -1) {
		e = errno;
		if (e == ENODEV)
			snprintf(err, errlen, "bridge %s does not exist", bridge);
		else if (e == EOPNOTSUPP || e == EINVAL)
			snprintf(err, errlen, "%s is not a bridge (cannot attach tap %s)",
			    bridge, name);
		else
			snprintf(err, errlen, "cannot attach tap %s to bridge %s: %s", name,
			    bridge, strerror(e));
		return -e;
	}
	return 0;
}

static void
no_cap(char *err, size_t errlen, const char *what, const char *name)
{
	snprintf(err, errlen, "%s %s needs CAP_NET_ADMIN, which vmserviced lacks", what, name);
}

static int
create(struct tap *t, const char *name, unsigned flags, char *err, size_t errlen)
{
	struct ifreq ifr;
	int fd, e;

	if (!*name || strlen(name) >= IF_NAMESIZE) {
		snprintf(err, errlen, "bad tap name '%s'", name);
		return -EINVAL;
	}
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd == -1) {
		e = errno;
		if (e == EPERM || e == EACCES)
			no_cap(err, errlen, "opening /dev/net/tun for tap", name);
		else
			snprintf(err, errlen, "cannot open /dev/net/tun: %s", strerror(e));
		return -e;
	}
	ifr_for(&ifr, name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (flags & TAP_VNET_HDR)
		ifr.ifr_flags |= IFF_VNET_HDR;
	if (flags & TAP_EXCL)
		ifr.ifr_flags |= IFF_TUN_EXCL;
	if (ioctl(fd, TUNSETIFF, &ifr) == -1) {
		e = errno;
		close(fd);
		if (e == EPERM)
			no_cap(err, errlen, "creating tap", name);
		else if (e == EBUSY)
			snprintf(err, errlen, "tap name %s is in use", name);
		else if (e == EINVAL && tap_exists(name))
			snprintf(err, errlen, "tap name %s is in use by a device that is "
			    "not a tap", name);
		else
			snprintf(err, errlen, "cannot create tap %s: %s", name, strerror(e));
		return -e;
	}
	t->tp_fd = fd;
	/* The kernel may have completed a "%d" pattern: keep what it chose. */
	memcpy(t->tp_name, ifr.ifr_name, sizeof(t->tp_name));
	t->tp_name[sizeof(t->tp_name) - 1] = '\0';
	return 0;
}

int
tap_open(struct tap *t, const char *name, const char *bridge, unsigned flags,
    char *err, size_t errlen)
{
	int s, e;

	tap_init(t);
	if ((s = ctl_socket()) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(-s));
		return s;
	}
	/* Checked first so that the message is about the bridge. */
	if (bridge && !tap_exists(bridge)) {
		snprintf(err, errlen, "bridge %s does not exist", bridge);
		close(s);
		return -ENODEV;
	}
	if (bridge && !driver_is(s, bridge, "bridge")) {
		snprintf(err, errlen, "%s is not a bridge (cannot attach tap %s)", bridge, name);
		close(s);
		return -ENOTTY;
	}
	if ((e = create(t, name, flags, err, errlen))) {
		close(s);
		return e;
	}
	e = set_up(s, t->tp_name, err, errlen);
	if (!e && bridge)
		e = attach(s, t->tp_name, bridge, err, errlen);
	close(s);
	if (e == -EPERM)
		no_cap(err, errlen, bridge ? "attaching to a bridge: tap" : "setting up tap",
		    t->tp_name);
	if (!e && (flags & TAP_VHOST)) {
		t->tp_vhost_fd = open("/dev/vhost-net", O_RDWR | O_CLOEXEC);
		if (t->tp_vhost_fd == -1 && errno != ENOENT) {
			e = -errno;
			snprintf(err, errlen, "tap %s: cannot open /dev/vhost-net: %s",
			    t->tp_name, strerror(-e));
		}
	}
	if (e)
		tap_close(t);
	return e;
}

int
tap_list(const char *prefix, struct strv *out)
{
	struct if_nameindex *ni, *p;
	size_t pl = strlen(prefix);
	int s;

	if ((s = ctl_socket()) < 0)
		return s;
	ni = if_nameindex();
	if (!ni) {
		int e = errno;
		close(s);
		return -e;
	}
	for (p = ni; p->if_index; p++)
		if (strncmp(p->if_name, prefix, pl) == 0 && driver_is(s, p->if_name, "tun"))
			strv_push(out, p->if_name);
	if_freenameindex(ni);
	close(s);
	return 0;
}

#define NL_TIMEOUT_S	1

/*
 * Send one rtnetlink request for the link called name (type, flags) and
 * read the first answer into buf. Returns its length or -errno.
 */
static int
nl_link(const char *name, int type, int flags, char *buf, size_t len)
{
	struct {
		struct nlmsghdr		nh;
		struct ifinfomsg	ifi;
	} req;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct timeval tv = { .tv_sec = NL_TIMEOUT_S };
	ssize_t n;
	int s, e;

	memset(&req, 0, sizeof(req));
	req.ifi.ifi_family = AF_UNSPEC;
	req.ifi.ifi_index = (int)if_nametoindex(name);
	if (!req.ifi.ifi_index)
		return -ENODEV;
	req.nh.nlmsg_len = sizeof(req);
	req.nh.nlmsg_type = (unsigned short)type;
	req.nh.nlmsg_flags = (unsigned short)(NLM_F_REQUEST | flags);
	req.nh.nlmsg_seq = 1;
	s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (s == -1)
		return -errno;
	/*
	 * The kernel queues its answer before sendto() returns, so recv()
	 * does not wait; should an answer ever be lost (ENOBUFS), the loop
	 * waits NL_TIMEOUT_S at most, not forever.
	 */
	if (setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    sendto(s, &req, sizeof(req), 0, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		e = -errno;
		close(s);
		return e;
	}
	do
		n = recv(s, buf, len, 0);
	while (n == -1 && errno == EINTR);
	e = n == -1 ? -errno : (int)n;
	close(s);
	return e;
}

/* The error of an NLMSG_ERROR answer (0: ack), or -EPROTO. */
static int
nl_error(const char *buf, int n)
{
	const struct nlmsghdr *nh = (const struct nlmsghdr *)buf;

	if (n > 0 && NLMSG_OK(nh, (unsigned)n) && nh->nlmsg_type == NLMSG_ERROR &&
	    nh->nlmsg_len >= NLMSG_LENGTH(sizeof(struct nlmsgerr)))
		return ((const struct nlmsgerr *)NLMSG_DATA(nh))->error;
	return -EPROTO;
}

/*
 * IFLA_CARRIER, not ETHTOOL_GLINK: the latter also needs the link up, and
 * a QEMU-opened tap is held while still down.
 */
int
tap_held(const char *name)
{
	char buf[16384];
	const struct nlmsghdr *nh = (const struct nlmsghdr *)buf;
	const struct rtattr *a;
	int n = nl_link(name, RTM_GETLINK, 0, buf, sizeof(buf)), len;

	if (n < 0)
		return n;
	if (!NLMSG_OK(nh, (unsigned)n) || nh->nlmsg_type != RTM_NEWLINK)
		return nl_error(buf, n) ? nl_error(buf, n) : -EPROTO;
	len = (int)IFLA_PAYLOAD(nh);
	for (a = IFLA_RTA(NLMSG_DATA(nh)); RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == IFLA_CARRIER && RTA_PAYLOAD(a) >= 1)
			return *(const unsigned char *)RTA_DATA(a) != 0;
	return -ENOTSUP;
}

int
tap_delete(const char *name, char *err, size_t errlen)
{
	char buf[4096];
	int n = nl_link(name, RTM_DELLINK, NLM_F_ACK, buf, sizeof(buf)), e;

	e = n < 0 ? n : nl_error(buf, n);
	if (e == -ENODEV)
		snprintf(err, errlen, "%s: no such interface", name);
	else if (e == -EPERM)
		no_cap(err, errlen, "deleting", name);
	else if (e)
		snprintf(err, errlen, "cannot delete %s: %s", name, strerror(-e));
	return e;
}
