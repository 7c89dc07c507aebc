/*
 * socket_udplite_ng: socket_udp4 over UDP-Lite (IPPROTO_UDPLITE).
 */
#include <netinet/in.h>
#define TEST_PROTO IPPROTO_UDPLITE
#include "socket_udp4.c"
