/*
 * scale-v4.c: the scale test of issue 2 over IPv4. In a private network namespace, 10000
 * established connections whose peers live in another process; 2 KiB unread in each receive
 * queue and 8 KiB in each send queue (4 KiB sent but unacknowledged, 4 KiB unsent); all locked
 * with one nftables transaction, dumped, closed silently, restored, repair off, unlocked; then
 * every connection is verified byte-exact in both directions and with a fresh round trip.
 * Two passes on the same connections: io_uring batches, then plain syscalls, workers per CPU.
 */
#include "scenario.h"
#include "testutil.h"

static const struct scenario_pass scale_passes[] = {
	{ .ctx_flags = 0, .workers = 0, .cycle_flags = 0 },
	{ .ctx_flags = SOCCR_CTX_NO_URING, .workers = 0, .cycle_flags = 0 },
};

int main(int argc, char **argv)
{
	struct scenario_opts opts = {
		.family = CONNFIX_IPV4,
		.n = 10000,
		.passes = scale_passes,
		.nr_passes = sizeof(scale_passes) / sizeof(scale_passes[0]),
	};

	(void)argc;
	test_init(argv[0]);
	return scenario_run(&opts);
}
