/*
 * socket_tcp_ext10k: socket_tcp_ext1k with 10,000 connections.
 */
#define TEST_CONNS 10000
#include "socket_tcp_ext1k.c"
