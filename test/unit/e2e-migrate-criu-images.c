/*
 * e2e-migrate-criu-images.c: host-to-host migration of a server holding 1,000 established TCP
 * connections through the criu binary with `criu dump --tcp-images criu` (CRIU's own layout: one
 * tcp-stream image per connection), every stream checked both ways with a fresh round trip on
 * each connection. Skips only when criu refuses a resource or an option it does not support yet,
 * naming it.
 */
/* timeout: 600 */
#include "e2e.h"

int main(int argc, char **argv)
{
	struct e2e_opts o = { .n = 1000, .verbose = 1, .criu_images = 1 };

	(void)argc;
	return e2e_test_main(argv[0], &o);
}
