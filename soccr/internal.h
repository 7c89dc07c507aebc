/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * internal.h: what the pieces of libsoccr share and the caller never sees:
 * the context, logging, the per-connection steps and the backends.
 */
#ifndef SOCCR_INTERNAL_H
#define SOCCR_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <netinet/tcp.h>
#include <sys/types.h>

#include "soccr.h"

/* ring entries per connection of a chunk: a restore chain is the longest */
#define SOCCR_RING_SQES_PER_CONN 25
/* socket options per connection of a chunk: a chunk of options fits the same ring */
#define SOCCR_SOCKOPTS_PER_CONN 16

/* What the kernel lets a ring do, as soccr_ring_probe() found */
#define SOCCR_RING_SOCKOPT (1u << 0) /* the socket option commands (Linux 6.7) */
#define SOCCR_RING_CONNS (1u << 1)   /* every step of the connection batches (6.11) */

struct soccr_pool;
struct soccr_ring;

struct libsoccr_ctx {
	libsoccr_log_fn log;
	void *log_arg;
	libsoccr_alloc_fn queue_alloc;
	void *queue_arg;
	unsigned int log_level;
	uint32_t flags;
	unsigned int chunk;
	enum libsoccr_backend backend; /* of the connection batches: URING needs SOCCR_RING_CONNS */
	struct soccr_pool *pool;
	/* one ring per worker (index 0 is the calling thread), NULL without io_uring */
	struct soccr_ring **rings;
	unsigned int ring_caps; /* SOCCR_RING_* */
	/* the network namespace each worker is in; worker w writes only its own entry */
	struct soccr_netns *worker_netns;
	unsigned int nr_workers;
};

/* A network namespace, as its nsfs inode tells it apart */
struct soccr_netns {
	dev_t dev;
	ino_t ino;
};

/* Internal libsoccr_conn.flags: what repair-off still has to rebuild */
#define SOCCR_CONN_OUR_FIN (1u << 16)	 /* our FIN: shutdown(SHUT_WR) */
#define SOCCR_CONN_PEER_FIN (1u << 17)	 /* the peer's FIN: replayed */
#define SOCCR_CONN_PEER_ACK (1u << 18)	 /* the peer's ACK of our FIN (FIN_WAIT2): replayed */
#define SOCCR_CONN_EXT_QUEUES (1u << 19) /* the queues came from ctx->queue_alloc: not ours to free */
#define SOCCR_CONN_SEGMENTS (SOCCR_CONN_OUR_FIN | SOCCR_CONN_PEER_FIN | SOCCR_CONN_PEER_ACK)
#define SOCCR_CONN_PENDING (SOCCR_CONN_UNSENT | SOCCR_CONN_SEGMENTS)

void soccr_log(const struct libsoccr_ctx *ctx, unsigned int level, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

#define soccr_err(ctx, fmt, ...) soccr_log(ctx, SOCCR_LOG_ERR, __FILE__, __LINE__, fmt, ##__VA_ARGS__)
#define soccr_warn(ctx, fmt, ...) soccr_log(ctx, SOCCR_LOG_WARN, __FILE__, __LINE__, fmt, ##__VA_ARGS__)
#define soccr_info(ctx, fmt, ...) soccr_log(ctx, SOCCR_LOG_INFO, __FILE__, __LINE__, fmt, ##__VA_ARGS__)
#define soccr_debug(ctx, fmt, ...) soccr_log(ctx, SOCCR_LOG_DEBUG, __FILE__, __LINE__, fmt, ##__VA_ARGS__)

/* The type a restore gives socket(): SOCK_STREAM, O_CLOEXEC, and O_NONBLOCK if asked */
int soccr_restore_sock_type(const struct libsoccr_conn *c);

/* Half-closed states: which FIN exists */
bool soccr_state_fin_sent(uint32_t state);     /* ours is in the sequence space */
bool soccr_state_fin_queued(uint32_t state);   /* ours is still in the send queue (unacknowledged) */
bool soccr_state_fin_received(uint32_t state); /* the peer's */

/* What a restore needs in its buffers so the queues fit (setsockopt values) */
uint32_t soccr_sndbuf_for(const struct libsoccr_sk_data *d);
uint32_t soccr_rcvbuf_for(const struct libsoccr_sk_data *d);
/* The TCP_REPAIR_WINDOW value a restore sets */
void soccr_repair_window(const struct libsoccr_sk_data *d, struct tcp_repair_window *win);
/* The TCP_REPAIR_OPTIONS array for a connection; returns the count */
unsigned int soccr_repair_opts(const struct libsoccr_sk_data *d, struct tcp_repair_opt *opts);

/* Dump-time fix-ups from what the kernel reported to what the image holds */
void soccr_dump_adjust_fin(struct libsoccr_sk_data *d);
int soccr_restore_check(const struct libsoccr_ctx *ctx, const struct libsoccr_conn *c);

/* Single-connection steps with plain syscalls (soccr.c) */
int soccr_sys_dump(const struct libsoccr_ctx *ctx, struct libsoccr_conn *c);
int soccr_sys_restore(const struct libsoccr_ctx *ctx, struct libsoccr_conn *c);
int soccr_sys_repair_off(const struct libsoccr_ctx *ctx, struct libsoccr_conn *c);
int soccr_sys_close(struct libsoccr_conn *c);
int soccr_sys_resume(const struct libsoccr_ctx *ctx, struct libsoccr_conn *c);
int soccr_sys_sockopt(struct libsoccr_sockopt *op, bool set);
int soccr_finish_pending(const struct libsoccr_ctx *ctx, struct libsoccr_conn *c);
int soccr_unsent_rest(const struct libsoccr_ctx *ctx, const struct libsoccr_conn *c, uint32_t done);

/* Pieces of the steps that the ring backend shares (soccr.c) */
int soccr_dump_probe(const struct libsoccr_ctx *ctx, struct libsoccr_conn *c);
int soccr_dump_tcp_opts(int fd, struct libsoccr_sk_data *d, int family);
int soccr_dump_alloc_queues(const struct libsoccr_ctx *ctx, struct libsoccr_conn *c);
void soccr_dump_abort(const struct libsoccr_ctx *ctx, struct libsoccr_conn *c, int err);
int soccr_dump_undo_repair(const struct libsoccr_conn *c);
int soccr_restore_finish(struct libsoccr_conn *c);
int soccr_restore_sendq_rest(const struct libsoccr_ctx *ctx, const struct libsoccr_conn *c, uint32_t done);
int soccr_reuseaddr_restore(const struct libsoccr_conn *c);
int soccr_queue_seq(int fd, int queue, bool select, uint32_t *seq);
int soccr_ioctl_outq_unsent(int fd, uint32_t *len);
socklen_t soccr_addr_len(const union libsoccr_addr *a);

/* Worker pool (pool.c): run fn(arg, worker) on every worker, caller included as worker 0 */
typedef void (*soccr_work_fn)(void *arg, unsigned int worker);
int soccr_pool_create(unsigned int nr_workers, struct soccr_pool **poolp);
void soccr_pool_destroy(struct soccr_pool *pool);
void soccr_pool_run(struct soccr_pool *pool, soccr_work_fn fn, void *arg);

/* io_uring backend (uring.c): one ring per worker; each call works a chunk of connections or options */
int soccr_ring_create(unsigned int entries, struct soccr_ring **ringp);
void soccr_ring_destroy(struct soccr_ring *ring);
int soccr_ring_probe(struct soccr_ring *ring, unsigned int *caps);
bool soccr_ring_broken(const struct soccr_ring *ring);
void soccr_ring_dump(const struct libsoccr_ctx *ctx, struct soccr_ring *ring, struct libsoccr_conn *c, size_t n);
void soccr_ring_restore(const struct libsoccr_ctx *ctx, struct soccr_ring *ring, struct libsoccr_conn *c, size_t n);
void soccr_ring_repair_off(const struct libsoccr_ctx *ctx, struct soccr_ring *ring, struct libsoccr_conn *c, size_t n);
void soccr_ring_resume(const struct libsoccr_ctx *ctx, struct soccr_ring *ring, struct libsoccr_conn *c, size_t n);
void soccr_ring_close(const struct libsoccr_ctx *ctx, struct soccr_ring *ring, struct libsoccr_conn *c, size_t n);
void soccr_ring_sockopt(const struct libsoccr_ctx *ctx, struct soccr_ring *ring, struct libsoccr_sockopt *ops, size_t n,
			bool set);

#endif /* SOCCR_INTERNAL_H */
