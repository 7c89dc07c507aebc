/*
 * demo.c: what `make demo` shows: a server holding 1,000 established TCP connections (-n to
 * change) migrated from host A to host B through the criu binary, every byte checked.
 *
 * Three network namespaces (host A, host B, and a bridge with the clients), the e2e server on
 * host A, the clients loading every connection both ways (the server holds 2 KiB unread and a
 * full send queue on each, the clients read nothing); `criu dump --tcp-established` on A, the
 * service address moved to B, `criu restore --tcp-established` on B; then every byte of both
 * streams of every connection checked and a fresh round trip on each (test/lib/e2e.h). Each phase
 * is printed as it happens, with criu's own --display-stats, then a table of the downtime.
 *
 * Usage: demo [-n CONNECTIONS] [-k] (-k keeps the images and logs)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"
#include "testutil.h"

static void print_table(const struct e2e_result *r)
{
	printf("\n  %-44s %10s\n", "phase", "ms");
	printf("  %-44s %10.1f\n", "criu dump (wall; the server is frozen inside)", r->dump_ms);
	printf("  %-44s %10.1f\n", "  of which frozen (criu's --display-stats)", r->frozen_ms);
	printf("  %-44s %10.1f\n", "service address moved from A to B", r->move_ms);
	printf("  %-44s %10.1f\n", "criu restore (wall)", r->restore_ms);
	printf("  %-44s %10.1f\n", "downtime: dump start to first restored answer", r->downtime_ms);
	printf("  %-44s %10.1f\n\n", "checking every byte, then a round trip each", r->verify_ms);
}

int main(int argc, char **argv)
{
	struct e2e_opts o = { .n = 1000, .verbose = 1 };
	struct e2e_result r;
	int opt, ret;

	test_init(argv[0]);
	while ((opt = getopt(argc, argv, "n:k")) != -1) {
		if (opt == 'n' && atoi(optarg) > 0) {
			o.n = (uint32_t)atoi(optarg);
		} else if (opt == 'k') {
			o.keep = 1;
		} else {
			fprintf(stderr, "usage: %s [-n CONNECTIONS] [-k]\n", argv[0]);
			return TEST_FAIL;
		}
	}
	printf("demo: a server on host A holding %u TCP connections, migrated to host B with criu dump/restore "
	       "--tcp-established\n",
	       o.n);
	ret = e2e_migrate(&o, &r);
	if (ret == -EOPNOTSUPP)
		return test_skip("this criu cannot migrate the server yet: %s", r.why);
	if (ret)
		return test_fail("the migration failed: %s (images and logs kept in %s)", r.why, r.dir);
	print_table(&r);
	printf("demo: %u of %u connections migrated, every byte checked both ways%s%s\n", r.good, r.n,
	       o.keep ? "; images and logs in " : "", o.keep ? r.dir : "");
	return TEST_PASS;
}
