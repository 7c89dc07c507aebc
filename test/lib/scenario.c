/*
 * scenario.c: the standard soccr test over a fixture (see scenario.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <netinet/tcp.h>

#include "scenario.h"
#include "soccr-cycle.h"
#include "testutil.h"

const struct scenario_pass scenario_all_passes[] = {
	{ .ctx_flags = 0, .workers = 0, .cycle_flags = 0 },
	{ .ctx_flags = SOCCR_CTX_NO_URING, .workers = 0, .cycle_flags = 0 },
	{ .ctx_flags = 0, .workers = 1, .cycle_flags = CYCLE_ADDRS },
	{ .ctx_flags = SOCCR_CTX_NO_URING, .workers = 1, .cycle_flags = CYCLE_ADDRS },
	{ .ctx_flags = SOCCR_CTX_NO_URING, .workers = 2, .cycle_flags = CYCLE_ADDRS },
};
const unsigned int scenario_nr_all_passes = sizeof(scenario_all_passes) / sizeof(scenario_all_passes[0]);

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

int scenario_cycle(struct connfix *fix, struct cycle *cy, uint64_t *lock_ns, uint64_t *unlock_ns)
{
	uint64_t t0;
	int ret;

	ret = connfix_queue_start(fix, CONNFIX_PEER_BYTES, CONNFIX_SENT_BYTES);
	if (ret)
		return ret;
	t0 = test_now_ns();
	ret = connfix_lock(fix, NETLOCK_NFTABLES);
	*lock_ns = test_now_ns() - t0;
	if (ret)
		return ret;
	ret = connfix_queue_finish(fix, CONNFIX_UNSENT_BYTES);
	if (!ret)
		ret = connfix_check_queues(fix);
	if (!ret)
		ret = cycle_dump(cy);
	if (!ret)
		ret = cycle_check_dump(cy, TCP_ESTABLISHED);
	if (!ret)
		ret = cycle_close(cy);
	if (!ret)
		ret = cycle_restore(cy);
	if (!ret)
		ret = cycle_repair_off(cy);
	if (ret)
		return ret;
	t0 = test_now_ns();
	ret = connfix_unlock(fix);
	*unlock_ns = test_now_ns() - t0;
	return ret ?: cycle_resume(cy);
}

static int run_pass(struct connfix *fix, const struct scenario_pass *p, unsigned int k)
{
	uint32_t n = connfix_count(fix);
	uint64_t lock_ns = 0, unlock_ns = 0, t0;
	struct libsoccr_ctx *ctx;
	struct cycle cy;
	int ret;

	ret = test_ctx_create(p->ctx_flags, p->workers, &ctx);
	if (ret)
		return ret;
	ret = cycle_init(&cy, ctx, fix, 0, n, p->cycle_flags);
	if (ret)
		goto out_destroy_ctx;
	ret = scenario_cycle(fix, &cy, &lock_ns, &unlock_ns);
	if (ret) {
		test_msg("pass %u (%s, %u workers%s%s) failed: %s", k, cycle_backend(ctx), libsoccr_ctx_workers(ctx),
			 p->cycle_flags & CYCLE_SINGLE ? ", single-socket calls" : "",
			 p->cycle_flags & CYCLE_ADDRS ? ", addresses given" : "", strerror(-ret));
		goto out_fini;
	}
	t0 = test_now_ns();
	ret = connfix_verify(fix);
	test_msg("pass %u: %s, %u workers%s%s, %u connections: lock %.1f ms, dump %.1f ms, close %.1f ms, "
		 "restore %.1f ms, repair off %.1f ms, unlock %.1f ms, verify %.0f ms: %s",
		 k, cycle_backend(ctx), libsoccr_ctx_workers(ctx),
		 p->cycle_flags & CYCLE_SINGLE ? ", single calls" : "",
		 p->cycle_flags & CYCLE_ADDRS ? ", addresses given" : "", n, ms(lock_ns), ms(cy.dump_ns),
		 ms(cy.close_ns), ms(cy.restore_ns), ms(cy.repair_off_ns), ms(unlock_ns), ms(test_now_ns() - t0),
		 ret ? "FAILED" : "verified");
out_fini:
	cycle_fini(&cy);
out_destroy_ctx:
	libsoccr_ctx_destroy(ctx);
	return ret;
}

int scenario_run(const struct scenario_opts *opts)
{
	struct connfix_opts fo = { .family = opts->family, .n = opts->n, .timeout_ms = opts->timeout_ms };
	struct connfix *fix;
	unsigned int k;
	uint64_t t0;
	int ret;

	ret = test_env_setup();
	if (ret)
		return ret;
	ret = connfix_family_probe(opts->family);
	if (ret)
		return test_skip("no %s here: %s", connfix_family_name(opts->family), strerror(-ret));
	t0 = test_now_ns();
	ret = connfix_create(&fo, &fix);
	if (ret)
		return test_fail("cannot make %u %s connections", opts->n, connfix_family_name(opts->family));
	test_msg("%u %s connections made in %.0f ms", opts->n, connfix_family_name(opts->family),
		 ms(test_now_ns() - t0));
	for (k = 0; k < opts->nr_passes && !ret; k++)
		ret = run_pass(fix, &opts->passes[k], k + 1);
	connfix_destroy(fix);
	if (ret)
		return test_fail("%s", strerror(-ret));
	test_msg("PASS");
	return TEST_PASS;
}
