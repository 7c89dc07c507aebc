/*
 * e2e-proto.h: what the end-to-end migration's clients (e2e-clients.c) and its server
 * (test/e2e/e2e-server.c) say to each other on each connection.
 *
 * The client opens with a hello, then sends its pattern stream (pattern.h, stream
 * pattern_stream(idx, 0)) from offset 0; the server sends its own (pattern_stream(idx, 1)).
 *
 * The server, after the hello, writes load_tx bytes of its stream, then serves requests: every
 * req_len bytes of the client's stream it reads (and checks byte by byte) are answered with
 * req_len more bytes of its own. It reads nothing while any of its output is not yet written
 * (backpressure, as a real server does): with clients that do not read, the load stays partly
 * unsent, the server's send queue full, and whatever the clients send after the hello unread in
 * the server's receive queue. A byte of the client's stream that is not the pattern's makes the
 * server reset the connection (and exit 1 at the end), so a lost or duplicated byte shows on
 * both sides.
 */
#ifndef TEST_LIB_E2E_PROTO_H
#define TEST_LIB_E2E_PROTO_H

#include <stdint.h>

#define E2E_MAGIC 0x45324531u /* "E2E1" */

struct e2e_hello {
	uint32_t magic;
	uint32_t idx;	  /* the connection's index: its streams */
	uint32_t load_tx; /* bytes the server writes at once */
	uint32_t req_len; /* request and response size */
};

#endif /* TEST_LIB_E2E_PROTO_H */
