/*
 * e2e-clients.h: the clients of the end-to-end migration: N connections to the e2e server (see
 * e2e-proto.h), each carrying a pattern stream both ways, opened and loaded before the
 * checkpoint, checked byte by byte after the restore.
 *
 *   e2e_clients_open()     connect all; each sends its hello and @hold bytes the server will
 *                          leave unread; the clients read nothing, with small receive buffers
 *   e2e_clients_settle()   wait until the server has read every hello and filled what it can
 *                          (every client byte acknowledged, the clients' receive queues still)
 *   ... checkpoint, move, restore ...
 *   e2e_clients_first_answer()  connection 0 reads what it had, then waits for the first byte
 *                               the restored server sends: the end of the downtime
 *   e2e_clients_verify()   every connection reads the server's whole stream (the load, then the
 *                          answers to the @hold bytes), then a fresh request and its response
 */
#ifndef TEST_LIB_E2E_CLIENTS_H
#define TEST_LIB_E2E_CLIENTS_H

#include <stdint.h>
#include <netinet/in.h>

#ifndef __must_check
#define __must_check __attribute__((warn_unused_result))
#endif

#define E2E_HOLD_BYTES 2048	/* client bytes the server has not read at the checkpoint */
#define E2E_LOAD_TX (16 * 1024) /* what the server writes at once, more than it can send */
#define E2E_REQ_LEN 64		/* request and response size */
#define E2E_CLIENT_RCVBUF 2048	/* SO_RCVBUF of the clients (the kernel doubles it) */

struct e2e_clients_opts {
	uint32_t n;
	struct sockaddr_in server;
	uint32_t timeout_ms; /* of each phase; 0: 60 s */
};

struct e2e_clients;

int e2e_clients_open(const struct e2e_clients_opts *o, struct e2e_clients **cp) __must_check;
void e2e_clients_close(struct e2e_clients *c);
/* @client_inq: the bytes of the server's stream waiting in the clients' receive queues, in total. */
int e2e_clients_settle(struct e2e_clients *c, uint64_t *client_inq) __must_check;
/* CLOCK_MONOTONIC ns when the first byte the restored server sent reached connection 0. */
int e2e_clients_first_answer(struct e2e_clients *c, uint64_t *t_ns) __must_check;
/* @good: the connections whose streams were both right and complete and whose round trip came back. */
int e2e_clients_verify(struct e2e_clients *c, uint32_t *good) __must_check;

#endif /* TEST_LIB_E2E_CLIENTS_H */
