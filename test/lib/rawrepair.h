/*
 * rawrepair.h: the kernel's floor for the benchmark: the least a checkpoint/restore of an
 * established TCP connection must ask of the kernel (TCP_REPAIR and friends), one connection at
 * a time, plain syscalls, no library. What libsoccr adds is measured against this. IPv4 and IPv6
 * ESTABLISHED connections only; the caller knows the addresses (as a checkpointer does from
 * sock_diag).
 */
#ifndef TEST_LIB_RAWREPAIR_H
#define TEST_LIB_RAWREPAIR_H

#include <stdint.h>
#include <netinet/tcp.h>

#include "connfix.h"

struct raw_conn {
	int fd;
	union connfix_addr src, dst;
	uint32_t inq_len, inq_seq;   /* receive queue; rcv_nxt */
	uint32_t outq_len, outq_seq; /* send queue; write_seq */
	uint32_t unsq_len;	     /* unsent tail of the send queue */
	uint32_t mss, options, snd_wscale, rcv_wscale, timestamp;
	struct tcp_repair_window win;
	char *queues; /* inq_len bytes, then outq_len bytes */
};

/* Repair on, then state and queues into @c (c->fd, c->src, c->dst set by the caller). */
int raw_dump(struct raw_conn *c);
/* Close the dumped socket (silently: it is in repair mode); c->fd = -1. */
int raw_close(struct raw_conn *c);
/* A new socket in repair mode, rebuilt from @c, into c->fd. */
int raw_restore(struct raw_conn *c);
/* Repair off, then the unsent data. */
int raw_repair_off(struct raw_conn *c);
void raw_free(struct raw_conn *c);

#endif /* TEST_LIB_RAWREPAIR_H */
