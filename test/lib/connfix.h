/*
 * connfix.h: the many-connection fixture of the soccr tests, benchmarks and demo.
 *
 * N established TCP connections in a private network namespace: the server ends are sockets of
 * this process (the ones a test dumps and restores), the peer ends live in a child process driven
 * over a socketpair. Both directions carry pattern streams (pattern.h), so after any number of
 * checkpoint/restore cycles every byte of every connection can be checked.
 *
 * A cycle, as the tests run it:
 *
 *   connfix_env_setup()             once: private netns, lo up, RLIMIT_NOFILE raised
 *   connfix_create()                listener, peer process, N connections
 *   connfix_queue_start()           the peer sends K bytes the server leaves unread; the server's
 *                                   sockets drop incoming packets (a socket filter, so the peer's
 *                                   ACKs are lost) and write S1 bytes: sent, never acknowledged
 *   connfix_lock()                  network lock on the N 4-tuples (nftables by default)
 *   connfix_queue_finish()          the server writes S2 more bytes: the lock drops them on the
 *                                   way out, so they stay unsent; the socket filters are removed
 *   connfix_check_queues()          SIOCINQ == K, SIOCOUTQ == S1 + S2, both parts non-zero
 *   ... dump, close, restore, repair off (the test), connfix_set_fd() for each new socket ...
 *   connfix_unlock()
 *   connfix_verify()                both streams byte-exact up to what was sent, then a fresh
 *                                   round trip on every connection
 *   connfix_destroy()
 *
 * Call connfix_env_setup() before creating a libsoccr context: sockets are made in the network
 * namespace of the thread that creates them, and the context's workers start in the one that
 * was current when it was created.
 *
 * Every call returns 0 or -errno and says on stderr what went wrong ("connfix: ..."), with the
 * connection index and stream offset of the first failures.
 */
#ifndef TEST_LIB_CONNFIX_H
#define TEST_LIB_CONNFIX_H

#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "net-lock.h"

#ifndef __must_check
#define __must_check __attribute__((warn_unused_result))
#endif

enum connfix_family {
	CONNFIX_IPV4,	  /* 127.1.x.y -> 127.0.0.1..8 */
	CONNFIX_IPV6,	  /* ::1 -> ::1 */
	CONNFIX_V4MAPPED, /* server on an AF_INET6 socket, ::ffff:127.0.0.x; peers AF_INET */
};

union connfix_addr {
	struct sockaddr sa;
	struct sockaddr_in v4;
	struct sockaddr_in6 v6;
	struct sockaddr_storage ss;
};

struct connfix_opts {
	enum connfix_family family;
	uint32_t n;	     /* connections */
	uint32_t mss;	     /* TCP_MAXSEG on the listener and the peers; 0: 536 */
	uint32_t timeout_ms; /* deadline of one phase (connect, verify, ...); 0: 30 s */
};

/* Defaults of the standard data load (see the cycle above). */
#define CONNFIX_PEER_BYTES 2048	  /* K */
#define CONNFIX_SENT_BYTES 4096	  /* S1 */
#define CONNFIX_UNSENT_BYTES 4096 /* S2 */
#define CONNFIX_RT_BYTES 64	  /* each way of the round trip of connfix_verify() */

struct connfix;

/* Enter a new network namespace with lo up, and raise RLIMIT_NOFILE to its hard limit. */
int connfix_env_setup(void) __must_check;
/* 0 if connections of this family can be made here, -EAFNOSUPPORT (or another -errno) if not. */
int connfix_family_probe(enum connfix_family family);
const char *connfix_family_name(enum connfix_family family);

int connfix_create(const struct connfix_opts *opts, struct connfix **fixp) __must_check;
/* Unlocks if still locked, stops the peer process (killing it if it does not exit), closes all. */
void connfix_destroy(struct connfix *fix);

uint32_t connfix_count(const struct connfix *fix);
int connfix_fd(const struct connfix *fix, uint32_t i);
/* Hand the fixture the connection's new socket (after a restore), or -1 once it was closed. */
void connfix_set_fd(struct connfix *fix, uint32_t i, int fd);
const union connfix_addr *connfix_local(const struct connfix *fix, uint32_t i);
const union connfix_addr *connfix_peer(const struct connfix *fix, uint32_t i);
/* The N 4-tuples as the network lock takes them (v4-mapped ones as the server socket sees them). */
const struct netlock_tuple *connfix_tuples(const struct connfix *fix);
/* The options connfix_lock() uses: nftables unless told otherwise, exempt_mark SOCCR_MARK. */
const struct netlock_opts *connfix_lock_opts(const struct connfix *fix);

/* The standard data load and its checks (see the cycle above). */
int connfix_queue_start(struct connfix *fix, uint32_t peer_bytes, uint32_t sent_bytes) __must_check;
int connfix_lock(struct connfix *fix, enum netlock_mode mode) __must_check;
int connfix_queue_finish(struct connfix *fix, uint32_t unsent_bytes) __must_check;
int connfix_check_queues(struct connfix *fix) __must_check;
int connfix_unlock(struct connfix *fix) __must_check;
int connfix_verify(struct connfix *fix) __must_check;

/* What connfix_check_queues() measured on connection @i: SIOCINQ, SIOCOUTQ, SIOCOUTQNSD. */
void connfix_queues(const struct connfix *fix, uint32_t i, uint32_t *inq, uint32_t *outq, uint32_t *unsent);
/* Bytes the fixture queued into the server's send queue since connfix_queue_start(). */
uint32_t connfix_queued_out(const struct connfix *fix, uint32_t i);

/*
 * Building blocks, each on connections [lo, hi): what the peer does, what the server does, and
 * waiting for the kernel to get there. The fixture keeps count of every byte and every
 * shutdown, so connfix_verify() knows what each side must read and where a stream must end.
 */
int connfix_peer_send(struct connfix *fix, uint32_t lo, uint32_t hi, uint32_t len) __must_check;
int connfix_peer_shutdown(struct connfix *fix, uint32_t lo, uint32_t hi) __must_check;
int connfix_peer_filter(struct connfix *fix, uint32_t lo, uint32_t hi, int drop) __must_check;
int connfix_server_send(struct connfix *fix, uint32_t lo, uint32_t hi, uint32_t len) __must_check;
int connfix_server_shutdown(struct connfix *fix, uint32_t lo, uint32_t hi) __must_check;
int connfix_server_filter(struct connfix *fix, uint32_t lo, uint32_t hi, int drop) __must_check;
/* Wait until the server's receive queues hold everything the peer sent and it did not read. */
int connfix_wait_inq(struct connfix *fix, uint32_t lo, uint32_t hi) __must_check;
/* Wait until the server's send queues are empty (everything acknowledged). */
int connfix_wait_acked(struct connfix *fix, uint32_t lo, uint32_t hi) __must_check;
/* Wait until the server sockets are in TCP state @state (netinet/tcp.h TCP_*). */
int connfix_wait_state(struct connfix *fix, uint32_t lo, uint32_t hi, int state) __must_check;

/* tcpi_state of a socket, or -errno. */
int connfix_tcp_state(int fd);
const char *connfix_state_name(int state);
/* Attach (@drop != 0) or detach a socket filter that drops every packet the socket receives. */
int connfix_drop_filter(int fd, int drop) __must_check;

#endif /* TEST_LIB_CONNFIX_H */
