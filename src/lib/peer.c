/* The local peer of a TCP connection: sock_diag lookup and /proc fd tables. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/peer.h"

/* An address of either family, as the diag request wants it. */
struct ep {
	int		 family;
	uint32_t	 addr[4];	/* network order, v4 in addr[0] */
	uint16_t	 port;		/* network order */
	uint32_t	 scope;
};

/* A v4-mapped IPv6 address (a dual-stack listener) is the IPv4 peer it maps. */
static int
to_ep(const struct sockaddr_storage *ss, struct ep *e)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

	memset(e, 0, sizeof(*e));
	if (ss->ss_family == AF_INET) {
		e->family = AF_INET;
		e->addr[0] = s4->sin_addr.s_addr;
		e->port = s4->sin_port;
		return 0;
	}
	if (ss->ss_family != AF_INET6)
		return -EAFNOSUPPORT;
	e->port = s6->sin6_port;
	if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		e->family = AF_INET;
		memcpy(&e->addr[0], &s6->sin6_addr.s6_addr[12], 4);
		return 0;
	}
	e->family = AF_INET6;
	memcpy(e->addr, &s6->sin6_addr, 16);
	e->scope = s6->sin6_scope_id;
	return 0;
}

static bool
ep_loopback(const struct ep *e)
{
	static const uint8_t lo6[16] = { [15] = 1 };

	if (e->family == AF_INET)
		return (ntohl(e->addr[0]) >> 24) == 127;
	return memcmp(e->addr, lo6, 16) == 0;
}

static void
ep_name(const struct ep *e, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(e->family, e->addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, len, e->family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, ntohs(e->port));
}

/*
 * One exact lookup (no NLM_F_DUMP: the kernel's inet_diag_find_one_icsk).
 * The socket wanted is the peer's, so its source is the peer's address and
 * its destination ours. Fills *found, *uid, *ino.
 */
static int
diag_query(const struct ep *peer, const struct ep *self, bool *found, uid_t *uid,
    uint64_t *ino)
{
	struct {
		struct nlmsghdr		nlh;
		struct inet_diag_req_v2	req;
	} q;
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };
	union {
		struct nlmsghdr	nlh;
		char		buf[8192];
	} r;
	struct nlmsghdr *h;
	struct inet_diag_msg *m;
	struct nlmsgerr *ne;
	ssize_t n;
	int fd, e;

	memset(&q, 0, sizeof(q));
	q.nlh.nlmsg_len = sizeof(q);
	q.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	q.nlh.nlmsg_flags = NLM_F_REQUEST;
	q.nlh.nlmsg_seq = 1;
	q.req.sdiag_family = (uint8_t)peer->family;
	q.req.sdiag_protocol = IPPROTO_TCP;
	q.req.idiag_states = ~0u;
	q.req.id.idiag_sport = peer->port;
	q.req.id.idiag_dport = self->port;
	memcpy(q.req.id.idiag_src, peer->addr, sizeof(peer->addr));
	memcpy(q.req.id.idiag_dst, self->addr, sizeof(self->addr));
	q.req.id.idiag_if = peer->scope;
	q.req.id.idiag_cookie[0] = q.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;

	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd == -1)
		return -errno;
	if (sendto(fd, &q, sizeof(q), 0, (struct sockaddr *)&nl, sizeof(nl)) == -1) {
		e = -errno;
		close(fd);
		return e;
	}
	/* The kernel answers inside sendto(): never wait for it. */
	n = recv(fd, &r, sizeof(r), MSG_DONTWAIT);
	e = n == -1 ? -errno : 0;
	close(fd);
	if (e)
		return e;
	*found = false;
	for (h = &r.nlh; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
		if (h->nlmsg_type == NLMSG_ERROR) {
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*ne)))
				return -EBADMSG;
			ne = NLMSG_DATA(h);
			/* ENOENT: no such socket here. */
			return ne->error == -ENOENT ? 0 : (ne->error ? ne->error : -EBADMSG);
		}
		if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
		    h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
			continue;
		m = NLMSG_DATA(h);
		*found = true;
		*uid = (uid_t)m->idiag_uid;
		*ino = m->idiag_inode;
		return 0;
	}
	return -EBADMSG;
}

int
peer_lookup(int fd, struct peer_info *pi, char *err, size_t errlen)
{
	struct sockaddr_storage ps, ss;
	socklen_t pl = sizeof(ps), sl = sizeof(ss);
	struct ep peer, self;
	int e;

	memset(pi, 0, sizeof(*pi));
	snprintf(pi->pi_addr, sizeof(pi->pi_addr), "?");
	if (getpeername(fd, (struct sockaddr *)&ps, &pl) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) == -1) {
		e = -errno;
		snprintf(err, errlen, "peer lookup: %s", strerror(-e));
		return e;
	}
	if (to_ep(&ps, &peer) || to_ep(&ss, &self)) {
		snprintf(err, errlen, "peer lookup: not a TCP/IP socket");
		return -EAFNOSUPPORT;
	}
	ep_name(&peer, pi->pi_addr, sizeof(pi->pi_addr));
	pi->pi_loopback = ep_loopback(&peer);
	if (peer.family != self.family) {
		snprintf(err, errlen, "peer lookup %s: address families differ", pi->pi_addr);
		return -EAFNOSUPPORT;
	}
	e = diag_query(&peer, &self, &pi->pi_found, &pi->pi_uid, &pi->pi_ino);
	if (e)
		snprintf(err, errlen, "peer lookup %s: sock_diag: %s", pi->pi_addr, strerror(-e));
	return e;
}

/* A QEMU running as another user: look with its fs ids, as qemu_proc.c does. */
static DIR *
open_fds(pid_t pid)
{
	char path[64];
	DIR *dir;
	uid_t uid;
	int e;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (dir || (errno != EACCES && errno != EPERM) || peer_pid_uid(pid, &uid))
		return dir;
	setfsuid(uid);
	dir = opendir(path);
	e = errno;
	setfsuid(geteuid());
	errno = e;
	return dir;
}

int
peer_pid_holds(pid_t pid, uint64_t ino)
{
	char want[48], link[64];
	struct dirent *de;
	ssize_t n;
	size_t wl;
	DIR *dir;
	int hit = 0;

	wl = (size_t)snprintf(want, sizeof(want), "socket:[%llu]", (unsigned long long)ino);
	dir = open_fds(pid);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		n = readlinkat(dirfd(dir), de->d_name, link, sizeof(link));
		if (n == (ssize_t)wl && memcmp(link, want, wl) == 0) {
			hit = 1;
			break;
		}
	}
	closedir(dir);
	return hit;
}

int
peer_pid_uid(pid_t pid, uid_t *uid)
{
	char path[64], line[256];
	unsigned long u;
	FILE *fp;
	int rc = -EINVAL;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fp = fopen(path, "re");
	if (!fp)
		return -errno;
	while (fgets(line, sizeof(line), fp)) {
		if (sscanf(line, "Uid: %lu", &u) == 1) {
			*uid = (uid_t)u;
			rc = 0;
			break;
		}
	}
	fclose(fp);
	return rc;
}
