/*
 * socket_tcp_lock_nft: socket_tcp_lock with the connections locked by
 * nftables (--network-lock nftables) rather than iptables, the default.
 */
#define STREAM_PACED 1
#include "socket_tcp_stream.c"
