/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fin-replay.c: test of soccr/fin.c. A FIN replayed with soccr_fin_send()
 * must close the receive side of a real TCP connection on loopback, in a
 * private network namespace, with no firewall involved.
 *
 * Connection A <-> B over IPv4, IPv6 and IPv4-mapped IPv6; A is the peer, the
 * FIN is replayed "from A" into B. Each family twice: on loopback, and with A
 * in a second namespace behind a veth pair (made with rtnetlink), where A's
 * address is not local to B, as a real peer's. Scenarios, the loopback ones
 * with and without a TCP timestamp option in the replayed segment:
 *
 *   live           A "sends" its FIN in repair mode (queued and counted as
 *                  sent, never transmitted), B reads its sequence numbers in
 *                  repair mode, leaves it, then the FIN is replayed.
 *   repair         the same, but B is in repair mode when the FIN arrives,
 *                  and leaves it afterwards.
 *   rebuilt-repair the restore's case: A's real FIN reached B (CLOSE_WAIT);
 *                  B is dumped, closed silently and rebuilt as ESTABLISHED
 *                  in repair mode with rcv_nxt at the FIN; the FIN is
 *                  replayed in repair mode, then repair is turned off.
 *   rebuilt-live   the same, but repair off before the FIN is replayed.
 *   rebuilt-closing, rebuilt-last-ack (no timestamp variant)
 *                  as rebuilt-repair, with B's own FIN added in repair mode
 *                  (shutdown with the send queue selected: counted as sent,
 *                  not transmitted) before the replayed FIN (CLOSING) or
 *                  after it (LAST_ACK); B's FIN reaches A when B retransmits
 *                  it after repair off.
 *   rebuilt-unacked (no timestamp variant)
 *                  as rebuilt-repair, but B's send queue is rebuilt with data
 *                  sent and never acknowledged (A never got it): the FIN's
 *                  ack, snd_una, lies before snd_nxt; B retransmits the data
 *                  after repair off.
 *
 * Checks: B reaches CLOSE_WAIT (CLOSING, LAST_ACK; in repair mode already
 * while repair is on), recv() gives A's data then EOF, B can still send to A
 * and A acknowledges, A ends in FIN_WAIT2 without retransmitting anything,
 * and B's own FIN reaches A.
 * Then a batch: many rebuilt connections, their FINs replayed on one raw
 * socket and one socket per FIN, timed.
 *
 * Exit: 0 pass, 1 fail, 77 skip (no network namespace or raw sockets).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <linux/veth.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "soccr.h"
#include "fin.h"

#define EXIT_SKIP 77
#define BATCH_CONNS 1000
#define LIVE_WAIT_MS 100 /* well under A's first retransmission of its FIN (RTO >= 200 ms) */
#define WAIT_MS 1000
/* The veth pair to the peer namespace: B's end here, A's end there. */
#define PEER_B_IF "fin-b"
#define PEER_A_IF "fin-a"
#define PEER_B_ADDR4 "10.77.0.1"
#define PEER_A_ADDR4 "10.77.0.2"
#define PEER_B_ADDR6 "fd00:77::1"
#define PEER_A_ADDR6 "fd00:77::2"

static const char payload[] = "data A sent before its FIN";
static const char reply[] = "B still talks after the FIN";

struct fam {
	const char *name;
	int sock_family;
	const char *addr; /* B's address, to listen on */
	bool remote;	  /* A in the peer namespace, over veth: the FIN's source is not local */
};

static const struct fam fams[] = {
	{ "ipv4", AF_INET, "127.0.0.1", false },
	{ "ipv6", AF_INET6, "::1", false },
	{ "v4-mapped", AF_INET6, "::ffff:127.0.0.1", false },
	{ "ipv4-remote", AF_INET, PEER_B_ADDR4, true },
	{ "ipv6-remote", AF_INET6, PEER_B_ADDR6, true },
	{ "v4-mapped-remote", AF_INET6, "::ffff:" PEER_B_ADDR4, true },
};

enum scenario {
	SC_LIVE,
	SC_REPAIR,
	SC_REBUILT_REPAIR,
	SC_REBUILT_LIVE,
	SC_REBUILT_CLOSING,
	SC_REBUILT_LAST_ACK,
	SC_REBUILT_UNACKED,
	SC_COUNT,
};

static const char *const sc_names[] = {
	[SC_LIVE] = "live",
	[SC_REPAIR] = "repair",
	[SC_REBUILT_REPAIR] = "rebuilt-repair",
	[SC_REBUILT_LIVE] = "rebuilt-live",
	[SC_REBUILT_CLOSING] = "rebuilt-closing",
	[SC_REBUILT_LAST_ACK] = "rebuilt-last-ack",
	[SC_REBUILT_UNACKED] = "rebuilt-unacked",
};

/* One connection: A is the peer, B the socket the FIN is replayed into. */
struct pair {
	int a;
	int b;
	union libsoccr_addr a_addr;
	union libsoccr_addr b_addr;
};

/* What the restore would know of B: its dump, without the peer's FIN. */
struct b_dump {
	uint32_t inq_seq; /* next byte from A, the FIN not counted */
	uint32_t inq_len;
	uint32_t write_seq; /* next byte B writes; nothing unacknowledged */
	uint32_t unacked;   /* rebuild with this much of reply[] sent, unacknowledged */
	uint32_t mss;
	uint32_t tsclock;
	struct tcp_info info;
	struct tcp_repair_window win;
	char data[sizeof(payload)];
};

#define CHECK_SYS(call)                                                                                 \
	do {                                                                                            \
		if ((call) < 0) {                                                                       \
			int err__ = errno;                                                              \
			fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, strerror(err__)); \
			return -err__;                                                                  \
		}                                                                                       \
	} while (0)

#define EXPECT(cond, ...)                                               \
	do {                                                            \
		if (!(cond)) {                                          \
			fprintf(stderr, "%s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);                   \
			fputc('\n', stderr);                            \
			return -EPROTO;                                 \
		}                                                       \
	} while (0)

static const char *state_name(int state)
{
	static const char *const names[] = {
		[TCP_ESTABLISHED] = "ESTABLISHED",
		[TCP_SYN_SENT] = "SYN_SENT",
		[TCP_SYN_RECV] = "SYN_RECV",
		[TCP_FIN_WAIT1] = "FIN_WAIT1",
		[TCP_FIN_WAIT2] = "FIN_WAIT2",
		[TCP_TIME_WAIT] = "TIME_WAIT",
		[TCP_CLOSE] = "CLOSE",
		[TCP_CLOSE_WAIT] = "CLOSE_WAIT",
		[TCP_LAST_ACK] = "LAST_ACK",
		[TCP_LISTEN] = "LISTEN",
		[TCP_CLOSING] = "CLOSING",
	};

	if (state < 0 || (size_t)state >= sizeof(names) / sizeof(names[0]) || !names[state])
		return "?";
	return names[state];
}

static long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

static int tcp_info_get(int fd, struct tcp_info *info)
{
	socklen_t len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	CHECK_SYS(getsockopt(fd, IPPROTO_TCP, TCP_INFO, info, &len));
	return 0;
}

static int tcp_state(int fd)
{
	struct tcp_info info;
	int ret;

	ret = tcp_info_get(fd, &info);
	return ret ? ret : info.tcpi_state;
}

/* Wait up to ms for fd to reach state; returns the last state seen. */
static int wait_state(int fd, int state, int ms)
{
	long end = now_us() + ms * 1000L;
	int cur;

	for (;;) {
		cur = tcp_state(fd);
		if (cur < 0 || cur == state || now_us() > end)
			return cur;
		usleep(200);
	}
}

static int opt_set(int fd, int level, int name, int val)
{
	CHECK_SYS(setsockopt(fd, level, name, &val, sizeof(val)));
	return 0;
}

static int queue_seq(int fd, int queue, uint32_t *seq)
{
	socklen_t len = sizeof(*seq);

	CHECK_SYS(setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &queue, sizeof(queue)));
	CHECK_SYS(getsockopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, seq, &len));
	return 0;
}

static int queue_seq_set(int fd, int queue, uint32_t seq)
{
	CHECK_SYS(setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &queue, sizeof(queue)));
	CHECK_SYS(setsockopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, &seq, sizeof(seq)));
	return 0;
}

static int sockopt_u32(int fd, int name, uint32_t *val)
{
	socklen_t len = sizeof(*val);

	CHECK_SYS(getsockopt(fd, IPPROTO_TCP, name, val, &len));
	return 0;
}

/* Bring a link of the current network namespace up. */
static int ifup(const char *name)
{
	struct ifreq ifr;
	int fd, ret = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK_SYS(fd);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		ret = -errno;
		fprintf(stderr, "SIOCGIFFLAGS %s: %s\n", name, strerror(errno));
		goto out_close_fd;
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) {
		ret = -errno;
		fprintf(stderr, "SIOCSIFFLAGS %s: %s\n", name, strerror(errno));
	}
out_close_fd:
	close(fd);
	return ret;
}

/* The test's network namespaces: B's, where FINs are replayed, and A's for the remote cases. */
struct netns {
	int local;
	int peer; /* -1: no peer namespace */
};

/* Move the calling thread to the peer namespace or back; failing to come back is fatal. */
static int netns_switch(const struct netns *ns, bool to_peer)
{
	if (!setns(to_peer ? ns->peer : ns->local, CLONE_NEWNET))
		return 0;
	perror(to_peer ? "setns to the peer namespace" : "setns back from the peer namespace");
	if (to_peer)
		return -errno;
	exit(EXIT_FAILURE); /* every later step would run in the wrong namespace */
}

/* Send one rtnetlink request in the current namespace and wait for its acknowledgment. */
static int nl_talk(struct nlmsghdr *nlh)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl;
	ssize_t n;
	int ret = 0;

	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl)
		return -errno;
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = 1;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 || mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out_close_nl;
	}
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0 || mnl_cb_run(buf, n, 1, mnl_socket_get_portid(nl), NULL, NULL) < 0)
		ret = -errno;
out_close_nl:
	mnl_socket_close(nl);
	return ret;
}

/* A veth pair: name here, peer in the namespace peer_ns. */
static int veth_create(const char *name, const char *peer, int peer_ns)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nlattr *linkinfo, *data, *peer_info;
	struct ifinfomsg *ifm;

	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	peer_info = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg)); /* the peer's own, zeroed */
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, peer_ns);
	mnl_attr_nest_end(nlh, peer_info);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, linkinfo);
	return nl_talk(nlh);
}

/* An address on a link of the current namespace, usable at once (no duplicate address detection). */
static int addr_add(const char *ifname, int family, const char *addr, int prefix_len)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	struct in6_addr bin;
	size_t len = family == AF_INET ? 4 : 16;

	if (inet_pton(family, addr, &bin) != 1)
		return -EINVAL;
	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = family;
	ifa->ifa_prefixlen = prefix_len;
	ifa->ifa_flags = IFA_F_NODAD;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = if_nametoindex(ifname);
	if (!ifa->ifa_index)
		return -errno;
	mnl_attr_put(nlh, IFA_LOCAL, len, &bin);
	mnl_attr_put(nlh, IFA_ADDRESS, len, &bin);
	return nl_talk(nlh);
}

/* One end of the veth pair: addresses, link up (IPv6 only if it works here). */
static int veth_end_setup(const char *ifname, const char *addr4, const char *addr6, bool v6)
{
	int ret;

	ret = addr_add(ifname, AF_INET, addr4, 24);
	if (!ret && v6)
		ret = addr_add(ifname, AF_INET6, addr6, 64);
	return ret ?: ifup(ifname);
}

/*
 * The peer namespace, linked to this one by a veth pair, so that A's address
 * is not local where the FIN is replayed (a real peer's never is).
 */
static int netns_peer_setup(struct netns *ns, bool v6)
{
	int ret;

	ns->peer = -1;
	CHECK_SYS(ns->local = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
	CHECK_SYS(unshare(CLONE_NEWNET));
	ns->peer = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	ret = ns->peer < 0 ? -errno : ifup("lo");
	netns_switch(ns, false);
	ret = ret ?: veth_create(PEER_B_IF, PEER_A_IF, ns->peer);
	ret = ret ?: veth_end_setup(PEER_B_IF, PEER_B_ADDR4, PEER_B_ADDR6, v6);
	ret = ret ?: netns_switch(ns, true);
	if (ret)
		goto out_close_peer;
	ret = veth_end_setup(PEER_A_IF, PEER_A_ADDR4, PEER_A_ADDR6, v6);
	netns_switch(ns, false);
	if (!ret)
		return 0;
out_close_peer:
	if (ns->peer >= 0)
		close(ns->peer);
	ns->peer = -1;
	return ret;
}

static socklen_t addr_make(const struct fam *f, union libsoccr_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (f->sock_family == AF_INET) {
		a->in4.sin_family = AF_INET;
		inet_pton(AF_INET, f->addr, &a->in4.sin_addr);
		return sizeof(a->in4);
	}
	a->in6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, f->addr, &a->in6.sin6_addr);
	return sizeof(a->in6);
}

/* A TCP socket of f's family; AF_INET6 ones accept IPv4-mapped addresses. */
static int tcp_socket(const struct fam *f)
{
	int fd, ret;

	fd = socket(f->sock_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK_SYS(fd);
	if (f->sock_family == AF_INET6) {
		ret = opt_set(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0);
		if (ret) {
			close(fd);
			return ret;
		}
	}
	return fd;
}

static void pair_close(struct pair *p)
{
	if (p->a >= 0)
		close(p->a);
	if (p->b >= 0)
		close(p->b);
	p->a = p->b = -1;
}

static int pair_connect(struct pair *p, int l, const union libsoccr_addr *addr, socklen_t len)
{
	socklen_t alen = sizeof(p->b_addr);

	CHECK_SYS(connect(p->a, &addr->any, len));
	CHECK_SYS(p->b = accept4(l, NULL, NULL, SOCK_CLOEXEC));
	CHECK_SYS(getsockname(p->b, &p->b_addr.any, &alen));
	alen = sizeof(p->a_addr);
	CHECK_SYS(getpeername(p->b, &p->a_addr.any, &alen));
	return 0;
}

/*
 * A connection, on loopback or (f->remote) from the peer namespace;
 * A has sent the payload and B has it queued, unread.
 */
static int pair_open(const struct fam *f, const struct netns *ns, struct pair *p)
{
	union libsoccr_addr addr;
	socklen_t len = addr_make(f, &addr);
	int l, ret, inq = 0;

	p->a = p->b = -1;
	l = tcp_socket(f);
	if (l < 0)
		return l;
	if (bind(l, &addr.any, len) < 0 || listen(l, 1) < 0 || getsockname(l, &addr.any, &len) < 0) {
		ret = -errno;
		fprintf(stderr, "%s: listen on %s: %s\n", f->name, f->addr, strerror(errno));
		goto out_close_l;
	}
	ret = f->remote ? netns_switch(ns, true) : 0;
	if (ret)
		goto out_close_l;
	p->a = tcp_socket(f); /* a socket stays in the namespace it was created in */
	if (f->remote)
		netns_switch(ns, false);
	ret = p->a < 0 ? p->a : pair_connect(p, l, &addr, len);
	if (ret)
		goto out_close_pair;
	if (send(p->a, payload, sizeof(payload), 0) != sizeof(payload)) {
		ret = -EIO;
		perror("send payload");
		goto out_close_pair;
	}
	for (int i = 0; i < WAIT_MS && inq != sizeof(payload); i++) {
		if (ioctl(p->b, SIOCINQ, &inq) < 0)
			break;
		usleep(1000);
	}
	if (inq != sizeof(payload)) {
		ret = -ETIMEDOUT;
		fprintf(stderr, "%s: B never queued the payload\n", f->name);
		goto out_close_pair;
	}
	close(l);
	return 0;

out_close_pair:
	pair_close(p);
out_close_l:
	close(l);
	return ret;
}

/*
 * A FIN that leaves the socket's state machine but not the host: in repair
 * mode with the send queue selected, the kernel counts queued segments as sent
 * without transmitting them (snd_nxt goes past the FIN, the retransmission
 * timer runs). The socket must be in repair mode.
 */
static int fin_silent(int fd)
{
	int ret;

	ret = opt_set(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE);
	if (ret)
		return ret;
	CHECK_SYS(shutdown(fd, SHUT_WR));
	return 0;
}

/* A's FIN, silent: A goes to FIN_WAIT1 and B knows nothing of it. */
static int a_fin_silent(int a)
{
	int ret;

	ret = opt_set(a, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_ON);
	if (ret)
		return ret;
	ret = fin_silent(a);
	if (opt_set(a, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_OFF_NO_WP) && !ret)
		ret = -EIO;
	if (ret)
		return ret;
	EXPECT(tcp_state(a) == TCP_FIN_WAIT1, "A: %s after a FIN in repair mode", state_name(tcp_state(a)));
	return 0;
}

/* B's state, read in repair mode (the caller turns it on), as a dump reads it. */
static int b_read(int b, struct b_dump *d)
{
	socklen_t len = sizeof(d->win);
	uint32_t rcv_nxt;
	int inq, outq, ret;

	/* The receive queue last: MSG_PEEK reads the queue selected. */
	ret = queue_seq(b, TCP_SEND_QUEUE, &d->write_seq);
	ret = ret ?: queue_seq(b, TCP_RECV_QUEUE, &rcv_nxt);
	ret = ret ?: sockopt_u32(b, TCP_MAXSEG, &d->mss);
	ret = ret ?: sockopt_u32(b, TCP_TIMESTAMP, &d->tsclock);
	ret = ret ?: tcp_info_get(b, &d->info);
	if (ret)
		return ret;
	CHECK_SYS(getsockopt(b, IPPROTO_TCP, TCP_REPAIR_WINDOW, &d->win, &len));
	CHECK_SYS(ioctl(b, SIOCINQ, &inq));
	CHECK_SYS(ioctl(b, SIOCOUTQ, &outq));
	EXPECT(outq == 0, "B has %d bytes unacknowledged", outq);
	/* What the cases without a timestamp option prove needs a connection that negotiated them. */
	EXPECT(d->info.tcpi_options & TCPI_OPT_TIMESTAMPS, "B: timestamps not negotiated");
	/* In CLOSE_WAIT rcv_nxt counts the FIN, which the restore replays. */
	d->inq_seq = d->info.tcpi_state == TCP_CLOSE_WAIT ? rcv_nxt - 1 : rcv_nxt;
	d->inq_len = inq;
	EXPECT(d->inq_len == sizeof(payload), "B: SIOCINQ %u", d->inq_len);
	CHECK_SYS(recv(b, d->data, d->inq_len, MSG_PEEK));
	return 0;
}

static void fin_fill(struct soccr_fin *fin, const struct pair *p, const struct b_dump *d, bool tsopt, uint32_t a_clock)
{
	memset(fin, 0, sizeof(*fin));
	fin->from = &p->a_addr;
	fin->to = &p->b_addr;
	fin->seq = d->inq_seq;
	fin->ack = d->write_seq; /* snd_una: nothing is unacknowledged */
	fin->window = d->win.snd_wnd >> d->info.tcpi_snd_wscale;
	fin->mark = SOCCR_MARK;
	if (tsopt) {
		fin->flags = SOCCR_FIN_TSOPT;
		fin->tsval = a_clock;
		fin->tsecr = d->tsclock;
	}
}

/* Results and findings of the whole run. */
struct run {
	struct netns ns;
	int failed;
	int passed;
	bool wup_clamped; /* a dumped rcv_wup counted the FIN and had to be moved back */
};

static socklen_t addr_len(const union libsoccr_addr *a)
{
	return a->any.sa_family == AF_INET ? sizeof(a->in4) : sizeof(a->in6);
}

static int b_rebuild_options(int b, const struct b_dump *d)
{
	struct tcp_repair_opt opts[4];
	int n = 0;

	opts[n].opt_code = TCPOPT_MAXSEG;
	opts[n++].opt_val = d->mss;
	if (d->info.tcpi_options & TCPI_OPT_WSCALE) {
		opts[n].opt_code = TCPOPT_WINDOW;
		opts[n++].opt_val = d->info.tcpi_snd_wscale | d->info.tcpi_rcv_wscale << 16;
	}
	if (d->info.tcpi_options & TCPI_OPT_SACK) {
		opts[n].opt_code = TCPOPT_SACK_PERMITTED;
		opts[n++].opt_val = 0;
	}
	if (d->info.tcpi_options & TCPI_OPT_TIMESTAMPS) {
		opts[n].opt_code = TCPOPT_TIMESTAMP;
		opts[n++].opt_val = 0;
	}
	CHECK_SYS(setsockopt(b, IPPROTO_TCP, TCP_REPAIR_OPTIONS, opts, n * sizeof(opts[0])));
	if (d->info.tcpi_options & TCPI_OPT_TIMESTAMPS)
		CHECK_SYS(setsockopt(b, IPPROTO_TCP, TCP_TIMESTAMP, &d->tsclock, sizeof(d->tsclock)));
	return 0;
}

/*
 * B rebuilt from its dump the way the restore does it, left in repair mode:
 * ESTABLISHED, receive queue refilled, rcv_nxt at the peer's FIN.
 */
static int b_rebuild(const struct fam *f, struct pair *p, const struct b_dump *d, struct run *run)
{
	struct tcp_repair_window win = d->win;
	int b, ret;

	b = tcp_socket(f);
	if (b < 0)
		return b;
	ret = opt_set(b, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_ON);
	ret = ret ?: opt_set(b, SOL_SOCKET, SO_REUSEADDR, 1);
	ret = ret ?: queue_seq_set(b, TCP_RECV_QUEUE, d->inq_seq - d->inq_len);
	ret = ret ?: queue_seq_set(b, TCP_SEND_QUEUE, d->write_seq);
	if (ret)
		goto out_close_b;
	if (bind(b, &p->b_addr.any, addr_len(&p->b_addr)) < 0 || connect(b, &p->a_addr.any, addr_len(&p->a_addr)) < 0) {
		ret = -errno;
		perror("rebuild: bind/connect in repair mode");
		goto out_close_b;
	}
	ret = b_rebuild_options(b, d);
	ret = ret ?: opt_set(b, IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE);
	if (ret)
		goto out_close_b;
	if (send(b, d->data, d->inq_len, 0) != (ssize_t)d->inq_len) {
		ret = -EIO;
		perror("rebuild: refill the receive queue");
		goto out_close_b;
	}
	ret = d->unacked ? opt_set(b, IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE) : 0;
	if (ret || (d->unacked && send(b, reply, d->unacked, 0) != (ssize_t)d->unacked)) {
		ret = ret ?: -EIO;
		perror("rebuild: refill the send queue");
		goto out_close_b;
	}
	/* rcv_wup may not lie past rcv_nxt, and the dumped one may count the FIN. */
	if ((int32_t)(win.rcv_wup - d->inq_seq) > 0) {
		win.rcv_wup = d->inq_seq;
		run->wup_clamped = true;
	}
	if (setsockopt(b, IPPROTO_TCP, TCP_REPAIR_WINDOW, &win, sizeof(win)) < 0) {
		ret = -errno;
		perror("rebuild: TCP_REPAIR_WINDOW");
		goto out_close_b;
	}
	p->b = b;
	return 0;

out_close_b:
	close(b);
	return ret;
}

/* B dumped in CLOSE_WAIT (A's real FIN got there), closed silently, rebuilt. */
static int b_dump_and_rebuild(const struct fam *f, struct pair *p, struct b_dump *d, uint32_t unacked, struct run *run)
{
	int ret;

	ret = opt_set(p->b, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_ON);
	ret = ret ?: b_read(p->b, d);
	if (ret)
		return ret;
	d->unacked = unacked;
	close(p->b); /* in repair mode: nothing goes out */
	p->b = -1;
	return b_rebuild(f, p, d, run);
}

/* A sends its FIN for real (unless it did); B takes it (CLOSE_WAIT), A gets the ACK (FIN_WAIT2). */
static int a_fin_real(struct pair *p)
{
	int state;

	if (tcp_state(p->a) == TCP_ESTABLISHED)
		CHECK_SYS(shutdown(p->a, SHUT_WR));
	state = wait_state(p->b, TCP_CLOSE_WAIT, WAIT_MS);
	EXPECT(state == TCP_CLOSE_WAIT, "B: %s after A's FIN", state_name(state));
	state = wait_state(p->a, TCP_FIN_WAIT2, WAIT_MS);
	EXPECT(state == TCP_FIN_WAIT2, "A: %s after its FIN", state_name(state));
	return 0;
}

static int recv_wait(int fd, char *buf, size_t len, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int n;

	CHECK_SYS(n = poll(&pfd, 1, ms));
	EXPECT(n == 1, "nothing to read after %d ms", ms);
	CHECK_SYS(n = recv(fd, buf, len, MSG_DONTWAIT));
	return n;
}

/* Wait for fd's send queue to be acknowledged; returns what is left in it. */
static int wait_outq_empty(int fd)
{
	int outq = -1;

	for (int i = 0; i < WAIT_MS; i++) {
		CHECK_SYS(ioctl(fd, SIOCOUTQ, &outq));
		if (!outq)
			break;
		usleep(1000);
	}
	return outq;
}

/* B reads A's data, then EOF. */
static int check_b_eof(struct pair *p)
{
	char buf[256];
	int n;

	n = recv_wait(p->b, buf, sizeof(buf), WAIT_MS);
	EXPECT(n == sizeof(payload) && !memcmp(buf, payload, n), "B: recv %d bytes, not the payload", n);
	n = recv(p->b, buf, sizeof(buf), MSG_DONTWAIT);
	EXPECT(n == 0, "B: recv after the data: %d (%s), no EOF", n, n < 0 ? strerror(errno) : "data");
	return 0;
}

/*
 * After the FIN: B reads the data then EOF, still sends (and A acknowledges),
 * and its own FIN reaches A. With unacked, B's reply is already in flight:
 * A gets it from B's first retransmission, within about 1 s.
 */
static int case_check(struct pair *p, bool unacked)
{
	char buf[256];
	int n, state, ret;

	ret = check_b_eof(p);
	if (ret)
		return ret;
	if (!unacked)
		CHECK_SYS(send(p->b, reply, sizeof(reply), 0));
	n = recv_wait(p->a, buf, sizeof(buf), 3 * WAIT_MS);
	EXPECT(n == sizeof(reply) && !memcmp(buf, reply, n), "A: recv %d bytes, not B's reply", n);
	state = wait_state(p->a, TCP_FIN_WAIT2, WAIT_MS);
	EXPECT(state == TCP_FIN_WAIT2, "A: %s, not FIN_WAIT2", state_name(state));
	n = wait_outq_empty(p->b);
	EXPECT(n == 0, "B: %d bytes never acknowledged by A (A's ACKs dropped?)", n);

	close(p->b);
	p->b = -1;
	n = recv_wait(p->a, buf, sizeof(buf), WAIT_MS);
	EXPECT(n == 0, "A: recv %d after B closed, no EOF", n);
	return 0;
}

/* B closed on both sides: data then EOF, and B's FIN, retransmitted after repair off, reaches A. */
static int case_check_closed(struct pair *p)
{
	char buf[256];
	int n, state, ret;

	ret = check_b_eof(p);
	if (ret)
		return ret;
	/* A fresh socket has no RTT sample: its first retransmission waits up to 1 s. */
	n = recv_wait(p->a, buf, sizeof(buf), 3 * WAIT_MS);
	EXPECT(n == 0, "A: recv %d, no EOF from B's FIN", n);
	state = wait_state(p->b, TCP_CLOSE, WAIT_MS);
	EXPECT(state == TCP_CLOSE, "B: %s after A acknowledged its FIN", state_name(state));
	return 0;
}

static int case_prepare(const struct fam *f, enum scenario sc, struct pair *p, struct b_dump *d, struct run *run)
{
	int ret;

	if (sc != SC_LIVE && sc != SC_REPAIR) {
		ret = a_fin_real(p);
		return ret ?: b_dump_and_rebuild(f, p, d, sc == SC_REBUILT_UNACKED ? sizeof(reply) : 0, run);
	}
	ret = a_fin_silent(p->a);
	ret = ret ?: opt_set(p->b, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_ON);
	return ret ?: b_read(p->b, d);
}

/*
 * Does B, in repair mode, acknowledge the FIN? A's state says: FIN_WAIT2 once
 * its FIN is acknowledged. Before A's first retransmission of its FIN (RTO of
 * at least 200 ms), only an ACK from B can bring it there.
 */
static int case_ack_in_repair(struct pair *p)
{
	struct tcp_info a_info;
	long t0 = now_us();
	int state, ret;

	state = wait_state(p->a, TCP_FIN_WAIT2, 150);
	ret = tcp_info_get(p->a, &a_info);
	if (ret)
		return ret;
	if (state == TCP_FIN_WAIT2 && !a_info.tcpi_total_retrans)
		printf("#   B took the FIN in repair mode and acknowledged it within %ld ms\n", (now_us() - t0) / 1000);
	else
		printf("#   B took the FIN in repair mode; A: %s, %u retransmissions\n", state_name(state),
		       a_info.tcpi_total_retrans);
	return 0;
}

/* The replayed FIN, and B's state once it is in. */
static int case_send_fin(enum scenario sc, struct pair *p, const struct b_dump *d, bool tsopt)
{
	int expect = sc == SC_REBUILT_CLOSING ? TCP_CLOSING : TCP_CLOSE_WAIT;
	struct tcp_info a_info;
	struct soccr_fin fin;
	uint32_t a_clock;
	int ret, state;

	ret = sockopt_u32(p->a, TCP_TIMESTAMP, &a_clock);
	if (ret)
		return ret;
	fin_fill(&fin, p, d, tsopt, a_clock);
	ret = soccr_fin_send(&fin);
	EXPECT(!ret, "soccr_fin_send: %s", strerror(-ret));

	state = wait_state(p->b, expect, sc == SC_LIVE || sc == SC_REPAIR ? LIVE_WAIT_MS : WAIT_MS);
	EXPECT(state == expect, "B: %s after the replayed FIN, not %s", state_name(state), state_name(expect));
	ret = tcp_info_get(p->a, &a_info);
	if (ret)
		return ret;
	EXPECT(!a_info.tcpi_total_retrans, "A retransmitted %u segments: B's state may not come from the replay",
	       a_info.tcpi_total_retrans);
	return 0;
}

/* B is in repair mode when this starts, and out of it when it returns 0. */
static int case_replay(enum scenario sc, struct pair *p, const struct b_dump *d, bool tsopt)
{
	int ret, state;

	if (sc == SC_LIVE || sc == SC_REBUILT_LIVE) {
		ret = opt_set(p->b, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_OFF);
		return ret ?: case_send_fin(sc, p, d, tsopt);
	}
	ret = sc == SC_REBUILT_CLOSING ? fin_silent(p->b) : 0;
	ret = ret ?: case_send_fin(sc, p, d, tsopt);
	if (!ret && sc == SC_REPAIR)
		ret = case_ack_in_repair(p);
	if (!ret && sc == SC_REBUILT_LAST_ACK) {
		ret = fin_silent(p->b);
		state = tcp_state(p->b);
		EXPECT(ret || state == TCP_LAST_ACK, "B: %s after its own FIN", state_name(state));
	}
	if (ret)
		return ret;
	state = tcp_state(p->b);
	ret = opt_set(p->b, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_OFF);
	if (ret)
		return ret;
	EXPECT(tcp_state(p->b) == state, "B: %s after repair off, was %s", state_name(tcp_state(p->b)),
	       state_name(state));
	return 0;
}

static int case_run(const struct fam *f, enum scenario sc, bool tsopt, struct run *run)
{
	struct b_dump d;
	struct pair p;
	int ret;

	ret = pair_open(f, &run->ns, &p);
	if (ret)
		return ret;
	ret = case_prepare(f, sc, &p, &d, run);
	ret = ret ?: case_replay(sc, &p, &d, tsopt);
	if (!ret)
		ret = sc == SC_REBUILT_CLOSING || sc == SC_REBUILT_LAST_ACK ? case_check_closed(&p) :
									      case_check(&p, sc == SC_REBUILT_UNACKED);
	pair_close(&p);
	return ret;
}

/* The batch: connections rebuilt in repair mode, as a restore of many would leave them. */
struct batch {
	struct pair *p;
	struct b_dump *d;
	struct soccr_fin *fin;
	size_t n;
};

/* The pairs are opened and A's FINs sent first: B delays its ACKs, do not wait for each. */
static int batch_setup(struct batch *bt, struct run *run)
{
	size_t i;
	int ret;

	for (bt->n = 0; bt->n < BATCH_CONNS; bt->n++) {
		ret = pair_open(&fams[0], &run->ns, &bt->p[bt->n]);
		if (ret)
			return ret;
		CHECK_SYS(shutdown(bt->p[bt->n].a, SHUT_WR));
	}
	for (i = 0; i < bt->n; i++) {
		struct pair *p = &bt->p[i];

		ret = a_fin_real(p);
		ret = ret ?: b_dump_and_rebuild(&fams[0], p, &bt->d[i], 0, run);
		if (ret)
			return ret;
		fin_fill(&bt->fin[i], p, &bt->d[i], false, 0);
	}
	return 0;
}

/* Half the FINs with a raw socket each, half on one raw socket; prints both costs. */
static int batch_replay(struct batch *bt)
{
	struct soccr_fin_sock fs;
	size_t i, half = bt->n / 2;
	long t0, t1, t2;
	int ret;

	t0 = now_us();
	for (i = 0; i < half; i++) {
		ret = soccr_fin_send(&bt->fin[i]);
		EXPECT(!ret, "batch: soccr_fin_send #%zu: %s", i, strerror(-ret));
	}
	t1 = now_us();
	ret = soccr_fin_open(&fs, AF_INET, SOCCR_MARK);
	EXPECT(!ret, "soccr_fin_open: %s", strerror(-ret));
	for (; i < bt->n; i++) {
		ret = soccr_fin_sock_send(&fs, &bt->fin[i]);
		if (ret)
			break;
	}
	t2 = now_us();
	soccr_fin_close(&fs);
	EXPECT(!ret, "batch: soccr_fin_sock_send #%zu: %s", i, strerror(-ret));
	printf("# batch: %zu FINs: %.2f us each with a raw socket per FIN, %.2f us on one raw socket\n", bt->n,
	       (double)(t1 - t0) / half, (double)(t2 - t1) / (bt->n - half));
	return 0;
}

static int batch_verify(struct batch *bt)
{
	char buf[256];
	size_t i;
	int n, state, ret;

	for (i = 0; i < bt->n; i++) {
		state = wait_state(bt->p[i].b, TCP_CLOSE_WAIT, WAIT_MS);
		EXPECT(state == TCP_CLOSE_WAIT, "batch #%zu: B %s in repair mode", i, state_name(state));
	}
	for (i = 0; i < bt->n; i++) {
		ret = opt_set(bt->p[i].b, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_OFF);
		if (ret)
			return ret;
		n = recv(bt->p[i].b, buf, sizeof(buf), MSG_DONTWAIT);
		EXPECT(n == sizeof(payload), "batch #%zu: B recv %d", i, n);
		n = recv(bt->p[i].b, buf, sizeof(buf), MSG_DONTWAIT);
		EXPECT(n == 0, "batch #%zu: B recv %d, no EOF", i, n);
	}
	return 0;
}

static int batch_run(struct run *run)
{
	struct batch bt = { 0 };
	int ret = -ENOMEM;

	bt.p = calloc(BATCH_CONNS, sizeof(*bt.p));
	bt.d = calloc(BATCH_CONNS, sizeof(*bt.d));
	bt.fin = calloc(BATCH_CONNS, sizeof(*bt.fin));
	if (!bt.p || !bt.d || !bt.fin)
		goto out_free;
	ret = batch_setup(&bt, run);
	ret = ret ?: batch_replay(&bt);
	ret = ret ?: batch_verify(&bt);
	for (size_t i = 0; i < bt.n; i++)
		pair_close(&bt.p[i]);
out_free:
	free(bt.fin);
	free(bt.d);
	free(bt.p);
	return ret;
}

/* Argument checks: families that do not match, ports 0, a raw socket of the wrong family. */
static int api_check(void)
{
	union libsoccr_addr v4, v6, mapped, unix_addr;
	struct soccr_fin fin = { .from = &v4, .to = &mapped };
	struct soccr_fin_sock fs;
	int ret;

	addr_make(&fams[0], &v4);
	addr_make(&fams[1], &v6);
	addr_make(&fams[2], &mapped);
	memset(&unix_addr, 0, sizeof(unix_addr));
	unix_addr.any.sa_family = AF_UNIX;
	v4.in4.sin_port = v6.in6.sin6_port = mapped.in6.sin6_port = htons(1);

	EXPECT(soccr_fin_family(&fin) == AF_INET, "IPv4 to v4-mapped: not AF_INET");
	fin.from = &v6;
	fin.to = &v6;
	EXPECT(soccr_fin_family(&fin) == AF_INET6, "IPv6 to IPv6: not AF_INET6");
	fin.to = &mapped;
	EXPECT(soccr_fin_family(&fin) == -EINVAL, "IPv6 to v4-mapped: not -EINVAL");
	fin.to = &unix_addr;
	EXPECT(soccr_fin_family(&fin) == -EAFNOSUPPORT, "to AF_UNIX: not -EAFNOSUPPORT");
	fin.to = NULL;
	EXPECT(soccr_fin_send(&fin) == -EINVAL, "no destination: not -EINVAL");
	v6.in6.sin6_port = 0;
	fin.to = &v6;
	EXPECT(soccr_fin_send(&fin) == -EINVAL, "port 0: not -EINVAL");
	EXPECT(soccr_fin_open(&fs, AF_UNIX, 0) == -EAFNOSUPPORT, "AF_UNIX raw socket: not -EAFNOSUPPORT");

	ret = soccr_fin_open(&fs, AF_INET, 0);
	EXPECT(!ret, "soccr_fin_open(AF_INET): %s", strerror(-ret));
	v6.in6.sin6_port = htons(1);
	fin.from = &v6;
	ret = soccr_fin_sock_send(&fs, &fin);
	soccr_fin_close(&fs);
	EXPECT(ret == -EAFNOSUPPORT, "IPv6 FIN on an IPv4 raw socket: %d", ret);
	EXPECT(soccr_fin_sock_send(&fs, &fin) == -EBADF, "send on a closed raw socket: not -EBADF");
	return 0;
}

/* 0 if IPv6 works on lo here, else why not. */
static int ipv6_usable(void)
{
	union libsoccr_addr a;
	socklen_t len = addr_make(&fams[1], &a);
	int fd, ret = 0;

	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, &a.any, len) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static int run_case(const struct fam *f, enum scenario sc, bool tsopt, struct run *run)
{
	int ret = case_run(f, sc, tsopt, run);

	printf("%s %s/%s/%s\n", ret ? "FAIL" : "ok", f->name, sc_names[sc], tsopt ? "tsopt" : "no-tsopt");
	return ret;
}

static void run_count(struct run *run, int ret)
{
	if (ret)
		run->failed++;
	else
		run->passed++;
}

/* Every family and scenario; v6: why IPv6 cannot be used (0: it can), peer: the same for the remote cases. */
static void run_cases(struct run *run, int v6, int peer)
{
	for (size_t i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
		const struct fam *f = &fams[i];

		if ((f->sock_family == AF_INET6 && v6) || (f->remote && peer)) {
			printf("skip %s: %s\n", f->name, strerror(-(f->remote && peer ? peer : v6)));
			continue;
		}
		for (int sc = 0; sc < SC_COUNT; sc++) {
			run_count(run, run_case(f, sc, false, run));
			/* The timestamp option changes nothing in how the FIN ends the connection. */
			if (sc < SC_REBUILT_CLOSING && !f->remote)
				run_count(run, run_case(f, sc, true, run));
		}
	}
	if (run->wup_clamped)
		printf("# note: a CLOSE_WAIT dump's rcv_wup counts the FIN: rebuilt with rcv_wup = inq_seq\n");
}

int main(void)
{
	struct soccr_fin_sock fs;
	struct run run = { .ns = { -1, -1 } };
	int ret, v6, peer;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (unshare(CLONE_NEWNET) < 0) {
		printf("SKIP: unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return EXIT_SKIP;
	}
	if (ifup("lo"))
		return 1;
	ret = soccr_fin_open(&fs, AF_INET, SOCCR_MARK);
	if (ret) {
		printf("%s: soccr_fin_open: %s\n", ret == -EPERM ? "SKIP" : "FAIL", strerror(-ret));
		return ret == -EPERM ? EXIT_SKIP : 1;
	}
	soccr_fin_close(&fs);
	v6 = ipv6_usable();
	peer = netns_peer_setup(&run.ns, !v6);

	ret = api_check();
	printf("%s argument checks\n", ret ? "FAIL" : "ok");
	run_count(&run, ret);
	run_cases(&run, v6, peer);
	ret = batch_run(&run);
	printf("%s batch of %d rebuilt connections, FINs replayed in repair mode\n", ret ? "FAIL" : "ok", BATCH_CONNS);
	run_count(&run, ret);
	printf("%d passed, %d failed\n", run.passed, run.failed);
	return run.failed ? 1 : 0;
}
