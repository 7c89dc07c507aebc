/*
 * net-lock-scale.c: lock 10,000 synthesized TCP tuples in one nftables transaction while the process
 * holds 15,000 open fds (so the netlink socket and the spawned tools live above fd 1024), check the
 * sets hold every element, unlock and check the table is gone. With iptables present, the same
 * fd load for a small iptables lock (its child must not inherit the 15,000 fds). Times are printed,
 * not asserted.
 */
#include <fcntl.h>
#include <sys/resource.h>

#include "net-lock-util.h"

#define N_TUPLES 10000
#define N_FDS 15000
#define N_IPT_TUPLES 100

/* Hold n fds open, as a dumping criu holding the sockets of 10,000 connections would. */
static int fill_fds(int n)
{
	struct rlimit rl;
	int fd, i, top = -1;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		nlt_fail("getrlimit: %s", strerror(errno));
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < (rlim_t)n + 100)
		nlt_skip("RLIMIT_NOFILE hard limit %llu < %d", (unsigned long long)rl.rlim_max, n + 100);
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		nlt_fail("setrlimit: %s", strerror(errno));
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		nlt_fail("open /dev/null: %s", strerror(errno));
	for (i = 0; i < n; i++) {
		/* not CLOEXEC on purpose: the spawned tools must get rid of them anyway */
		top = dup(fd);
		if (top < 0)
			nlt_fail("dup #%d: %s", i, strerror(errno));
	}
	return top;
}

static void check_nftables(const struct netlock_tuple *t)
{
	struct netlock_opts o = { .mode = NETLOCK_NFTABLES, .id = "scale", .log = nlt_log, .exempt_mark = 0x736f6363 };
	double t0, t1, t2;
	long n4, n6;
	int ret;

	t0 = nlt_now_ms();
	ret = netlock_lock_conns(&o, t, N_TUPLES);
	t1 = nlt_now_ms();
	nlt_check(ret == 0, "lock %d tuples: %d", N_TUPLES, ret);
	nlt_check(netlock_is_locked(&o) == 1, "is_locked");
	n4 = nlt_nft_set_elems("criu-ng-scale", "conns4");
	n6 = nlt_nft_set_elems("criu-ng-scale", "conns6");
	nlt_check(n4 + n6 == N_TUPLES, "sets hold %ld + %ld elements, expected %d", n4, n6, N_TUPLES);
	ret = netlock_lock_conns(&o, t, N_TUPLES);
	nlt_check(ret == -EEXIST, "second lock: %d", ret);
	t2 = nlt_now_ms();
	ret = netlock_unlock(&o);
	nlt_check(ret == 0, "unlock: %d", ret);
	printf("nftables: lock %d tuples %.1f ms, unlock %.1f ms\n", N_TUPLES, t1 - t0, nlt_now_ms() - t2);
	nlt_check(netlock_is_locked(&o) == 0, "is_locked after unlock");
	nlt_check(!nlt_nft_table_exists("criu-ng-scale"), "table criu-ng-scale still there after unlock");
}

static void check_iptables(const struct netlock_tuple *t)
{
	struct netlock_opts o = { .mode = NETLOCK_IPTABLES, .id = "scale", .log = nlt_log };
	long chains4, drops4, chains6, drops6;
	double t0, t1;
	int ret;

	if (!nlt_have_prog("iptables-restore") || !nlt_have_prog("ip6tables-restore")) {
		printf("iptables: not installed, skipped\n");
		return;
	}
	t0 = nlt_now_ms();
	ret = netlock_lock_conns(&o, t, N_IPT_TUPLES);
	t1 = nlt_now_ms();
	nlt_check(ret == 0, "iptables lock: %d", ret);
	nlt_check(!nlt_ipt_lock("criu-ng-scale", AF_INET, &chains4, &drops4) &&
			  !nlt_ipt_lock("criu-ng-scale", AF_INET6, &chains6, &drops6),
		  "listing the chains");
	nlt_check(drops4 + drops6 == 2 * N_IPT_TUPLES, "%ld DROP rules, expected %d", drops4 + drops6,
		  2 * N_IPT_TUPLES);
	/* 75 IPv4 tuples are split (sub-chains), 25 IPv6 ones are not */
	nlt_check(chains4 > 1 && chains6 == 1, "%ld IPv4 and %ld IPv6 chains", chains4, chains6);
	ret = netlock_unlock(&o);
	nlt_check(ret == 0, "iptables unlock: %d", ret);
	nlt_check(netlock_is_locked(&o) == 0, "iptables is_locked after unlock");
	nlt_check(!nlt_ipt_lock("criu-ng-scale", AF_INET, &chains4, &drops4) &&
			  !nlt_ipt_lock("criu-ng-scale", AF_INET6, &chains6, &drops6) && !chains4 && !chains6,
		  "%ld IPv4 and %ld IPv6 chains left after unlock", chains4, chains6);
	printf("iptables: lock %d tuples %.1f ms, unlock %.1f ms\n", N_IPT_TUPLES, t1 - t0, nlt_now_ms() - t1);
}

int main(void)
{
	struct netlock_opts probe = { .mode = NETLOCK_NFTABLES, .id = "scale" };
	struct netlock_tuple *t;
	int top, ret;

	alarm(300);
	nlt_enter_netns();
	if (!nlt_have_prog("nft"))
		nlt_skip("nft (package nftables) is needed to inspect the lock");
	ret = netlock_is_locked(&probe);
	if (ret == -EPROTONOSUPPORT || ret == -EAFNOSUPPORT)
		nlt_skip("nftables unavailable: %s", strerror(-ret));
	nlt_check(ret == 0, "is_locked before locking: %d", ret);

	top = fill_fds(N_FDS);
	printf("holding %d extra fds, highest %d\n", N_FDS, top);
	t = nlt_synth_tuples(N_TUPLES, 1);
	check_nftables(t);
	check_iptables(t);
	free(t);
	printf("PASS\n");
	return NLT_PASS;
}
