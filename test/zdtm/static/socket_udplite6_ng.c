/*
 * socket_udplite6_ng: socket_udp4 over UDP-Lite (IPPROTO_UDPLITE) and IPv6 (::1).
 */
#include <netinet/in.h>
#define TEST_KIND TSK_INET6
#define TEST_PROTO IPPROTO_UDPLITE
#include "socket_udp4.c"
