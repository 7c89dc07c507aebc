/*
 * connfix-peer.c: the peer process of the connection fixture. It holds the far ends of the
 * fixture's connections and does, on command from the fixture, what a remote client would:
 * connect, send its stream, read and check the server's stream, answer a round trip, shut down.
 * Every command has a deadline; the process dies with its parent (PR_SET_PDEATHSIG).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "connfix.h"
#include "connfix-proto.h"
#include "pattern.h"
#include "streamio.h"

#define PEER_IDLE_MS (15 * 60 * 1000) /* no command for this long: the fixture is gone */

struct peer_conn {
	int fd;
	uint64_t rx; /* bytes of the server's stream read */
	uint64_t tx; /* bytes of the peer's stream written */
};

struct peer {
	int ctl;
	uint32_t n;
	struct peer_conn *conns;
	struct sio_item *items;
};

int connfix_drop_filter(int fd, int drop)
{
	struct sock_filter code[] = { BPF_STMT(BPF_RET | BPF_K, 0) };
	struct sock_fprog prog = { .len = 1, .filter = code };
	int unused = 0;

	if (drop)
		return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0 ? -errno : 0;
	if (setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &unused, sizeof(unused)) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static void peer_fail(struct sio_report *rep, uint32_t idx, uint64_t off, int err)
{
	struct sio_fail f = {
		.idx = idx, .kind = SIO_FAIL_ERROR, .stream = pattern_stream(idx, 0), .err = err, .off = off
	};

	sio_report_add(rep, &f);
}

/* Addresses of connection @i: IPv4 peers spread over 127.1.0.0/16 -> 127.0.0.1..8. */
static socklen_t peer_addrs(uint32_t family, uint32_t i, uint16_t port, union connfix_addr *src,
			    union connfix_addr *dst)
{
	memset(src, 0, sizeof(*src));
	memset(dst, 0, sizeof(*dst));
	if (family == CONNFIX_IPV6) {
		dst->v6.sin6_family = AF_INET6;
		dst->v6.sin6_addr = in6addr_loopback;
		dst->v6.sin6_port = htons(port);
		return 0;
	}
	src->v4.sin_family = AF_INET;
	src->v4.sin_addr.s_addr = htonl(0x7f000000u + ((1 + (i >> 16)) << 16) + (i & 0xffff));
	dst->v4.sin_family = AF_INET;
	dst->v4.sin_addr.s_addr = htonl(0x7f000001u + i % 8);
	dst->v4.sin_port = htons(port);
	return sizeof(struct sockaddr_in);
}

static int peer_connect_one(const struct peer_cmd *cmd, uint32_t i, int *fdp)
{
	struct timeval tv = { .tv_sec = cmd->timeout_ms / 1000, .tv_usec = (cmd->timeout_ms % 1000) * 1000 };
	int family = cmd->family == CONNFIX_IPV6 ? AF_INET6 : AF_INET;
	union connfix_addr src, dst;
	socklen_t srclen = peer_addrs(cmd->family, i, (uint16_t)cmd->port, &src, &dst);
	socklen_t dstlen = family == AF_INET6 ? sizeof(dst.v6) : sizeof(dst.v4);
	uint32_t hello = i;
	int one = 1, mss = (int)cmd->mss, fd, ret;

	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof(mss)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		goto out_errno;
	if (srclen && (setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)) < 0 ||
		       bind(fd, &src.sa, srclen) < 0))
		goto out_errno;
	if (connect(fd, &dst.sa, dstlen) < 0)
		goto out_errno;
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		goto out_errno;
	if (send(fd, &hello, sizeof(hello), MSG_DONTWAIT | MSG_NOSIGNAL) != sizeof(hello)) {
		ret = errno ? -errno : -EIO;
		goto out_close_fd;
	}
	*fdp = fd;
	return 0;
out_errno:
	ret = -errno;
out_close_fd:
	close(fd);
	return ret;
}

static int peer_connect(struct peer *p, const struct peer_cmd *cmd, struct sio_report *rep)
{
	uint32_t i;
	int ret;

	for (i = cmd->lo; i < cmd->hi; i++) {
		if (p->conns[i].fd >= 0) {
			peer_fail(rep, i, 0, -EEXIST);
			return -EEXIST;
		}
		ret = peer_connect_one(cmd, i, &p->conns[i].fd);
		if (ret) {
			peer_fail(rep, i, 0, ret);
			return ret;
		}
	}
	return 0;
}

/* Fill p->items for [lo, hi); a connection the peer does not hold fails the command. */
static int peer_items(struct peer *p, const struct peer_cmd *cmd, int to_peer, struct sio_report *rep)
{
	uint32_t i;

	for (i = cmd->lo; i < cmd->hi; i++) {
		struct peer_conn *c = &p->conns[i];
		struct sio_item *it = &p->items[i - cmd->lo];

		if (c->fd < 0) {
			peer_fail(rep, i, 0, -EBADF);
			return -EBADF;
		}
		memset(it, 0, sizeof(*it));
		it->fd = c->fd;
		it->idx = i;
		it->stream = pattern_stream(i, to_peer);
		it->pos = to_peer ? &c->rx : &c->tx;
		it->reply_stream = pattern_stream(i, 0);
		it->reply_pos = &c->tx;
	}
	return 0;
}

static int peer_stream(struct peer *p, const struct peer_cmd *cmd, struct sio_report *rep)
{
	size_t n = cmd->hi - cmd->lo, k;
	int to_peer = cmd->op != PEER_OP_SEND;
	int ret;

	ret = peer_items(p, cmd, to_peer, rep);
	if (ret)
		return ret;
	for (k = 0; k < n; k++) {
		struct sio_item *it = &p->items[k];

		switch (cmd->op) {
		case PEER_OP_SEND:
			it->target = *it->pos + cmd->len;
			break;
		case PEER_OP_READ:
			it->target = cmd->len;
			it->eof = !!(cmd->flags & PEER_F_EOF);
			break;
		default: /* PEER_OP_ROUNDTRIP */
			it->target = *it->pos + cmd->len;
			it->reply_len = (uint32_t)cmd->len2;
			break;
		}
	}
	if (cmd->op == PEER_OP_SEND)
		return sio_write(p->items, n, cmd->timeout_ms, rep);
	if (cmd->op == PEER_OP_ROUNDTRIP && !cmd->len) {
		/* nothing to wait for: answer right away */
		for (k = 0; k < n; k++) {
			p->items[k].stream = p->items[k].reply_stream;
			p->items[k].pos = p->items[k].reply_pos;
			p->items[k].target = *p->items[k].pos + cmd->len2;
		}
		return sio_write(p->items, n, cmd->timeout_ms, rep);
	}
	return sio_read(p->items, n, cmd->timeout_ms, rep);
}

static int peer_each(struct peer *p, const struct peer_cmd *cmd, struct sio_report *rep)
{
	uint32_t i;
	int ret = 0;

	for (i = cmd->lo; i < cmd->hi; i++) {
		int fd = p->conns[i].fd, r;

		if (fd < 0)
			r = -EBADF;
		else if (cmd->op == PEER_OP_SHUTDOWN)
			r = shutdown(fd, SHUT_WR) < 0 ? -errno : 0;
		else
			r = connfix_drop_filter(fd, cmd->len != 0);
		if (r) {
			peer_fail(rep, i, 0, r);
			if (!ret)
				ret = r;
		}
	}
	return ret;
}

static int peer_do(struct peer *p, const struct peer_cmd *cmd, struct sio_report *rep)
{
	if (cmd->lo > cmd->hi || cmd->hi > p->n)
		return -ERANGE;
	switch (cmd->op) {
	case PEER_OP_CONNECT:
		return peer_connect(p, cmd, rep);
	case PEER_OP_SEND:
	case PEER_OP_READ:
	case PEER_OP_ROUNDTRIP:
		return peer_stream(p, cmd, rep);
	case PEER_OP_SHUTDOWN:
	case PEER_OP_FILTER:
		return peer_each(p, cmd, rep);
	case PEER_OP_EXIT:
		return 0;
	default:
		return -EINVAL;
	}
}

/* The next command, or -errno: -ETIMEDOUT when idle too long, -EPIPE when the fixture is gone. */
static int peer_recv_cmd(int ctl, struct peer_cmd *cmd)
{
	struct pollfd pfd = { .fd = ctl, .events = POLLIN };
	ssize_t r;
	int k;

	do {
		k = poll(&pfd, 1, PEER_IDLE_MS);
	} while (k < 0 && errno == EINTR);
	if (k < 0)
		return -errno;
	if (k == 0)
		return -ETIMEDOUT;
	r = recv(ctl, cmd, sizeof(*cmd), 0);
	if (r < 0)
		return -errno;
	if (r != sizeof(*cmd))
		return -EPIPE;
	return 0;
}

void connfix_peer_main(int ctl, uint32_t n)
{
	struct peer p = { .ctl = ctl, .n = n };
	uint32_t i;

	p.conns = calloc(n ? n : 1, sizeof(*p.conns));
	p.items = calloc(n ? n : 1, sizeof(*p.items));
	if (!p.conns || !p.items) {
		fprintf(stderr, "connfix peer: out of memory for %u connections\n", n);
		_exit(2);
	}
	for (i = 0; i < n; i++)
		p.conns[i].fd = -1;
	for (;;) {
		struct peer_reply reply = { 0 };
		struct peer_cmd cmd;
		int ret = peer_recv_cmd(ctl, &cmd);

		if (ret == -EPIPE)
			_exit(0);
		if (ret) {
			fprintf(stderr, "connfix peer: waiting for a command: %s\n", strerror(-ret));
			_exit(2);
		}
		reply.op = cmd.op;
		reply.status = peer_do(&p, &cmd, &reply.rep);
		if (send(ctl, &reply, sizeof(reply), MSG_NOSIGNAL) != sizeof(reply))
			_exit(2);
		if (cmd.op == PEER_OP_EXIT)
			_exit(0);
	}
}
