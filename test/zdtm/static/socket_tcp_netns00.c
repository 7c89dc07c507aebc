/*
 * socket_tcp_netns00: socket_tcp4 in a network namespace of the test's own
 * (unshare(CLONE_NEWNET), nothing else): a listener and TCP connections over
 * loopback with both ends in the process: one with small windows and data
 * queued unread and unsent both ways, one with 4 KiB queued unread. The
 * namespace holds lo, up, with 127.0.0.1, ::1 and two addresses the test adds
 * (192.0.2.1/32 and 2001:db8::1/128) and a route the test adds
 * (198.51.100.0/24 through lo), and an nftables table with a rule. After restore the process must be in another
 * network namespace than before (criu made a new one; with --leave-running or
 * without criu it is the same one: namespaces are told apart by their cookie,
 * SO_NETNS_COOKIE, never reused, unlike their inode numbers), with lo up,
 * every address, the route and the rule back, and every stream as socket_tcp4
 * checks it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <net/route.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "zdtmtst.h"

#define LO_ADDR4 "192.0.2.1"
#define LO_ADDR6 "2001:db8::1"
#define ROUTE_NET "198.51.100.0"
#define ROUTE_DST "198.51.100.7" /* reachable only through the test's route */

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

static uint64_t cookie_before;

/* The cookie of the calling thread's network namespace, or 0 (errno set). */
static uint64_t netns_cookie(void)
{
	int sk = socket(AF_INET, SOCK_DGRAM, 0);
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);

	if (sk < 0)
		return 0;
	if (getsockopt(sk, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len))
		cookie = 0;
	close(sk);
	return cookie;
}

/* The kernel's in6_ifreq, for SIOCSIFADDR on an AF_INET6 socket. */
struct netns_in6_ifreq {
	struct in6_addr addr;
	uint32_t prefixlen;
	int ifindex;
};

static int lo_up(int sk)
{
	struct ifreq ifr = { 0 };

	strcpy(ifr.ifr_name, "lo");
	if (ioctl(sk, SIOCGIFFLAGS, &ifr))
		return -1;
	ifr.ifr_flags |= IFF_UP;
	return ioctl(sk, SIOCSIFFLAGS, &ifr);
}

static void sin_set(struct sockaddr *sa, const char *addr)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)sa;

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, addr, &sin->sin_addr);
}

/* 192.0.2.1/32 as lo:1, and 198.51.100.0/24 through lo. */
static int lo_add4(int sk)
{
	struct ifreq ifr = { 0 };
	struct rtentry rt = { 0 };

	strcpy(ifr.ifr_name, "lo:1");
	sin_set(&ifr.ifr_addr, LO_ADDR4);
	if (ioctl(sk, SIOCSIFADDR, &ifr))
		return -1;
	sin_set(&ifr.ifr_netmask, "255.255.255.255");
	if (ioctl(sk, SIOCSIFNETMASK, &ifr))
		return -1;
	sin_set(&rt.rt_dst, ROUTE_NET);
	sin_set(&rt.rt_genmask, "255.255.255.0");
	rt.rt_flags = RTF_UP;
	rt.rt_dev = "lo";
	return ioctl(sk, SIOCADDRT, &rt);
}

static int lo_add6(void)
{
	struct netns_in6_ifreq r = { .prefixlen = 128, .ifindex = (int)if_nametoindex("lo") };
	int sk = socket(AF_INET6, SOCK_DGRAM, 0), ret;

	if (sk < 0)
		return -1;
	inet_pton(AF_INET6, LO_ADDR6, &r.addr);
	ret = ioctl(sk, SIOCSIFADDR, &r);
	close(sk);
	return ret;
}

#define NFT_TABLE "zdtm_netns00"
#define NFT_RULE "tcp dport 9 drop"

/* Is the test's rule in its table? */
static int nft_rule_there(void)
{
	char line[256];
	int found = 0;
	FILE *p = popen("nft list table inet " NFT_TABLE " 2>/dev/null", "r");

	if (!p)
		return 0;
	while (fgets(line, sizeof(line), p))
		if (strstr(line, NFT_RULE))
			found = 1;
	pclose(p);
	return found;
}

static int netns_setup(void)
{
	int sk;

	if (unshare(CLONE_NEWNET)) {
		fail("unshare(CLONE_NEWNET)");
		return -1;
	}
	cookie_before = netns_cookie();
	if (!cookie_before) {
		fail("SO_NETNS_COOKIE");
		return -1;
	}
	sk = socket(AF_INET, SOCK_DGRAM, 0);
	if (sk < 0 || lo_up(sk) || lo_add4(sk) || lo_add6()) {
		fail("setting up lo in the new namespace");
		return -1;
	}
	if (system("nft add table inet " NFT_TABLE " && nft add chain inet " NFT_TABLE
		   " in '{ type filter hook input priority 0; }' && nft add rule inet " NFT_TABLE " in " NFT_RULE) ||
	    !nft_rule_there()) {
		fail("adding an nftables rule in the new namespace");
		return -1;
	}
	close(sk);
	return 0;
}

/* Is @want an address of lo? */
static int lo_has(const struct ifaddrs *ifa, int family, const char *want)
{
	char buf[INET6_ADDRSTRLEN];

	for (; ifa; ifa = ifa->ifa_next) {
		const void *a;

		if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != family || strncmp(ifa->ifa_name, "lo", 2))
			continue;
		if (family == AF_INET)
			a = &((struct sockaddr_in *)ifa->ifa_addr)->sin_addr;
		else
			a = &((struct sockaddr_in6 *)ifa->ifa_addr)->sin6_addr;
		if (inet_ntop(family, a, buf, sizeof(buf)) && !strcmp(buf, want))
			return 1;
	}
	return 0;
}

/* The route to 198.51.100.0/24: a UDP connect() finds it, or fails with ENETUNREACH. */
static int route_ok(void)
{
	struct sockaddr_in to;
	int sk = socket(AF_INET, SOCK_DGRAM, 0), ret;

	sin_set((struct sockaddr *)&to, ROUTE_DST);
	to.sin_port = htons(9);
	ret = connect(sk, (struct sockaddr *)&to, sizeof(to));
	close(sk);
	return ret == 0;
}

static int netns_check(void)
{
	static const struct {
		int family;
		const char *addr;
	} want[] = { { AF_INET, "127.0.0.1" }, { AF_INET, LO_ADDR4 }, { AF_INET6, "::1" }, { AF_INET6, LO_ADDR6 } };
	uint64_t cookie = netns_cookie();
	struct ifaddrs *ifa;
	int up = 0;

	if (!cookie) {
		fail("SO_NETNS_COOKIE");
		return -1;
	}
	if (cookie == cookie_before)
		test_msg("the same network namespace as before: not restored (no criu, or --leave-running)\n");
	else
		test_msg("a new network namespace (cookie %llu, was %llu)\n", (unsigned long long)cookie,
			 (unsigned long long)cookie_before);
	if (getifaddrs(&ifa)) {
		fail("getifaddrs");
		return -1;
	}
	for (struct ifaddrs *i = ifa; i; i = i->ifa_next)
		if (!strcmp(i->ifa_name, "lo") && (i->ifa_flags & IFF_UP))
			up = 1;
	for (size_t i = 0; up && i < sizeof(want) / sizeof(want[0]); i++)
		if (!lo_has(ifa, want[i].family, want[i].addr)) {
			fail("lo has no address %s", want[i].addr);
			freeifaddrs(ifa);
			return -1;
		}
	freeifaddrs(ifa);
	if (!up) {
		fail("lo is not up");
		return -1;
	}
	if (!route_ok()) {
		fail("no route to %s through lo", ROUTE_DST);
		return -1;
	}
	if (!nft_rule_there()) {
		fail("no nftables rule '%s' in table %s", NFT_RULE, NFT_TABLE);
		return -1;
	}
	return 0;
}

/*
 * With socket_tcp4's small-window connection ("both"): each end's 2 KiB
 * receive buffer is full of unread data and each has unsent data for the
 * other. It stalled for seconds after every restore here while criu gave the
 * application's receive buffer back only after repair off, whose window probe
 * had by then promised the peer room the buffer didn't have (see
 * Documentation/tcp-images.md, "The window at repair off").
 */
#define TEST_SETUP netns_setup
#define TEST_CHECK netns_check
#include "socket_tcp4.c"
