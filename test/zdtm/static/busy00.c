/*
 * busy00: a task checkpointed while it computes in user space, not asleep in
 * a system call. The loop keeps its state in general purpose registers; at
 * the end the result is recomputed from the iteration count, so a register
 * that came back wrong shows.
 */
#include "zdtmtst.h"

#define MUL 6364136223846793005ull
#define ADD 1442695040888963407ull

static uint64_t lcg_steps(uint64_t x, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		x = x * MUL + ADD;
	return x;
}

int main(int argc, char **argv)
{
	const uint64_t seed = 0x2545f4914f6cdd1dull;
	uint64_t x = seed, n = 0;

	test_init(argc, argv);
	test_daemon();

	while (test_go()) {
		/* a burst between looks at the flag, all in registers */
		for (int i = 0; i < 4096; i++)
			x = x * MUL + ADD;
		n += 4096;
	}

	if (lcg_steps(seed, n) != x) {
		fail("after %llu steps the state is %#llx, expected %#llx", (unsigned long long)n,
		     (unsigned long long)x, (unsigned long long)lcg_steps(seed, n));
		return 1;
	}
	test_msg("%llu steps\n", (unsigned long long)n);
	pass();
	return 0;
}
