/*
 * socket_udp6: socket_udp4 over IPv6 (::1).
 */
#define TEST_KIND TSK_INET6
#include "socket_udp4.c"
