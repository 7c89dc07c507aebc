/*
 * e2e-bench.c: host-to-host migration of a server holding N established TCP connections through
 * the criu binary (test/lib/e2e.h), with the floor it compares to, measured in the same run.
 *
 * For N = 1, 1,000 and 10,000 with the packed TCP images, and N = 1,000 with CRIU's per-connection
 * images (--tcp-images criu), one migration each (-r: the median of more), every connection
 * verified both ways with a fresh round trip (a migration that loses a byte is not measured):
 *
 *   e2e-bench n=N lock=MODE images=packed|criu restore=overlap|serial dump_ms=X restore_ms=X frozen_ms=X
 *             downtime_ms=X verified=GOOD/N
 *   e2e-phases n=N images=... restore=... dump: fds_ms=X ... restore: fork_ms=X sockets_ms=X ... unlock_ms=X
 *
 * restore=serial (for N >= 1,000, in the same run, right after the default): the restore rebuilds
 * the sockets before the memory (CRIU_NG_RESTORE_SERIAL=1) rather than in a thread beside it.
 * e2e-phases: criu's own --display-stats per phase, the dump's then the restore's.
 *
 * dump_ms and restore_ms: wall time of the criu commands; frozen_ms: what criu says (--display-stats,
 * else the stats-dump image); downtime_ms: from the start of `criu dump` to the first byte the
 * restored server sends reaching a client (so: dump, moving the address, restore, one round trip).
 *
 * The floor for the same N: libsoccr's batch dump, close and restore (+ repair off) of N loopback
 * connections carrying the same queued data (test/lib scenario_cycle(), as soccr-bench runs it),
 * plus writing N * 10 KiB (2 KiB unread + 8 KiB to send per connection) to a file on the images'
 * file system in large writes and reading it back:
 *
 *   e2e-floor n=N dump_us=X close_us=X restore_us=X io_ms=X floor_ms=X
 *
 * Then CRIU 4.2's figures measured elsewhere (not in this run), the target
 * downtime_ms(10000) - downtime_ms(1) <= 1.5 * floor_ms(10000), and criu's peak RSS against the
 * queued bytes plus 1 KiB per connection.
 *
 * Usage: e2e-bench [-l LOCK] [-r REPS] [-D DIR] [-n N[,N...]] [-x]
 *   -l: --network-lock method (nftables); -D: where images go (/dev/shm); -n: the packed sizes;
 *   -x: no criu and no move (the harness alone against the live server: its own share).
 * Exit status 0 when every migration verified or criu refused it (a "skipped" line says what).
 */
/* timeout: 3600 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "connfix.h"
#include "criu-run.h"
#include "e2e-clients.h"
#include "e2e.h"
#include "scenario.h"
#include "testutil.h"

#define MAX_SIZES 6
#define MAX_CONFIGS (2 * MAX_SIZES + 1)
#define MAX_REPS 5
#define QUEUED_PER_CONN (E2E_HOLD_BYTES + 8192)

struct config {
	uint32_t n;
	int criu_images;
	int serial; /* the restore rebuilds the sockets before the memory (CRIU_NG_RESTORE_SERIAL=1) */
};

struct outcome {
	int ran; /* 1: measured, 0: skipped or failed */
	double dump_ms, restore_ms, frozen_ms, downtime_ms;
	double phase_ms[E2E_PHASES];
	long dump_rss_kib, restore_rss_kib;
	uint64_t queued;
	uint32_t good;
};

#define FLOOR_REPS 3

struct floor_ns {
	int32_t status;
	double dump, close, restore; /* medians of FLOOR_REPS cycles */
};

static const char *lock = "nftables";
static int nocr;
static const char *root = "/dev/shm";

/* One soccr cycle on the fixture's connections, verified, timed into sample @k of @ns. */
static int floor_cycle(struct connfix *fix, struct libsoccr_ctx *ctx, double ns[3][FLOOR_REPS], unsigned int k)
{
	uint64_t lock_ns, unlock_ns;
	struct cycle cy;
	int ret;

	ret = cycle_init(&cy, ctx, fix, 0, connfix_count(fix), CYCLE_ADDRS);
	if (ret)
		return ret;
	ret = scenario_cycle(fix, &cy, &lock_ns, &unlock_ns);
	ret = ret ?: connfix_verify(fix);
	ns[0][k] = (double)cy.dump_ns;
	ns[1][k] = (double)cy.close_ns;
	ns[2][k] = (double)(cy.restore_ns + cy.repair_off_ns);
	cycle_fini(&cy);
	return ret;
}

/* The child's part of the floor: its own network namespace, the fixture, FLOOR_REPS soccr cycles. */
static int floor_child(uint32_t n, struct floor_ns *f)
{
	/* the MSS of the e2e connections (veth, MTU 1500), not the fixture's default 536 */
	struct connfix_opts fo = { .family = CONNFIX_IPV4, .n = n, .mss = 1448, .timeout_ms = 60000 };
	double ns[3][FLOOR_REPS];
	struct libsoccr_ctx *ctx;
	struct connfix *fix;
	int ret;

	ret = connfix_env_setup();
	ret = ret ?: connfix_create(&fo, &fix);
	if (ret)
		return ret;
	ret = test_ctx_create(0, 0, &ctx);
	if (ret)
		goto out_destroy_fix;
	for (unsigned int k = 0; k < FLOOR_REPS && !ret; k++)
		ret = floor_cycle(fix, ctx, ns, k);
	f->dump = test_median(ns[0], FLOOR_REPS);
	f->close = test_median(ns[1], FLOOR_REPS);
	f->restore = test_median(ns[2], FLOOR_REPS);
	libsoccr_ctx_destroy(ctx);
out_destroy_fix:
	connfix_destroy(fix);
	return ret;
}

/* soccr's cycle in a child (it moves into a network namespace of its own), timed there. */
static int floor_soccr(uint32_t n, struct floor_ns *f)
{
	int p[2], status, ret;
	ssize_t r;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		close(p[0]);
		close(p[1]);
		return ret;
	}
	if (pid == 0) {
		struct floor_ns mine = { 0 };

		close(p[0]);
		mine.status = floor_child(n, &mine);
		_exit(write(p[1], &mine, sizeof(mine)) == sizeof(mine) ? 0 : 1);
	}
	close(p[1]);
	r = read(p[0], f, sizeof(*f));
	ret = r == sizeof(*f) ? f->status : -EPIPE;
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return ret;
}

static int print_floor(uint32_t n, double *floor_ms)
{
	double w[FLOOR_REPS], rd[FLOOR_REPS], io;
	struct floor_ns f;
	int ret = 0;

	ret = floor_soccr(n, &f);
	if (ret) {
		test_msg("n=%u: the soccr floor failed: %s", n, strerror(-ret));
		return ret;
	}
	for (unsigned int k = 0; k < FLOOR_REPS && !ret; k++)
		ret = floor_file_io(root, (size_t)n * QUEUED_PER_CONN, &w[k], &rd[k]);
	if (ret) {
		test_msg("n=%u: the file floor in %s failed: %s", n, root, strerror(-ret));
		return ret;
	}
	io = test_median(w, FLOOR_REPS) + test_median(rd, FLOOR_REPS);
	*floor_ms = (f.dump + f.close + f.restore) / 1e6 + io;
	printf("e2e-floor n=%u dump_us=%.0f close_us=%.0f restore_us=%.0f io_ms=%.2f floor_ms=%.2f\n", n, f.dump / 1e3,
	       f.close / 1e3, f.restore / 1e3, io, *floor_ms);
	fflush(stdout);
	return 0;
}

/* -x lines must not pass for criu's */
static const char *line_name(void)
{
	return nocr ? "e2e-bench-nocr" : "e2e-bench";
}

static const char *images_name(const struct config *c)
{
	return c->criu_images ? "criu" : "packed";
}

static const char *restore_name(const struct config *c)
{
	return c->serial ? "serial" : "overlap";
}

/* criu's own per-phase figures (--display-stats), medians over the repetitions. */
static void print_phases(const struct config *c, const struct outcome *o)
{
	printf("e2e-phases n=%u images=%s restore=%s", c->n, images_name(c), restore_name(c));
	for (unsigned int i = 0; i < E2E_PHASES; i++) {
		if (i == 0 || e2e_phases[i].restore != e2e_phases[i - 1].restore)
			printf(" %s:", e2e_phases[i].restore ? "restore" : "dump");
		printf(" %s_ms=%.1f", e2e_phases[i].name, o->phase_ms[i]);
	}
	printf("\n");
}

/* One configuration, @reps migrations; 0 measured, -EOPNOTSUPP skipped, -errno failed. */
static int run_config(const struct config *c, unsigned int reps, struct outcome *out)
{
	double dump[MAX_REPS], restore[MAX_REPS], frozen[MAX_REPS], down[MAX_REPS], phase[E2E_PHASES][MAX_REPS];
	struct e2e_opts o = {
		.n = c->n, .lock = lock, .criu_images = c->criu_images, .images_root = root, .nocr = nocr
	};
	struct e2e_result r;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	for (unsigned int k = 0; k < reps; k++) {
		if (c->serial)
			setenv("CRIU_NG_RESTORE_SERIAL", "1", 1);
		ret = e2e_migrate(&o, &r);
		unsetenv("CRIU_NG_RESTORE_SERIAL");
		if (ret) {
			printf("%s n=%u lock=%s images=%s restore=%s %s: %s\n", line_name(), c->n, lock, images_name(c),
			       restore_name(c), ret == -EOPNOTSUPP ? "skipped" : "FAILED", r.why);
			fflush(stdout);
			return ret;
		}
		dump[k] = r.dump_ms;
		restore[k] = r.restore_ms;
		frozen[k] = r.frozen_ms;
		down[k] = r.downtime_ms;
		for (unsigned int i = 0; i < E2E_PHASES; i++)
			phase[i][k] = r.phase_ms[i];
		if (r.dump_rss_kib > out->dump_rss_kib)
			out->dump_rss_kib = r.dump_rss_kib;
		if (r.restore_rss_kib > out->restore_rss_kib)
			out->restore_rss_kib = r.restore_rss_kib;
		out->queued = r.srv_recvq + r.srv_sendq;
		out->good = r.good;
	}
	out->ran = 1;
	out->dump_ms = test_median(dump, reps);
	out->restore_ms = test_median(restore, reps);
	out->frozen_ms = test_median(frozen, reps);
	out->downtime_ms = test_median(down, reps);
	for (unsigned int i = 0; i < E2E_PHASES; i++)
		out->phase_ms[i] = test_median(phase[i], reps);
	printf("%s n=%u lock=%s images=%s restore=%s dump_ms=%.1f restore_ms=%.1f frozen_ms=%.1f downtime_ms=%.1f "
	       "verified=%u/%u\n",
	       line_name(), c->n, lock, images_name(c), restore_name(c), out->dump_ms, out->restore_ms, out->frozen_ms,
	       out->downtime_ms, out->good, c->n);
	if (!nocr)
		print_phases(c, out);
	fflush(stdout);
	return 0;
}

static void print_reference(void)
{
	printf("e2e-ref criu=4.2 NOT MEASURED IN THIS RUN (figures measured elsewhere: 2-vCPU VM, Linux 6.18, "
	       "iptables lock): n=100 dump_ms=690 restore_ms=3640; n=1000 dump_ms=6700 restore_ms=50600\n");
}

static void print_target(const struct outcome *one, const struct outcome *big, double floor_big, uint32_t nbig)
{
	double lhs, rhs;

	if (!one || !big || !one->ran || !big->ran || floor_big < 0) {
		printf("e2e-target downtime_ms(%u)-downtime_ms(1) <= 1.5*floor_ms(%u): not measured (a migration "
		       "above was skipped or failed)\n",
		       nbig, nbig);
		return;
	}
	lhs = big->downtime_ms - one->downtime_ms;
	rhs = 1.5 * floor_big;
	printf("e2e-target downtime_ms(%u)-downtime_ms(1)=%.1f <= 1.5*floor_ms(%u)=%.1f: %s\n", nbig, lhs, nbig, rhs,
	       lhs <= rhs ? "met" : "not met");
}

static long peak_rss(const struct outcome *o)
{
	return o->dump_rss_kib > o->restore_rss_kib ? o->dump_rss_kib : o->restore_rss_kib;
}

/* criu's peak RSS above the N=1 run's (criu's own size) against the queued bytes and 1 KiB per connection. */
static void print_rss(const struct config *c, const struct outcome *o, const struct outcome *one)
{
	long base = one && one->ran ? peak_rss(one) : 0, growth = peak_rss(o) - base;
	double budget = (double)o->queued / 1024 + c->n;
	const char *verdict = "over";

	if (!o->ran)
		return;
	if (c->n == 1)
		verdict = "base";
	else if (!base)
		verdict = "no n=1 run to take criu's own size from";
	else if ((double)growth <= budget)
		verdict = "within";
	printf("e2e-rss n=%u images=%s restore=%s dump_maxrss_kib=%ld restore_maxrss_kib=%ld base_kib=%ld "
	       "growth_kib=%ld budget_kib=%.0f (queued %.0f KiB + 1 KiB/conn): %s\n",
	       c->n, images_name(c), restore_name(c), o->dump_rss_kib, o->restore_rss_kib, base, growth, budget,
	       (double)o->queued / 1024, verdict);
}

int main(int argc, char **argv)
{
	uint32_t sizes[MAX_SIZES] = { 1, 1000, 10000 };
	unsigned int nr_sizes = 3, reps = 1, nr_cfg = 0, failed = 0;
	struct config cfg[MAX_CONFIGS];
	struct outcome out[MAX_CONFIGS];
	double floor_ms[MAX_CONFIGS];
	const struct outcome *one = NULL, *big = NULL;
	uint32_t nbig = 0;
	double floor_big = -1;
	int opt;

	test_init("e2e-bench");
	while ((opt = getopt(argc, argv, "l:r:D:n:x")) != -1) {
		switch (opt) {
		case 'x':
			nocr = 1;
			break;
		case 'l':
			lock = optarg;
			break;
		case 'r':
			reps = (unsigned int)atoi(optarg);
			if (!reps || reps > MAX_REPS)
				return test_fail("bad -r: 1 to %d repetitions", MAX_REPS);
			break;
		case 'D':
			root = optarg;
			break;
		case 'n':
			if (test_parse_counts(optarg, sizes, MAX_SIZES, 15000, &nr_sizes))
				return test_fail("bad -n: a comma-separated list of connection counts");
			break;
		default:
			fprintf(stderr, "usage: %s [-l LOCK] [-r REPS] [-D DIR] [-n N[,N...]] [-x]\n", argv[0]);
			return TEST_FAIL;
		}
	}
	for (unsigned int k = 0; k < nr_sizes; k++) {
		cfg[nr_cfg++] = (struct config){ .n = sizes[k] };
		/* A/B in the same run: the restore with its sockets rebuilt before the memory, not beside it */
		if (sizes[k] >= 1000)
			cfg[nr_cfg++] = (struct config){ .n = sizes[k], .serial = 1 };
		if (sizes[k] == 1000)
			cfg[nr_cfg++] = (struct config){ .n = 1000, .criu_images = 1 };
	}
	for (unsigned int k = 0; k < nr_cfg; k++) {
		int ret;

		floor_ms[k] = -1;
		if (!cfg[k].criu_images && !cfg[k].serial && print_floor(cfg[k].n, &floor_ms[k]))
			failed++;
		ret = run_config(&cfg[k], reps, &out[k]);
		if (ret && ret != -EOPNOTSUPP)
			failed++;
		if (cfg[k].criu_images || cfg[k].serial)
			continue;
		if (cfg[k].n == 1)
			one = &out[k];
		if (cfg[k].n >= nbig) {
			nbig = cfg[k].n;
			big = &out[k];
			floor_big = floor_ms[k];
		}
	}
	print_reference();
	if (!nocr) {
		print_target(one, big, floor_big, nbig);
		for (unsigned int k = 0; k < nr_cfg; k++)
			print_rss(&cfg[k], &out[k], one);
	}
	if (failed)
		return test_fail("%u measurements failed", failed);
	return TEST_PASS;
}
