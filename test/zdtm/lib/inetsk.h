/*
 * inetsk.h: inet sockets for the tests. Loopback addresses for the three kinds
 * of socket a test is about (IPv4, IPv6, and IPv6 sockets that speak IPv4
 * through v4-mapped addresses), listeners and connected pairs on ephemeral
 * ports (a test never picks a port: other tests may run beside it), reads and
 * writes with a deadline, pattern streams (../lib/pattern.h) over a socket, and
 * what the kernel
 * says of a socket: queue sizes, TCP state, the backlog of a listener, the
 * options it holds.
 *
 * Every call returns 0 (or an fd, or a value) on success and -errno on
 * failure, with errno set to the same error so that fail() names it.
 */
#ifndef ZDTM_INETSK_H
#define ZDTM_INETSK_H

#include <netinet/in.h>
#include <netinet/tcp.h> /* TCP_ESTABLISHED... for tsk_tcp_state() */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "pattern.h" /* ../lib: pattern_fill(), pattern_check(), pattern_stream() */

/* One direction of a connection: a pattern stream and how far it has gone. */
struct tsk_stream {
	uint32_t id;
	uint64_t off; /* the offset of the next byte */
};

static inline void tsk_stream_init(struct tsk_stream *s, uint32_t id)
{
	s->id = id;
	s->off = 0;
}

enum tsk_kind {
	TSK_INET4,  /* AF_INET, 127.0.0.1 */
	TSK_INET6,  /* AF_INET6, ::1, IPV6_V6ONLY on */
	TSK_MAPPED, /* AF_INET6, ::ffff:127.0.0.1, IPV6_V6ONLY off */
};

struct tsk_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* Room for "[ffff:...]:65535" and "255.255.255.255:65535". */
#define TSK_ADDR_STRLEN (INET6_ADDRSTRLEN + 8)

/* The default deadline of a test's socket I/O, in milliseconds. */
#define TSK_TIMEOUT_MS 5000

int tsk_domain(enum tsk_kind kind);
const char *tsk_kind_name(enum tsk_kind kind);

/* The loopback address sockets of this kind bind and connect to. */
void tsk_addr_loopback(enum tsk_kind kind, uint16_t port, struct tsk_addr *a);
uint16_t tsk_addr_port(const struct tsk_addr *a);
bool tsk_addr_equal(const struct tsk_addr *a, const struct tsk_addr *b);
/* "127.0.0.1:4242" or "[::1]:4242", for messages. */
const char *tsk_addr_str(const struct tsk_addr *a, char *buf, size_t size);
int tsk_sockname(int fd, struct tsk_addr *a);
int tsk_peername(int fd, struct tsk_addr *a);

/* A socket of the kind's domain; type is SOCK_STREAM or SOCK_DGRAM (flags allowed). */
int tsk_socket(enum tsk_kind kind, int type);
/* The same with a protocol (IPPROTO_UDPLITE...; 0: the type's default). */
int tsk_socket_proto(enum tsk_kind kind, int type, int proto);
/* Binds fd to the kind's loopback address on an ephemeral port; *name (if not NULL) gets the result. */
int tsk_bind_loopback(int fd, enum tsk_kind kind, struct tsk_addr *name);
/*
 * A listening TCP socket on the kind's loopback address. rcvbuf, when not 0,
 * is set with SO_RCVBUF before listen(), so that every connection it accepts
 * advertises a window that small.
 */
int tsk_listener(enum tsk_kind kind, int backlog, int rcvbuf);
/* A TCP socket of the kind connected to *to; rcvbuf as for tsk_listener(). */
int tsk_connect(enum tsk_kind kind, const struct tsk_addr *to, int rcvbuf);
int tsk_accept(int lfd, int timeout_ms);
/*
 * A connection through the listener lfd: *cli is a new socket of the kind
 * (with rcvbuf as for tsk_listener()) connected to lfd's port on the kind's
 * loopback address, *srv the socket lfd accepted for it.
 */
int tsk_pair(int lfd, enum tsk_kind kind, int rcvbuf, int *cli, int *srv);

/*
 * Exactly len bytes, or an error: -ETIMEDOUT once timeout_ms passed,
 * -ENODATA for the end of the stream before len bytes, or the socket's error.
 * They work on blocking and non-blocking sockets alike.
 */
int tsk_write_all(int fd, const void *buf, size_t len, int timeout_ms);
int tsk_read_all(int fd, void *buf, size_t len, int timeout_ms);
/* The next len bytes of the stream, sent or received and checked (-EILSEQ, logged). */
int tsk_send_stream(int fd, struct tsk_stream *s, size_t len, int timeout_ms);
int tsk_recv_stream(int fd, struct tsk_stream *s, size_t len, int timeout_ms);
/* 0 at the end of the stream, -EPROTO when data came instead. */
int tsk_read_eof(int fd, int timeout_ms);

struct tsk_queues {
	int inq;    /* SIOCINQ: received, not read (TCP) / next datagram's size (UDP) */
	int outq;   /* SIOCOUTQ: written, not acknowledged */
	int unsent; /* SIOCOUTQNSD: written, not sent yet (TCP only) */
};

int tsk_queues(int fd, struct tsk_queues *q);
/* Waits until fd has at least inq bytes to read; returns how many it has. */
int tsk_wait_inq(int fd, int inq, int timeout_ms);
/* tcpi_state from TCP_INFO (TCP_ESTABLISHED...). */
int tsk_tcp_state(int fd);
/* 1 while the socket is in TCP repair mode, 0 when it is not. */
int tsk_tcp_repair(int fd);
const char *tsk_tcp_state_name(int state);
/* The backlog a listening socket was given and how many connections wait in it (sock_diag). */
int tsk_listen_backlog(int fd, int *backlog, int *queued);
/* A socket option, read back raw with getsockopt(). */
struct tsk_opt {
	int level, name;
	const char *label;
};

#define TSK_OPT(level, name)       \
	{                          \
		level, name, #name \
	}

struct tsk_optval {
	socklen_t len;
	uint8_t val[32]; /* an int, a struct linger, a struct timeval, an interface name */
};

/*
 * The options criu must carry over for a socket of this kind and type
 * (SOCK_STREAM or SOCK_DGRAM): SOL_SOCKET ones, TCP ones for a stream, and
 * IP_TOS or IPV6_TCLASS and IPV6_V6ONLY by family. Returns how many.
 */
int tsk_opts_table(enum tsk_kind kind, int type, const struct tsk_opt **opts);
int tsk_opts_get(int fd, const struct tsk_opt *opts, int n, struct tsk_optval *vals);
/* Reads the options again and logs each one that is not as in vals: returns how many, or -errno. */
int tsk_opts_changed(int fd, const char *what, const struct tsk_opt *opts, int n, const struct tsk_optval *vals);

/* Raises RLIMIT_NOFILE's soft limit to at least n (never above the hard limit: -EMFILE). */
int tsk_nofile_raise(int n);

#endif /* ZDTM_INETSK_H */
