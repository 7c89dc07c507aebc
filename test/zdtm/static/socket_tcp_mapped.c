/*
 * socket_tcp_mapped: socket_tcp4 with IPv6 sockets speaking IPv4 through
 * v4-mapped addresses (::ffff:127.0.0.1), plus an IPv4 client connected to the
 * IPv6 listener.
 */
#define TEST_KIND TSK_MAPPED
#define TEST_V4_CLIENT 1
#include "socket_tcp4.c"
