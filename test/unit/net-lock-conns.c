/*
 * net-lock-conns.c: lock live TCP connections (IPv4, IPv6, and IPv4 through an IPv6 socket whose
 * tuple has IPv4-mapped addresses, loopback) with netlock_lock_conns and check in a private netns
 * that their packets are dropped both ways (the v4-mapped one in the IPv4 set or chain), that
 * other connections flow,
 * that a second lock with the same id fails with -EEXIST, and that after unlock TCP retransmits
 * the queued data. nftables by default; net-lock-iptables.c reuses this file for iptables.
 */
#include <unistd.h>

#include "net-lock-util.h"

#ifndef NLT_CONNS_MODE
#define NLT_CONNS_MODE NETLOCK_NFTABLES
#endif

#define LOCK_ID "conns"
#define LOCK_NAME "criu-ng-" LOCK_ID
#define SILENCE_MS 300
#define RETRANSMIT_MS 15000 /* backed-off retransmissions after the lock can take seconds */

/* How many tuples the lock named name holds for one family, read back with the firewall's own tool. */
static long lock_entries_af(const char *name, int af)
{
	long chains, drops;

	if (NLT_CONNS_MODE == NETLOCK_NFTABLES)
		return nlt_nft_set_elems(name, af == AF_INET ? "conns4" : "conns6");
	/* iptables: two DROP rules per tuple, one per direction, in the chain or its sub-chains */
	if (nlt_ipt_lock(name, af, &chains, &drops))
		return -1;
	if (!chains)
		return af == AF_INET ? -1 : 0;
	return drops / 2;
}

static long lock_entries(const char *name)
{
	long n4 = lock_entries_af(name, AF_INET), n6 = lock_entries_af(name, AF_INET6);

	return n4 < 0 || n6 < 0 ? -1 : n4 + n6;
}

static void check_available(const struct netlock_opts *o)
{
	int ret;

	if (NLT_CONNS_MODE == NETLOCK_NFTABLES) {
		if (!nlt_have_prog("nft"))
			nlt_skip("nft (package nftables) is needed to inspect the lock");
	} else {
		if (!nlt_have_prog("iptables-restore") || !nlt_have_prog("ip6tables-restore"))
			nlt_skip("iptables-restore/ip6tables-restore not installed");
	}
	ret = netlock_is_locked(o);
	if (ret == -EPROTONOSUPPORT || ret == -EAFNOSUPPORT || ret == -ENOENT)
		nlt_skip("firewall backend unavailable: %s", strerror(-ret));
	nlt_check(ret == 0, "is_locked before locking: %d", ret);
}

static void ping(int a, int b, const char *what)
{
	nlt_send(a, "ping");
	nlt_expect(b, "ping", 2000, what);
	nlt_send(b, "pong");
	nlt_expect(a, "pong", 2000, what);
}

static void check_invalid(struct netlock_opts o)
{
	struct netlock_tuple t = { .family = AF_UNIX, .sport = 1, .dport = 2 };
	enum netlock_mode m;
	int ret;

	o.id = "bad id!";
	ret = netlock_lock_netns(&o);
	nlt_check(ret == -EINVAL, "bad id: %d", ret);
	o.id = "abcdefghijklmnopqrstu"; /* 21 characters */
	ret = netlock_is_locked(&o);
	nlt_check(ret == -EINVAL, "long id: %d", ret);
	o.id = LOCK_ID;
	ret = netlock_lock_conns(&o, &t, 1);
	nlt_check(ret == -EINVAL, "bad family: %d", ret);
	t.family = AF_INET6;
	nlt_check(inet_pton(AF_INET6, "::ffff:127.0.0.1", &t.src.v6) == 1, "inet_pton");
	t.dst.v6 = in6addr_loopback;
	ret = netlock_lock_conns(&o, &t, 1);
	nlt_check(ret == -EINVAL, "v4-mapped local and plain IPv6 peer: %d", ret);
	nlt_check(netlock_mode_parse("iptables", &m) == 0 && m == NETLOCK_IPTABLES, "parse iptables");
	nlt_check(netlock_mode_parse("nftables", &m) == 0 && m == NETLOCK_NFTABLES, "parse nftables");
	nlt_check(netlock_mode_parse("skip", &m) == 0 && m == NETLOCK_SKIP, "parse skip");
	nlt_check(netlock_mode_parse("pf", &m) == -EINVAL, "parse pf");
	o.mode = NETLOCK_SKIP;
	ret = netlock_lock_conns(&o, &t, 0);
	nlt_check(ret == 0, "skip lock: %d", ret);
	nlt_check(netlock_is_locked(&o) == 0, "skip is_locked");
	ret = netlock_unlock(&o);
	nlt_check(ret == 0, "skip unlock: %d", ret);
}

/* A batch that fails in its last message leaves nothing behind: the kernel applies all or nothing. */
static void check_atomic(struct netlock_opts o)
{
	size_t n = 5000;
	struct netlock_tuple *t = nlt_synth_tuples(n + 1, 1);
	int ret;

	if (NLT_CONNS_MODE != NETLOCK_NFTABLES) {
		free(t);
		return;
	}
	o.id = "atomic";
	o.flags = NETLOCK_F_EXCL_TUPLES;
	t[n] = t[n - 1]; /* duplicate in the last element message of the batch */
	ret = netlock_lock_conns(&o, t, n + 1);
	nlt_check(ret == -EEXIST, "duplicate tuple with NETLOCK_F_EXCL_TUPLES: %d", ret);
	nlt_check(netlock_is_locked(&o) == 0, "the failed batch left a lock behind");
	nlt_check(!nlt_nft_table_exists("criu-ng-atomic"), "the failed batch left a table behind");
	o.flags = 0;
	ret = netlock_lock_conns(&o, t, n + 1);
	nlt_check(ret == 0, "duplicate tuple without the flag: %d", ret);
	nlt_check(lock_entries("criu-ng-atomic") == (long)n, "duplicates must collapse into one element");
	ret = netlock_unlock(&o);
	nlt_check(ret == 0, "unlock atomic: %d", ret);
	free(t);
}

int main(void)
{
	struct netlock_opts o = { .mode = NLT_CONNS_MODE, .id = LOCK_ID, .log = nlt_log, .log_level = 3 };
	struct netlock_opts other = o;
	int a4c, a4s, a6c, a6s, mc, ms, b4c, b4s, c4c, c4s, ret;
	struct netlock_tuple t[3], tb;
	double start;

	alarm(120);
	nlt_enter_netns();
	check_available(&o);
	check_invalid(o);

	nlt_tcp_pair(AF_INET, 0, &a4c, &a4s);
	nlt_tcp_pair(AF_INET6, 0, &a6c, &a6s);
	nlt_tcp_pair_v4mapped(&mc, &ms);
	nlt_tcp_pair(AF_INET, 0, &b4c, &b4s);
	ping(a4c, a4s, "A4 before lock");
	ping(a6c, a6s, "A6 before lock");
	ping(mc, ms, "M (v4-mapped) before lock");

	/* A4 seen from its client, A6 from its server: both orientations of a tuple */
	nlt_tuple_of(a4c, &t[0]);
	nlt_tuple_of(a6s, &t[1]);
	/* M from its IPv6 server socket: AF_INET6, ::ffff:127.0.0.1 at both ends */
	nlt_tuple_of(ms, &t[2]);
	nlt_check(t[2].family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&t[2].src.v6), "M's tuple is not v4-mapped");
	start = nlt_now_ms();
	ret = netlock_lock_conns(&o, t, 3);
	nlt_check(ret == 0, "lock: %d", ret);
	printf("lock of 3 connections: %.2f ms\n", nlt_now_ms() - start);
	nlt_check(netlock_is_locked(&o) == 1, "is_locked after lock");
	nlt_check(lock_entries(LOCK_NAME) == 3, "lock holds %ld tuples, expected 3", lock_entries(LOCK_NAME));
	nlt_check(lock_entries_af(LOCK_NAME, AF_INET) == 2, "the IPv4 part holds %ld tuples, expected 2 (A4, M)",
		  lock_entries_af(LOCK_NAME, AF_INET));

	nlt_send(a4s, "to-client4");
	nlt_send(a4c, "to-server4");
	nlt_send(a6s, "to-client6");
	nlt_send(a6c, "to-server6");
	nlt_expect_none(a4c, SILENCE_MS, "A4 peer -> local");
	nlt_expect_none(a4s, SILENCE_MS, "A4 local -> peer");
	nlt_expect_none(a6c, SILENCE_MS, "A6 local -> peer");
	nlt_expect_none(a6s, SILENCE_MS, "A6 peer -> local");
	nlt_send(ms, "to-client-m");
	nlt_send(mc, "to-server-m");
	nlt_expect_none(mc, SILENCE_MS, "M (v4-mapped) local -> peer");
	nlt_expect_none(ms, SILENCE_MS, "M (v4-mapped) peer -> local");

	ping(b4c, b4s, "B4 (not locked) while locked");
	nlt_tcp_pair(AF_INET, 0, &c4c, &c4s);
	ping(c4c, c4s, "new connection while locked");

	/* the same id again: refused, first lock intact */
	nlt_tuple_of(b4c, &tb);
	ret = netlock_lock_conns(&o, &tb, 1);
	nlt_check(ret == -EEXIST, "second lock with the same id: %d", ret);
	nlt_check(lock_entries(LOCK_NAME) == 3, "first lock changed by the refused one");
	ping(b4c, b4s, "B4 after the refused lock");
	nlt_expect_none(a4c, 50, "A4 after the refused lock");

	/* another id coexists */
	other.id = "other";
	ret = netlock_lock_conns(&other, &tb, 1);
	nlt_check(ret == 0, "lock with another id: %d", ret);
	nlt_send(b4c, "ping");
	nlt_expect_none(b4s, SILENCE_MS, "B4 under the second lock");
	ret = netlock_unlock(&other);
	nlt_check(ret == 0, "unlock other: %d", ret);
	nlt_expect(b4s, "ping", RETRANSMIT_MS, "B4 after the second unlock");
	nlt_send(b4s, "pong");
	nlt_expect(b4c, "pong", 2000, "B4 pong");

	start = nlt_now_ms();
	ret = netlock_unlock(&o);
	nlt_check(ret == 0, "unlock: %d", ret);
	printf("unlock: %.2f ms\n", nlt_now_ms() - start);
	nlt_check(netlock_is_locked(&o) == 0, "is_locked after unlock");
	nlt_check(lock_entries(LOCK_NAME) <= 0, "lock still listed after unlock");

	nlt_expect(a4c, "to-client4", RETRANSMIT_MS, "A4 queued data after unlock");
	nlt_expect(a4s, "to-server4", RETRANSMIT_MS, "A4 queued data after unlock");
	nlt_expect(a6c, "to-client6", RETRANSMIT_MS, "A6 queued data after unlock");
	nlt_expect(a6s, "to-server6", RETRANSMIT_MS, "A6 queued data after unlock");
	nlt_expect(mc, "to-client-m", RETRANSMIT_MS, "M queued data after unlock");
	nlt_expect(ms, "to-server-m", RETRANSMIT_MS, "M queued data after unlock");
	ping(a4c, a4s, "A4 after unlock");
	ping(a6c, a6s, "A6 after unlock");
	ping(mc, ms, "M after unlock");

	ret = netlock_unlock(&o);
	nlt_check(ret == -ENOENT, "second unlock: %d", ret);

	check_atomic(o);
	printf("PASS\n");
	return NLT_PASS;
}
