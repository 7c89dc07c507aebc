/*
 * demo.c: the main job of criu-ng's TCP core, end to end (what `make demo` shows).
 *
 * In a private network namespace, 1,000 established TCP connections (default; -n to change, -6
 * for IPv6) whose peers live in another process, with data queued both ways: 2 KiB the server has
 * not read, 8 KiB in each server send queue (4 KiB sent but unacknowledged, 4 KiB not sent yet).
 * The server side is checkpointed and restored through libsoccr: network lock (one nftables
 * transaction), dump, silent close, restore, repair off, unlock. Then every connection is checked
 * byte by byte in both directions and with a fresh round trip. The figures of each phase are
 * printed as a table; the exit status is 0 only if every connection came back intact.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "connfix.h"
#include "soccr-cycle.h"
#include "testutil.h"

enum phase {
	PH_LOCK,
	PH_DUMP,
	PH_CLOSE,
	PH_RESTORE,
	PH_REPAIR_OFF,
	PH_UNLOCK,
	PH_NR
};

static const char *const phase_names[PH_NR] = { "lock", "dump", "close", "restore", "repair off", "unlock" };

static void print_table(const uint64_t *ns, uint32_t n)
{
	uint64_t total = 0;

	printf("\n  %-22s %12s %14s\n", "phase", "total (ms)", "per conn (us)");
	for (int p = 0; p < PH_NR; p++) {
		printf("  %-22s %12.2f %14.2f\n", phase_names[p], (double)ns[p] / 1e6, (double)ns[p] / 1e3 / n);
		total += ns[p];
	}
	printf("  %-22s %12.2f %14.2f\n\n", "total downtime", (double)total / 1e6, (double)total / 1e3 / n);
}

static int migrate(struct connfix *fix, struct libsoccr_ctx *ctx, uint64_t *ns)
{
	uint32_t n = connfix_count(fix);
	struct cycle cy;
	uint64_t t0;
	int ret;

	ret = cycle_init(&cy, ctx, fix, 0, n, CYCLE_ADDRS);
	if (ret)
		return ret;
	ret = connfix_queue_start(fix, CONNFIX_PEER_BYTES, CONNFIX_SENT_BYTES);
	if (ret)
		goto out_fini;
	t0 = test_now_ns();
	ret = connfix_lock(fix, NETLOCK_NFTABLES);
	ns[PH_LOCK] = test_now_ns() - t0;
	ret = ret ?: connfix_queue_finish(fix, CONNFIX_UNSENT_BYTES);
	ret = ret ?: connfix_check_queues(fix);
	ret = ret ?: cycle_run(&cy);
	ns[PH_DUMP] = cy.dump_ns;
	ns[PH_CLOSE] = cy.close_ns;
	ns[PH_RESTORE] = cy.restore_ns;
	ns[PH_REPAIR_OFF] = cy.repair_off_ns;
	if (ret)
		goto out_fini;
	t0 = test_now_ns();
	ret = connfix_unlock(fix);
	/* window probes: the connections move now, not on their retransmission timers */
	ret = ret ?: cycle_resume(&cy);
	ns[PH_UNLOCK] = test_now_ns() - t0;
out_fini:
	cycle_fini(&cy);
	return ret;
}

int main(int argc, char **argv)
{
	struct connfix_opts fo = { .family = CONNFIX_IPV4, .n = 1000 };
	uint64_t ns[PH_NR] = { 0 }, t0;
	struct libsoccr_ctx *ctx;
	struct connfix *fix;
	int opt, ret;

	test_init(argv[0]);
	while ((opt = getopt(argc, argv, "n:6")) != -1) {
		if (opt == 'n' && atoi(optarg) > 0) {
			fo.n = (uint32_t)atoi(optarg);
		} else if (opt == '6') {
			fo.family = CONNFIX_IPV6;
		} else {
			fprintf(stderr, "usage: %s [-n CONNECTIONS] [-6]\n", argv[0]);
			return TEST_FAIL;
		}
	}
	ret = test_env_setup();
	if (ret)
		return ret;
	printf("demo: private network namespace, %u %s connections, peers in another process\n", fo.n,
	       connfix_family_name(fo.family));
	t0 = test_now_ns();
	ret = connfix_create(&fo, &fix);
	if (ret)
		return test_fail("cannot make the connections: %s", strerror(-ret));
	printf("demo: connections made in %.0f ms; queued per connection: %u bytes unread by the server, "
	       "%u sent but unacknowledged, %u unsent\n",
	       (double)(test_now_ns() - t0) / 1e6, CONNFIX_PEER_BYTES, CONNFIX_SENT_BYTES, CONNFIX_UNSENT_BYTES);
	ret = test_ctx_create(0, 0, &ctx);
	if (ret)
		goto out_destroy_fix;
	printf("demo: libsoccr with %u workers, %s backend; network lock: nftables\n", libsoccr_ctx_workers(ctx),
	       cycle_backend(ctx));
	ret = migrate(fix, ctx, ns);
	libsoccr_ctx_destroy(ctx);
	if (ret)
		goto out_destroy_fix;
	print_table(ns, fo.n);
	t0 = test_now_ns();
	ret = connfix_verify(fix);
	if (ret)
		goto out_destroy_fix;
	printf("demo: every byte checked in both directions, then a fresh round trip on each connection "
	       "(%.0f ms after unlock)\n",
	       (double)(test_now_ns() - t0) / 1e6);
	printf("demo: %u connections migrated, all verified\n", fo.n);
out_destroy_fix:
	connfix_destroy(fix);
	if (ret)
		return test_fail("the migration failed: %s", strerror(-ret));
	return TEST_PASS;
}
