/*
 * lock-bench.c: time the network lock in a private netns. For N = 1,000 and 10,000 synthesized
 * tuples (3 of 4 IPv4, 1 of 4 IPv6): netlock_lock_conns + netlock_unlock with nftables, with
 * iptables when installed, and as a baseline the same table loaded by `nft -f` and removed by
 * `nft delete table`. Median of 5 runs each, one machine-readable line per mode:
 *   lock-bench n=10000 mode=nftables lock_ms=X unlock_ms=X
 * (mode=iptables-flat: the iptables lock as one flat chain, NETLOCK_F_IPT_FLAT, for comparison).
 *
 * Then what a lock costs the traffic it does not hold: while a lock of OTHERS = 4,000 connections
 * that are not ours exists (IPv4, ports spread over the ephemeral range, as a real dump's), the
 * round trip of one loopback connection (2,000 one-byte ping-pongs) and the time for CONNS =
 * 1,000 loopback connections to exchange one round trip each, all at once, as after a resume.
 * Layouts: no lock, iptables flat, iptables split in sub-chains, nftables; median of the runs:
 *   lock-bench-traffic others=4000 layout=split rtt_us=X conns=1000 exchange_ms=X
 * Usage: lock-bench [runs]
 */
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>

#include "../unit/net-lock-util.h"
#include "testutil.h"

#define RUNS_DEFAULT 5
#define MAX_RUNS 51
#define BENCH_ID "bench"
#define BENCH_TABLE "criu-ng-" BENCH_ID

extern char **environ;

struct timing {
	double lock[MAX_RUNS], unlock[MAX_RUNS];
};

static void report(size_t n, const char *mode, struct timing *tm, int runs)
{
	printf("lock-bench n=%zu mode=%s lock_ms=%.2f unlock_ms=%.2f\n", n, mode,
	       test_median(tm->lock, (unsigned int)runs), test_median(tm->unlock, (unsigned int)runs));
	fflush(stdout);
}

static void bench_netlock(enum netlock_mode mode, unsigned int flags, const struct netlock_tuple *t, size_t n, int runs)
{
	struct netlock_opts o = { .mode = mode, .id = BENCH_ID, .log = nlt_log, .log_level = 2, .flags = flags };
	struct timing tm;
	double t0;
	int i, ret;

	for (i = 0; i < runs; i++) {
		t0 = nlt_now_ms();
		ret = netlock_lock_conns(&o, t, n);
		tm.lock[i] = nlt_now_ms() - t0;
		if (ret)
			nlt_fail("lock %zu tuples: %s", n, strerror(-ret));
		t0 = nlt_now_ms();
		ret = netlock_unlock(&o);
		tm.unlock[i] = nlt_now_ms() - t0;
		if (ret)
			nlt_fail("unlock: %s", strerror(-ret));
	}
	report(n,
	       mode == NETLOCK_NFTABLES	  ? "nftables" :
	       flags & NETLOCK_F_IPT_FLAT ? "iptables-flat" :
					    "iptables",
	       &tm, runs);
}

/* The table netlock_lock_conns builds, as an nft script. */
static void write_nft_script(FILE *f, const struct netlock_tuple *t, size_t n)
{
	static const char *const sets[] = { "conns4", "conns6" };
	static const char *const types[] = { "ipv4_addr . inet_service . ipv4_addr . inet_service",
					     "ipv6_addr . inet_service . ipv6_addr . inet_service" };
	char l[INET6_ADDRSTRLEN], p[INET6_ADDRSTRLEN];
	size_t i;
	int s, first;

	fprintf(f, "table inet %s {\n", BENCH_TABLE);
	for (s = 0; s < 2; s++) {
		int af = s ? AF_INET6 : AF_INET;

		fprintf(f, "set %s { type %s; elements = { ", sets[s], types[s]);
		for (i = 0, first = 1; i < n; i++) {
			if (t[i].family != af)
				continue;
			inet_ntop(af, &t[i].src, l, sizeof(l));
			inet_ntop(af, &t[i].dst, p, sizeof(p));
			fprintf(f, "%s%s . %u . %s . %u", first ? "" : ",\n", l, t[i].sport, p, t[i].dport);
			first = 0;
		}
		fprintf(f, " } }\n");
	}
	fprintf(f, "chain input { type filter hook input priority -310; policy accept;\n"
		   "ip daddr . tcp dport . ip saddr . tcp sport @conns4 drop\n"
		   "ip6 daddr . tcp dport . ip6 saddr . tcp sport @conns6 drop\n}\n"
		   "chain output { type filter hook output priority -310; policy accept;\n"
		   "ip saddr . tcp sport . ip daddr . tcp dport @conns4 drop\n"
		   "ip6 saddr . tcp sport . ip6 daddr . tcp dport @conns6 drop\n}\n}\n");
}

/* Run argv (output to /dev/null) and return its wall time in ms; fail unless it exits 0. */
static double run_timed(char *const argv[])
{
	posix_spawn_file_actions_t fa;
	double t0;
	pid_t pid;
	int st;

	if (posix_spawn_file_actions_init(&fa) || posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0) ||
	    posix_spawn_file_actions_adddup2(&fa, 1, 2))
		nlt_fail("posix_spawn_file_actions");
	t0 = nlt_now_ms();
	if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ))
		nlt_fail("spawn %s", argv[0]);
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		nlt_fail("%s %s failed", argv[0], argv[1]);
	posix_spawn_file_actions_destroy(&fa);
	return nlt_now_ms() - t0;
}

static void bench_nft_cli(const struct netlock_tuple *t, size_t n, int runs)
{
	char path[] = "/tmp/lock-bench-XXXXXX";
	char *const load[] = { "nft", "-f", path, NULL };
	char *const del[] = { "nft", "delete", "table", "inet", BENCH_TABLE, NULL };
	struct timing tm;
	FILE *f;
	int fd, i;

	fd = mkstemp(path);
	if (fd < 0 || !(f = fdopen(fd, "w")))
		nlt_fail("temporary nft script: %s", strerror(errno));
	write_nft_script(f, t, n);
	if (fclose(f))
		nlt_fail("writing %s: %s", path, strerror(errno));
	for (i = 0; i < runs; i++) {
		tm.lock[i] = run_timed(load);
		tm.unlock[i] = run_timed(del);
	}
	unlink(path);
	report(n, "nft-cli", &tm, runs);
}

#define OTHERS 4000
#define CONNS 1000
#define PINGS 2000

struct pair {
	int cl, srv;
};

/* Tuples of connections that are not ours: 10.0.0.1:<ephemeral> -> 10.1.x.y:443. */
static struct netlock_tuple *other_tuples(size_t n)
{
	struct netlock_tuple *t = calloc(n, sizeof(*t));

	if (!t)
		nlt_fail("calloc %zu tuples", n);
	for (size_t i = 0; i < n; i++) {
		t[i].family = AF_INET;
		t[i].src.v4.s_addr = htonl(0x0a000001);
		t[i].dst.v4.s_addr = htonl(0x0a010000 + (uint32_t)(i / 250));
		t[i].sport = (uint16_t)(32768 + (i * 7919) % 28000);
		t[i].dport = 443;
	}
	return t;
}

/* One byte from @a to @b and back, @n times: the mean round trip in us. */
static double ping_pong(int a, int b, int n)
{
	double t0 = nlt_now_ms();
	char c = 'p';

	for (int i = 0; i < n; i++)
		if (send(a, &c, 1, 0) != 1 || recv(b, &c, 1, 0) != 1 || send(b, &c, 1, 0) != 1 ||
		    recv(a, &c, 1, 0) != 1)
			nlt_fail("ping-pong: %s", strerror(errno));
	return (nlt_now_ms() - t0) * 1000.0 / n;
}

/* Every client sends a byte, every server answers it: ms until every client has its answer. */
static double exchange(struct pair *p, size_t n)
{
	double t0 = nlt_now_ms();
	char c = 'x';
	size_t i;

	for (i = 0; i < n; i++)
		if (send(p[i].cl, &c, 1, 0) != 1)
			nlt_fail("send: %s", strerror(errno));
	for (i = 0; i < n; i++)
		if (recv(p[i].srv, &c, 1, 0) != 1 || send(p[i].srv, &c, 1, 0) != 1)
			nlt_fail("server %zu: %s", i, strerror(errno));
	for (i = 0; i < n; i++)
		if (recv(p[i].cl, &c, 1, 0) != 1)
			nlt_fail("client %zu: %s", i, strerror(errno));
	return nlt_now_ms() - t0;
}

static void bench_traffic_layout(const char *layout, enum netlock_mode mode, unsigned int flags,
				 const struct netlock_tuple *others, struct pair *p, int runs)
{
	struct netlock_opts o = { .mode = mode, .id = "others", .log = nlt_log, .log_level = 2, .flags = flags };
	double rtt[MAX_RUNS], ex[MAX_RUNS];
	int ret;

	if (mode != NETLOCK_SKIP) {
		ret = netlock_lock_conns(&o, others, OTHERS);
		if (ret)
			nlt_fail("lock of %d others (%s): %s", OTHERS, layout, strerror(-ret));
	}
	for (int i = 0; i < runs; i++) {
		rtt[i] = ping_pong(p[0].cl, p[0].srv, PINGS);
		ex[i] = exchange(p, CONNS);
	}
	if (mode != NETLOCK_SKIP && (ret = netlock_unlock(&o)))
		nlt_fail("unlock of the others (%s): %s", layout, strerror(-ret));
	printf("lock-bench-traffic others=%d layout=%s rtt_us=%.1f conns=%d exchange_ms=%.2f\n", OTHERS, layout,
	       test_median(rtt, (unsigned int)runs), CONNS, test_median(ex, (unsigned int)runs));
	fflush(stdout);
}

static void bench_traffic(int have_ipt, int runs)
{
	struct rlimit rl = { 2 * CONNS + 64, 2 * CONNS + 64 };
	struct netlock_tuple *others = other_tuples(OTHERS);
	struct pair *p = calloc(CONNS, sizeof(*p));
	union nlt_addr a;
	socklen_t len;
	int lfd;

	if (!p || setrlimit(RLIMIT_NOFILE, &rl) < 0)
		nlt_fail("%d connections: %s", CONNS, strerror(errno));
	nlt_loopback(AF_INET, &a, &len);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, &a.sa, len) < 0 || listen(lfd, CONNS) < 0 || getsockname(lfd, &a.sa, &len) < 0)
		nlt_fail("listener: %s", strerror(errno));
	for (size_t i = 0; i < CONNS; i++) {
		p[i].cl = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (p[i].cl < 0 || connect(p[i].cl, &a.sa, len) < 0 ||
		    (p[i].srv = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			nlt_fail("connection %zu: %s", i, strerror(errno));
	}
	close(lfd);
	bench_traffic_layout("none", NETLOCK_SKIP, 0, others, p, runs);
	if (have_ipt) {
		bench_traffic_layout("iptables-flat", NETLOCK_IPTABLES, NETLOCK_F_IPT_FLAT, others, p, runs);
		bench_traffic_layout("iptables-split", NETLOCK_IPTABLES, 0, others, p, runs);
	} else {
		printf("lock-bench-traffic others=%d layout=iptables skipped (iptables not installed)\n", OTHERS);
	}
	bench_traffic_layout("nftables", NETLOCK_NFTABLES, 0, others, p, runs);
	for (size_t i = 0; i < CONNS; i++) {
		close(p[i].cl);
		close(p[i].srv);
	}
	free(p);
	free(others);
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 1000, 10000 };
	int runs = argc > 1 ? atoi(argv[1]) : RUNS_DEFAULT;
	int have_nft, have_ipt;
	char path[4096];
	size_t s;

	if (runs < 1 || runs > MAX_RUNS)
		nlt_fail("runs must be 1..%d", MAX_RUNS);
	/* nft and iptables live in sbin, which a user's PATH may lack */
	snprintf(path, sizeof(path), "%s:/usr/local/sbin:/usr/sbin:/sbin",
		 getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	if (setenv("PATH", path, 1) < 0)
		nlt_fail("setenv: %s", strerror(errno));
	nlt_enter_netns();
	have_nft = nlt_have_prog("nft");
	have_ipt = nlt_have_prog("iptables-restore") && nlt_have_prog("ip6tables-restore");
	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		struct netlock_tuple *t = nlt_synth_tuples(sizes[s], 1);

		bench_netlock(NETLOCK_NFTABLES, 0, t, sizes[s], runs);
		if (have_nft)
			bench_nft_cli(t, sizes[s], runs);
		else
			printf("lock-bench n=%zu mode=nft-cli skipped (nft not installed)\n", sizes[s]);
		if (have_ipt) {
			bench_netlock(NETLOCK_IPTABLES, 0, t, sizes[s], runs);
			bench_netlock(NETLOCK_IPTABLES, NETLOCK_F_IPT_FLAT, t, sizes[s], runs);
		} else {
			printf("lock-bench n=%zu mode=iptables skipped (iptables not installed)\n", sizes[s]);
		}
		free(t);
	}
	bench_traffic(have_ipt, runs);
	return 0;
}
