/*
 * socket_tcp_lock: socket_tcp_stream with a slow stream, 256 bytes every
 * 10 ms: the test's window stays open, so the peer keeps sending segments
 * while the test is frozen, dumped and gone. The network lock must drop them
 * without a reset reaching the peer, and they must all arrive, once, after
 * restore.
 */
#define STREAM_PACED 1
#include "socket_tcp_stream.c"
