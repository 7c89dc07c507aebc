/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * soccr.h: checkpoint and restore of established TCP connections through the
 * kernel's repair mode, one socket at a time or in batches of thousands.
 *
 * This is the only public header of libsoccr.
 *
 * The sequence a checkpoint/restore tool runs, for N connections:
 *
 *   dump side                              restore side
 *   ---------                              ------------
 *   lock the 4-tuples (firewall, caller)
 *   libsoccr_dump_batch()                  libsoccr_restore_batch()
 *     repair on, read state and queues       socket, repair on, sequence numbers,
 *   store conns[i].data, addresses and       bind + connect (no SYN), options,
 *     conns[i].queues (caller)               queues refilled, then the window
 *   libsoccr_close_batch()                 libsoccr_repair_off_batch()
 *     silent close in repair mode            repair off, then the unsent data
 *                                          unlock (caller)
 *                                          libsoccr_resume_batch()
 *                                            a window probe: traffic resumes now
 *
 * If the dump has to be abandoned, libsoccr_repair_off_batch() on the dumped
 * sockets hands them back to the application untouched.
 *
 * Every batch call takes an array of struct libsoccr_conn (the socket option
 * batches: of struct libsoccr_sockopt), works on it with the context's worker
 * threads (and io_uring rings where the kernel has every operation needed),
 * and leaves a per-entry result in its status: one bad socket fails alone. A
 * batch call returns 0 when every entry succeeded, or the first failed
 * entry's -errno.
 *
 * The context owns the workers, the rings and the log callback: there is no
 * global state, and two contexts can be used at once from different threads.
 * One context serves one batch call at a time. The log callback is called
 * from the workers, possibly at the same time: it must be thread-safe.
 *
 * Worker threads are made by libsoccr_ctx_create() and block every signal.
 * A batch call works in the network namespace of its calling thread at the
 * time of the call: a worker that is in another one joins it (setns) first,
 * so a context made in one namespace restores sockets into the namespace a
 * restore runs in. A worker stays in the last caller's namespace (keeping it
 * alive) until the next batch call or libsoccr_ctx_destroy(). The single-
 * socket calls use no worker.
 *
 * fork(): only while no call of the context runs. The child has none of the
 * worker threads and shares the rings with the parent: it must neither use
 * nor destroy the context (exec or _exit leave it behind). The parent goes
 * on using the context as before.
 */
#ifndef SOCCR_SOCCR_H
#define SOCCR_SOCCR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#ifndef __must_check
#define __must_check __attribute__((warn_unused_result))
#endif

#ifdef __cplusplus
extern "C" {
#endif

struct libsoccr_ctx;

/* Log levels, as CRIU's -v: an error is 1, debug is 4. */
enum {
	SOCCR_LOG_ERR = 1,
	SOCCR_LOG_WARN = 2,
	SOCCR_LOG_INFO = 3,
	SOCCR_LOG_DEBUG = 4,
};

typedef void (*libsoccr_log_fn)(void *arg, unsigned int level, const char *fmt, va_list ap);

/*
 * Gives the memory for one dumped connection's queues (@len bytes), or NULL
 * to let libsoccr malloc() it. Called from the workers at the same time: it
 * must be thread-safe. Memory it gave is the caller's: libsoccr_conn_free_queues()
 * only forgets it.
 */
typedef void *(*libsoccr_alloc_fn)(void *arg, size_t len);

enum libsoccr_backend {
	SOCCR_BACKEND_SYSCALL = 0, /* plain syscalls */
	SOCCR_BACKEND_URING = 1,   /* io_uring batches, syscalls where the ring cannot */
};

/* libsoccr_ctx_opts.flags */
#define SOCCR_CTX_NO_URING (1u << 0) /* never use io_uring, even if the kernel can */

struct libsoccr_ctx_opts {
	uint32_t size;	     /* sizeof(struct libsoccr_ctx_opts): lets the struct grow */
	uint32_t flags;	     /* SOCCR_CTX_* */
	uint32_t workers;    /* threads working a batch, caller included; 0: one per online CPU */
	uint32_t chunk;	     /* connections per ring submission; 0: default (64) */
	libsoccr_log_fn log; /* NULL: no messages */
	void *log_arg;
	unsigned int log_level; /* messages above this level are not formatted */
	/*
	 * Where dumps put the queues; NULL: malloc(). A caller that knows the
	 * total beforehand can hand out one region (faulted in once, or with
	 * huge pages) instead of thousands of small buffers each faulted page
	 * by page.
	 */
	libsoccr_alloc_fn queue_alloc;
	void *queue_arg;
};

int libsoccr_ctx_create(const struct libsoccr_ctx_opts *opts, struct libsoccr_ctx **ctxp) __must_check;
void libsoccr_ctx_destroy(struct libsoccr_ctx *ctx);
enum libsoccr_backend libsoccr_ctx_backend(const struct libsoccr_ctx *ctx);
unsigned int libsoccr_ctx_workers(const struct libsoccr_ctx *ctx);
const char *libsoccr_backend_name(enum libsoccr_backend backend);

/* libsoccr_sk_data.flags: which optional parts were read (presence bits) */
#define SOCCR_HAS_WINDOW (1u << 0)    /* snd_wl1 .. rcv_wup */
#define SOCCR_HAS_KEEPALIVE (1u << 1) /* keepidle, keepintvl, keepcnt */
#define SOCCR_HAS_BUFS (1u << 2)      /* sndbuf, rcvbuf */
#define SOCCR_HAS_V6ONLY (1u << 3)    /* v6only (AF_INET6 sockets) */

/* libsoccr_sk_data.opt_mask: options negotiated at the handshake (TCPI_OPT_* values) */
#define SOCCR_OPT_TIMESTAMPS 1u
#define SOCCR_OPT_SACK 2u
#define SOCCR_OPT_WSCALE 4u

/*
 * The state of one connection, as plain data the caller stores, in groups: what
 * was read (flags) and the TCP state; the two queues; what the handshake
 * negotiated; the windows; the socket options set again on restore. The field
 * names are those of the tcp_stream_entry image fields each one is stored in
 * (images/tcp-stream.proto), so an adapter copies them by name. Sequence
 * numbers are the dump-time values: inq_seq is the next byte expected from the
 * peer (after the receive queue), outq_seq the next byte this side will write
 * (after the send queue). A FIN of a half-closed connection is not counted in
 * either: it is rebuilt from the state.
 */
struct libsoccr_sk_data {
	uint32_t flags; /* SOCCR_HAS_* */
	uint32_t state; /* TCP_ESTABLISHED, TCP_FIN_WAIT1, ... (netinet/tcp.h) */

	/* receive queue: bytes waiting to be read by the application */
	uint32_t inq_seq;
	uint32_t inq_len;
	/* send queue: sent but unacknowledged, then unsent */
	uint32_t outq_seq;
	uint32_t outq_len;
	uint32_t unsq_len; /* the unsent tail of the send queue */

	/* negotiated at the handshake */
	uint32_t opt_mask; /* SOCCR_OPT_* */
	uint32_t mss_clamp;
	uint32_t rcv_wscale;
	uint32_t snd_wscale;
	uint32_t timestamp; /* TCP_TIMESTAMP: the connection's timestamp clock */

	/* windows (SOCCR_HAS_WINDOW): TCP_REPAIR_WINDOW */
	uint32_t rcv_wnd;
	uint32_t rcv_wup;
	uint32_t snd_wnd;
	uint32_t snd_wl1;
	uint32_t max_window;

	/* socket options */
	uint32_t nodelay;
	uint32_t cork;
	uint32_t reuseaddr; /* SO_REUSEADDR, read before repair mode (which forces reuse) */
	uint32_t v6only;
	uint32_t sndbuf; /* as getsockopt(SO_SNDBUF) reports it (the kernel's doubled value) */
	uint32_t rcvbuf;
	uint32_t keepalive;
	uint32_t keepidle;
	uint32_t keepintvl;
	uint32_t keepcnt;
};

/* An address of either family; the family field of each member is at the same place. */
union libsoccr_addr {
	struct sockaddr_in6 in6;
	struct sockaddr_in in4;
	struct sockaddr any;
};

/* libsoccr_conn.flags (bits 16 and up are the library's own) */
#define SOCCR_CONN_ADDRS (1u << 0)    /* src and dst are set by the caller: dump need not ask the socket */
#define SOCCR_CONN_UNSENT (1u << 1)   /* set by restore: repair off must still write the unsent data */
#define SOCCR_CONN_NONBLOCK (1u << 2) /* set by the caller: restore makes the socket O_NONBLOCK */

/*
 * One connection in a batch.
 *
 * dump:    in: fd (and src/dst with SOCCR_CONN_ADDRS). out: status, data, src, dst
 *          and queues: one malloc'ed buffer holding data.inq_len bytes of receive
 *          queue followed by data.outq_len bytes of send queue (dump sets queues
 *          without looking at it: free an earlier buffer first). Free it with
 *          libsoccr_conn_free_queues().
 * restore: in: data, src, dst, queues (any memory, only read until repair off
 *          returned). out: status, fd (a new socket in repair mode, with
 *          O_CLOEXEC: dup it to its place), flags.
 *
 * Buffers: a restored socket gets SO_SNDBUF/SO_RCVBUF forced to at least its
 * dumped sizes and large enough for its queues, which (as with setsockopt)
 * turns off the kernel's buffer autotuning for it. To give it a smaller
 * receive buffer back, do so before libsoccr_repair_off_batch(): the window
 * probe sent at repair off advertises a window computed from the buffer of
 * that moment, which the kernel never takes back, and data the peer sends
 * into it beyond the smaller buffer is dropped until retransmitted.
 */
struct libsoccr_conn {
	int fd;
	int status; /* 0 or -errno of the last batch call that touched this connection */
	uint32_t flags;
	union libsoccr_addr src; /* this side */
	union libsoccr_addr dst; /* the peer */
	struct libsoccr_sk_data data;
	char *queues;
};

void libsoccr_conn_free_queues(struct libsoccr_conn *conn);

/*
 * True (1) for the TCP states a connection can be dumped and restored in:
 * ESTABLISHED and the half-closed ones (FIN_WAIT1, FIN_WAIT2, CLOSE_WAIT,
 * LAST_ACK, CLOSING).
 */
int libsoccr_state_supported(uint32_t state);
void libsoccr_conns_free_queues(struct libsoccr_conn *conns, size_t n);

/*
 * Batch calls. Each works on every connection of the array whose fd is not
 * negative (restore: on every connection), sets its status and returns 0 if
 * all succeeded, else the first failure's -errno.
 *
 * libsoccr_dump_batch: repair on, then read the state, options and both queues.
 *   Only ESTABLISHED and the half-closed states (FIN_WAIT1, FIN_WAIT2,
 *   CLOSE_WAIT, LAST_ACK, CLOSING) of IPv4 and IPv6 TCP sockets are accepted.
 *   A connection that fails is left with repair mode off.
 * libsoccr_close_batch: close the sockets (silently, if in repair mode); fd = -1.
 * libsoccr_restore_batch: rebuild each connection in repair mode into a new fd.
 * libsoccr_repair_off_batch: leave repair mode; for restored connections then
 *   write the unsent part of the send queue.
 * libsoccr_resume_batch: after the network lock is lifted, a window probe on
 *   each connection, so that the peer answers at once. Without it the
 *   connections wait for their retransmission timers (a second or more, and
 *   10,000 timers firing in the same tick overflow the input backlog).
 */
int libsoccr_dump_batch(struct libsoccr_ctx *ctx, struct libsoccr_conn *conns, size_t n) __must_check;
int libsoccr_close_batch(struct libsoccr_ctx *ctx, struct libsoccr_conn *conns, size_t n) __must_check;
int libsoccr_restore_batch(struct libsoccr_ctx *ctx, struct libsoccr_conn *conns, size_t n) __must_check;
int libsoccr_repair_off_batch(struct libsoccr_ctx *ctx, struct libsoccr_conn *conns, size_t n) __must_check;
int libsoccr_resume_batch(struct libsoccr_ctx *ctx, struct libsoccr_conn *conns, size_t n) __must_check;

/* The same steps for one connection, with plain syscalls in the calling thread. */
int libsoccr_dump(struct libsoccr_ctx *ctx, struct libsoccr_conn *conn) __must_check;
int libsoccr_close(struct libsoccr_ctx *ctx, struct libsoccr_conn *conn) __must_check;
int libsoccr_restore(struct libsoccr_ctx *ctx, struct libsoccr_conn *conn) __must_check;
int libsoccr_repair_off(struct libsoccr_ctx *ctx, struct libsoccr_conn *conn) __must_check;

/*
 * Socket options of many sockets at once, for what a checkpoint reads (and a
 * restore sets) besides the connections' state: one entry per option of a
 * socket, any socket (listening, UDP, a connection, not only TCP).
 *
 * get: in: fd, level, name, val with len bytes of room. out: status, the value
 *      in val and len, the length the kernel wrote (getsockopt's optlen).
 * set: in: fd, level, name, val, len. out: status.
 *
 * status is 0 or the -errno that getsockopt(2) or setsockopt(2) gives for
 * that option alone. An entry with a negative fd is skipped and left as it is.
 */
struct libsoccr_sockopt {
	int fd;
	int level; /* SOL_SOCKET, SOL_TCP, SOL_IP, ... */
	int name;
	uint32_t len; /* the size of val; get: then the length of the value */
	void *val;
	int status;
};

/*
 * libsoccr_getsockopt_batch, libsoccr_setsockopt_batch: every entry of @ops,
 * in chunks on the context's workers, each entry on its own: one that fails
 * leaves the others alone. Return 0 when every entry succeeded, else the
 * status of the first one (lowest index) that failed.
 *
 * The entries are run in no particular order and at once on several workers:
 * one array must not set an option twice nor read one that it sets.
 *
 * io_uring (socket commands, Linux 6.7; used even where the connection
 * batches are on syscalls, unless SOCCR_CTX_NO_URING) reads the SOL_SOCKET
 * options and sets options of every level, all of a chunk in one submission;
 * getsockopt at other levels is a plain syscall, as the kernel's ring command
 * reads SOL_SOCKET only. A ring that fails hands its entries to syscalls, and
 * an entry the ring refuses with -EOPNOTSUPP (its answer for an fd that is
 * no socket) is asked again by syscall: the statuses are the syscalls' own.
 *
 * Neither call depends on the caller's network namespace: a socket's options
 * are its own wherever it is.
 */
int libsoccr_getsockopt_batch(struct libsoccr_ctx *ctx, struct libsoccr_sockopt *ops, size_t n) __must_check;
int libsoccr_setsockopt_batch(struct libsoccr_ctx *ctx, struct libsoccr_sockopt *ops, size_t n) __must_check;

/*
 * Packets libsoccr itself sends to rebuild a half-closed connection (the
 * peer's FIN, replayed into the restored socket) carry this mark, so that a
 * network lock can let them through while it drops everything else. The value
 * is "socc" in ASCII: a whole 32-bit word, unlikely to be a mark the host's
 * own firewall or routing rules already use. Only criu-ng's own locks exempt
 * it (criu/net-lock.c), so any value would do; it is part of the ABI only in
 * that a caller locking the network itself must let it through.
 */
#define SOCCR_MARK 0x736f6363u

#ifdef __cplusplus
}
#endif

#endif /* SOCCR_SOCCR_H */
