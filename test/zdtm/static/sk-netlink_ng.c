/*
 * sk-netlink_ng: netlink sockets.
 * - a NETLINK_ROUTE socket bound to a port id of its own, joined to group 23
 *   by bind() and to group 31 by NETLINK_ADD_MEMBERSHIP (groups that hardly
 *   ever carry a message: a queued one would fail the dump),
 *   non-blocking, its receive buffer set;
 * - a NETLINK_ROUTE socket never bound;
 * - a NETLINK_KOBJECT_UEVENT socket bound to a port id and to group 32;
 * - a NETLINK_KOBJECT_UEVENT socket connected to that port id and group.
 * After restore each has its protocol, port id, groups, peer and options; the
 * connected socket's message reaches the bound one, the unbound one can still
 * talk to the route one, and the kernel answers a link dump asked on the route socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "zdtmtst.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

enum {
	ROUTE,
	UNBOUND,
	UBOUND,
	UCONN,
	NR_SK
};

static const char *const labels[NR_SK] = { "route", "unbound", "uevent bound", "uevent connected" };
static const int protos[NR_SK] = { NETLINK_ROUTE, NETLINK_ROUTE, NETLINK_KOBJECT_UEVENT, NETLINK_KOBJECT_UEVENT };

struct nl_state {
	struct sockaddr_nl self, peer;
	int peer_err;
	uint32_t groups[4];
	socklen_t groups_len;
	int proto, rcvbuf, fl;
};

static int sk[NR_SK];
static struct nl_state before[NR_SK];

static int read_state(int i, struct nl_state *s)
{
	socklen_t len = sizeof(s->self);

	memset(s, 0, sizeof(*s));
	if (getsockname(sk[i], (struct sockaddr *)&s->self, &len)) {
		fail("%s: getsockname", labels[i]);
		return -1;
	}
	len = sizeof(s->peer);
	s->peer_err = getpeername(sk[i], (struct sockaddr *)&s->peer, &len) ? errno : 0;
	s->groups_len = sizeof(s->groups);
	if (getsockopt(sk[i], SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, s->groups, &s->groups_len)) {
		fail("%s: NETLINK_LIST_MEMBERSHIPS", labels[i]);
		return -1;
	}
	len = sizeof(int);
	if (getsockopt(sk[i], SOL_SOCKET, SO_PROTOCOL, &s->proto, &len)) {
		fail("%s: SO_PROTOCOL", labels[i]);
		return -1;
	}
	len = sizeof(int);
	if (getsockopt(sk[i], SOL_SOCKET, SO_RCVBUF, &s->rcvbuf, &len)) {
		fail("%s: SO_RCVBUF", labels[i]);
		return -1;
	}
	s->fl = fcntl(sk[i], F_GETFL) & O_NONBLOCK;
	return 0;
}

static int setup(void)
{
	struct sockaddr_nl a = { .nl_family = AF_NETLINK };
	int group = 31, rcvbuf = 65536;

	for (int i = 0; i < NR_SK; i++) {
		sk[i] = socket(AF_NETLINK, SOCK_RAW, protos[i]);
		if (sk[i] < 0) {
			fail("%s: socket", labels[i]);
			return -1;
		}
	}
	a.nl_pid = (uint32_t)getpid() + 0x10000000;
	a.nl_groups = 1u << (23 - 1);
	if (bind(sk[ROUTE], (struct sockaddr *)&a, sizeof(a)) ||
	    setsockopt(sk[ROUTE], SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) ||
	    setsockopt(sk[ROUTE], SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) ||
	    fcntl(sk[ROUTE], F_SETFL, O_NONBLOCK)) {
		fail("route: bind, groups and options");
		return -1;
	}
	a.nl_pid = (uint32_t)getpid() + 0x20000000;
	a.nl_groups = 1u << (32 - 1);
	if (bind(sk[UBOUND], (struct sockaddr *)&a, sizeof(a))) {
		fail("uevent: bind");
		return -1;
	}
	if (connect(sk[UCONN], (struct sockaddr *)&a, sizeof(a))) {
		fail("uevent: connect");
		return -1;
	}
	for (int i = 0; i < NR_SK; i++)
		if (read_state(i, &before[i]))
			return -1;
	if (before[ROUTE].groups_len < 8 || before[ROUTE].groups[0] != (1u << 22 | 1u << 30) ||
	    before[ROUTE].groups[1]) {
		fail("route: groups %#x %#x before the dump", before[ROUTE].groups[0], before[ROUTE].groups[1]);
		return -1;
	}
	if (before[UCONN].peer_err || before[UCONN].peer.nl_pid != a.nl_pid) {
		fail("uevent: not connected before the dump");
		return -1;
	}
	return 0;
}

static int check_state(void)
{
	for (int i = 0; i < NR_SK; i++) {
		struct nl_state s;

		if (read_state(i, &s))
			return -1;
		if (s.self.nl_pid != before[i].self.nl_pid || s.self.nl_groups != before[i].self.nl_groups) {
			fail("%s: bound to port %u groups %#x, was %u %#x", labels[i], s.self.nl_pid, s.self.nl_groups,
			     before[i].self.nl_pid, before[i].self.nl_groups);
			return -1;
		}
		if (s.peer_err != before[i].peer_err || s.peer.nl_pid != before[i].peer.nl_pid ||
		    s.peer.nl_groups != before[i].peer.nl_groups) {
			fail("%s: peer %u/%#x (%d), was %u/%#x (%d)", labels[i], s.peer.nl_pid, s.peer.nl_groups,
			     s.peer_err, before[i].peer.nl_pid, before[i].peer.nl_groups, before[i].peer_err);
			return -1;
		}
		/* The kernel reports as many words as the protocol has groups: compare the bits set. */
		for (size_t w = 0; w < 4; w++) {
			uint32_t g0 = w * 4 < before[i].groups_len ? before[i].groups[w] : 0;
			uint32_t g1 = w * 4 < s.groups_len ? s.groups[w] : 0;

			if (g0 != g1) {
				fail("%s: groups word %zu is %#x, was %#x", labels[i], w, g1, g0);
				return -1;
			}
		}
		if (s.proto != before[i].proto || s.fl != before[i].fl) {
			fail("%s: protocol %d flags %#x, was %d %#x", labels[i], s.proto, s.fl, before[i].proto,
			     before[i].fl);
			return -1;
		}
		if (i == ROUTE && s.rcvbuf != before[i].rcvbuf) {
			fail("route: SO_RCVBUF %d, was %d", s.rcvbuf, before[i].rcvbuf);
			return -1;
		}
	}
	return 0;
}

static int expect(int fd, const char *what, const char *msg)
{
	char buf[64];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n != (ssize_t)strlen(msg) || memcmp(buf, msg, (size_t)n)) {
		fail("%s: got %zd bytes, not the message sent", what, n);
		return -1;
	}
	return 0;
}

static int check_use(void)
{
	struct sockaddr_nl to = { .nl_family = AF_NETLINK, .nl_pid = before[ROUTE].self.nl_pid };
	struct {
		struct nlmsghdr h;
		struct rtgenmsg g;
	} req = {
		.h = { .nlmsg_len = sizeof(req),
		       .nlmsg_type = RTM_GETLINK,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		       .nlmsg_seq = 77 },
		.g = { .rtgen_family = AF_UNSPEC },
	};
	char buf[16384];
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	ssize_t n;

	if (send(sk[UCONN], "to-peer", 7, 0) != 7) {
		fail("uevent connected: send");
		return -1;
	}
	if (expect(sk[UBOUND], "uevent bound from its peer", "to-peer"))
		return -1;
	if (sendto(sk[UNBOUND], "hello", 5, 0, (struct sockaddr *)&to, sizeof(to)) != 5) {
		fail("unbound: sendto");
		return -1;
	}
	if (expect(sk[ROUTE], "route from the unbound", "hello"))
		return -1;
	if (send(sk[ROUTE], &req, sizeof(req), 0) != sizeof(req)) {
		fail("route: send RTM_GETLINK");
		return -1;
	}
	for (int tries = 0; tries < 100; tries++) {
		n = recv(sk[ROUTE], buf, sizeof(buf), 0);
		if (n >= 0 || errno != EAGAIN)
			break;
		usleep(10000);
	}
	if (n < (ssize_t)sizeof(*h) || h->nlmsg_seq != 77 || h->nlmsg_pid != before[ROUTE].self.nl_pid ||
	    (h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != NLMSG_DONE)) {
		fail("route: no link dump answer (%zd bytes)", n);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	if (setup())
		return 1;

	test_daemon();
	test_waitsig();

	if (check_state() || check_use())
		return 1;
	pass();
	return 0;
}
