// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * soccr.c: one connection at a time with plain syscalls — the log, the checks
 * shared by both backends, and the dump, restore, repair-off and close steps
 * that the batch code runs in its workers when io_uring is not used, one
 * entry of a socket option batch, plus the public single-socket calls.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>

#include "internal.h"
#include "fin.h"

static void log_call(const struct libsoccr_ctx *ctx, unsigned int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctx->log(ctx->log_arg, level, fmt, ap);
	va_end(ap);
}

void soccr_log(const struct libsoccr_ctx *ctx, unsigned int level, const char *file, int line, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (!ctx || !ctx->log || level > ctx->log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (level == SOCCR_LOG_ERR)
		log_call(ctx, level, "Error (soccr/%s:%d): %s\n", file, line, buf);
	else
		log_call(ctx, level, "soccr: %s\n", buf);
}

int soccr_restore_sock_type(const struct libsoccr_conn *c)
{
	return SOCK_STREAM | SOCK_CLOEXEC | ((c->flags & SOCCR_CONN_NONBLOCK) ? SOCK_NONBLOCK : 0);
}

int libsoccr_state_supported(uint32_t state)
{
	switch (state) {
	case TCP_ESTABLISHED:
	case TCP_FIN_WAIT1:
	case TCP_FIN_WAIT2:
	case TCP_CLOSE_WAIT:
	case TCP_LAST_ACK:
	case TCP_CLOSING:
		return true;
	}
	return false;
}

bool soccr_state_fin_sent(uint32_t state)
{
	return state == TCP_FIN_WAIT1 || state == TCP_FIN_WAIT2 || state == TCP_LAST_ACK || state == TCP_CLOSING;
}

bool soccr_state_fin_queued(uint32_t state)
{
	return state == TCP_FIN_WAIT1 || state == TCP_LAST_ACK || state == TCP_CLOSING;
}

bool soccr_state_fin_received(uint32_t state)
{
	return state == TCP_CLOSE_WAIT || state == TCP_LAST_ACK || state == TCP_CLOSING;
}

/*
 * The kernel counts a FIN as one sequence number: write_seq (and so SIOCOUTQ)
 * includes ours once we sent it, rcv_nxt includes the peer's once received.
 * The image holds the data only; the restore rebuilds the FINs from the state.
 */
void soccr_dump_adjust_fin(struct libsoccr_sk_data *d)
{
	if (soccr_state_fin_sent(d->state))
		d->outq_seq--;
	if (soccr_state_fin_queued(d->state) && d->outq_len) {
		d->outq_len--;
		/* unsent data ends with the FIN if the FIN is not out yet */
		if (d->unsq_len)
			d->unsq_len--;
	}
	if (soccr_state_fin_received(d->state))
		d->inq_seq--;
}

/*
 * Restored queues are refilled in one go: the buffers must hold them whatever
 * sizes the application had (setsockopt doubles the value it is given).
 */
uint32_t soccr_sndbuf_for(const struct libsoccr_sk_data *d)
{
	uint32_t need = d->outq_len + (d->outq_len >> 1) + 16384;
	uint32_t had = (d->flags & SOCCR_HAS_BUFS) ? d->sndbuf / 2 : 0;

	return had > need ? had : need;
}

uint32_t soccr_rcvbuf_for(const struct libsoccr_sk_data *d)
{
	uint32_t need = d->inq_len + (d->inq_len >> 1) + 16384;
	uint32_t had = (d->flags & SOCCR_HAS_BUFS) ? d->rcvbuf / 2 : 0;

	return had > need ? had : need;
}

unsigned int soccr_repair_opts(const struct libsoccr_sk_data *d, struct tcp_repair_opt *opts)
{
	unsigned int n = 0;

	opts[n].opt_code = TCPOPT_MAXSEG;
	opts[n++].opt_val = d->mss_clamp;
	if (d->opt_mask & SOCCR_OPT_WSCALE) {
		opts[n].opt_code = TCPOPT_WINDOW;
		opts[n++].opt_val = d->snd_wscale | (d->rcv_wscale << 16);
	}
	if (d->opt_mask & SOCCR_OPT_SACK) {
		opts[n].opt_code = TCPOPT_SACK_PERMITTED;
		opts[n++].opt_val = 0;
	}
	if (d->opt_mask & SOCCR_OPT_TIMESTAMPS) {
		opts[n].opt_code = TCPOPT_TIMESTAMP;
		opts[n++].opt_val = 0;
	}
	return n;
}

/*
 * The window as the rebuilt socket will take it. The kernel refuses an
 * rcv_wup past rcv_nxt: once the peer's FIN is in, rcv_wup may count it,
 * but the rebuilt socket's rcv_nxt does not until the FIN is replayed.
 */
void soccr_repair_window(const struct libsoccr_sk_data *d, struct tcp_repair_window *win)
{
	win->snd_wl1 = d->snd_wl1;
	win->snd_wnd = d->snd_wnd;
	win->max_window = d->max_window;
	win->rcv_wnd = d->rcv_wnd;
	win->rcv_wup = d->rcv_wup;
	if ((int32_t)(win->rcv_wup - d->inq_seq) > 0)
		win->rcv_wup = d->inq_seq;
}

static const char *family_name(int family)
{
	return family == AF_INET ? "IPv4" : family == AF_INET6 ? "IPv6" : "?";
}

/* What the caller hands to restore must describe something we can rebuild. */
int soccr_restore_check(const struct libsoccr_ctx *ctx, const struct libsoccr_conn *c)
{
	const struct libsoccr_sk_data *d = &c->data;
	int family = c->src.any.sa_family;

	if ((family != AF_INET && family != AF_INET6) || c->dst.any.sa_family != family) {
		soccr_err(ctx, "restore: address families %d/%d are not IPv4 or IPv6 pairs", family,
			  c->dst.any.sa_family);
		return -EAFNOSUPPORT;
	}
	if (!libsoccr_state_supported(d->state)) {
		soccr_err(ctx, "restore: TCP state %u cannot be rebuilt", d->state);
		return -EINVAL;
	}
	if (d->unsq_len > d->outq_len || ((d->inq_len || d->outq_len) && !c->queues)) {
		soccr_err(ctx, "restore: queue sizes are inconsistent (outq %u, unsent %u)", d->outq_len, d->unsq_len);
		return -EINVAL;
	}
	if (d->inq_len > (1u << 30) || d->outq_len > (1u << 30)) {
		soccr_err(ctx, "restore: queues of %u/%u bytes are too large", d->inq_len, d->outq_len);
		return -E2BIG;
	}
	if (d->mss_clamp == 0 || d->snd_wscale > 14 || d->rcv_wscale > 14) {
		soccr_err(ctx, "restore: options out of range (mss %u, wscale %u/%u)", d->mss_clamp, d->snd_wscale,
			  d->rcv_wscale);
		return -EINVAL;
	}
	return 0;
}

static int getsockopt_u32(int fd, int level, int name, uint32_t *val)
{
	socklen_t len = sizeof(*val);
	int v = 0;

	len = sizeof(v);
	if (getsockopt(fd, level, name, &v, &len) < 0)
		return -errno;
	*val = (uint32_t)v;
	return 0;
}

static int setsockopt_int(int fd, int level, int name, int val)
{
	if (setsockopt(fd, level, name, &val, sizeof(val)) < 0)
		return -errno;
	return 0;
}

static int ioctl_u32(int fd, unsigned long req, uint32_t *val)
{
	int v;

	if (ioctl(fd, req, &v) < 0)
		return -errno;
	*val = (uint32_t)v;
	return 0;
}

/* First look at a socket to dump: it must be a TCP socket in a state we rebuild. */
int soccr_dump_probe(const struct libsoccr_ctx *ctx, struct libsoccr_conn *c)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	socklen_t alen;

	if (c->fd < 0)
		return -EBADF;
	if (getsockopt(c->fd, SOL_TCP, TCP_INFO, &ti, &len) < 0) {
		int err = errno;

		soccr_err(ctx, "fd %d: not a TCP socket (TCP_INFO: %s)", c->fd, strerror(err));
		return err == EOPNOTSUPP || err == ENOPROTOOPT ? -ENOTSUP : -err;
	}
	if (!libsoccr_state_supported(ti.tcpi_state)) {
		soccr_err(ctx, "fd %d: TCP state %u is not established or half-closed", c->fd, ti.tcpi_state);
		return -ENOTCONN;
	}
	memset(&c->data, 0, sizeof(c->data));
	c->data.state = ti.tcpi_state;
	c->data.opt_mask = ti.tcpi_options & (SOCCR_OPT_TIMESTAMPS | SOCCR_OPT_SACK | SOCCR_OPT_WSCALE);
	c->data.snd_wscale = ti.tcpi_snd_wscale;
	c->data.rcv_wscale = ti.tcpi_rcv_wscale;
	if (c->flags & SOCCR_CONN_ADDRS)
		return 0;
	alen = sizeof(c->src);
	if (getsockname(c->fd, &c->src.any, &alen) < 0)
		return -errno;
	alen = sizeof(c->dst);
	if (getpeername(c->fd, &c->dst.any, &alen) < 0)
		return -errno;
	if (c->src.any.sa_family != AF_INET && c->src.any.sa_family != AF_INET6)
		return -EAFNOSUPPORT;
	return 0;
}

/* The sequence number of a queue; select it first unless it is selected already. */
int soccr_queue_seq(int fd, int queue, bool select, uint32_t *seq)
{
	int ret = select ? setsockopt_int(fd, SOL_TCP, TCP_REPAIR_QUEUE, queue) : 0;

	return ret ? ret : getsockopt_u32(fd, SOL_TCP, TCP_QUEUE_SEQ, seq);
}

int soccr_ioctl_outq_unsent(int fd, uint32_t *len)
{
	return ioctl_u32(fd, SIOCOUTQNSD, len);
}

static int peek_exact(int fd, char *buf, uint32_t len)
{
	ssize_t got;

	if (!len)
		return 0;
	got = recv(fd, buf, len, MSG_PEEK | MSG_DONTWAIT);
	if (got < 0)
		return -errno;
	return (uint32_t)got == len ? 0 : -EIO;
}

/* The options a restore writes back that only a syscall can read (SOL_TCP, SOL_IPV6). */
int soccr_dump_tcp_opts(int fd, struct libsoccr_sk_data *d, int family)
{
	struct tcp_repair_window win;
	socklen_t len = sizeof(win);
	int ret;

	if (getsockopt(fd, SOL_TCP, TCP_REPAIR_WINDOW, &win, &len) == 0) {
		d->snd_wl1 = win.snd_wl1;
		d->snd_wnd = win.snd_wnd;
		d->max_window = win.max_window;
		d->rcv_wnd = win.rcv_wnd;
		d->rcv_wup = win.rcv_wup;
		d->flags |= SOCCR_HAS_WINDOW;
	} else if (errno != ENOPROTOOPT) {
		return -errno;
	}
	ret = getsockopt_u32(fd, SOL_TCP, TCP_MAXSEG, &d->mss_clamp);
	ret = ret ?: getsockopt_u32(fd, SOL_TCP, TCP_TIMESTAMP, &d->timestamp);
	ret = ret ?: getsockopt_u32(fd, SOL_TCP, TCP_NODELAY, &d->nodelay);
	ret = ret ?: getsockopt_u32(fd, SOL_TCP, TCP_CORK, &d->cork);
	if (ret)
		return ret;
	if (family == AF_INET6) {
		ret = getsockopt_u32(fd, SOL_IPV6, IPV6_V6ONLY, &d->v6only);
		if (ret)
			return ret;
		d->flags |= SOCCR_HAS_V6ONLY;
	}
	if (!d->keepalive)
		return 0;
	ret = getsockopt_u32(fd, SOL_TCP, TCP_KEEPIDLE, &d->keepidle);
	ret = ret ?: getsockopt_u32(fd, SOL_TCP, TCP_KEEPINTVL, &d->keepintvl);
	ret = ret ?: getsockopt_u32(fd, SOL_TCP, TCP_KEEPCNT, &d->keepcnt);
	if (!ret)
		d->flags |= SOCCR_HAS_KEEPALIVE;
	return ret;
}

/* SOL_SOCKET options: the ring backend reads these itself. */
static int dump_socket_opts(int fd, struct libsoccr_sk_data *d)
{
	int ret;

	ret = getsockopt_u32(fd, SOL_SOCKET, SO_KEEPALIVE, &d->keepalive);
	ret = ret ?: getsockopt_u32(fd, SOL_SOCKET, SO_SNDBUF, &d->sndbuf);
	ret = ret ?: getsockopt_u32(fd, SOL_SOCKET, SO_RCVBUF, &d->rcvbuf);
	if (!ret)
		d->flags |= SOCCR_HAS_BUFS;
	return ret;
}

/* Queue sizes are known and the FINs taken out: room for both queues' bytes. */
int soccr_dump_alloc_queues(const struct libsoccr_ctx *ctx, struct libsoccr_conn *c)
{
	struct libsoccr_sk_data *d = &c->data;
	size_t len;

	soccr_dump_adjust_fin(d);
	c->queues = NULL;
	c->flags &= ~SOCCR_CONN_EXT_QUEUES;
	if (d->unsq_len > d->outq_len)
		return -EPROTO;
	len = (size_t)d->inq_len + d->outq_len;
	if (!len)
		return 0;
	if (ctx && ctx->queue_alloc) {
		c->queues = ctx->queue_alloc(ctx->queue_arg, len);
		if (c->queues) {
			c->flags |= SOCCR_CONN_EXT_QUEUES;
			return 0;
		}
	}
	c->queues = malloc(len);
	return c->queues ? 0 : -ENOMEM;
}

/* With repair on: sizes and sequence numbers of both queues, then their bytes. */
static int dump_queues(const struct libsoccr_ctx *ctx, struct libsoccr_conn *c)
{
	struct libsoccr_sk_data *d = &c->data;
	int fd = c->fd;
	int ret;

	ret = ioctl_u32(fd, SIOCINQ, &d->inq_len);
	ret = ret ?: ioctl_u32(fd, SIOCOUTQ, &d->outq_len);
	ret = ret ?: soccr_ioctl_outq_unsent(fd, &d->unsq_len);
	ret = ret ?: soccr_queue_seq(fd, TCP_RECV_QUEUE, true, &d->inq_seq);
	ret = ret ?: soccr_queue_seq(fd, TCP_SEND_QUEUE, true, &d->outq_seq);
	ret = ret ?: soccr_dump_alloc_queues(ctx, c);
	if (ret)
		return ret;
	/* the send queue is selected now; peek it first, then switch */
	ret = peek_exact(fd, c->queues + d->inq_len, d->outq_len);
	ret = ret ?: setsockopt_int(fd, SOL_TCP, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE);
	ret = ret ?: peek_exact(fd, c->queues, d->inq_len);
	if (ret) {
		soccr_err(ctx, "fd %d: reading the queues (%u/%u bytes): %s", fd, d->inq_len, d->outq_len,
			  strerror(-ret));
		libsoccr_conn_free_queues(c);
	}
	return ret;
}

int soccr_sys_dump(const struct libsoccr_ctx *ctx, struct libsoccr_conn *c)
{
	int ret;

	c->queues = NULL;
	ret = soccr_dump_probe(ctx, c);
	if (ret)
		return ret;
	/* repair mode forces address reuse: read the application's setting first */
	ret = getsockopt_u32(c->fd, SOL_SOCKET, SO_REUSEADDR, &c->data.reuseaddr);
	ret = ret ?: setsockopt_int(c->fd, SOL_TCP, TCP_REPAIR, TCP_REPAIR_ON);
	if (ret) {
		soccr_err(ctx, "fd %d: cannot turn repair on: %s", c->fd, strerror(-ret));
		return ret;
	}
	ret = dump_queues(ctx, c);
	ret = ret ?: dump_socket_opts(c->fd, &c->data);
	ret = ret ?: soccr_dump_tcp_opts(c->fd, &c->data, c->src.any.sa_family);
	if (ret)
		soccr_dump_abort(ctx, c, ret);
	return ret;
}

/* A connection whose dump failed goes back to the application as it was. */
void soccr_dump_abort(const struct libsoccr_ctx *ctx, struct libsoccr_conn *c, int err)
{
	int ret;

	soccr_err(ctx, "fd %d: dump failed: %s", c->fd, strerror(-err));
	libsoccr_conn_free_queues(c);
	ret = soccr_dump_undo_repair(c);
	if (ret)
		soccr_err(ctx, "fd %d: cannot turn repair off again: %s", c->fd, strerror(-ret));
}

/* Repair off without a window probe (nothing was changed), and the application's address reuse back. */
int soccr_dump_undo_repair(const struct libsoccr_conn *c)
{
	return setsockopt_int(c->fd, SOL_TCP, TCP_REPAIR, TCP_REPAIR_OFF_NO_WP) ?: soccr_reuseaddr_restore(c);
}

/* Leaving repair mode clears address reuse: give the application its setting back. */
int soccr_reuseaddr_restore(const struct libsoccr_conn *c)
{
	return c->data.reuseaddr ? setsockopt_int(c->fd, SOL_SOCKET, SO_REUSEADDR, 1) : 0;
}

/*
 * Write bytes *done to @len of @buf, never waiting: go on while the socket
 * takes more, stop with -EAGAIN once it takes nothing (in repair mode, or
 * while the network lock drops every packet, nothing frees buffer space).
 * *done counts what was written, whatever the result.
 */
static int send_nowait(int fd, const char *buf, uint32_t len, uint32_t *done)
{
	while (*done < len) {
		ssize_t n = send(fd, buf + *done, len - *done, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		*done += n;
	}
	return 0;
}

/* The sent part of the send queue, in repair mode, from byte @done on. */
int soccr_restore_sendq_rest(const struct libsoccr_ctx *ctx, const struct libsoccr_conn *c, uint32_t done)
{
	const struct libsoccr_sk_data *d = &c->data;
	uint32_t len = d->outq_len - d->unsq_len;
	int ret = send_nowait(c->fd, c->queues + d->inq_len, len, &done);

	if (ret)
		soccr_err(ctx, "restore: fd %d: the send buffer took %u of the %u bytes of the send queue: %s", c->fd,
			  done, len, strerror(-ret));
	return ret;
}

socklen_t soccr_addr_len(const union libsoccr_addr *a)
{
	return a->any.sa_family == AF_INET ? sizeof(a->in4) : sizeof(a->in6);
}

/* Options and buffers a new socket needs before it is bound and connected. */
static int restore_prepare(int fd, const struct libsoccr_conn *c)
{
	const struct libsoccr_sk_data *d = &c->data;
	int family = c->src.any.sa_family;
	int ret;

	ret = setsockopt_int(fd, SOL_TCP, TCP_REPAIR, TCP_REPAIR_ON);
	ret = ret ?: setsockopt_int(fd, SOL_SOCKET, SO_SNDBUFFORCE, soccr_sndbuf_for(d));
	ret = ret ?: setsockopt_int(fd, SOL_SOCKET, SO_RCVBUFFORCE, soccr_rcvbuf_for(d));
	ret = ret ?: setsockopt_int(fd, SOL_TCP, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE);
	ret = ret ?: setsockopt_int(fd, SOL_TCP, TCP_QUEUE_SEQ, d->inq_seq - d->inq_len);
	ret = ret ?: setsockopt_int(fd, SOL_TCP, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE);
	ret = ret ?: setsockopt_int(fd, SOL_TCP, TCP_QUEUE_SEQ, d->outq_seq - d->outq_len);
	if (ret)
		return ret;
	if (family == AF_INET6)
		ret = setsockopt_int(fd, SOL_IPV6, IPV6_V6ONLY, d->v6only);
	/* the address may not be configured yet (IPv6 honours IP_FREEBIND too) */
	return ret ?: setsockopt_int(fd, SOL_IP, IP_FREEBIND, 1);
}

/* After connect: options, the queues' bytes, then the window (it checks rcv_nxt). */
static int restore_established(const struct libsoccr_ctx *ctx, int fd, const struct libsoccr_conn *c)
{
	const struct libsoccr_sk_data *d = &c->data;
	struct tcp_repair_opt opts[4];
	unsigned int nopts = soccr_repair_opts(d, opts);
	struct tcp_repair_window win;
	uint32_t inq_done = 0;
	int ret = 0;

	soccr_repair_window(d, &win);

	if (setsockopt(fd, SOL_TCP, TCP_REPAIR_OPTIONS, opts, nopts * sizeof(opts[0])) < 0)
		return -errno;
	if (d->opt_mask & SOCCR_OPT_TIMESTAMPS)
		ret = setsockopt_int(fd, SOL_TCP, TCP_TIMESTAMP, d->timestamp);
	ret = ret ?: setsockopt_int(fd, SOL_TCP, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE);
	/* nothing frees buffer space in repair mode: never wait for it */
	ret = ret ?: send_nowait(fd, c->queues, d->inq_len, &inq_done);
	ret = ret ?: setsockopt_int(fd, SOL_TCP, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE);
	ret = ret ?: soccr_restore_sendq_rest(ctx, c, 0);
	if (ret)
		return ret;
	if ((d->flags & SOCCR_HAS_WINDOW) && setsockopt(fd, SOL_TCP, TCP_REPAIR_WINDOW, &win, sizeof(win)) < 0)
		return -errno;
	if (d->nodelay)
		ret = setsockopt_int(fd, SOL_TCP, TCP_NODELAY, 1);
	if (d->cork)
		ret = ret ?: setsockopt_int(fd, SOL_TCP, TCP_CORK, 1);
	if (d->keepalive)
		ret = ret ?: setsockopt_int(fd, SOL_SOCKET, SO_KEEPALIVE, 1);
	if (d->flags & SOCCR_HAS_KEEPALIVE) {
		ret = ret ?: setsockopt_int(fd, SOL_TCP, TCP_KEEPIDLE, d->keepidle);
		ret = ret ?: setsockopt_int(fd, SOL_TCP, TCP_KEEPINTVL, d->keepintvl);
		ret = ret ?: setsockopt_int(fd, SOL_TCP, TCP_KEEPCNT, d->keepcnt);
	}
	return ret;
}

/*
 * The end of a restore in repair mode: what repair-off will still rebuild.
 * Our FIN goes back into the send queue now, while repair mode marks what is
 * pushed as already sent — unless unsent data precedes it, or the peer's FIN
 * has to come first (LAST_ACK): then repair-off rebuilds it.
 */
int soccr_restore_finish(struct libsoccr_conn *c)
{
	const struct libsoccr_sk_data *d = &c->data;

	if (d->unsq_len)
		c->flags |= SOCCR_CONN_UNSENT;
	if (soccr_state_fin_received(d->state))
		c->flags |= SOCCR_CONN_PEER_FIN;
	if (!soccr_state_fin_sent(d->state))
		return 0;
	/* our FIN comes back unacknowledged: the peer's ACK of it is replayed */
	if (d->state == TCP_FIN_WAIT2)
		c->flags |= SOCCR_CONN_PEER_ACK;
	if (d->state == TCP_LAST_ACK || d->unsq_len) {
		c->flags |= SOCCR_CONN_OUR_FIN;
		return 0;
	}
	return shutdown(c->fd, SHUT_WR) < 0 ? -errno : 0;
}

int soccr_sys_restore(const struct libsoccr_ctx *ctx, struct libsoccr_conn *c)
{
	int family = c->src.any.sa_family;
	const char *step;
	int fd, ret;

	c->fd = -1;
	c->flags &= ~SOCCR_CONN_PENDING;
	ret = soccr_restore_check(ctx, c);
	if (ret)
		return ret;
	fd = socket(family, soccr_restore_sock_type(c), IPPROTO_TCP);
	if (fd < 0) {
		ret = -errno;
		soccr_err(ctx, "restore: socket(%s): %s", family_name(family), strerror(-ret));
		return ret;
	}
	c->fd = fd;
	step = "repair mode and sequence numbers";
	ret = restore_prepare(fd, c);
	if (ret)
		goto out_close;
	step = "bind";
	if (bind(fd, &c->src.any, soccr_addr_len(&c->src)) < 0)
		goto out_errno;
	step = "connect";
	if (connect(fd, &c->dst.any, soccr_addr_len(&c->dst)) < 0)
		goto out_errno;
	step = "options, queues and window";
	ret = restore_established(ctx, fd, c);
	ret = ret ?: soccr_restore_finish(c);
	if (ret)
		goto out_close;
	return 0;

out_errno:
	ret = -errno;
out_close:
	soccr_err(ctx, "restore: %s failed: %s", step, strerror(-ret));
	close(fd);
	c->fd = -1;
	return ret;
}

/*
 * A segment as the peer would have sent it, at rcv_nxt: its FIN, acking what
 * it had, or (FIN_WAIT2) its bare ACK of our FIN, one past our data.
 */
static int replay_peer_segment(const struct libsoccr_conn *c, bool ack_our_fin)
{
	const struct libsoccr_sk_data *d = &c->data;
	uint32_t wnd = d->snd_wnd >> d->snd_wscale;
	uint16_t window = wnd > 65535 ? 65535 : wnd;
	struct soccr_fin fin = {
		.from = &c->dst,
		.to = &c->src,
		.seq = d->inq_seq,
		.ack = ack_our_fin ? d->outq_seq + 1 : d->outq_seq - d->outq_len,
		.window = window ? window : 1,
		.mark = SOCCR_MARK,
		.flags = ack_our_fin ? SOCCR_FIN_ACK_ONLY : 0,
	};

	return soccr_fin_send(&fin);
}

static int finish_our_fin(struct libsoccr_conn *c)
{
	if (!(c->flags & SOCCR_CONN_OUR_FIN))
		return 0;
	if (shutdown(c->fd, SHUT_WR) < 0)
		return -errno;
	c->flags &= ~SOCCR_CONN_OUR_FIN;
	return 0;
}

static int finish_peer_fin(struct libsoccr_conn *c)
{
	int ret;

	if (!(c->flags & SOCCR_CONN_PEER_FIN))
		return 0;
	ret = replay_peer_segment(c, false);
	if (!ret)
		c->flags &= ~SOCCR_CONN_PEER_FIN;
	return ret;
}

static int finish_peer_ack(struct libsoccr_conn *c)
{
	int ret;

	if (!(c->flags & SOCCR_CONN_PEER_ACK))
		return 0;
	ret = replay_peer_segment(c, true);
	if (!ret)
		c->flags &= ~SOCCR_CONN_PEER_ACK;
	return ret;
}

/*
 * The unsent tail of the send queue, out of repair mode, from byte @done on.
 * The connection is live: bytes the socket does not take now are missing
 * from its stream for good, so a connection cut short fails (-EAGAIN when
 * the buffer is full) and says how much is missing.
 */
int soccr_unsent_rest(const struct libsoccr_ctx *ctx, const struct libsoccr_conn *c, uint32_t done)
{
	const struct libsoccr_sk_data *d = &c->data;
	int ret = send_nowait(c->fd, c->queues + d->inq_len + (d->outq_len - d->unsq_len), d->unsq_len, &done);

	if (ret)
		soccr_err(ctx, "fd %d: wrote %u of the %u unsent bytes, %u are lost: %s", c->fd, done, d->unsq_len,
			  d->unsq_len - done, strerror(-ret));
	return ret;
}

/*
 * After repair mode: the unsent tail of the send queue, then the FINs that
 * repair mode could not rebuild, in the order that yields the dumped state.
 * Each part is done once: a second call after a failure does not repeat it.
 */
int soccr_finish_pending(const struct libsoccr_ctx *ctx, struct libsoccr_conn *c)
{
	const struct libsoccr_sk_data *d = &c->data;
	int ret = 0;

	if (c->flags & SOCCR_CONN_UNSENT) {
		/* written, even in part: never again */
		c->flags &= ~SOCCR_CONN_UNSENT;
		ret = soccr_unsent_rest(ctx, c, 0);
		if (ret)
			return ret;
	}
	if (d->state == TCP_LAST_ACK)
		ret = finish_peer_fin(c) ?: finish_our_fin(c);
	else
		ret = finish_our_fin(c) ?: finish_peer_ack(c) ?: finish_peer_fin(c);
	if (ret)
		soccr_err(ctx, "fd %d: rebuilding the FINs: %s", c->fd, strerror(-ret));
	return ret;
}

int soccr_sys_repair_off(const struct libsoccr_ctx *ctx, struct libsoccr_conn *c)
{
	int ret;

	ret = setsockopt_int(c->fd, SOL_TCP, TCP_REPAIR, TCP_REPAIR_OFF);
	ret = ret ?: soccr_reuseaddr_restore(c);
	if (ret) {
		soccr_err(ctx, "fd %d: cannot turn repair off: %s", c->fd, strerror(-ret));
		return ret;
	}
	return c->flags & SOCCR_CONN_PENDING ? soccr_finish_pending(ctx, c) : 0;
}

/* Out of repair mode already: a window probe makes the peer answer at once. */
int soccr_sys_resume(const struct libsoccr_ctx *ctx, struct libsoccr_conn *c)
{
	int ret = setsockopt_int(c->fd, SOL_TCP, TCP_REPAIR, TCP_REPAIR_OFF);

	ret = ret ?: soccr_reuseaddr_restore(c);
	if (ret)
		soccr_err(ctx, "fd %d: window probe: %s", c->fd, strerror(-ret));
	return ret;
}

int soccr_sys_close(struct libsoccr_conn *c)
{
	int ret = close(c->fd) ? -errno : 0;

	c->fd = -1;
	return ret;
}

/* One entry of a socket option batch; a get sets its length. */
int soccr_sys_sockopt(struct libsoccr_sockopt *op, bool set)
{
	socklen_t len = op->len;

	if (set)
		return setsockopt(op->fd, op->level, op->name, op->val, len) ? -errno : 0;
	if (getsockopt(op->fd, op->level, op->name, op->val, &len))
		return -errno;
	op->len = len;
	return 0;
}

void libsoccr_conn_free_queues(struct libsoccr_conn *conn)
{
	if (!(conn->flags & SOCCR_CONN_EXT_QUEUES))
		free(conn->queues);
	conn->flags &= ~SOCCR_CONN_EXT_QUEUES;
	conn->queues = NULL;
}

void libsoccr_conns_free_queues(struct libsoccr_conn *conns, size_t n)
{
	for (size_t i = 0; i < n; i++)
		libsoccr_conn_free_queues(&conns[i]);
}

int libsoccr_dump(struct libsoccr_ctx *ctx, struct libsoccr_conn *conn)
{
	conn->status = soccr_sys_dump(ctx, conn);
	return conn->status;
}

int libsoccr_restore(struct libsoccr_ctx *ctx, struct libsoccr_conn *conn)
{
	conn->status = soccr_sys_restore(ctx, conn);
	return conn->status;
}

int libsoccr_repair_off(struct libsoccr_ctx *ctx, struct libsoccr_conn *conn)
{
	conn->status = conn->fd < 0 ? -EBADF : soccr_sys_repair_off(ctx, conn);
	return conn->status;
}

int libsoccr_close(struct libsoccr_ctx *ctx, struct libsoccr_conn *conn)
{
	(void)ctx;
	conn->status = conn->fd < 0 ? -EBADF : soccr_sys_close(conn);
	return conn->status;
}
