/*
 * scenario.h: the standard soccr test on a fixture of N established connections: the data load
 * of connfix.h, lock, dump, check of the dumped data, close, restore, repair off, unlock, and the
 * byte-exact verification, repeated over several passes (backends, workers, call styles) on the
 * same connections.
 */
#ifndef TEST_LIB_SCENARIO_H
#define TEST_LIB_SCENARIO_H

#include <stdint.h>

#include "connfix.h"
#include "soccr-cycle.h"

struct scenario_pass {
	uint32_t ctx_flags;	  /* SOCCR_CTX_* */
	uint32_t workers;	  /* 0: one per CPU */
	unsigned int cycle_flags; /* CYCLE_* */
};

struct scenario_opts {
	enum connfix_family family;
	uint32_t n;
	uint32_t timeout_ms; /* 0: the fixture's default */
	const struct scenario_pass *passes;
	unsigned int nr_passes;
};

/*
 * One pass on the fixture's connections: the standard data load, the nftables lock, dump (checked
 * against the queues), close, restore, repair off, unlock, resume; timed in @cy and the two
 * pointers. 0 or -errno (the reason is printed). The caller verifies (connfix_verify()).
 */
int scenario_cycle(struct connfix *fix, struct cycle *cy, uint64_t *lock_ns, uint64_t *unlock_ns);

/* Sets up the environment, runs every pass, returns TEST_PASS, TEST_FAIL or TEST_SKIP. */
int scenario_run(const struct scenario_opts *opts);

/*
 * The passes of the established-* tests: io_uring and plain syscalls, batch calls with and
 * without the addresses given, one worker and one per CPU.
 */
extern const struct scenario_pass scenario_all_passes[];
extern const unsigned int scenario_nr_all_passes;

#endif /* TEST_LIB_SCENARIO_H */
