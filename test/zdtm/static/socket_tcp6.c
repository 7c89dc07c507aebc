/*
 * socket_tcp6: socket_tcp4 over IPv6 (::1).
 */
#define TEST_KIND TSK_INET6
#include "socket_tcp4.c"
