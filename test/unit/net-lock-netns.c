/*
 * net-lock-netns.c: the one-rule namespace lock (nftables by default). In a private netns: established TCP
 * connections and UDP stop, lo included; packets carrying the exempt mark (SO_MARK) still pass, so
 * a marked TCP connection can be made and used while locked; a connection lock with the same id is
 * refused; after unlock the queued data arrives and new traffic flows. Then the same without an
 * exempt mark: marked packets are dropped too. net-lock-iptables-netns.c reuses this file for iptables.
 */
#include <fcntl.h>

#include "net-lock-util.h"

#ifndef NLT_NETNS_MODE
#define NLT_NETNS_MODE NETLOCK_NFTABLES
#endif

#define MARK 0x736f6363u /* SOCCR_MARK */
#define SILENCE_MS 300
#define RETRANSMIT_MS 15000

static int udp_bound(int family, uint32_t mark, union nlt_addr *a, socklen_t *len)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		nlt_fail("socket: %s", strerror(errno));
	if (mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)
		nlt_fail("SO_MARK: %s", strerror(errno));
	nlt_loopback(family, a, len);
	if (bind(fd, &a->sa, *len) < 0 || getsockname(fd, &a->sa, len) < 0)
		nlt_fail("bind: %s", strerror(errno));
	return fd;
}

/* Send one datagram from a socket carrying mark to a fresh receiver: does it arrive? */
static int udp_passes(int family, uint32_t mark, int timeout_ms)
{
	union nlt_addr ra, sa;
	socklen_t rl, sl;
	int r = udp_bound(family, 0, &ra, &rl), s = udp_bound(family, mark, &sa, &sl);
	char buf[64];
	ssize_t got;

	if (sendto(s, "dgram", 5, 0, &ra.sa, rl) != 5 && errno != EPERM)
		nlt_fail("sendto: %s", strerror(errno));
	got = nlt_recv(r, buf, sizeof(buf), timeout_ms);
	close(r);
	close(s);
	return got > 0;
}

/* A TCP connection made while locked: connect with a deadline instead of blocking for minutes. */
static int tcp_connects(int family, uint32_t mark, int timeout_ms, int *cl, int *srv)
{
	union nlt_addr a;
	socklen_t len;
	struct pollfd pfd;
	int lfd, err = 0;
	socklen_t el = sizeof(err);

	nlt_loopback(family, &a, &len);
	lfd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	*cl = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (lfd < 0 || *cl < 0)
		nlt_fail("socket: %s", strerror(errno));
	if (mark && (setsockopt(lfd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0 ||
		     setsockopt(*cl, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0))
		nlt_fail("SO_MARK: %s", strerror(errno));
	if (bind(lfd, &a.sa, len) < 0 || listen(lfd, 8) < 0 || getsockname(lfd, &a.sa, &len) < 0)
		nlt_fail("listen: %s", strerror(errno));
	if (connect(*cl, &a.sa, len) < 0 && errno != EINPROGRESS)
		nlt_fail("connect: %s", strerror(errno));
	pfd.fd = *cl;
	pfd.events = POLLOUT;
	if (poll(&pfd, 1, timeout_ms) <= 0 || getsockopt(*cl, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
		close(*cl);
		close(lfd);
		return 0;
	}
	if (fcntl(*cl, F_SETFL, 0) < 0)
		nlt_fail("fcntl: %s", strerror(errno));
	*srv = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (*srv < 0)
		nlt_fail("accept: %s", strerror(errno));
	close(lfd);
	return 1;
}

static void ping(int a, int b, const char *what)
{
	nlt_send(a, "ping");
	nlt_expect(b, "ping", 2000, what);
	nlt_send(b, "pong");
	nlt_expect(a, "pong", 2000, what);
}

static void check_exempt_mark(void)
{
	int mc, ms;

	nlt_check(!udp_passes(AF_INET, 0, SILENCE_MS), "unmarked UDP/IPv4 passed the namespace lock");
	nlt_check(!udp_passes(AF_INET6, 0, SILENCE_MS), "unmarked UDP/IPv6 passed the namespace lock");
	nlt_check(udp_passes(AF_INET, MARK, 2000), "marked UDP/IPv4 was dropped");
	nlt_check(udp_passes(AF_INET6, MARK, 2000), "marked UDP/IPv6 was dropped");
	nlt_check(!tcp_connects(AF_INET, 0, SILENCE_MS, &mc, &ms), "unmarked TCP connect passed the lock");
	nlt_check(tcp_connects(AF_INET, MARK, 3000, &mc, &ms), "marked TCP connect was dropped");
	ping(mc, ms, "marked TCP/IPv4 connection while locked");
	close(mc);
	close(ms);
	nlt_check(tcp_connects(AF_INET6, MARK, 3000, &mc, &ms), "marked TCP/IPv6 connect was dropped");
	ping(mc, ms, "marked TCP/IPv6 connection while locked");
	close(mc);
	close(ms);
}

int main(void)
{
	struct netlock_opts o = { .mode = NLT_NETNS_MODE, .id = "netns", .log = nlt_log, .exempt_mark = MARK };
	struct netlock_tuple t;
	int a4c, a4s, a6c, a6s, mc, ms, ret;
	double start;

	alarm(120);
	nlt_enter_netns();
	if (NLT_NETNS_MODE == NETLOCK_NFTABLES && !nlt_have_prog("nft"))
		nlt_skip("nft (package nftables) is needed to inspect the lock");
	if (NLT_NETNS_MODE == NETLOCK_IPTABLES &&
	    (!nlt_have_prog("iptables-restore") || !nlt_have_prog("ip6tables-restore")))
		nlt_skip("iptables-restore/ip6tables-restore not installed");
	ret = netlock_is_locked(&o);
	if (ret == -EPROTONOSUPPORT || ret == -EAFNOSUPPORT || ret == -ENOENT)
		nlt_skip("firewall backend unavailable: %s", strerror(-ret));
	nlt_check(ret == 0, "is_locked before locking: %d", ret);

	nlt_tcp_pair(AF_INET, 0, &a4c, &a4s);
	nlt_tcp_pair(AF_INET6, 0, &a6c, &a6s);
	ping(a4c, a4s, "A4 before lock");
	ping(a6c, a6s, "A6 before lock");
	nlt_check(udp_passes(AF_INET, 0, 2000), "UDP before lock");

	start = nlt_now_ms();
	ret = netlock_lock_netns(&o);
	nlt_check(ret == 0, "lock netns: %d", ret);
	printf("netns lock: %.2f ms\n", nlt_now_ms() - start);
	nlt_check(netlock_is_locked(&o) == 1, "is_locked after lock");
	if (NLT_NETNS_MODE == NETLOCK_NFTABLES)
		nlt_check(nlt_nft_table_exists("criu-ng-netns"), "table criu-ng-netns missing");
	else
		nlt_check(
			nlt_run("iptables -w -S criu-ng-netns >/dev/null 2>&1 && ip6tables -w -S criu-ng-netns >/dev/null 2>&1",
				NULL, 0) == 0,
			"chain criu-ng-netns missing");

	nlt_send(a4c, "to-server4");
	nlt_send(a4s, "to-client4");
	nlt_send(a6c, "to-server6");
	nlt_expect_none(a4s, SILENCE_MS, "A4 client -> server");
	nlt_expect_none(a4c, SILENCE_MS, "A4 server -> client");
	nlt_expect_none(a6s, SILENCE_MS, "A6 client -> server");
	check_exempt_mark();

	/* one id, one lock: a second lock of either kind under the same id is refused */
	nlt_tuple_of(a4c, &t);
	ret = netlock_lock_conns(&o, &t, 1);
	nlt_check(ret == -EEXIST, "conns lock under the netns lock's id: %d", ret);
	ret = netlock_lock_netns(&o);
	nlt_check(ret == -EEXIST, "second netns lock: %d", ret);

	start = nlt_now_ms();
	ret = netlock_unlock(&o);
	nlt_check(ret == 0, "unlock: %d", ret);
	printf("netns unlock: %.2f ms\n", nlt_now_ms() - start);
	nlt_check(netlock_is_locked(&o) == 0, "is_locked after unlock");
	nlt_expect(a4s, "to-server4", RETRANSMIT_MS, "A4 queued data after unlock");
	nlt_expect(a4c, "to-client4", RETRANSMIT_MS, "A4 queued data after unlock");
	nlt_expect(a6s, "to-server6", RETRANSMIT_MS, "A6 queued data after unlock");
	ping(a4c, a4s, "A4 after unlock");
	ping(a6c, a6s, "A6 after unlock");
	nlt_check(udp_passes(AF_INET, 0, 2000), "UDP after unlock");
	nlt_check(tcp_connects(AF_INET, 0, 3000, &mc, &ms), "new connection after unlock");
	ping(mc, ms, "new connection after unlock");

	/* without an exempt mark nothing passes, marked or not */
	o.exempt_mark = 0;
	ret = netlock_lock_netns(&o);
	nlt_check(ret == 0, "lock netns without exempt mark: %d", ret);
	nlt_check(!udp_passes(AF_INET, MARK, SILENCE_MS), "marked UDP passed a lock without exempt mark");
	nlt_check(!udp_passes(AF_INET, 0, SILENCE_MS), "UDP passed a lock without exempt mark");
	ret = netlock_unlock(&o);
	nlt_check(ret == 0, "unlock: %d", ret);
	nlt_check(udp_passes(AF_INET, MARK, 2000), "marked UDP after the last unlock");
	ret = netlock_unlock(&o);
	nlt_check(ret == -ENOENT, "second unlock: %d", ret);

	printf("PASS\n");
	return NLT_PASS;
}
