/*
 * net-lock-iptables-many.c: an iptables lock of many live connections, split in sub-chains, locks
 * exactly them. In a private netns, 2,400 loopback connections (4 of 5 IPv4, 1 of 5 IPv6); 2,000
 * of them are locked, each seen from its client (ephemeral local port) or from its server (the
 * listener's port, shared by all: the other port must pick the sub-chain), the other 400
 * interleaved with them. Checks: the lock is split (sub-chains in both families, two DROP rules
 * per locked tuple); data sent both ways on every locked connection is dropped while every
 * unlocked one answers at once; after unlock no chain of the lock is left in either family and
 * the held data arrives on every locked connection. A flat lock (NETLOCK_F_IPT_FLAT) of the same
 * tuples must hold the same rules in one chain. Two more locked connections (IPv4, IPv6) carry
 * the lock's exempt mark on their packets (SO_MARK, as soccr's probes): they must flow while
 * locked, the mark rule coming before any sub-chain. Skips (77) without iptables.
 * timeout: 240
 */
#include <stdbool.h>
#include <sys/resource.h>

#include "net-lock-util.h"

#define LOCK_ID "many"
#define LOCK_NAME "criu-ng-" LOCK_ID
#define N_CONNS 2400
#define UNLOCKED_EVERY 6 /* connection i is left unlocked when i % 6 == 0: 400 of them */
#define SILENCE_MS 500
#define ARRIVE_MS 20000 /* retransmissions backed off behind the lock */
#define MARK 0x736f6363 /* soccr's */

struct conn {
	int cl, srv;
	bool locked;
};

static void raise_nofile(void)
{
	struct rlimit rl = { 4 * N_CONNS + 64, 4 * N_CONNS + 64 };

	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		nlt_skip("RLIMIT_NOFILE %lu: %s", (unsigned long)rl.rlim_cur, strerror(errno));
}

/* A listener on loopback of @family, port chosen by the kernel. */
static int listener(int family, union nlt_addr *a, socklen_t *len)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	nlt_loopback(family, a, len);
	if (fd < 0 || bind(fd, &a->sa, *len) < 0 || listen(fd, 4096) < 0 || getsockname(fd, &a->sa, len) < 0)
		nlt_fail("listener: %s", strerror(errno));
	return fd;
}

static void make_conns(struct conn *c)
{
	union nlt_addr a4, a6;
	socklen_t l4, l6;
	int lfd4 = listener(AF_INET, &a4, &l4), lfd6 = listener(AF_INET6, &a6, &l6);

	for (size_t i = 0; i < N_CONNS; i++) {
		bool v6 = i % 5 == 4;
		int lfd = v6 ? lfd6 : lfd4;

		c[i].cl = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c[i].cl < 0 || connect(c[i].cl, v6 ? &a6.sa : &a4.sa, v6 ? l6 : l4) < 0)
			nlt_fail("connect %zu: %s", i, strerror(errno));
		c[i].srv = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (c[i].srv < 0)
			nlt_fail("accept %zu: %s", i, strerror(errno));
		c[i].locked = i % UNLOCKED_EVERY != 0;
	}
	close(lfd4);
	close(lfd6);
}

/* Every connection of @c whose lock state is @locked gets "x" from both ends. */
static void send_all(struct conn *c, bool locked)
{
	for (size_t i = 0; i < N_CONNS; i++)
		if (c[i].locked == locked) {
			nlt_send(c[i].cl, "x");
			nlt_send(c[i].srv, "x");
		}
}

/*
 * Wait up to @ms for the "x" sent to both ends of each connection whose state is @locked; returns
 * how many ends received it (each end is read once).
 */
static size_t arrivals(struct conn *c, bool locked, int ms)
{
	static struct pollfd pfd[2 * N_CONNS];
	static bool got[2 * N_CONNS];
	size_t n = 0, want = 0, i;
	double end = nlt_now_ms() + ms;

	memset(got, 0, sizeof(got));
	for (i = 0; i < N_CONNS; i++)
		want += c[i].locked == locked ? 2 : 0;
	while (n < want) {
		int left = (int)(end - nlt_now_ms()), nfds = 0, r;

		if (left <= 0)
			break;
		for (i = 0; i < 2 * N_CONNS; i++) {
			if (c[i / 2].locked != locked || got[i])
				continue;
			pfd[nfds].fd = i % 2 ? c[i / 2].srv : c[i / 2].cl;
			pfd[nfds].events = POLLIN;
			nfds++;
		}
		r = poll(pfd, (nfds_t)nfds, left);
		if (r < 0)
			nlt_fail("poll: %s", strerror(errno));
		if (r == 0)
			break;
		for (i = 0; i < 2 * N_CONNS; i++) {
			char buf[8];
			int fd = i % 2 ? c[i / 2].srv : c[i / 2].cl;

			if (c[i / 2].locked != locked || got[i])
				continue;
			if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) == 1 && buf[0] == 'x') {
				got[i] = true;
				n++;
			}
		}
	}
	return n;
}

/* The locked connections' tuples: from the client's side for even i, the server's for odd i. */
static size_t locked_tuples(const struct conn *c, struct netlock_tuple *t)
{
	size_t n = 0;

	for (size_t i = 0; i < N_CONNS; i++)
		if (c[i].locked)
			nlt_tuple_of(i % 2 ? c[i].srv : c[i].cl, &t[n++]);
	return n;
}

static void check_layout(size_t n, bool flat)
{
	long c4, d4, c6, d6;

	nlt_check(!nlt_ipt_lock(LOCK_NAME, AF_INET, &c4, &d4) && !nlt_ipt_lock(LOCK_NAME, AF_INET6, &c6, &d6),
		  "listing the lock");
	printf("%s lock of %zu tuples: %ld + %ld chains, %ld + %ld DROP rules\n", flat ? "flat" : "split", n, c4, c6,
	       d4, d6);
	nlt_check(d4 + d6 == 2 * (long)n, "%ld DROP rules, expected %zu", d4 + d6, 2 * n);
	if (flat)
		nlt_check(c4 == 1 && c6 == 1, "flat lock: %ld and %ld chains", c4, c6);
	else /* about sqrt(2m) sub-chains: 1,601 IPv4 tuples, 401 IPv6 ones */
		nlt_check(c4 > 30 && c4 <= 58 && c6 > 15 && c6 <= 30, "split lock: %ld and %ld chains", c4, c6);
}

static void ping(int a, int b, const char *what)
{
	nlt_send(a, "ping");
	nlt_expect(b, "ping", 2000, what);
	nlt_send(b, "pong");
	nlt_expect(a, "pong", 2000, what);
}

static void check_gone(void)
{
	long c4, d4, c6, d6;

	nlt_check(!nlt_ipt_lock(LOCK_NAME, AF_INET, &c4, &d4) && !nlt_ipt_lock(LOCK_NAME, AF_INET6, &c6, &d6),
		  "listing after unlock");
	nlt_check(c4 == 0 && c6 == 0 && d4 == 0 && d6 == 0, "left after unlock: %ld + %ld chains, %ld + %ld rules", c4,
		  c6, d4, d6);
}

int main(void)
{
	struct netlock_opts o = {
		.mode = NETLOCK_IPTABLES, .id = LOCK_ID, .log = nlt_log, .log_level = 3, .exempt_mark = MARK
	};
	struct conn *c = calloc(N_CONNS, sizeof(*c));
	struct netlock_tuple *t = calloc(N_CONNS + 2, sizeof(*t));
	size_t n, got, unlocked = 0;
	int m4c, m4s, m6c, m6s;
	double t0;
	int ret;

	alarm(200);
	if (!c || !t)
		nlt_fail("calloc");
	nlt_enter_netns();
	if (!nlt_have_prog("iptables-restore") || !nlt_have_prog("ip6tables-restore"))
		nlt_skip("iptables-restore/ip6tables-restore not installed");
	raise_nofile();
	make_conns(c);
	n = locked_tuples(c, t);
	nlt_tcp_pair(AF_INET, MARK, &m4c, &m4s);
	nlt_tcp_pair(AF_INET6, MARK, &m6c, &m6s);
	nlt_tuple_of(m4c, &t[n++]);
	nlt_tuple_of(m6s, &t[n++]);
	for (size_t i = 0; i < N_CONNS; i++)
		unlocked += !c[i].locked;

	/* the flat layout, asked for: the same rules in one chain, removed whole */
	o.flags = NETLOCK_F_IPT_FLAT;
	ret = netlock_lock_conns(&o, t, n);
	nlt_check(ret == 0, "flat lock: %d", ret);
	check_layout(n, true);
	nlt_check(netlock_unlock(&o) == 0, "flat unlock");
	check_gone();

	o.flags = 0;
	t0 = nlt_now_ms();
	ret = netlock_lock_conns(&o, t, n);
	nlt_check(ret == 0, "lock: %d", ret);
	printf("lock of %zu connections: %.1f ms\n", n, nlt_now_ms() - t0);
	nlt_check(netlock_is_locked(&o) == 1, "is_locked after lock");
	check_layout(n, false);

	send_all(c, true);
	send_all(c, false);
	got = arrivals(c, false, 5000);
	nlt_check(got == 2 * unlocked, "%zu of %zu ends of unlocked connections got their data", got, 2 * unlocked);
	got = arrivals(c, true, SILENCE_MS);
	nlt_check(got == 0, "%zu ends of locked connections got data through the lock", got);
	ping(m4c, m4s, "IPv4 connection with the exempt mark, locked");
	ping(m6c, m6s, "IPv6 connection with the exempt mark, locked");
	/* a second round on the unlocked ones, now that the locked ones keep retransmitting */
	send_all(c, false);
	got = arrivals(c, false, 5000);
	nlt_check(got == 2 * unlocked, "second round: %zu of %zu ends of unlocked connections", got, 2 * unlocked);

	t0 = nlt_now_ms();
	ret = netlock_unlock(&o);
	nlt_check(ret == 0, "unlock: %d", ret);
	printf("unlock: %.1f ms\n", nlt_now_ms() - t0);
	nlt_check(netlock_is_locked(&o) == 0, "is_locked after unlock");
	check_gone();
	got = arrivals(c, true, ARRIVE_MS);
	nlt_check(got == 2 * (n - 2), "after unlock %zu of %zu ends of locked connections got their data", got,
		  2 * (n - 2));
	nlt_check(netlock_unlock(&o) == -ENOENT, "second unlock");
	free(t);
	free(c);
	printf("PASS\n");
	return NLT_PASS;
}
