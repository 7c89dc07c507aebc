/*
 * lock-bench.c: time the network lock in a private netns. For N = 1,000 and 10,000 synthesized
 * tuples (3 of 4 IPv4, 1 of 4 IPv6): netlock_lock_conns + netlock_unlock with nftables, with
 * iptables when installed, and as a baseline the same table loaded by `nft -f` and removed by
 * `nft delete table`. Median of 5 runs each, one machine-readable line per mode:
 *   lock-bench n=10000 mode=nftables lock_ms=X unlock_ms=X
 * Usage: lock-bench [runs]
 */
#include <fcntl.h>
#include <spawn.h>

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

static void bench_netlock(enum netlock_mode mode, const struct netlock_tuple *t, size_t n, int runs)
{
	struct netlock_opts o = { .mode = mode, .id = BENCH_ID, .log = nlt_log, .log_level = 2 };
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
	report(n, mode == NETLOCK_NFTABLES ? "nftables" : "iptables", &tm, runs);
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

		bench_netlock(NETLOCK_NFTABLES, t, sizes[s], runs);
		if (have_nft)
			bench_nft_cli(t, sizes[s], runs);
		else
			printf("lock-bench n=%zu mode=nft-cli skipped (nft not installed)\n", sizes[s]);
		if (have_ipt)
			bench_netlock(NETLOCK_IPTABLES, t, sizes[s], runs);
		else
			printf("lock-bench n=%zu mode=iptables skipped (iptables not installed)\n", sizes[s]);
		free(t);
	}
	return 0;
}
