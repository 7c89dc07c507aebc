/*
 * socket_tcp_unconn: socket_tcp_bound with TCP sockets never bound, of each
 * kind: after restore they have no address, hold their options (IPV6_V6ONLY
 * decides whether the mapped one may reach an IPv4 peer) and connect.
 */
#define TEST_UNBOUND 1
#include "socket_tcp_bound.c"
