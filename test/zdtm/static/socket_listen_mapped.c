/*
 * socket_listen_mapped: socket_listen4 with IPv6 listeners bound to the
 * v4-mapped ::ffff:127.0.0.1 (IPV6_V6ONLY off), taking IPv4 clients.
 */
#define TEST_KIND TSK_MAPPED
#define TEST_CLIENT_KIND TSK_INET4
#include "socket_listen4.c"
