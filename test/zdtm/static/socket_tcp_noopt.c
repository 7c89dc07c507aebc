/*
 * socket_tcp_noopt: socket_tcp4 checkpointed without --tcp-established. The
 * dump must refuse the established connections and fail (the .desc says
 * crfail), and the test runs on: every connection ESTABLISHED, out of repair
 * mode, every queued byte there once, fresh round trips, the listener
 * accepting, as if nothing had happened.
 */
#include "socket_tcp4.c"
