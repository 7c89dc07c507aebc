/*
 * rlimits00: resource limits survive. A few soft and hard limits are lowered
 * to values no default would have; then every limit is compared.
 */
#include <sys/resource.h>

#include "zdtmtst.h"

struct limit_change {
	int resource;
	rlim_t soft;
	rlim_t hard; /* RLIM_INFINITY: keep the current hard limit */
};

int main(int argc, char **argv)
{
	const struct limit_change changes[] = {
		{ RLIMIT_CORE, 3 << 20, 5 << 20 },	     { RLIMIT_NOFILE, 777, RLIM_INFINITY },
		{ RLIMIT_FSIZE, 1ull << 33, RLIM_INFINITY }, { RLIMIT_CPU, 36000, 72000 },
		{ RLIMIT_MSGQUEUE, 409600, RLIM_INFINITY },  { RLIMIT_SIGPENDING, 1234, RLIM_INFINITY },
	};
	struct rlimit before[RLIM_NLIMITS], now;
	int ret = 0;

	test_init(argc, argv);
	for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
		const struct limit_change *c = &changes[i];

		if (getrlimit(c->resource, &now)) {
			fail("getrlimit(%d)", c->resource);
			return 1;
		}
		if (c->hard != RLIM_INFINITY)
			now.rlim_max = c->hard;
		now.rlim_cur = c->soft < now.rlim_max ? c->soft : now.rlim_max;
		if (setrlimit(c->resource, &now)) {
			fail("setrlimit(%d)", c->resource);
			return 1;
		}
	}
	for (int r = 0; r < RLIM_NLIMITS; r++) {
		if (getrlimit(r, &before[r])) {
			fail("getrlimit(%d)", r);
			return 1;
		}
	}

	test_daemon();
	test_waitsig();

	for (int r = 0; r < RLIM_NLIMITS; r++) {
		if (getrlimit(r, &now)) {
			fail("getrlimit(%d)", r);
			ret = 1;
		} else if (now.rlim_cur != before[r].rlim_cur || now.rlim_max != before[r].rlim_max) {
			fail("limit %d is %llu/%llu, was %llu/%llu", r, (unsigned long long)now.rlim_cur,
			     (unsigned long long)now.rlim_max, (unsigned long long)before[r].rlim_cur,
			     (unsigned long long)before[r].rlim_max);
			ret = 1;
		}
	}
	if (!ret)
		pass();
	return ret;
}
