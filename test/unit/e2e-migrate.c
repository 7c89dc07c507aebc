/*
 * e2e-migrate.c: host-to-host migration of a server holding 100 established TCP connections
 * through the criu binary (test/lib/e2e.h): dump on host A, service address moved, restore on host
 * B, then every byte of every stream checked both ways and a fresh round trip on each connection.
 * Skips only when criu refuses a resource it does not support yet, naming it.
 */
/* timeout: 300 */
#include "e2e.h"

int main(int argc, char **argv)
{
	struct e2e_opts o = { .n = 100, .verbose = 1 };

	(void)argc;
	return e2e_test_main(argv[0], &o);
}
