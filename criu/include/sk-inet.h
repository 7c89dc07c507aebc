/*
 * AF_INET and AF_INET6 sockets (TCP and UDP), the INETSK kind of fd: at dump,
 * what sock_diag (sk-diag.h) and the socket's options tell, as inet_sk_entry
 * in files.img; at restore, the socket rebuilt by criu before the fork with
 * its options, address, peer and backlog. TCP connections (ESTABLISHED and
 * the half-closed states) are recorded here too, but their state and queues
 * are taken and rebuilt in batches by sk-tcp.c.
 */
#ifndef CRIU_NG_SK_INET_H
#define CRIU_NG_SK_INET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fd-kind.h"
#include "files-reg.h"
#include "sk-diag.h"
#include "sk-opts.h"

#include "fdinfo.pb-c.h"
#include "sk-inet.pb-c.h"

struct cr_img;
struct libsoccr_ctx;

/* Socket options, as read at dump and set at restore. */
struct inet_sk_opts {
	struct sk_opts_common common;
	uint32_t linger_on, linger_s;
	uint32_t keepcnt, keepidle, keepintvl;
	uint32_t tos, ttl;
	bool reuseaddr, reuseport, broadcast, keepalive, oobinline, dontroute, no_check, freebind, pktinfo;
	bool nodelay, cork; /* TCP */
	char bound_dev[16]; /* IFNAMSIZ */
};

/* One socket of the dumped process. */
struct inet_sk {
	uint32_t id;	/* its file id */
	int fd;		/* the process's first fd for it */
	int dup_fd;	/* criu's copy until its options are read; then a connection's only (sk-tcp.c), else -1 */
	int type;	/* SOCK_STREAM or SOCK_DGRAM */
	bool conn;	/* a TCP connection whose state and queues sk-tcp.c dumps */
	uint32_t flags; /* file status flags (O_NONBLOCK, ...) */
	struct reg_fown fown;
	struct sk_diag diag;
	struct inet_sk_opts opts;
};

struct inet_sk_dump {
	struct sk_diag_table diag;
	struct inet_sk *v;
	size_t nr;
	size_t cap;
	size_t nr_conns; /* TCP connections among them */
	size_t nr_read;	 /* the first nr_read have their options read */
	pid_t pid;	 /* the process, for messages */
};

/* How the dump treats TCP connections (criu's --tcp-established, --tcp-close, --skip-in-flight). */
struct inet_sk_policy {
	bool tcp_established;
	bool tcp_close;
	bool skip_in_flight;
};

/* An fd whose file is a socket, as files.c found it. */
struct inet_sk_fd {
	pid_t pid;
	int fd;
	int dup_fd; /* criu's copy; set to -1 when the socket keeps it */
	uint32_t ino;
	uint32_t flags;
	int family; /* SO_DOMAIN, as the fd walk read it */
	const struct reg_fown *fown;
};

/*
 * Records the socket of @f with the new id @id and takes criu's copy of it
 * (f->dup_fd). A TCP or UDP socket of any state a server holds is accepted; a
 * TCP connection only with --tcp-established (or --tcp-close), and a listener
 * with connections not yet accepted only with --skip-in-flight. Anything else
 * fails with -EOPNOTSUPP and an error naming the fd. Its options are read
 * later, with all the others, by inet_sk_read_opts(). Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int inet_sk_add(struct inet_sk_dump *d, const struct inet_sk_policy *pol,
						    struct inet_sk_fd *f, uint32_t id);

/*
 * Reads the options of every socket added since the last call, in one batch
 * on @soccr (the caller's context), then closes criu's copies of all but the
 * connections. Returns 0 or -errno (logged, naming the socket).
 */
__attribute__((warn_unused_result)) int inet_sk_read_opts(struct inet_sk_dump *d, struct libsoccr_ctx *soccr);

/* True when @sk is a TCP connection whose state and queues sk-tcp.c takes. */
bool inet_sk_is_conn(const struct inet_sk *sk);

/* Appends one INETSK file_entry per socket to @img (files.img). */
__attribute__((warn_unused_result)) int inet_sk_write_files(const struct inet_sk_dump *d, struct cr_img *img);

void inet_sk_dump_free(struct inet_sk_dump *d);

/* Restore. */

/*
 * The SOL_SOCKET options (and TCP keepalive) of an sk_opts_entry that the
 * restore sets, compact: a socket's entry is decoded, copied into this and
 * freed as files.img is read, so that 10,000 connections don't keep 10,000
 * decoded messages. Flags are SKO_*; bound_dev is NULL or a string.
 */
struct sk_opts_img {
	uint32_t sndbuf, rcvbuf, buf_lock;
	uint32_t priority, rcvlowat, mark, linger;
	uint32_t keepcnt, keepidle, keepintvl;
	uint32_t snd_tmo_usec, rcv_tmo_usec;
	uint64_t snd_tmo_sec, rcv_tmo_sec;
	uint32_t flags;
	const char *bound_dev;
};

enum {
	SKO_HAS_BUF_LOCK = 1u << 0,
	SKO_REUSEADDR = 1u << 1,
	SKO_KEEPALIVE = 1u << 2,
	SKO_REUSEPORT = 1u << 3,
	SKO_BROADCAST = 1u << 4,
	SKO_OOBINLINE = 1u << 5,
	SKO_DONTROUTE = 1u << 6,
	SKO_NO_CHECK = 1u << 7,
	SKO_HAS_LINGER = 1u << 8,
	SKO_HAS_KEEPCNT = 1u << 9,
	SKO_HAS_KEEPIDLE = 1u << 10,
	SKO_HAS_KEEPINTVL = 1u << 11,
};

/* @o's options into @c; c->bound_dev points into @o. */
void sk_opts_img_from(const SkOptsEntry *o, struct sk_opts_img *c);

/*
 * What the restore needs of an inet_sk_entry (addresses in network order, as
 * in the image; the IP and TCP options 0 when the image lacks them).
 */
struct inet_sk_img {
	uint32_t id, ino, flags, backlog;
	uint32_t src_addr[4], dst_addr[4];
	uint16_t src_port, dst_port;
	uint8_t family, type, proto, state;
	uint8_t has_v6only : 1, v6only : 1, freebind : 1, pktinfo : 1, nodelay : 1, cork : 1;
	uint8_t shutdown, tos, ttl;
	char *ifname; /* NULL unless bound to a device */
	struct sk_opts_img opts;
};

/* Checks an INETSK file_entry of @img_name. Returns 0, -EINVAL (logged) or -EOPNOTSUPP. */
__attribute__((warn_unused_result)) int inet_sk_check_entry(const FileEntry *fe, const char *img_name);

/*
 * Moves a checked INETSK entry @fe into ri->kind_state (struct inet_sk_img)
 * and frees its socket entry (fe->isk becomes NULL). Returns 0 or -ENOMEM.
 */
__attribute__((warn_unused_result)) int inet_sk_take_entry(struct restore_image *ri, FileEntry *fe,
							   const char *img_name);
/* Sorts what inet_sk_take_entry() kept, for inet_sk_of(). */
__attribute__((warn_unused_result)) int inet_sk_load(int dirfd, struct restore_image *ri);
void inet_sk_load_free(struct restore_image *ri);

/* The socket of INETSK file @file_idx of @ri (never NULL for a loaded image). */
const struct inet_sk_img *inet_sk_of(const struct restore_image *ri, size_t file_idx);

/* True when @sk is a TCP connection to be rebuilt by sk-tcp.c (unless --tcp-close). */
bool inet_sk_img_is_conn(const struct inet_sk_img *sk);

/*
 * Creates the socket @sk in criu's network namespace: options, bound,
 * listening or connected as dumped; a TCP connection (opened here with
 * --tcp-close only) comes back as a closed socket, shut down both ways. With
 * @reuseport it is bound with SO_REUSEPORT, which the caller clears
 * afterwards. Returns the new fd (O_CLOEXEC) or -errno.
 */
__attribute__((warn_unused_result)) int inet_sk_open(const struct inet_sk_img *sk, bool reuseport);

/*
 * Sets the options of @sk on @fd that differ from a new socket's; with
 * @conn_opts false, leaves out those libsoccr restores with a connection
 * (buffers, keepalive, SO_REUSEADDR). Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int inet_sk_set_opts(int fd, const struct inet_sk_img *sk, bool conn_opts);

/*
 * Sets the SOL_SOCKET options of @o on @fd that differ from a new socket's
 * (unix sockets too); buffers only when the application had set them. With
 * @conn_opts false, leaves out buffers, SO_REUSEADDR, SO_KEEPALIVE and
 * SO_LINGER. Returns 0 or -errno (logged).
 */
__attribute__((warn_unused_result)) int sk_opts_set(int fd, const struct sk_opts_img *o, bool conn_opts);

/* The INETSK row of the fd kinds (fd-kind.h): an AF_INET or AF_INET6 socket, recorded by inet_sk_add(). */
bool inet_sk_match(const struct fd_probe *p);
__attribute__((warn_unused_result)) int inet_sk_dump(struct fd_dump_ctx *c, struct fd_probe *p, uint32_t *id);
__attribute__((warn_unused_result)) int inet_sk_write_all(const struct files_dump *fdump, struct cr_img *img);
void inet_sk_free_all(struct files_dump *fdump);
/* Creates every socket the fds need but the TCP connections sk_tcp_restore() rebuilds. 0 or -errno. */
__attribute__((warn_unused_result)) int inet_sk_open_all(const struct restore_image *ri, struct restore_fds *fds);

#endif /* CRIU_NG_SK_INET_H */
