/*
 * socket_listen6: socket_listen4 over IPv6 (::1, IPV6_V6ONLY on).
 */
#define TEST_KIND TSK_INET6
#include "socket_listen4.c"
