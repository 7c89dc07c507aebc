/*
 * single.c: the single-socket calls (libsoccr_dump, libsoccr_close, libsoccr_restore,
 * libsoccr_repair_off) on one established connection with data queued both ways, IPv4 then IPv6:
 * locked, dumped, closed, restored, repair off, unlocked, verified byte by byte plus a round trip.
 * Three passes each on the same connection: addresses read from the socket or given, with a
 * context that has io_uring and one that has not (single calls use plain syscalls either way).
 */
#include "scenario.h"
#include "soccr-cycle.h"
#include "testutil.h"

static const struct scenario_pass single_passes[] = {
	{ .ctx_flags = 0, .workers = 0, .cycle_flags = CYCLE_SINGLE },
	{ .ctx_flags = 0, .workers = 1, .cycle_flags = CYCLE_SINGLE | CYCLE_ADDRS },
	{ .ctx_flags = SOCCR_CTX_NO_URING, .workers = 1, .cycle_flags = CYCLE_SINGLE },
};

int main(int argc, char **argv)
{
	struct scenario_opts opts = {
		.family = CONNFIX_IPV4,
		.n = 1,
		.passes = single_passes,
		.nr_passes = sizeof(single_passes) / sizeof(single_passes[0]),
	};
	int ret;

	(void)argc;
	test_init(argv[0]);
	ret = scenario_run(&opts);
	if (ret != TEST_PASS)
		return ret;
	opts.family = CONNFIX_IPV6;
	ret = scenario_run(&opts);
	/* IPv4 passed: no IPv6 here is not a failure */
	return ret == TEST_SKIP ? TEST_PASS : ret;
}
