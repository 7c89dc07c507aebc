/*
 * e2e-nocr.c: the end-to-end migration harness (test/lib/e2e.h) checked against itself, without
 * criu: 1,000 connections from the wire to the e2e server on host A, loaded both ways, then every
 * stream read and checked and a round trip on each, as after a migration. What the harness finds
 * wrong here is its own fault, not criu's.
 */
/* timeout: 300 */
#include "e2e.h"

int main(int argc, char **argv)
{
	struct e2e_opts o = { .n = 1000, .verbose = 1, .nocr = 1, .timeout_ms = 3000 };

	(void)argc;
	return e2e_test_main(argv[0], &o);
}
