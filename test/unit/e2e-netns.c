/*
 * e2e-netns.c: a server in a network namespace of its own (a container), connected to the
 * outside by a veth whose other end is a port of a bridge in the wire's namespace, holding 100
 * established TCP connections from clients on the wire (test/lib/e2e.h, o.container). criu dump
 * runs in the wire's namespace (the lock is one rule inside the container's), the container's
 * namespace is deleted, criu restore (in the wire's namespace, --external veth[eth0]:vc@br0)
 * makes a new one with eth0, its address and routes, and its outer end in the bridge; then every
 * byte of every stream is checked both ways with a fresh round trip on each connection.
 */
/* timeout: 300 */
#include "e2e.h"

int main(int argc, char **argv)
{
	struct e2e_opts o = { .n = 100, .verbose = 1, .container = 1 };

	(void)argc;
	return e2e_test_main(argv[0], &o);
}
