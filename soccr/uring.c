// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * uring.c: the io_uring backend. A worker fills its ring with one linked
 * chain of operations per connection of a chunk, submits once and reaps the
 * completions in bulk. Links keep each connection's steps in order (repair
 * mode needs them ordered) and stop a connection at its first failure without
 * touching the others. Every step posts its completion: with
 * IOSQE_CQE_SKIP_SUCCESS a failed step may take the rest of its chain's
 * completions with it, and the reaper could not tell when a round is over.
 * A round ends when as many completions came back as steps were queued.
 *
 * What a ring cannot do — getsockopt at SOL_TCP, getsockname, SIOCOUTQNSD —
 * stays a plain syscall between two ring rounds.
 *
 * A socket option batch has no chains: each option is one step of its own.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <liburing.h>

#include "internal.h"

/*
 * Kernel ABI numbers newer than Debian 12's liburing headers: socket
 * commands of IORING_OP_URING_CMD (Linux 6.7) and IORING_OP_BIND (6.11).
 */
#define RING_SOCK_SIOCINQ 0
#define RING_SOCK_SIOCOUTQ 1
#define RING_SOCK_GETSOCKOPT 2
#define RING_SOCK_SETSOCKOPT 3
#define RING_OP_BIND 56

struct soccr_ring {
	struct io_uring ring;
	unsigned int queued; /* steps queued in this round, not yet completed */
	bool broken;	     /* a submission failed for good: use syscalls */
	int error;	     /* what it failed with */
};

/* What each ring operation is, for results and error messages */
enum ring_tag {
	TAG_NONE,
	TAG_SOCKET,
	TAG_REUSE,
	TAG_REPAIR_ON,
	TAG_REPAIR_OFF,
	TAG_QUEUE,
	TAG_SEQ,
	TAG_BUFS,
	TAG_INQ,
	TAG_OUTQ,
	TAG_SOCKOPT,
	TAG_GETSOCKOPT,
	TAG_BIND,
	TAG_CONNECT,
	TAG_OPTIONS,
	TAG_WINDOW,
	TAG_SEND_RECVQ,
	TAG_SEND_SENDQ,
	TAG_SEND_UNSENT,
	TAG_PEEK_RECVQ,
	TAG_PEEK_SENDQ,
	TAG_CLOSE,
	TAG_MAX,
};

static const char *const tag_names[TAG_MAX] = {
	[TAG_NONE] = "?",
	[TAG_SOCKET] = "socket",
	[TAG_REUSE] = "SO_REUSEADDR",
	[TAG_REPAIR_ON] = "repair on",
	[TAG_REPAIR_OFF] = "repair off",
	[TAG_QUEUE] = "TCP_REPAIR_QUEUE",
	[TAG_SEQ] = "TCP_QUEUE_SEQ",
	[TAG_BUFS] = "socket buffers",
	[TAG_INQ] = "SIOCINQ",
	[TAG_OUTQ] = "SIOCOUTQ",
	[TAG_SOCKOPT] = "socket option",
	[TAG_GETSOCKOPT] = "getsockopt",
	[TAG_BIND] = "bind",
	[TAG_CONNECT] = "connect",
	[TAG_OPTIONS] = "TCP_REPAIR_OPTIONS",
	[TAG_WINDOW] = "TCP_REPAIR_WINDOW",
	[TAG_SEND_RECVQ] = "refilling the receive queue",
	[TAG_SEND_SENDQ] = "refilling the send queue",
	[TAG_SEND_UNSENT] = "writing the unsent data",
	[TAG_PEEK_RECVQ] = "reading the receive queue",
	[TAG_PEEK_SENDQ] = "reading the send queue",
	[TAG_CLOSE] = "close",
};

static const int opt_one = 1;
static const int opt_repair_off = TCP_REPAIR_OFF;
static const int opt_recv_queue = TCP_RECV_QUEUE;
static const int opt_send_queue = TCP_SEND_QUEUE;

/* user_data: connection index in the chunk, then the tag */
static inline uint64_t ud_make(unsigned int idx, unsigned int tag)
{
	return ((uint64_t)idx << 16) | tag;
}

/* What a chunk's rounds know of one connection */
struct ring_slot {
	uint32_t partial;   /* bytes a send wrote when the buffer cut it short */
	uint32_t ok;	    /* the tags of the steps that succeeded (1 << tag) */
	uint8_t failed_tag; /* the step that failed first */
	uint8_t pending;    /* steps queued, not completed */
	bool fallback;	    /* the ring could not run it: plain syscalls do */
};

/* What the completions of one round go to: connections, or the entries of a socket option batch */
struct ring_round {
	struct libsoccr_conn *conns;
	struct libsoccr_sockopt *ops;
	struct ring_slot *slot;
};

static void round_init(struct ring_round *rr, struct libsoccr_conn *conns, size_t n, struct ring_slot *slot)
{
	rr->conns = conns;
	rr->ops = NULL;
	rr->slot = slot;
	memset(slot, 0, n * sizeof(slot[0]));
}

/* One connection's chain being filled */
struct chain {
	struct soccr_ring *r;
	struct ring_slot *slot;
	struct io_uring_sqe *prev;
	unsigned int idx;
};

static void chain_start(struct chain *ch, struct soccr_ring *r, struct ring_round *rr, unsigned int idx)
{
	ch->r = r;
	ch->slot = &rr->slot[idx];
	ch->prev = NULL;
	ch->idx = idx;
}

/*
 * The next step of the chain. The space was checked by the caller for the
 * whole chain: a chain must not be cut by a submission.
 */
static struct io_uring_sqe *chain_next(struct chain *ch)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ch->r->ring);

	ch->r->queued++;
	ch->slot->pending++;
	if (ch->prev)
		ch->prev->flags |= IOSQE_IO_LINK;
	ch->prev = sqe;
	return sqe;
}

/* Called after the prep helper, which clears flags. */
static void chain_tag(struct chain *ch, struct io_uring_sqe *sqe, unsigned int tag)
{
	sqe->user_data = ud_make(ch->idx, tag);
}

/* The chain's last step links to nothing. */
static void chain_end(struct chain *ch)
{
	ch->prev->flags &= ~IOSQE_IO_LINK;
}

static void chain_sockopt(struct chain *ch, unsigned int cmd, int level, int name, const void *val, int len,
			  unsigned int tag, int fd)
{
	struct io_uring_sqe *sqe = chain_next(ch);

	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, NULL, 0, 0);
	sqe->cmd_op = cmd;
	sqe->addr = (uint64_t)(uint32_t)level | ((uint64_t)(uint32_t)name << 32);
	sqe->splice_fd_in = len;
	sqe->addr3 = (uint64_t)(uintptr_t)val;
	chain_tag(ch, sqe, tag);
}

static void chain_setsockopt(struct chain *ch, int fd, int level, int name, const void *val, int len, unsigned int tag)
{
	chain_sockopt(ch, RING_SOCK_SETSOCKOPT, level, name, val, len, tag, fd);
}

static void chain_ioctl(struct chain *ch, int fd, unsigned int cmd, unsigned int tag)
{
	struct io_uring_sqe *sqe = chain_next(ch);

	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, NULL, 0, 0);
	sqe->cmd_op = cmd;
	chain_tag(ch, sqe, tag);
}

int soccr_ring_create(unsigned int entries, struct soccr_ring **ringp)
{
	struct soccr_ring *r = calloc(1, sizeof(*r));
	int ret;

	if (!r)
		return -ENOMEM;
	ret = io_uring_queue_init(entries, &r->ring, IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN);
	if (ret == -EINVAL)
		ret = io_uring_queue_init(entries, &r->ring, 0);
	if (ret) {
		free(r);
		return ret;
	}
	*ringp = r;
	return 0;
}

void soccr_ring_destroy(struct soccr_ring *r)
{
	if (!r)
		return;
	io_uring_queue_exit(&r->ring);
	free(r);
}

bool soccr_ring_broken(const struct soccr_ring *r)
{
	return r->broken;
}

typedef void (*ring_reap_fn)(struct ring_round *rr, unsigned int idx, unsigned int tag, int res);

static void ring_reap(struct soccr_ring *r, struct ring_round *rr, ring_reap_fn reap)
{
	struct io_uring_cqe *cqe;
	unsigned int head, seen = 0;

	io_uring_for_each_cqe(&r->ring, head, cqe) {
		unsigned int idx = cqe->user_data >> 16, tag = cqe->user_data & 0xff;

		rr->slot[idx].pending--;
		if (cqe->res >= 0)
			rr->slot[idx].ok |= 1u << tag;
		reap(rr, idx, tag, cqe->res);
		seen++;
	}
	io_uring_cq_advance(&r->ring, seen);
	r->queued -= seen;
}

/* The ring failed for good: its worker goes on with plain syscalls. */
static void ring_break(struct soccr_ring *r, int err)
{
	r->broken = true;
	r->error = err;
}

/*
 * Submit what is queued and reap until every step of the round completed.
 * If the ring cannot submit any more, wait for what is in flight (it points
 * into the caller's memory), then leave the ring for good: what it could not
 * submit stays unsubmitted, and the context goes on with syscalls.
 */
static int ring_run(struct soccr_ring *r, struct ring_round *rr, ring_reap_fn reap)
{
	int ret = 0;

	while (r->queued) {
		ret = io_uring_submit_and_wait(&r->ring, 1);
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY)
			break;
		ret = 0;
		ring_reap(r, rr, reap);
	}
	if (!ret)
		return 0;
	ring_break(r, ret);
	while (io_uring_sq_ready(&r->ring) < r->queued) {
		struct io_uring_cqe *cqe;
		int err = io_uring_wait_cqe(&r->ring, &cqe);

		/* waiting may be what fails: the ring's steps complete without us */
		if (err && err != -EINTR && err != -EAGAIN && err != -EBUSY && usleep(1000) && errno != EINTR)
			break;
		ring_reap(r, rr, reap);
	}
	return ret;
}

/* A step failed: the connection keeps its first real error and the step's name. */
static void reap_error(struct libsoccr_conn *c, struct ring_slot *s, unsigned int tag, int res)
{
	if (res >= 0 || (c->status && !(c->status == -ECANCELED && res != -ECANCELED)))
		return;
	c->status = res;
	s->failed_tag = tag;
}

static void reap_generic(struct ring_round *rr, unsigned int idx, unsigned int tag, int res)
{
	struct ring_slot *s = &rr->slot[idx];
	struct libsoccr_conn *c = &rr->conns[idx];
	struct libsoccr_sk_data *d = &c->data;
	uint32_t want = 0;

	if (res < 0) {
		reap_error(c, s, tag, res);
		return;
	}
	switch (tag) {
	case TAG_SOCKET:
		c->fd = res;
		return;
	case TAG_INQ:
		d->inq_len = res;
		return;
	case TAG_OUTQ:
		d->outq_len = res;
		return;
	case TAG_PEEK_RECVQ:
		want = d->inq_len;
		break;
	case TAG_PEEK_SENDQ:
		want = d->outq_len;
		break;
	case TAG_SEND_SENDQ:
		/* MSG_DONTWAIT: the buffer was full; soccr_ring_restore() goes on from here */
		want = d->outq_len - d->unsq_len;
		if (res && (uint32_t)res < want) {
			s->partial = res;
			return;
		}
		break;
	case TAG_SEND_RECVQ:
		want = d->inq_len;
		break;
	case TAG_SEND_UNSENT:
		/* written, even in part: never again */
		c->flags &= ~SOCCR_CONN_UNSENT;
		/* MSG_DONTWAIT: soccr_ring_repair_off() goes on where the buffer cut it short */
		want = d->unsq_len;
		if (res && (uint32_t)res < want) {
			s->partial = res;
			return;
		}
		break;
	default:
		return;
	}
	if ((uint32_t)res != want)
		reap_error(c, s, tag, -EIO);
}

static void log_failures(const struct libsoccr_ctx *ctx, const struct ring_round *rr, size_t n, const char *what)
{
	for (size_t i = 0; i < n; i++) {
		const struct ring_slot *s = &rr->slot[i];

		if (!s->failed_tag || s->fallback)
			continue;
		soccr_err(ctx, "%s: fd %d: %s failed: %s", what, rr->conns[i].fd, tag_names[s->failed_tag],
			  strerror(-rr->conns[i].status));
	}
}

/* The steps of a connection (or option) whose chain never ran (or whose next rounds cannot) go to syscalls. */
static void log_fallback(const struct libsoccr_ctx *ctx, const struct soccr_ring *r, const struct ring_round *rr,
			 size_t n, const char *what)
{
	size_t count = 0;

	for (size_t i = 0; i < n; i++)
		count += rr->slot[i].fallback;
	if (count)
		soccr_warn(ctx, "%s: the io_uring ring failed (%s): %zu %s go on with syscalls", what,
			   strerror(-r->error), count, rr->ops ? "socket options" : "connections");
}

/* One round of the chain @fill puts on @r for @conn, a scratch TCP socket: 0 if every step succeeded. */
static int probe_round(struct soccr_ring *r, struct libsoccr_conn *conn,
		       void (*fill)(struct chain *ch, struct libsoccr_conn *c))
{
	struct ring_slot slot[1];
	struct ring_round rr;
	struct chain ch;
	int ret;

	memset(conn, 0, sizeof(*conn));
	conn->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
	if (conn->fd < 0)
		return -errno;
	round_init(&rr, conn, 1, slot);
	chain_start(&ch, r, &rr, 0);
	fill(&ch, conn);
	chain_end(&ch);
	ret = ring_run(r, &rr, reap_generic);
	close(conn->fd);
	conn->fd = -1;
	return ret ?: conn->status;
}

/* The socket option commands, at another level than SOL_SOCKET too for setsockopt */
static void probe_fill_sockopt(struct chain *ch, struct libsoccr_conn *c)
{
	chain_setsockopt(ch, c->fd, SOL_TCP, TCP_NODELAY, &opt_one, sizeof(opt_one), TAG_SOCKOPT);
	chain_sockopt(ch, RING_SOCK_GETSOCKOPT, SOL_SOCKET, SO_SNDBUF, &c->data.sndbuf, sizeof(int), TAG_BUFS, c->fd);
}

static void probe_fill_ioctl(struct chain *ch, struct libsoccr_conn *c)
{
	chain_ioctl(ch, c->fd, RING_SOCK_SIOCOUTQ, TAG_OUTQ);
}

/*
 * What this ring can run (SOCCR_RING_* in *@caps): the socket option
 * commands, and every step the connection batches use. -errno if neither.
 */
int soccr_ring_probe(struct soccr_ring *r, unsigned int *caps)
{
	static const int probe_ops[] = { IORING_OP_SOCKET, IORING_OP_URING_CMD, RING_OP_BIND,	IORING_OP_CONNECT,
					 IORING_OP_SEND,   IORING_OP_RECV,	IORING_OP_CLOSE };
	struct libsoccr_conn conn;
	struct io_uring_probe *probe;
	bool all_ops = true, cmd;
	int ret;

	*caps = 0;
	probe = io_uring_get_probe_ring(&r->ring);
	if (!probe)
		return -ENOSYS;
	for (size_t i = 0; i < sizeof(probe_ops) / sizeof(probe_ops[0]); i++)
		if (!io_uring_opcode_supported(probe, probe_ops[i]))
			all_ops = false;
	cmd = io_uring_opcode_supported(probe, IORING_OP_URING_CMD);
	io_uring_free_probe(probe);
	if (!cmd)
		return -EOPNOTSUPP;

	/* the socket commands came later than the opcodes: try them for real */
	ret = probe_round(r, &conn, probe_fill_sockopt);
	if (ret)
		return ret;
	if (!conn.data.sndbuf)
		return -EOPNOTSUPP; /* "done", and nothing read */
	*caps |= SOCCR_RING_SOCKOPT;
	if (all_ops && !probe_round(r, &conn, probe_fill_ioctl))
		*caps |= SOCCR_RING_CONNS;
	return 0;
}

/*
 * Room for a chain of @sqes steps, submitting what is queued if need be.
 * False if the ring cannot submit: the connection then goes to syscalls.
 */
static bool ring_room(struct soccr_ring *r, unsigned int sqes)
{
	int ret;

	if (r->broken)
		return false;
	if (io_uring_sq_space_left(&r->ring) >= sqes)
		return true;
	ret = io_uring_submit(&r->ring);
	if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY)
		ring_break(r, ret);
	return ret >= 0 && io_uring_sq_space_left(&r->ring) >= sqes;
}

/*
 * One round for steps that a syscall can repeat: the connections whose chain
 * the ring did not run (it broke before or while submitting them) are marked
 * for the syscall path.
 */
static void ring_run_or_fall_back(const struct libsoccr_ctx *ctx, struct soccr_ring *r, struct ring_round *rr, size_t n,
				  ring_reap_fn reap, const char *what)
{
	if (ring_run(r, rr, reap))
		for (size_t i = 0; i < n; i++)
			if (rr->slot[i].pending)
				rr->slot[i].fallback = true;
	log_fallback(ctx, r, rr, n, what);
}

/*
 * Dump, for a chunk: (1) syscalls check each socket; (2) ring: repair on,
 * queue sizes, SOL_SOCKET options; (3) syscalls: sequence numbers and SOL_TCP
 * options; (4) ring: peek both queues.
 */
void soccr_ring_dump(const struct libsoccr_ctx *ctx, struct soccr_ring *r, struct libsoccr_conn *conns, size_t n)
{
	struct ring_slot slot[n];
	struct ring_round rr;
	bool repair[n];
	struct chain ch;

	round_init(&rr, conns, n, slot);
	for (size_t i = 0; i < n; i++) {
		struct libsoccr_conn *c = &conns[i];

		repair[i] = false;
		if (c->fd < 0)
			continue;
		c->queues = NULL;
		c->status = soccr_dump_probe(ctx, c);
		if (c->status)
			continue;
		repair[i] = true;
		if (!ring_room(r, 8)) {
			slot[i].fallback = true;
			continue;
		}
		chain_start(&ch, r, &rr, i);
		/* repair mode forces address reuse: read the application's setting first */
		chain_sockopt(&ch, RING_SOCK_GETSOCKOPT, SOL_SOCKET, SO_REUSEADDR, &c->data.reuseaddr, sizeof(int),
			      TAG_REUSE, c->fd);
		chain_setsockopt(&ch, c->fd, SOL_TCP, TCP_REPAIR, &opt_one, sizeof(int), TAG_REPAIR_ON);
		chain_ioctl(&ch, c->fd, RING_SOCK_SIOCINQ, TAG_INQ);
		chain_ioctl(&ch, c->fd, RING_SOCK_SIOCOUTQ, TAG_OUTQ);
		chain_setsockopt(&ch, c->fd, SOL_TCP, TCP_REPAIR_QUEUE, &opt_recv_queue, sizeof(int), TAG_QUEUE);
		chain_sockopt(&ch, RING_SOCK_GETSOCKOPT, SOL_SOCKET, SO_SNDBUF, &c->data.sndbuf, sizeof(int), TAG_BUFS,
			      c->fd);
		chain_sockopt(&ch, RING_SOCK_GETSOCKOPT, SOL_SOCKET, SO_RCVBUF, &c->data.rcvbuf, sizeof(int), TAG_BUFS,
			      c->fd);
		chain_sockopt(&ch, RING_SOCK_GETSOCKOPT, SOL_SOCKET, SO_KEEPALIVE, &c->data.keepalive, sizeof(int),
			      TAG_SOCKOPT, c->fd);
		chain_end(&ch);
	}
	if (ring_run(r, &rr, reap_generic))
		goto out_ring_failed;

	for (size_t i = 0; i < n; i++) {
		struct libsoccr_conn *c = &conns[i];
		struct libsoccr_sk_data *d = &c->data;
		int fd = c->fd;

		if (!repair[i] || c->status || slot[i].fallback)
			continue;
		d->flags |= SOCCR_HAS_BUFS;
		c->status = soccr_ioctl_outq_unsent(fd, &d->unsq_len);
		c->status = c->status ?: soccr_queue_seq(fd, TCP_RECV_QUEUE, false, &d->inq_seq);
		c->status = c->status ?: soccr_queue_seq(fd, TCP_SEND_QUEUE, true, &d->outq_seq);
		c->status = c->status ?: soccr_dump_tcp_opts(fd, d, c->src.any.sa_family);
		c->status = c->status ?: soccr_dump_alloc_queues(ctx, c);
		if (c->status)
			continue;
		if (!ring_room(r, 3)) {
			slot[i].fallback = true;
			continue;
		}
		/* TCP_SEND_QUEUE is selected now */
		chain_start(&ch, r, &rr, i);
		if (d->outq_len) {
			struct io_uring_sqe *sqe = chain_next(&ch);

			io_uring_prep_recv(sqe, fd, c->queues + d->inq_len, d->outq_len, MSG_PEEK | MSG_DONTWAIT);
			chain_tag(&ch, sqe, TAG_PEEK_SENDQ);
		}
		chain_setsockopt(&ch, fd, SOL_TCP, TCP_REPAIR_QUEUE, &opt_recv_queue, sizeof(int), TAG_QUEUE);
		if (d->inq_len) {
			struct io_uring_sqe *sqe = chain_next(&ch);

			io_uring_prep_recv(sqe, fd, c->queues, d->inq_len, MSG_PEEK | MSG_DONTWAIT);
			chain_tag(&ch, sqe, TAG_PEEK_RECVQ);
		}
		chain_end(&ch);
	}
	if (!ring_run(r, &rr, reap_generic))
		goto out_fall_back;

out_ring_failed:
	/* the next rounds cannot run: every connection not failed on its own starts over */
	for (size_t i = 0; i < n; i++)
		if (repair[i] && !conns[i].status)
			slot[i].fallback = true;
out_fall_back:
	/* what the ring did is undone and the whole dump redone: nothing half-read is kept */
	for (size_t i = 0; i < n; i++) {
		struct libsoccr_conn *c = &conns[i];

		if (!slot[i].fallback)
			continue;
		libsoccr_conn_free_queues(c);
		if (slot[i].ok & (1u << TAG_REPAIR_ON)) {
			int err = soccr_dump_undo_repair(c);

			if (err)
				soccr_warn(ctx, "fd %d: leaving repair mode after the ring failed: %s", c->fd,
					   strerror(-err));
		}
	}
	log_fallback(ctx, r, &rr, n, "dump");
	for (size_t i = 0; i < n; i++)
		if (slot[i].fallback)
			conns[i].status = soccr_sys_dump(ctx, &conns[i]);
	log_failures(ctx, &rr, n, "dump");
	for (size_t i = 0; i < n; i++) {
		if (!repair[i] || !conns[i].status || slot[i].fallback)
			continue;
		/* never in repair mode: leaving it would only clear address reuse */
		if (slot[i].failed_tag == TAG_REUSE || slot[i].failed_tag == TAG_REPAIR_ON)
			libsoccr_conn_free_queues(&conns[i]);
		else
			soccr_dump_abort(ctx, &conns[i], conns[i].status);
	}
}

/* Values a restore chain points at: they must live until the chain completes. */
struct restore_vals {
	int sndbuf;
	int rcvbuf;
	int inq_seq;
	int outq_seq;
	int v6only;
	int timestamp;
	unsigned int nr_opts;
	struct tcp_repair_opt opts[4];
	struct tcp_repair_window win;
};

static void chain_send(struct chain *ch, int fd, const char *buf, uint32_t len, int flags, unsigned int tag)
{
	struct io_uring_sqe *sqe = chain_next(ch);

	io_uring_prep_send(sqe, fd, buf, len, flags);
	chain_tag(ch, sqe, tag);
}

/* Repair on, sequence numbers, bind and connect (no SYN in repair mode). */
static void chain_restore_connect(struct chain *ch, const struct libsoccr_conn *c, struct restore_vals *v)
{
	const struct libsoccr_sk_data *d = &c->data;
	int fd = c->fd;
	struct io_uring_sqe *sqe;

	v->sndbuf = soccr_sndbuf_for(d);
	v->rcvbuf = soccr_rcvbuf_for(d);
	v->inq_seq = d->inq_seq - d->inq_len;
	v->outq_seq = d->outq_seq - d->outq_len;
	v->v6only = d->v6only;
	chain_setsockopt(ch, fd, SOL_TCP, TCP_REPAIR, &opt_one, sizeof(int), TAG_REPAIR_ON);
	chain_setsockopt(ch, fd, SOL_SOCKET, SO_SNDBUFFORCE, &v->sndbuf, sizeof(int), TAG_BUFS);
	chain_setsockopt(ch, fd, SOL_SOCKET, SO_RCVBUFFORCE, &v->rcvbuf, sizeof(int), TAG_BUFS);
	chain_setsockopt(ch, fd, SOL_TCP, TCP_REPAIR_QUEUE, &opt_recv_queue, sizeof(int), TAG_QUEUE);
	chain_setsockopt(ch, fd, SOL_TCP, TCP_QUEUE_SEQ, &v->inq_seq, sizeof(int), TAG_SEQ);
	chain_setsockopt(ch, fd, SOL_TCP, TCP_REPAIR_QUEUE, &opt_send_queue, sizeof(int), TAG_QUEUE);
	chain_setsockopt(ch, fd, SOL_TCP, TCP_QUEUE_SEQ, &v->outq_seq, sizeof(int), TAG_SEQ);
	if (c->src.any.sa_family == AF_INET6)
		chain_setsockopt(ch, fd, SOL_IPV6, IPV6_V6ONLY, &v->v6only, sizeof(int), TAG_SOCKOPT);
	/* the address may not be configured yet (IPv6 honours IP_FREEBIND too) */
	chain_setsockopt(ch, fd, SOL_IP, IP_FREEBIND, &opt_one, sizeof(int), TAG_SOCKOPT);
	sqe = chain_next(ch);
	io_uring_prep_rw(RING_OP_BIND, sqe, fd, &c->src, 0, soccr_addr_len(&c->src));
	chain_tag(ch, sqe, TAG_BIND);
	sqe = chain_next(ch);
	io_uring_prep_connect(sqe, fd, &c->dst.any, soccr_addr_len(&c->dst));
	chain_tag(ch, sqe, TAG_CONNECT);
}

/* Options, queue bytes, then the window: it is checked against the refilled queue. */
static void chain_restore_state(struct chain *ch, const struct libsoccr_conn *c, struct restore_vals *v)
{
	const struct libsoccr_sk_data *d = &c->data;
	uint32_t sent = d->outq_len - d->unsq_len;
	int fd = c->fd;

	v->nr_opts = soccr_repair_opts(d, v->opts);
	chain_setsockopt(ch, fd, SOL_TCP, TCP_REPAIR_OPTIONS, v->opts, v->nr_opts * sizeof(v->opts[0]), TAG_OPTIONS);
	if (d->opt_mask & SOCCR_OPT_TIMESTAMPS) {
		v->timestamp = d->timestamp;
		chain_setsockopt(ch, fd, SOL_TCP, TCP_TIMESTAMP, &v->timestamp, sizeof(int), TAG_SOCKOPT);
	}
	/*
	 * The receive queue is taken in pieces of up to MAX_SKB_FRAGS pages and
	 * never waits for memory (the kernel fails with ENOMEM): MSG_WAITALL only
	 * makes the ring go on with the next piece.
	 */
	if (d->inq_len) {
		chain_setsockopt(ch, fd, SOL_TCP, TCP_REPAIR_QUEUE, &opt_recv_queue, sizeof(int), TAG_QUEUE);
		chain_send(ch, fd, c->queues, d->inq_len, MSG_WAITALL, TAG_SEND_RECVQ);
		chain_setsockopt(ch, fd, SOL_TCP, TCP_REPAIR_QUEUE, &opt_send_queue, sizeof(int), TAG_QUEUE);
	}
	/*
	 * Nothing frees buffer space in repair mode: a send that waited for it would
	 * hang the batch while the network lock is held. What a full buffer leaves
	 * over is tried again with syscalls after the round, and fails the
	 * connection alone if the buffer takes no more.
	 */
	if (sent)
		chain_send(ch, fd, c->queues + d->inq_len, sent, MSG_DONTWAIT, TAG_SEND_SENDQ);
	if (d->flags & SOCCR_HAS_WINDOW) {
		soccr_repair_window(d, &v->win);
		chain_setsockopt(ch, fd, SOL_TCP, TCP_REPAIR_WINDOW, &v->win, sizeof(v->win), TAG_WINDOW);
	}
	if (d->nodelay)
		chain_setsockopt(ch, fd, SOL_TCP, TCP_NODELAY, &opt_one, sizeof(int), TAG_SOCKOPT);
	if (d->cork)
		chain_setsockopt(ch, fd, SOL_TCP, TCP_CORK, &opt_one, sizeof(int), TAG_SOCKOPT);
	if (d->keepalive)
		chain_setsockopt(ch, fd, SOL_SOCKET, SO_KEEPALIVE, &opt_one, sizeof(int), TAG_SOCKOPT);
	if (d->flags & SOCCR_HAS_KEEPALIVE) {
		chain_setsockopt(ch, fd, SOL_TCP, TCP_KEEPIDLE, &d->keepidle, sizeof(int), TAG_SOCKOPT);
		chain_setsockopt(ch, fd, SOL_TCP, TCP_KEEPINTVL, &d->keepintvl, sizeof(int), TAG_SOCKOPT);
		chain_setsockopt(ch, fd, SOL_TCP, TCP_KEEPCNT, &d->keepcnt, sizeof(int), TAG_SOCKOPT);
	}
}

/*
 * Restore, for a chunk: (1) ring: the sockets; (2) ring: one chain per
 * connection rebuilds it in repair mode; (3) syscalls: our FIN where the
 * state has one, and cleanup of what failed.
 */
void soccr_ring_restore(const struct libsoccr_ctx *ctx, struct soccr_ring *r, struct libsoccr_conn *conns, size_t n)
{
	struct restore_vals *vals;
	struct ring_slot slot[n];
	struct ring_round rr;
	struct chain ch;

	round_init(&rr, conns, n, slot);
	vals = calloc(n, sizeof(*vals));
	for (size_t i = 0; i < n; i++) {
		struct libsoccr_conn *c = &conns[i];
		struct io_uring_sqe *sqe;

		c->fd = -1;
		c->flags &= ~SOCCR_CONN_PENDING;
		c->status = soccr_restore_check(ctx, c);
		if (c->status)
			continue;
		if (!vals || !ring_room(r, 1)) {
			slot[i].fallback = true;
			continue;
		}
		chain_start(&ch, r, &rr, i);
		sqe = chain_next(&ch);
		io_uring_prep_socket(sqe, c->src.any.sa_family, soccr_restore_sock_type(c), IPPROTO_TCP, 0);
		chain_tag(&ch, sqe, TAG_SOCKET);
		chain_end(&ch);
	}
	if (ring_run(r, &rr, reap_generic))
		goto out_fall_back;

	for (size_t i = 0; i < n; i++) {
		struct libsoccr_conn *c = &conns[i];

		if (c->status || c->fd < 0)
			continue;
		if (!ring_room(r, SOCCR_RING_SQES_PER_CONN)) {
			slot[i].fallback = true;
			continue;
		}
		chain_start(&ch, r, &rr, i);
		chain_restore_connect(&ch, c, &vals[i]);
		chain_restore_state(&ch, c, &vals[i]);
		chain_end(&ch);
	}
	if (ring_run(r, &rr, reap_generic))
		goto out_fall_back;

	for (size_t i = 0; i < n; i++) {
		struct libsoccr_conn *c = &conns[i];

		if (c->status || c->fd < 0 || slot[i].fallback)
			continue;
		if (slot[i].partial)
			c->status = soccr_restore_sendq_rest(ctx, c, slot[i].partial);
		c->status = c->status ?: soccr_restore_finish(c);
	}
	goto out_close_failed;

out_fall_back:
	/* every connection the ring did not finish is rebuilt from scratch */
	for (size_t i = 0; i < n; i++)
		if (!conns[i].status)
			slot[i].fallback = true;
out_close_failed:
	log_failures(ctx, &rr, n, "restore");
	for (size_t i = 0; i < n; i++) {
		if ((conns[i].status || slot[i].fallback) && conns[i].fd >= 0) {
			close(conns[i].fd);
			conns[i].fd = -1;
		}
	}
	log_fallback(ctx, r, &rr, n, "restore");
	for (size_t i = 0; i < n; i++)
		if (slot[i].fallback)
			conns[i].status = soccr_sys_restore(ctx, &conns[i]);
	free(vals);
}

/* Out of repair mode (with a window probe), and the address reuse that doing so clears */
static void chain_repair_off(struct chain *ch, const struct libsoccr_conn *c)
{
	chain_setsockopt(ch, c->fd, SOL_TCP, TCP_REPAIR, &opt_repair_off, sizeof(int), TAG_REPAIR_OFF);
	if (c->data.reuseaddr)
		chain_setsockopt(ch, c->fd, SOL_SOCKET, SO_REUSEADDR, &opt_one, sizeof(int), TAG_REUSE);
}

/* Repair off and, where restore left it, the unsent data; half-closed ones by syscalls. */
void soccr_ring_repair_off(const struct libsoccr_ctx *ctx, struct soccr_ring *r, struct libsoccr_conn *conns, size_t n)
{
	struct ring_slot slot[n];
	struct ring_round rr;
	bool slow[n];
	struct chain ch;

	round_init(&rr, conns, n, slot);
	for (size_t i = 0; i < n; i++) {
		struct libsoccr_conn *c = &conns[i];
		const struct libsoccr_sk_data *d = &c->data;
		bool unsent = (c->flags & SOCCR_CONN_UNSENT) && d->unsq_len;

		slow[i] = c->flags & SOCCR_CONN_SEGMENTS;
		if (c->fd < 0 || slow[i])
			continue;
		c->status = 0;
		if (!ring_room(r, 3)) {
			slot[i].fallback = true;
			continue;
		}
		chain_start(&ch, r, &rr, i);
		chain_repair_off(&ch, c);
		if (unsent)
			chain_send(&ch, c->fd, c->queues + d->inq_len + (d->outq_len - d->unsq_len), d->unsq_len,
				   MSG_DONTWAIT, TAG_SEND_UNSENT);
		chain_end(&ch);
	}
	ring_run_or_fall_back(ctx, r, &rr, n, reap_generic, "repair off");
	log_failures(ctx, &rr, n, "repair off");
	for (size_t i = 0; i < n; i++) {
		struct libsoccr_conn *c = &conns[i];

		if (c->fd < 0)
			continue;
		/* the steps are repeatable, and the unsent data is written once: its flag says whether it was */
		if (slow[i] || slot[i].fallback)
			c->status = soccr_sys_repair_off(ctx, c);
		else if (slot[i].partial && !c->status)
			c->status = soccr_unsent_rest(ctx, c, slot[i].partial);
	}
}

/* After the unlock: a window probe (repair off on a socket out of repair mode sends one). */
void soccr_ring_resume(const struct libsoccr_ctx *ctx, struct soccr_ring *r, struct libsoccr_conn *conns, size_t n)
{
	struct ring_slot slot[n];
	struct ring_round rr;
	struct chain ch;

	round_init(&rr, conns, n, slot);
	for (size_t i = 0; i < n; i++) {
		struct libsoccr_conn *c = &conns[i];

		if (c->fd < 0)
			continue;
		c->status = 0;
		if (!ring_room(r, 2)) {
			slot[i].fallback = true;
			continue;
		}
		chain_start(&ch, r, &rr, i);
		chain_repair_off(&ch, c);
		chain_end(&ch);
	}
	ring_run_or_fall_back(ctx, r, &rr, n, reap_generic, "resume");
	log_failures(ctx, &rr, n, "resume");
	for (size_t i = 0; i < n; i++)
		if (slot[i].fallback)
			conns[i].status = soccr_sys_resume(ctx, &conns[i]);
}

void soccr_ring_close(const struct libsoccr_ctx *ctx, struct soccr_ring *r, struct libsoccr_conn *conns, size_t n)
{
	struct ring_slot slot[n];
	struct ring_round rr;
	struct chain ch;

	round_init(&rr, conns, n, slot);
	for (size_t i = 0; i < n; i++) {
		struct libsoccr_conn *c = &conns[i];
		struct io_uring_sqe *sqe;

		if (c->fd < 0)
			continue;
		c->status = 0;
		if (!ring_room(r, 1)) {
			slot[i].fallback = true;
			continue;
		}
		chain_start(&ch, r, &rr, i);
		sqe = chain_next(&ch);
		io_uring_prep_close(sqe, c->fd);
		chain_tag(&ch, sqe, TAG_CLOSE);
		chain_end(&ch);
	}
	ring_run_or_fall_back(ctx, r, &rr, n, reap_generic, "close");
	log_failures(ctx, &rr, n, "close");
	for (size_t i = 0; i < n; i++) {
		if (conns[i].fd < 0)
			continue;
		if (slot[i].fallback)
			conns[i].status = soccr_sys_close(&conns[i]);
		conns[i].fd = -1;
	}
}

/* A socket option's completion: a get's result is the length of the value. */
static void reap_sockopt(struct ring_round *rr, unsigned int idx, unsigned int tag, int res)
{
	struct libsoccr_sockopt *op = &rr->ops[idx];

	op->status = res < 0 ? res : 0;
	if (res >= 0 && tag == TAG_GETSOCKOPT)
		op->len = (uint32_t)res;
}

/*
 * A chunk of a socket option batch: one ring round for every entry the ring
 * can run, then syscalls for the others (getsockopt outside SOL_SOCKET, a
 * length the ring's signed field cannot carry, what a failed ring left) and
 * for the ring's -EOPNOTSUPP, which is also its answer for an fd that is not
 * a socket: the syscall tells which (ENOTSOCK, or EOPNOTSUPP for real).
 */
void soccr_ring_sockopt(const struct libsoccr_ctx *ctx, struct soccr_ring *r, struct libsoccr_sockopt *ops, size_t n,
			bool set)
{
	unsigned int cmd = set ? RING_SOCK_SETSOCKOPT : RING_SOCK_GETSOCKOPT;
	unsigned int tag = set ? TAG_SOCKOPT : TAG_GETSOCKOPT;
	struct ring_slot slot[n];
	struct ring_round rr;
	bool sys[n];
	struct chain ch;

	round_init(&rr, NULL, n, slot);
	rr.ops = ops;
	for (size_t i = 0; i < n; i++) {
		struct libsoccr_sockopt *op = &ops[i];

		sys[i] = op->fd >= 0 && ((!set && op->level != SOL_SOCKET) || op->len > INT_MAX);
		if (op->fd < 0 || sys[i])
			continue;
		if (!ring_room(r, 1)) {
			sys[i] = true;
			continue;
		}
		chain_start(&ch, r, &rr, i);
		chain_sockopt(&ch, cmd, op->level, op->name, op->val, (int)op->len, tag, op->fd);
		chain_end(&ch);
	}
	ring_run_or_fall_back(ctx, r, &rr, n, reap_sockopt, set ? "setsockopt" : "getsockopt");
	for (size_t i = 0; i < n; i++) {
		struct libsoccr_sockopt *op = &ops[i];

		if (sys[i] || slot[i].fallback || (op->fd >= 0 && op->status == -EOPNOTSUPP))
			op->status = soccr_sys_sockopt(op, set);
	}
}
