/*
 * connfix-proto.h: the commands the fixture (connfix.c) sends its peer process (connfix-peer.c)
 * over a SOCK_SEQPACKET socketpair, one command and one reply per message. Internal to test/lib.
 */
#ifndef TEST_LIB_CONNFIX_PROTO_H
#define TEST_LIB_CONNFIX_PROTO_H

#include <stdint.h>

#include "streamio.h"

enum peer_op {
	PEER_OP_CONNECT = 1, /* connect [lo, hi) to the listener, send each its 4-byte index */
	PEER_OP_SEND,	     /* len more bytes of the peer's stream on each */
	PEER_OP_READ,	     /* read the server's stream up to offset len; then its end if PEER_F_EOF */
	PEER_OP_ROUNDTRIP,   /* read len more bytes of the server's stream, then answer with len2 bytes */
	PEER_OP_SHUTDOWN,    /* shutdown(SHUT_WR) */
	PEER_OP_FILTER,	     /* len != 0: drop every packet the sockets receive; 0: stop dropping */
	PEER_OP_EXIT,
};

#define PEER_F_EOF 1u

struct peer_cmd {
	uint32_t op;
	uint32_t lo, hi;
	uint32_t flags;
	uint32_t timeout_ms;
	uint32_t family; /* PEER_OP_CONNECT: connfix_family */
	uint32_t port;	 /* PEER_OP_CONNECT: the listener's port */
	uint32_t mss;	 /* PEER_OP_CONNECT: TCP_MAXSEG before connect */
	uint64_t len, len2;
};

struct peer_reply {
	int32_t status; /* 0 or -errno */
	uint32_t op;
	struct sio_report rep;
};

/* The peer process: serves commands on @ctl for @n connections until PEER_OP_EXIT. */
void connfix_peer_main(int ctl, uint32_t n) __attribute__((noreturn));

#endif /* TEST_LIB_CONNFIX_PROTO_H */
