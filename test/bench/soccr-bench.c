/*
 * soccr-bench.c: what a checkpoint/restore of N established TCP connections costs, per
 * connection, through libsoccr and through the bare kernel calls.
 *
 * For each N (default 1,000 and 10,000): N IPv4 connections in a private network namespace, each
 * with 2 KiB unread in its receive queue and 8 KiB in its send queue (4 KiB sent but
 * unacknowledged, 4 KiB unsent), locked with one nftables transaction, dumped, closed in repair
 * mode, restored, repair off, unlocked, and every connection verified byte-exact with a fresh
 * round trip (a restore that breaks a connection is not measured: the benchmark fails). Each
 * configuration runs REPS times on the same connections; the median is printed:
 *
 *   soccr-bench n=N workers=W backend=uring|syscall dump_us=X close_us=X restore_us=X lock_ms=X unlock_ms=X
 *   soccr-bench-mem n=N workers=W backend=B queued_kib=Q base_rss_kib=R peak_rss_kib=P overhead_b_per_conn=O
 *   soccr-bench-floor n=N dump_us=X close_us=X restore_us=X
 *
 * dump, close and restore (restore + repair off) in microseconds per connection; lock and unlock
 * of all N in milliseconds. Configurations: workers per CPU with io_uring, workers per CPU with
 * plain syscalls, and the baseline: the single-socket calls one after another (workers=1
 * backend=syscall). The floor is the bare TCP_REPAIR sequence in one thread with no library
 * (rawrepair.c). Memory: peak RSS during dump..repair off (VmHWM, reset before the dump) against
 * the RSS before the dump and the queued bytes; overhead_b_per_conn = (peak - base - queued) / N.
 *
 * Usage: soccr-bench [-n N[,N...]] [-r REPS] [-6]
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "connfix.h"
#include "rawrepair.h"
#include "soccr-cycle.h"
#include "testutil.h"

#define MAX_SIZES 8
#define MAX_REPS 15
#define QUEUED_PER_CONN (CONNFIX_PEER_BYTES + CONNFIX_SENT_BYTES + CONNFIX_UNSENT_BYTES)

struct config {
	uint32_t ctx_flags;
	uint32_t workers;
	unsigned int cycle_flags;
	int floor;
};

static const struct config configs[] = {
	{ .ctx_flags = 0, .workers = 0, .cycle_flags = CYCLE_ADDRS },
	{ .ctx_flags = SOCCR_CTX_NO_URING, .workers = 0, .cycle_flags = CYCLE_ADDRS },
	{ .ctx_flags = SOCCR_CTX_NO_URING, .workers = 1, .cycle_flags = CYCLE_ADDRS | CYCLE_SINGLE },
	{ .floor = 1 },
};

enum metric {
	M_DUMP,
	M_CLOSE,
	M_RESTORE,
	M_LOCK,
	M_UNLOCK,
	M_BASE_KIB,
	M_PEAK_KIB,
	M_NR
};

struct bench {
	uint32_t n;
	enum connfix_family family;
	struct connfix *fix;
	struct raw_conn *raw;
	double samples[M_NR][MAX_REPS];
};

/* A /proc/self/status field in KiB, or -1. */
static long status_kib(const char *field)
{
	size_t flen = strlen(field);
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, flen) && line[flen] == ':') {
			kib = strtol(line + flen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kib;
}

/* Start a new peak RSS (VmHWM) from the current RSS. */
static int reset_peak_rss(void)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, "5", 1) != 1)
		ret = -errno;
	close(fd);
	return ret;
}

static double us_per_conn(uint64_t ns, uint32_t n)
{
	return (double)ns / 1e3 / n;
}

static int floor_steps(struct bench *b, uint64_t ns[3])
{
	uint32_t i, n = b->n;
	uint64_t t0;
	int ret = 0;

	memset(b->raw, 0, n * sizeof(*b->raw));
	for (i = 0; i < n; i++) {
		b->raw[i].fd = connfix_fd(b->fix, i);
		b->raw[i].src = *connfix_local(b->fix, i);
		b->raw[i].dst = *connfix_peer(b->fix, i);
	}
	t0 = test_now_ns();
	for (i = 0; i < n && !ret; i++)
		ret = raw_dump(&b->raw[i]);
	ns[0] = test_now_ns() - t0;
	t0 = test_now_ns();
	for (i = 0; i < n && !ret; i++) {
		ret = raw_close(&b->raw[i]);
		connfix_set_fd(b->fix, i, -1);
	}
	ns[1] = test_now_ns() - t0;
	t0 = test_now_ns();
	for (i = 0; i < n && !ret; i++) {
		ret = raw_restore(&b->raw[i]);
		connfix_set_fd(b->fix, i, b->raw[i].fd);
	}
	for (i = 0; i < n && !ret; i++)
		ret = raw_repair_off(&b->raw[i]);
	ns[2] = test_now_ns() - t0;
	if (ret)
		test_msg("floor: conn %u: %s", i - 1, strerror(-ret));
	for (i = 0; i < n; i++)
		raw_free(&b->raw[i]);
	return ret;
}

static int lib_steps(struct bench *b, struct libsoccr_ctx *ctx, const struct config *cfg, uint64_t ns[3], long *base,
		     long *peak)
{
	struct cycle cy;
	int ret;

	ret = cycle_init(&cy, ctx, b->fix, 0, b->n, cfg->cycle_flags);
	if (ret)
		return ret;
	/* the caller's arrays are touched before the baseline is taken */
	memset(cy.dumped, 0, b->n * sizeof(*cy.dumped));
	memset(cy.restored, 0, b->n * sizeof(*cy.restored));
	/* freed memory of the last cycle must not hide in the baseline */
	malloc_trim(0);
	ret = reset_peak_rss();
	*base = status_kib("VmRSS");
	ret = ret ?: cycle_run(&cy);
	*peak = status_kib("VmHWM");
	ns[0] = cy.dump_ns;
	ns[1] = cy.close_ns;
	ns[2] = cy.restore_ns + cy.repair_off_ns;
	cycle_fini(&cy);
	return ret;
}

/*
 * After the unlock: a window probe on every connection so they move at once
 * (libsoccr_resume_batch; the floor's own loop for the floor).
 */
static int resume_all(struct bench *b, struct libsoccr_ctx *ctx)
{
	struct libsoccr_conn *c;
	int off = TCP_REPAIR_OFF;
	int ret = 0;

	if (!ctx) {
		for (uint32_t i = 0; i < b->n && !ret; i++)
			if (setsockopt(connfix_fd(b->fix, i), SOL_TCP, TCP_REPAIR, &off, sizeof(off)))
				ret = -errno;
		return ret;
	}
	c = calloc(b->n, sizeof(*c));
	if (!c)
		return -ENOMEM;
	for (uint32_t i = 0; i < b->n; i++)
		c[i].fd = connfix_fd(b->fix, i);
	ret = libsoccr_resume_batch(ctx, c, b->n);
	free(c);
	return ret;
}

/* One measured cycle; every connection verified afterwards. */
static int bench_rep(struct bench *b, struct libsoccr_ctx *ctx, const struct config *cfg, unsigned int rep)
{
	uint64_t ns[3] = { 0 }, lock_ns, unlock_ns, t0;
	long base = 0, peak = 0;
	int ret;

	ret = connfix_queue_start(b->fix, CONNFIX_PEER_BYTES, CONNFIX_SENT_BYTES);
	if (ret)
		return ret;
	t0 = test_now_ns();
	ret = connfix_lock(b->fix, NETLOCK_NFTABLES);
	lock_ns = test_now_ns() - t0;
	ret = ret ?: connfix_queue_finish(b->fix, CONNFIX_UNSENT_BYTES);
	ret = ret ?: connfix_check_queues(b->fix);
	if (ret)
		return ret;
	ret = cfg->floor ? floor_steps(b, ns) : lib_steps(b, ctx, cfg, ns, &base, &peak);
	if (ret)
		return ret;
	t0 = test_now_ns();
	ret = connfix_unlock(b->fix);
	unlock_ns = test_now_ns() - t0;
	ret = ret ?: resume_all(b, ctx);
	ret = ret ?: connfix_verify(b->fix);
	if (ret) {
		test_msg("n=%u: the restored connections do not verify", b->n);
		return ret;
	}
	b->samples[M_DUMP][rep] = us_per_conn(ns[0], b->n);
	b->samples[M_CLOSE][rep] = us_per_conn(ns[1], b->n);
	b->samples[M_RESTORE][rep] = us_per_conn(ns[2], b->n);
	b->samples[M_LOCK][rep] = (double)lock_ns / 1e6;
	b->samples[M_UNLOCK][rep] = (double)unlock_ns / 1e6;
	b->samples[M_BASE_KIB][rep] = (double)base;
	b->samples[M_PEAK_KIB][rep] = (double)peak;
	return 0;
}

static void print_config(struct bench *b, const struct config *cfg, struct libsoccr_ctx *ctx, unsigned int reps)
{
	double queued_kib = (double)b->n * QUEUED_PER_CONN / 1024;
	unsigned int workers = 1;
	const char *backend = "syscall";
	double m[M_NR];

	for (int k = 0; k < M_NR; k++)
		m[k] = test_median(b->samples[k], reps);
	if (!(cfg->cycle_flags & CYCLE_SINGLE) && ctx) {
		workers = libsoccr_ctx_workers(ctx);
		backend = cycle_backend(ctx);
	}
	if (cfg->floor) {
		printf("soccr-bench-floor n=%u dump_us=%.1f close_us=%.1f restore_us=%.1f\n", b->n, m[M_DUMP],
		       m[M_CLOSE], m[M_RESTORE]);
		return;
	}
	printf("soccr-bench n=%u workers=%u backend=%s dump_us=%.1f close_us=%.1f restore_us=%.1f lock_ms=%.1f "
	       "unlock_ms=%.1f\n",
	       b->n, workers, backend, m[M_DUMP], m[M_CLOSE], m[M_RESTORE], m[M_LOCK], m[M_UNLOCK]);
	printf("soccr-bench-mem n=%u workers=%u backend=%s queued_kib=%.0f base_rss_kib=%.0f peak_rss_kib=%.0f "
	       "overhead_b_per_conn=%.0f\n",
	       b->n, workers, backend, queued_kib, m[M_BASE_KIB], m[M_PEAK_KIB],
	       (m[M_PEAK_KIB] - m[M_BASE_KIB] - queued_kib) * 1024 / b->n);
}

static int bench_config(struct bench *b, const struct config *cfg, unsigned int reps)
{
	struct libsoccr_ctx *ctx = NULL;
	unsigned int rep;
	int ret = 0;

	if (!cfg->floor) {
		ret = test_ctx_create(cfg->ctx_flags, cfg->workers, &ctx);
		if (ret)
			return ret;
	}
	for (rep = 0; rep < reps && !ret; rep++)
		ret = bench_rep(b, ctx, cfg, rep);
	if (!ret)
		print_config(b, cfg, ctx, reps);
	if (ctx)
		libsoccr_ctx_destroy(ctx);
	return ret;
}

static int bench_size(uint32_t n, enum connfix_family family, unsigned int reps)
{
	struct connfix_opts fo = { .family = family, .n = n, .timeout_ms = 60000 };
	struct bench *b;
	uint64_t t0 = test_now_ns();
	int ret;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->n = n;
	b->family = family;
	b->raw = calloc(n, sizeof(*b->raw));
	ret = b->raw ? connfix_create(&fo, &b->fix) : -ENOMEM;
	if (ret)
		goto out_free;
	test_msg("n=%u: %u %s connections made in %.0f ms", n, n, connfix_family_name(family),
		 (double)(test_now_ns() - t0) / 1e6);
	for (size_t k = 0; k < sizeof(configs) / sizeof(configs[0]) && !ret; k++)
		ret = bench_config(b, &configs[k], reps);
	connfix_destroy(b->fix);
out_free:
	free(b->raw);
	free(b);
	return ret;
}

int main(int argc, char **argv)
{
	uint32_t sizes[MAX_SIZES] = { 1000, 10000 };
	unsigned int nr_sizes = 2, reps = 3, k;
	enum connfix_family family = CONNFIX_IPV4;
	int opt, ret;

	test_init(argv[0]);
	while ((opt = getopt(argc, argv, "n:r:6")) != -1) {
		switch (opt) {
		case 'n':
			if (test_parse_counts(optarg, sizes, MAX_SIZES, 1000000, &nr_sizes))
				return test_fail("bad -n: a comma-separated list of connection counts");
			break;
		case 'r':
			reps = (unsigned int)atoi(optarg);
			if (!reps || reps > MAX_REPS)
				return test_fail("bad -r: 1 to %d repetitions", MAX_REPS);
			break;
		case '6':
			family = CONNFIX_IPV6;
			break;
		default:
			fprintf(stderr, "usage: %s [-n N[,N...]] [-r REPS] [-6]\n", argv[0]);
			return TEST_FAIL;
		}
	}
	ret = test_env_setup();
	if (ret)
		return ret;
	for (k = 0; k < nr_sizes; k++) {
		ret = bench_size(sizes[k], family, reps);
		if (ret)
			return test_fail("n=%u: %s", sizes[k], strerror(-ret));
	}
	return TEST_PASS;
}
