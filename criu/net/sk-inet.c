/*
 * AF_INET and AF_INET6 sockets, both directions (see include/sk-inet.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "array.h"
#include "files.h"
#include "image.h"
#include "restore-fds.h"
#include "sk-inet.h"
#include "soccr.h"

#define LOG_PREFIX "inet: "
#include "log.h"

#ifndef SO_BUF_LOCK
#define SO_BUF_LOCK 72
#endif

#define MAX_PORT 65535

bool inet_sk_is_conn(const struct inet_sk *sk)
{
	return sk->type == SOCK_STREAM && libsoccr_state_supported(sk->diag.state);
}

static int get_int(int fd, int level, int name, uint32_t *v)
{
	socklen_t len = sizeof(int);
	int val = 0;

	if (getsockopt(fd, level, name, &val, &len) < 0)
		return -errno;
	*v = (uint32_t)val;
	return 0;
}

/*
 * Options: read after the fd walk, those of every socket in one libsoccr
 * batch (inet_sk_read_opts()). Each read is an entry of the batch and an
 * opt_read saying where its value goes.
 */
enum opt_kind {
	OPT_U32,
	OPT_BOOL,
	OPT_TMO,      /* struct timeval, kept in microseconds */
	OPT_LINGER,   /* struct linger, into linger_on and linger_s */
	OPT_DEV,      /* an interface name */
	OPT_BUF_LOCK, /* a u32 that a kernel before 5.14 lacks: the sizes are then kept as they are */
};

struct opt_read {
	union {
		int i;
		struct timeval tv;
		struct linger lg;
		char dev[IFNAMSIZ];
	} val;
	uint32_t sk;  /* the socket's index in the dump */
	uint16_t off; /* of its field in struct inet_sk_opts */
	uint8_t kind; /* enum opt_kind */
};

/*
 * The reads of a slice of the dump's sockets: entries of the batch and, at
 * the same index, where each value goes. One slice at a time through the same
 * arrays: fresh memory costs more than the reads here (a first touch of a
 * page is a fault, ~10 us on a paravirtualized VM), and a slice of a thousand
 * sockets keeps both workers busy with many chunks.
 */
struct opt_plan {
	struct libsoccr_sockopt *ops;
	struct opt_read *reads;
	size_t nr;
};

#define OPT_FIELD(field) ((uint16_t)offsetof(struct inet_sk_opts, field))
#define SLICE_SOCKETS 1024
#define MAX_READS_PER_SK 26 /* 9 for what a connection's dump reads, 5 diag gaps, 12 more */

static void plan_add(struct opt_plan *p, const struct inet_sk *sk, uint32_t idx, int level, int name,
		     enum opt_kind kind, uint16_t off)
{
	size_t i = p->nr++;
	struct opt_read *r = &p->reads[i];
	uint32_t len = sizeof(r->val.i);

	if (kind == OPT_TMO)
		len = sizeof(r->val.tv);
	else if (kind == OPT_LINGER)
		len = sizeof(r->val.lg);
	else if (kind == OPT_DEV)
		len = sizeof(r->val.dev);
	memset(r, 0, sizeof(*r));
	r->sk = idx;
	r->off = off;
	r->kind = (uint8_t)kind;
	p->ops[i] =
		(struct libsoccr_sockopt){ .fd = sk->dup_fd, .level = level, .name = name, .val = &r->val, .len = len };
}

/*
 * What a TCP connection's libsoccr dump reads anyway (buffers, SO_REUSEADDR,
 * keepalive): left out for connections, sk-tcp.c copies them in.
 */
static void plan_conn_shared(struct opt_plan *p, const struct inet_sk *sk, uint32_t idx)
{
	plan_add(p, sk, idx, SOL_SOCKET, SO_SNDBUF, OPT_U32, OPT_FIELD(common.sndbuf));
	plan_add(p, sk, idx, SOL_SOCKET, SO_RCVBUF, OPT_U32, OPT_FIELD(common.rcvbuf));
	plan_add(p, sk, idx, SOL_SOCKET, SO_REUSEADDR, OPT_BOOL, OPT_FIELD(reuseaddr));
	plan_add(p, sk, idx, SOL_SOCKET, SO_KEEPALIVE, OPT_BOOL, OPT_FIELD(keepalive));
	if (sk->type != SOCK_STREAM)
		return;
	plan_add(p, sk, idx, SOL_TCP, TCP_KEEPCNT, OPT_U32, OPT_FIELD(keepcnt));
	plan_add(p, sk, idx, SOL_TCP, TCP_KEEPIDLE, OPT_U32, OPT_FIELD(keepidle));
	plan_add(p, sk, idx, SOL_TCP, TCP_KEEPINTVL, OPT_U32, OPT_FIELD(keepintvl));
	plan_add(p, sk, idx, SOL_TCP, TCP_NODELAY, OPT_BOOL, OPT_FIELD(nodelay));
	plan_add(p, sk, idx, SOL_TCP, TCP_CORK, OPT_BOOL, OPT_FIELD(cork));
}

/* What sock_diag told already (TOS, mark, priority, freebind) is not asked again. */
static void plan_diag_gaps(struct opt_plan *p, struct inet_sk *sk, uint32_t idx)
{
	const struct sk_diag *d = &sk->diag;
	struct inet_sk_opts *o = &sk->opts;
	bool v4 = d->family == AF_INET;

	o->tos = d->tos, o->common.mark = d->mark, o->freebind = d->freebind;
	o->common.priority = (d->has & SK_DIAG_HAS_PRIORITY) ? d->priority : 0;
	if (!(d->has & SK_DIAG_HAS_TOS))
		plan_add(p, sk, idx, v4 ? SOL_IP : SOL_IPV6, v4 ? IP_TOS : IPV6_TCLASS, OPT_U32, OPT_FIELD(tos));
	if (!(d->has & SK_DIAG_HAS_MARK))
		plan_add(p, sk, idx, SOL_SOCKET, SO_MARK, OPT_U32, OPT_FIELD(common.mark));
	/* A class id of 0 means the priority; another is a net_cls class: ask. */
	if (!(d->has & SK_DIAG_HAS_PRIORITY) || d->priority)
		plan_add(p, sk, idx, SOL_SOCKET, SO_PRIORITY, OPT_U32, OPT_FIELD(common.priority));
	if (!(d->has & SK_DIAG_HAS_FREEBIND))
		plan_add(p, sk, idx, v4 ? SOL_IP : SOL_IPV6, v4 ? IP_FREEBIND : IPV6_FREEBIND, OPT_BOOL,
			 OPT_FIELD(freebind));
	if (d->ifindex)
		plan_add(p, sk, idx, SOL_SOCKET, SO_BINDTODEVICE, OPT_DEV, OPT_FIELD(bound_dev));
}

static void plan_rest(struct opt_plan *p, const struct inet_sk *sk, uint32_t idx)
{
	bool v4 = sk->diag.family == AF_INET;
	int ip = v4 ? SOL_IP : SOL_IPV6;

	plan_add(p, sk, idx, SOL_SOCKET, SO_SNDTIMEO, OPT_TMO, OPT_FIELD(common.snd_tmo_us));
	plan_add(p, sk, idx, SOL_SOCKET, SO_RCVTIMEO, OPT_TMO, OPT_FIELD(common.rcv_tmo_us));
	plan_add(p, sk, idx, SOL_SOCKET, SO_REUSEPORT, OPT_BOOL, OPT_FIELD(reuseport));
	plan_add(p, sk, idx, SOL_SOCKET, SO_BROADCAST, OPT_BOOL, OPT_FIELD(broadcast));
	plan_add(p, sk, idx, SOL_SOCKET, SO_OOBINLINE, OPT_BOOL, OPT_FIELD(oobinline));
	plan_add(p, sk, idx, SOL_SOCKET, SO_DONTROUTE, OPT_BOOL, OPT_FIELD(dontroute));
	plan_add(p, sk, idx, SOL_SOCKET, SO_RCVLOWAT, OPT_U32, OPT_FIELD(common.rcvlowat));
	plan_add(p, sk, idx, ip, v4 ? IP_TTL : IPV6_UNICAST_HOPS, OPT_U32, OPT_FIELD(ttl));
	plan_add(p, sk, idx, SOL_SOCKET, SO_BUF_LOCK, OPT_BUF_LOCK, OPT_FIELD(common.buf_lock));
	plan_add(p, sk, idx, SOL_SOCKET, SO_LINGER, OPT_LINGER, OPT_FIELD(linger_on));
	/* SO_NO_CHECK is a socket's own flag, whatever its protocol; a connection's is left as it comes. */
	if (sk->type == SOCK_DGRAM || !sk->conn)
		plan_add(p, sk, idx, SOL_SOCKET, SO_NO_CHECK, OPT_BOOL, OPT_FIELD(no_check));
	if (sk->type != SOCK_DGRAM)
		return;
	plan_add(p, sk, idx, ip, v4 ? IP_PKTINFO : IPV6_RECVPKTINFO, OPT_BOOL, OPT_FIELD(pktinfo));
}

/* The value of a read that succeeded, into its field. */
static void store_read(const struct opt_read *r, struct inet_sk_opts *o)
{
	char *field = (char *)o + r->off;

	switch ((enum opt_kind)r->kind) {
	case OPT_U32:
	case OPT_BUF_LOCK:
		*(uint32_t *)field = (uint32_t)r->val.i;
		break;
	case OPT_BOOL:
		*(bool *)field = r->val.i != 0;
		break;
	case OPT_TMO:
		*(uint64_t *)field = (uint64_t)r->val.tv.tv_sec * 1000000 + (uint64_t)r->val.tv.tv_usec;
		break;
	case OPT_LINGER:
		o->linger_on = (uint32_t)r->val.lg.l_onoff;
		o->linger_s = (uint32_t)r->val.lg.l_linger;
		break;
	case OPT_DEV:
		memcpy(field, r->val.dev, sizeof(r->val.dev));
		field[sizeof(r->val.dev) - 1] = '\0';
		break;
	}
}

/*
 * The batch's results into the sockets' options. The first socket, in fd
 * order, with a read that failed fails the dump, named by its first failed
 * read; SO_BUF_LOCK alone may fail.
 */
static int store_reads(struct inet_sk_dump *d, const struct opt_plan *p)
{
	for (size_t i = 0; i < p->nr; i++) {
		const struct libsoccr_sockopt *op = &p->ops[i];
		const struct opt_read *r = &p->reads[i];
		struct inet_sk *sk = &d->v[r->sk];

		if (!op->status) {
			store_read(r, &sk->opts);
		} else if (r->kind == OPT_BUF_LOCK) {
			sk->opts.common.buf_lock = 3;
		} else {
			pr_err("can't read socket %u (fd %d of process %d): option %d of level %d: %s\n", sk->diag.ino,
			       sk->fd, d->pid, op->name, op->level, strerror(-op->status));
			return op->status;
		}
	}
	return 0;
}

/* The socket's state by getsockname/getpeername, for a protocol sock_diag doesn't cover here. */
/*
 * The socket's state by getsockname/getpeername, for one sock_diag doesn't
 * list: never bound, or UDP where the kernel has no UDP sock_diag.
 */
static int diag_by_name(int fd, uint32_t ino, int family, int proto, struct sk_diag *d)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	uint32_t v6only = 0;

	memset(d, 0, sizeof(*d));
	d->ino = ino;
	d->family = (uint8_t)family;
	d->proto = (uint8_t)proto;
	d->state = TCP_CLOSE;
	if (family == AF_INET6) {
		if (get_int(fd, SOL_IPV6, IPV6_V6ONLY, &v6only))
			return -errno;
		d->v6only = (uint8_t)v6only;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	if (family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;

		d->src[0] = a->sin_addr.s_addr;
		d->sport = ntohs(a->sin_port);
	} else {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;

		memcpy(d->src, &a->sin6_addr, sizeof(d->src));
		d->sport = ntohs(a->sin6_port);
	}
	len = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return errno == ENOTCONN ? 0 : -errno;
	d->state = TCP_ESTABLISHED;
	if (family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;

		d->dst[0] = a->sin_addr.s_addr;
		d->dport = ntohs(a->sin_port);
	} else {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;

		memcpy(d->dst, &a->sin6_addr, sizeof(d->dst));
		d->dport = ntohs(a->sin6_port);
	}
	return 0;
}

/* Every TCP and UDP socket of the namespace, once: a socket is then found by inode without a syscall. */
static int collect_all(struct inet_sk_dump *d)
{
	static const int families[] = { AF_INET, AF_INET6 }, protos[] = { IPPROTO_TCP, IPPROTO_UDP };
	int ret = 0;

	for (size_t i = 0; !ret && i < 2; i++)
		for (size_t j = 0; !ret && j < 2; j++) {
			ret = sk_diag_collect(&d->diag, families[i], protos[j]);
			if (ret == -EPROTONOSUPPORT && protos[j] == IPPROTO_UDP)
				ret = 0; /* UDP sockets are then read by name */
		}
	return ret;
}

/* Refuses what can't be dumped: TCP states in a handshake, connections without the options that allow them. */
static int check_tcp(const struct inet_sk *sk, const struct inet_sk_policy *pol, const struct inet_sk_fd *f)
{
	unsigned int st = sk->diag.state;

	if (st == TCP_LISTEN) {
		if (sk->diag.rqueue && !pol->skip_in_flight) {
			pr_err("fd %d of process %d: the listening socket on port %u has %u in-flight connection(s) not "
			       "yet accepted; use --skip-in-flight to drop them\n",
			       f->fd, f->pid, sk->diag.sport, sk->diag.rqueue);
			return -EOPNOTSUPP;
		}
		if (sk->diag.rqueue)
			pr_warn("fd %d: %u in-flight connection(s) of port %u are left out (--skip-in-flight)\n", f->fd,
				sk->diag.rqueue, sk->diag.sport);
		return 0;
	}
	if (st == TCP_CLOSE)
		return 0;
	if (!libsoccr_state_supported(st)) {
		pr_err("fd %d of process %d: TCP socket in state %u (a handshake or TIME_WAIT): not supported\n", f->fd,
		       f->pid, st);
		return -EOPNOTSUPP;
	}
	if (!pol->tcp_established && !pol->tcp_close) {
		pr_err("fd %d of process %d: connected TCP socket, consider using --tcp-established option.\n", f->fd,
		       f->pid);
		return -EOPNOTSUPP;
	}
	return 0;
}

/*
 * A UDP-Lite socket (a UDP socket with a partial checksum, rare): its
 * family's UDP-Lite sockets are listed the first time one is met, or, where
 * the kernel has no UDP-Lite sock_diag, it is read by name.
 */
static int find_udplite(struct inet_sk_dump *d, const struct inet_sk_fd *f, struct sk_diag *out)
{
	const struct sk_diag *sd;
	int ret;

	ret = sk_diag_collect(&d->diag, f->family, IPPROTO_UDPLITE);
	if (ret == -EPROTONOSUPPORT)
		return diag_by_name(f->dup_fd, f->ino, f->family, IPPROTO_UDPLITE, out);
	if (ret)
		return ret;
	sd = sk_diag_find(&d->diag, f->ino);
	if (sd) {
		*out = *sd;
		return 0;
	}
	ret = diag_by_name(f->dup_fd, f->ino, f->family, IPPROTO_UDPLITE, out);
	if (!ret && out->sport) {
		pr_err("fd %d of process %d: socket %u is not in criu's network namespace\n", f->fd, f->pid, f->ino);
		return -EOPNOTSUPP;
	}
	return ret;
}

/*
 * The socket of @f as sock_diag listed it; one it didn't list is asked for its
 * kind (a UDP socket where the kernel lacks UDP sock_diag is read by name).
 */
static int find_diag(struct inet_sk_dump *d, const struct inet_sk_fd *f, uint32_t *type, struct sk_diag *out)
{
	uint32_t family = (uint32_t)f->family, proto = 0;
	const struct sk_diag *sd;
	int ret;

	ret = collect_all(d);
	if (ret)
		return ret;
	sd = sk_diag_find(&d->diag, f->ino);
	if (sd) {
		*out = *sd;
		*type = sd->proto == IPPROTO_TCP ? SOCK_STREAM : SOCK_DGRAM;
		return 0;
	}
	ret = get_int(f->dup_fd, SOL_SOCKET, SO_TYPE, type);
	ret = ret ?: get_int(f->dup_fd, SOL_SOCKET, SO_PROTOCOL, &proto);
	if (ret) {
		pr_err("can't read the kind of socket of fd %d of process %d: %s\n", f->fd, f->pid, strerror(-ret));
		return ret;
	}
	if (*type == SOCK_DGRAM && proto == IPPROTO_UDPLITE)
		return find_udplite(d, f, out);
	if ((*type == SOCK_STREAM && proto == IPPROTO_TCP) || (*type == SOCK_DGRAM && proto == IPPROTO_UDP)) {
		bool udp_listed = d->diag.collected & (1u << (family == AF_INET6 ? 3 : 1));

		ret = diag_by_name(f->dup_fd, f->ino, (int)family, (int)proto, out);
		/* Unlisted and bound (where sock_diag lists them): another network namespace's. */
		if (!ret && out->sport && (*type == SOCK_STREAM || udp_listed)) {
			pr_err("fd %d of process %d: socket %u is not in criu's network namespace\n", f->fd, f->pid,
			       f->ino);
			return -EOPNOTSUPP;
		}
		return ret;
	}
	pr_err("fd %d of process %d: an inet socket of type %u protocol %u (only TCP, UDP and UDP-Lite are "
	       "supported)\n",
	       f->fd, f->pid, *type, proto);
	return -EOPNOTSUPP;
}

int inet_sk_add(struct inet_sk_dump *d, const struct inet_sk_policy *pol, struct inet_sk_fd *f, uint32_t id)
{
	uint32_t type = 0;
	struct inet_sk *sk;
	int ret;

	ret = ARRAY_RESERVE(d->v, d->nr, d->cap, 16);
	if (ret)
		return ret;
	sk = &d->v[d->nr];
	memset(sk, 0, sizeof(*sk));
	sk->id = id;
	sk->fd = f->fd;
	sk->dup_fd = -1;
	sk->flags = f->flags;
	sk->fown = *f->fown;
	ret = find_diag(d, f, &type, &sk->diag);
	sk->type = (int)type;
	if (!ret && type == SOCK_STREAM)
		ret = check_tcp(sk, pol, f);
	if (ret) {
		if (ret != -EOPNOTSUPP)
			pr_err("can't read socket %u (fd %d of process %d): %s\n", f->ino, f->fd, f->pid,
			       strerror(-ret));
		return ret;
	}
	sk->conn = inet_sk_is_conn(sk) && pol->tcp_established && !pol->tcp_close;
	/* the options are read through it after the walk; sk-tcp.c dumps a connection through it */
	sk->dup_fd = f->dup_fd;
	f->dup_fd = -1;
	d->pid = f->pid;
	d->nr_conns += sk->conn;
	d->nr++;
	return 0;
}

/* The reads of sockets @start to @end. */
static void plan_sockets(struct opt_plan *p, struct inet_sk_dump *d, size_t start, size_t end)
{
	p->nr = 0;
	for (size_t i = start; i < end; i++) {
		struct inet_sk *sk = &d->v[i];

		if (!sk->conn)
			plan_conn_shared(p, sk, (uint32_t)i);
		plan_diag_gaps(p, sk, (uint32_t)i);
		plan_rest(p, sk, (uint32_t)i);
	}
}

/* The options of sockets @start to @end in one batch, then criu's copies of all but the connections closed. */
static int read_slice(struct inet_sk_dump *d, struct libsoccr_ctx *soccr, struct opt_plan *p, size_t start, size_t end)
{
	int ret, batch_ret;

	plan_sockets(p, d, start, end);
	batch_ret = libsoccr_getsockopt_batch(soccr, p->ops, p->nr);
	ret = store_reads(d, p);
	if (ret)
		return ret;
	if (batch_ret)
		pr_debug("SO_BUF_LOCK is missing (%s): the buffer sizes are kept as they are\n", strerror(-batch_ret));
	for (size_t i = start; i < end; i++) {
		struct inet_sk *sk = &d->v[i];

		if (!sk->conn && sk->dup_fd >= 0) {
			close(sk->dup_fd);
			sk->dup_fd = -1;
		}
	}
	return 0;
}

int inet_sk_read_opts(struct inet_sk_dump *d, struct libsoccr_ctx *soccr)
{
	size_t slice = d->nr - d->nr_read < SLICE_SOCKETS ? d->nr - d->nr_read : SLICE_SOCKETS;
	struct opt_plan plan = { 0 };
	size_t nr_opts = 0;
	int ret = 0;

	if (!slice)
		return 0;
	plan.ops = malloc(slice * MAX_READS_PER_SK * sizeof(*plan.ops));
	plan.reads = malloc(slice * MAX_READS_PER_SK * sizeof(*plan.reads));
	if (!plan.ops || !plan.reads) {
		ret = -ENOMEM;
		goto out_free_plan;
	}
	for (size_t start = d->nr_read; !ret && start < d->nr; start += slice) {
		ret = read_slice(d, soccr, &plan, start, start + slice < d->nr ? start + slice : d->nr);
		nr_opts += plan.nr;
	}
	if (ret)
		goto out_free_plan;
	pr_info("%zu option(s) of %zu socket(s) read\n", nr_opts, d->nr - d->nr_read);
	d->nr_read = d->nr;
out_free_plan:
	free(plan.ops);
	free(plan.reads);
	return ret;
}

static void fill_sk_opts(const struct inet_sk_opts *o, SkOptsEntry *e)
{
	sk_opts_fill_common(&o->common, e);
	e->has_reuseaddr = 1, e->reuseaddr = o->reuseaddr;
	e->has_so_reuseport = 1, e->so_reuseport = o->reuseport;
	e->has_so_broadcast = 1, e->so_broadcast = o->broadcast;
	e->has_so_keepalive = 1, e->so_keepalive = o->keepalive;
	e->has_so_oobinline = 1, e->so_oobinline = o->oobinline;
	e->has_so_dontroute = 1, e->so_dontroute = o->dontroute;
	e->has_so_no_check = 1, e->so_no_check = o->no_check;
	if (o->linger_on)
		e->has_so_linger = 1, e->so_linger = o->linger_s;
	if (o->keepcnt)
		e->has_tcp_keepcnt = 1, e->tcp_keepcnt = o->keepcnt;
	if (o->keepidle)
		e->has_tcp_keepidle = 1, e->tcp_keepidle = o->keepidle;
	if (o->keepintvl)
		e->has_tcp_keepintvl = 1, e->tcp_keepintvl = o->keepintvl;
	if (o->bound_dev[0])
		e->so_bound_dev = (char *)o->bound_dev;
}

static int write_one(const struct inet_sk *sk, struct cr_img *img)
{
	size_t words = sk->diag.family == AF_INET ? 1 : 4;
	FileEntry fe = FILE_ENTRY__INIT;
	InetSkEntry ie = INET_SK_ENTRY__INIT;
	SkOptsEntry opts = SK_OPTS_ENTRY__INIT;
	IpOptsEntry ipo = IP_OPTS_ENTRY__INIT;
	TcpOptsEntry tcpo = TCP_OPTS_ENTRY__INIT;
	FownEntry fown;
	uint32_t src[4], dst[4];

	reg_fown_entry(&sk->fown, &fown);
	fill_sk_opts(&sk->opts, &opts);
	memcpy(src, sk->diag.src, sizeof(src));
	memcpy(dst, sk->diag.dst, sizeof(dst));
	ie.id = sk->id;
	ie.ino = sk->diag.ino;
	ie.family = sk->diag.family;
	ie.type = (uint32_t)sk->type;
	ie.proto = sk->diag.proto;
	ie.state = sk->diag.state;
	ie.src_port = sk->diag.sport;
	ie.dst_port = sk->diag.dport;
	ie.flags = sk->flags;
	ie.backlog = sk->diag.state == TCP_LISTEN ? sk->diag.wqueue : 0;
	ie.n_src_addr = words, ie.src_addr = src;
	ie.n_dst_addr = words, ie.dst_addr = dst;
	ie.fown = &fown;
	ie.opts = &opts;
	if (sk->diag.family == AF_INET6)
		ie.has_v6only = 1, ie.v6only = sk->diag.v6only;
	ipo.has_freebind = 1, ipo.freebind = sk->opts.freebind;
	ipo.has_tos = 1, ipo.tos = sk->opts.tos;
	ipo.has_ttl = 1, ipo.ttl = sk->opts.ttl;
	if (sk->type == SOCK_DGRAM)
		ipo.has_pktinfo = 1, ipo.pktinfo = sk->opts.pktinfo;
	ie.ip_opts = &ipo;
	if (sk->opts.bound_dev[0])
		ie.ifname = (char *)sk->opts.bound_dev;
	if (sk->diag.shutdown)
		ie.has_shutdown = 1, ie.shutdown = (SkShutdown)(sk->diag.shutdown & 3);
	if (sk->type == SOCK_STREAM) {
		tcpo.has_nodelay = 1, tcpo.nodelay = sk->opts.nodelay;
		tcpo.has_cork = 1, tcpo.cork = sk->opts.cork;
		ie.tcp_opts = &tcpo;
	}
	fe.type = FD_TYPES__INETSK;
	fe.id = sk->id;
	fe.isk = &ie;
	return img_write_entry(img, &fe);
}

int inet_sk_write_files(const struct inet_sk_dump *d, struct cr_img *img)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < d->nr; i++)
		ret = write_one(&d->v[i], img);
	return ret;
}

void inet_sk_dump_free(struct inet_sk_dump *d)
{
	for (size_t i = 0; i < d->nr; i++)
		if (d->v[i].dup_fd >= 0)
			close(d->v[i].dup_fd);
	free(d->v);
	sk_diag_free(&d->diag);
	memset(d, 0, sizeof(*d));
}

/* Restore. */

bool inet_sk_img_is_conn(const struct inet_sk_img *sk)
{
	return sk->type == SOCK_STREAM && libsoccr_state_supported(sk->state);
}

int inet_sk_check_entry(const FileEntry *fe, const char *name)
{
	const InetSkEntry *ie = fe->isk;
	size_t words;

	if (!ie || ie->id != fe->id || !ie->opts || !ie->fown) {
		pr_err("%s: file %u: an inet socket entry without its socket, options or owner\n", name, fe->id);
		return -EINVAL;
	}
	words = ie->family == AF_INET ? 1 : 4;
	if ((ie->family != AF_INET && ie->family != AF_INET6) || ie->n_src_addr != words || ie->n_dst_addr != words ||
	    ie->src_port > MAX_PORT || ie->dst_port > MAX_PORT) {
		pr_err("%s: socket %u: family %u with %zu/%zu address words and ports %u/%u is malformed\n", name,
		       ie->id, ie->family, ie->n_src_addr, ie->n_dst_addr, ie->src_port, ie->dst_port);
		return -EINVAL;
	}
	if (!((ie->type == SOCK_STREAM && ie->proto == IPPROTO_TCP) ||
	      (ie->type == SOCK_DGRAM && (ie->proto == IPPROTO_UDP || ie->proto == IPPROTO_UDPLITE)))) {
		pr_err("%s: socket %u: type %u protocol %u is not supported\n", name, ie->id, ie->type, ie->proto);
		return -EOPNOTSUPP;
	}
	if (ie->type == SOCK_STREAM && ie->state != TCP_LISTEN && ie->state != TCP_CLOSE &&
	    !libsoccr_state_supported(ie->state)) {
		pr_err("%s: socket %u: TCP state %u can't be restored\n", name, ie->id, ie->state);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* The compact sockets of a process (struct inet_sk_img), sorted by id once files.img is read. */
struct inet_sk_restore {
	struct inet_sk_img *v;
	size_t nr, cap;
};

void sk_opts_img_from(const SkOptsEntry *o, struct sk_opts_img *c)
{
	*c = (struct sk_opts_img){
		.sndbuf = o->so_sndbuf,
		.rcvbuf = o->so_rcvbuf,
		.buf_lock = o->so_buf_lock,
		.priority = o->so_priority,
		.rcvlowat = o->so_rcvlowat,
		.mark = o->so_mark,
		.linger = o->so_linger,
		.keepcnt = o->tcp_keepcnt,
		.keepidle = o->tcp_keepidle,
		.keepintvl = o->tcp_keepintvl,
		.snd_tmo_sec = o->so_snd_tmo_sec,
		.rcv_tmo_sec = o->so_rcv_tmo_sec,
		.snd_tmo_usec = (uint32_t)o->so_snd_tmo_usec,
		.rcv_tmo_usec = (uint32_t)o->so_rcv_tmo_usec,
		.bound_dev = o->so_bound_dev && o->so_bound_dev[0] ? o->so_bound_dev : NULL,
	};
	c->flags =
		(o->has_so_buf_lock ? SKO_HAS_BUF_LOCK : 0) | (o->has_reuseaddr && o->reuseaddr ? SKO_REUSEADDR : 0) |
		(o->has_so_keepalive && o->so_keepalive ? SKO_KEEPALIVE : 0) | (o->so_reuseport ? SKO_REUSEPORT : 0) |
		(o->so_broadcast ? SKO_BROADCAST : 0) | (o->so_oobinline ? SKO_OOBINLINE : 0) |
		(o->so_dontroute ? SKO_DONTROUTE : 0) | (o->so_no_check ? SKO_NO_CHECK : 0) |
		(o->has_so_linger ? SKO_HAS_LINGER : 0) | (o->has_tcp_keepcnt ? SKO_HAS_KEEPCNT : 0) |
		(o->has_tcp_keepidle ? SKO_HAS_KEEPIDLE : 0) | (o->has_tcp_keepintvl ? SKO_HAS_KEEPINTVL : 0);
}

static int strdup_opt(const char *s, char **out)
{
	*out = NULL;
	if (!s || !s[0])
		return 0;
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

static int inet_sk_img_from(const InetSkEntry *ie, struct inet_sk_img *sk)
{
	const IpOptsEntry *ip = ie->ip_opts;
	const TcpOptsEntry *t = ie->tcp_opts;
	char *bound_dev;
	int ret;

	*sk = (struct inet_sk_img){
		.id = ie->id,
		.ino = ie->ino,
		.flags = ie->flags,
		.backlog = ie->backlog,
		.src_port = (uint16_t)ie->src_port,
		.dst_port = (uint16_t)ie->dst_port,
		.family = (uint8_t)ie->family,
		.type = (uint8_t)ie->type,
		.proto = (uint8_t)ie->proto,
		.state = (uint8_t)ie->state,
		.has_v6only = ie->has_v6only,
		.v6only = ie->has_v6only && ie->v6only,
		.shutdown = ie->has_shutdown && ie->shutdown <= 3 ? (uint8_t)ie->shutdown : 0,
	};
	memcpy(sk->src_addr, ie->src_addr, ie->n_src_addr * sizeof(uint32_t));
	memcpy(sk->dst_addr, ie->dst_addr, ie->n_dst_addr * sizeof(uint32_t));
	if (ip) {
		sk->freebind = ip->has_freebind && ip->freebind;
		sk->pktinfo = ip->has_pktinfo && ip->pktinfo;
		sk->tos = ip->has_tos ? (uint8_t)ip->tos : 0;
		sk->ttl = ip->has_ttl ? (uint8_t)ip->ttl : 0;
	}
	if (t) {
		sk->nodelay = t->has_nodelay && t->nodelay;
		sk->cork = t->has_cork && t->cork;
	}
	sk_opts_img_from(ie->opts, &sk->opts);
	ret = strdup_opt(ie->ifname, &sk->ifname);
	ret = ret ?: strdup_opt(sk->opts.bound_dev, &bound_dev);
	if (ret) {
		free(sk->ifname);
		return ret;
	}
	sk->opts.bound_dev = bound_dev;
	return 0;
}

int inet_sk_take_entry(struct restore_image *ri, FileEntry *fe, const char *img_name)
{
	struct inet_sk_restore *r = ri->kind_state[FD_KIND_INETSK];
	int ret;

	(void)img_name;
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return -ENOMEM;
		ri->kind_state[FD_KIND_INETSK] = r;
	}
	ret = ARRAY_RESERVE(r->v, r->nr, r->cap, 64);
	ret = ret ?: inet_sk_img_from(fe->isk, &r->v[r->nr]);
	if (ret)
		return ret;
	r->nr++;
	inet_sk_entry__free_unpacked(fe->isk, NULL);
	fe->isk = NULL;
	return 0;
}

static int cmp_sk_id(const void *a, const void *b)
{
	uint32_t x = ((const struct inet_sk_img *)a)->id, y = ((const struct inet_sk_img *)b)->id;

	return (x > y) - (x < y);
}

int inet_sk_load(int dirfd, struct restore_image *ri)
{
	struct inet_sk_restore *r = ri->kind_state[FD_KIND_INETSK];

	(void)dirfd;
	if (r && r->nr)
		qsort(r->v, r->nr, sizeof(*r->v), cmp_sk_id);
	return 0;
}

void inet_sk_load_free(struct restore_image *ri)
{
	struct inet_sk_restore *r = ri->kind_state[FD_KIND_INETSK];

	if (!r)
		return;
	for (size_t i = 0; i < r->nr; i++) {
		free(r->v[i].ifname);
		free((char *)r->v[i].opts.bound_dev);
	}
	free(r->v);
	free(r);
	ri->kind_state[FD_KIND_INETSK] = NULL;
}

const struct inet_sk_img *inet_sk_of(const struct restore_image *ri, size_t file_idx)
{
	const struct inet_sk_restore *r = ri->kind_state[FD_KIND_INETSK];
	struct inet_sk_img key = { .id = ri->files[file_idx]->id };

	return r && r->nr ? bsearch(&key, r->v, r->nr, sizeof(*r->v), cmp_sk_id) : NULL;
}

static int set_int(int fd, int level, int name, uint32_t v, const char *what)
{
	int val = (int)v;

	if (setsockopt(fd, level, name, &val, sizeof(val)) < 0) {
		pr_perror("Can't set %s to %u", what, v);
		return -errno;
	}
	return 0;
}

static int set_tmo(int fd, int name, uint64_t sec, uint64_t usec)
{
	struct timeval tv = { .tv_sec = (time_t)sec, .tv_usec = (suseconds_t)usec };

	if (!sec && !usec)
		return 0;
	if (setsockopt(fd, SOL_SOCKET, name, &tv, sizeof(tv)) < 0) {
		pr_perror("Can't set a socket timeout");
		return -errno;
	}
	return 0;
}

/*
 * The options a new socket does not have by default; buffers only when the
 * application had set them. A connection (!@conn_opts) gets its buffers and
 * SO_LINGER from sk-tcp.c once its queues are in.
 */
int sk_opts_set(int fd, const struct sk_opts_img *o, bool conn_opts)
{
	int ret = 0;

	if (conn_opts && (o->buf_lock & 1))
		ret = set_int(fd, SOL_SOCKET, SO_SNDBUFFORCE, o->sndbuf / 2, "SO_SNDBUF");
	if (!ret && conn_opts && (o->buf_lock & 2))
		ret = set_int(fd, SOL_SOCKET, SO_RCVBUFFORCE, o->rcvbuf / 2, "SO_RCVBUF");
	if (!ret && conn_opts && (o->flags & SKO_REUSEADDR))
		ret = set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
	if (!ret && conn_opts && (o->flags & SKO_KEEPALIVE))
		ret = set_int(fd, SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE");
	if (!ret && (o->flags & SKO_REUSEPORT))
		ret = set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT");
	if (!ret && (o->flags & SKO_BROADCAST))
		ret = set_int(fd, SOL_SOCKET, SO_BROADCAST, 1, "SO_BROADCAST");
	if (!ret && (o->flags & SKO_OOBINLINE))
		ret = set_int(fd, SOL_SOCKET, SO_OOBINLINE, 1, "SO_OOBINLINE");
	if (!ret && (o->flags & SKO_DONTROUTE))
		ret = set_int(fd, SOL_SOCKET, SO_DONTROUTE, 1, "SO_DONTROUTE");
	if (!ret && (o->flags & SKO_NO_CHECK))
		ret = set_int(fd, SOL_SOCKET, SO_NO_CHECK, 1, "SO_NO_CHECK");
	if (!ret && o->priority)
		ret = set_int(fd, SOL_SOCKET, SO_PRIORITY, o->priority, "SO_PRIORITY");
	if (!ret && o->rcvlowat > 1)
		ret = set_int(fd, SOL_SOCKET, SO_RCVLOWAT, o->rcvlowat, "SO_RCVLOWAT");
	if (!ret && o->mark)
		ret = set_int(fd, SOL_SOCKET, SO_MARK, o->mark, "SO_MARK");
	if (!ret)
		ret = set_tmo(fd, SO_SNDTIMEO, o->snd_tmo_sec, o->snd_tmo_usec);
	if (!ret)
		ret = set_tmo(fd, SO_RCVTIMEO, o->rcv_tmo_sec, o->rcv_tmo_usec);
	if (!ret && conn_opts && (o->flags & SKO_HAS_LINGER)) {
		struct linger lg = { .l_onoff = 1, .l_linger = (int)o->linger };

		if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) < 0) {
			pr_perror("Can't set SO_LINGER");
			ret = -errno;
		}
	}
	if (!ret && o->bound_dev &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, o->bound_dev, (socklen_t)strlen(o->bound_dev)) < 0) {
		pr_perror("Can't bind the socket to device %s", o->bound_dev);
		ret = -errno;
	}
	return ret;
}

static int set_tcp_keepalive(int fd, const struct sk_opts_img *o)
{
	int ret = 0;

	if (o->flags & SKO_HAS_KEEPCNT)
		ret = set_int(fd, SOL_TCP, TCP_KEEPCNT, o->keepcnt, "TCP_KEEPCNT");
	if (!ret && (o->flags & SKO_HAS_KEEPIDLE))
		ret = set_int(fd, SOL_TCP, TCP_KEEPIDLE, o->keepidle, "TCP_KEEPIDLE");
	if (!ret && (o->flags & SKO_HAS_KEEPINTVL))
		ret = set_int(fd, SOL_TCP, TCP_KEEPINTVL, o->keepintvl, "TCP_KEEPINTVL");
	return ret;
}

static int set_ip_opts(int fd, const struct inet_sk_img *sk)
{
	bool v4 = sk->family == AF_INET;
	int ret = 0;

	if (sk->freebind)
		ret = set_int(fd, v4 ? SOL_IP : SOL_IPV6, v4 ? IP_FREEBIND : IPV6_FREEBIND, 1, "IP_FREEBIND");
	if (!ret && sk->tos)
		ret = set_int(fd, v4 ? SOL_IP : SOL_IPV6, v4 ? IP_TOS : IPV6_TCLASS, sk->tos, "IP_TOS");
	if (!ret && sk->ttl && sk->ttl != 64)
		ret = set_int(fd, v4 ? SOL_IP : SOL_IPV6, v4 ? IP_TTL : IPV6_UNICAST_HOPS, sk->ttl, "IP_TTL");
	if (!ret && sk->pktinfo)
		ret = set_int(fd, v4 ? SOL_IP : SOL_IPV6, v4 ? IP_PKTINFO : IPV6_RECVPKTINFO, 1, "IP_PKTINFO");
	return ret;
}

/* TCP_NODELAY and TCP_CORK of a socket that is not a connection (libsoccr sets a connection's). */
static int set_tcp_flags(int fd, const struct inet_sk_img *sk)
{
	int ret = 0;

	if (sk->nodelay)
		ret = set_int(fd, SOL_TCP, TCP_NODELAY, 1, "TCP_NODELAY");
	if (!ret && sk->cork)
		ret = set_int(fd, SOL_TCP, TCP_CORK, 1, "TCP_CORK");
	return ret;
}

/* The IP options first: setting IP_TOS resets SO_PRIORITY, which comes after. */
int inet_sk_set_opts(int fd, const struct inet_sk_img *sk, bool conn_opts)
{
	int ret = set_ip_opts(fd, sk);

	ret = ret ?: sk_opts_set(fd, &sk->opts, conn_opts);
	if (!ret && conn_opts && sk->type == SOCK_STREAM)
		ret = set_tcp_keepalive(fd, &sk->opts);
	if (!ret && conn_opts && sk->type == SOCK_STREAM)
		ret = set_tcp_flags(fd, sk);
	return ret;
}

static socklen_t make_addr(const struct inet_sk_img *sk, bool src, struct sockaddr_storage *ss)
{
	const uint32_t *a = src ? sk->src_addr : sk->dst_addr;
	uint16_t port = htons(src ? sk->src_port : sk->dst_port);

	memset(ss, 0, sizeof(*ss));
	if (sk->family == AF_INET) {
		struct sockaddr_in *v4 = (struct sockaddr_in *)ss;

		v4->sin_family = AF_INET;
		v4->sin_port = port;
		v4->sin_addr.s_addr = a[0];
		return sizeof(*v4);
	} else {
		struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;

		v6->sin6_family = AF_INET6;
		v6->sin6_port = port;
		memcpy(&v6->sin6_addr, a, sizeof(v6->sin6_addr));
		if (IN6_IS_ADDR_LINKLOCAL(&v6->sin6_addr) && sk->ifname)
			v6->sin6_scope_id = if_nametoindex(sk->ifname);
		return sizeof(*v6);
	}
}

static bool addr_is_any(const struct inet_sk_img *sk, bool src)
{
	const uint32_t *a = src ? sk->src_addr : sk->dst_addr;

	return !(a[0] | a[1] | a[2] | a[3]);
}

/*
 * Binds @fd as dumped. The address may have gone from the host, or have been
 * bound with IP_FREEBIND cleared since: the bind is made with IP_FREEBIND,
 * which then gets its dumped value back. @reuseport: SO_REUSEPORT is set for
 * the bind too (another socket shares the port with it), cleared later.
 */
static int bind_as_dumped(int fd, const struct inet_sk_img *sk, bool reuseport)
{
	bool v4 = sk->family == AF_INET;
	int lvl = v4 ? SOL_IP : SOL_IPV6, opt = v4 ? IP_FREEBIND : IPV6_FREEBIND;
	struct sockaddr_storage ss;
	socklen_t len = make_addr(sk, true, &ss);
	int ret = 0;

	if (!sk->freebind)
		ret = set_int(fd, lvl, opt, 1, "IP_FREEBIND");
	if (!ret && reuseport)
		ret = set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT");
	if (!ret && bind(fd, (struct sockaddr *)&ss, len) < 0) {
		pr_perror("Can't bind socket %u to port %u", sk->id, sk->src_port);
		ret = -errno;
	}
	if (!ret && !sk->freebind)
		ret = set_int(fd, lvl, opt, 0, "IP_FREEBIND");
	return ret;
}

/*
 * Bind, listen or connect as dumped. A TCP connection comes here with
 * --tcp-close only: it is restored closed as CRIU does, a new socket shut down
 * both ways, whose reads give the end of the stream and writes EPIPE.
 */
static int place(int fd, const struct inet_sk_img *sk, bool reuseport)
{
	struct sockaddr_storage ss;
	socklen_t len;
	bool bound = sk->src_port || !addr_is_any(sk, true);

	if (sk->type == SOCK_STREAM && inet_sk_img_is_conn(sk)) {
		if (shutdown(fd, SHUT_RDWR) < 0 && errno != ENOTCONN) {
			pr_perror("Can't shut the closed connection %u down", sk->id);
			return -errno;
		}
		return 0;
	}
	if (bound) {
		int ret = bind_as_dumped(fd, sk, reuseport);

		if (ret)
			return ret;
	}
	if (sk->type == SOCK_STREAM && sk->state == TCP_LISTEN && listen(fd, (int)sk->backlog) < 0) {
		pr_perror("Can't listen on socket %u (port %u)", sk->id, sk->src_port);
		return -errno;
	}
	if (sk->type == SOCK_DGRAM && sk->state == TCP_ESTABLISHED) {
		len = make_addr(sk, false, &ss);
		if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
			pr_perror("Can't connect UDP socket %u to port %u", sk->id, sk->dst_port);
			return -errno;
		}
	}
	return 0;
}

static int set_shutdown(int fd, const struct inet_sk_img *sk)
{
	static const int how[] = { -1, SHUT_RD, SHUT_WR, SHUT_RDWR };

	if (sk->type != SOCK_DGRAM || !sk->shutdown)
		return 0;
	if (shutdown(fd, how[sk->shutdown]) < 0 && errno != ENOTCONN) {
		pr_perror("Can't shut socket %u down", sk->id);
		return -errno;
	}
	return 0;
}

int inet_sk_open(const struct inet_sk_img *sk, bool reuseport)
{
	int fd, ret;

	fd = socket(sk->family, sk->type | SOCK_CLOEXEC, sk->proto);
	if (fd < 0) {
		pr_perror("Can't create socket %u", sk->id);
		return -errno;
	}
	if (sk->family == AF_INET6 && sk->has_v6only)
		ret = set_int(fd, SOL_IPV6, IPV6_V6ONLY, sk->v6only, "IPV6_V6ONLY");
	else
		ret = 0;
	ret = ret ?: inet_sk_set_opts(fd, sk, true);
	ret = ret ?: place(fd, sk, reuseport);
	ret = ret ?: set_shutdown(fd, sk);
	if (!ret && (sk->flags & O_NONBLOCK) && fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		ret = -errno;
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

/* The INETSK row of the fd kinds (fd-kind.h). */

bool inet_sk_match(const struct fd_probe *p)
{
	return S_ISSOCK(p->st.st_mode) && (p->sk_family == AF_INET || p->sk_family == AF_INET6);
}

int inet_sk_dump(struct fd_dump_ctx *c, struct fd_probe *p, uint32_t *id)
{
	struct inet_sk_fd f = {
		.pid = c->args->pid,
		.fd = p->fd,
		.dup_fd = p->dup_fd,
		.ino = (uint32_t)p->st.st_ino,
		.flags = p->flags & ~O_CLOEXEC,
		.family = p->sk_family,
		.fown = &p->fown,
	};
	int ret;

	*id = files_reg_new_id(&c->fdump->reg);
	ret = inet_sk_add(&c->fdump->inet, &c->args->sockets, &f, *id);
	p->dup_fd = f.dup_fd; /* -1 when the socket kept it */
	return ret;
}

int inet_sk_write_all(const struct files_dump *fdump, struct cr_img *img)
{
	return inet_sk_write_files(&fdump->inet, img);
}

void inet_sk_free_all(struct files_dump *fdump)
{
	inet_sk_dump_free(&fdump->inet);
}

static bool is_placed(const struct inet_sk_img *sk)
{
	return (sk->src_port || !addr_is_any(sk, true)) && !(sk->type == SOCK_STREAM && inet_sk_img_is_conn(sk));
}

/*
 * True when @sk, dumped without SO_REUSEPORT, shares its port with a socket
 * that has it: both were bound with it, and @sk's was cleared since. It is
 * then bound with it, and cleared once every socket is bound.
 */
static bool needs_reuseport(const struct inet_sk_restore *r, const struct inet_sk_img *sk)
{
	if ((sk->opts.flags & SKO_REUSEPORT) || !is_placed(sk))
		return false;
	for (size_t i = 0; i < r->nr; i++) {
		const struct inet_sk_img *o = &r->v[i];

		if (o != sk && (o->opts.flags & SKO_REUSEPORT) && o->proto == sk->proto &&
		    o->src_port == sk->src_port && is_placed(o))
			return true;
	}
	return false;
}

/* SO_REUSEPORT cleared again on the sockets bound with it for the bind only. */
static int clear_reuseport(const struct restore_image *ri, struct restore_fds *fds)
{
	const struct inet_sk_restore *r = ri->kind_state[FD_KIND_INETSK];
	int ret = 0;

	for (size_t i = 0; !ret && r && i < ri->nr_files; i++) {
		const struct inet_sk_img *sk;

		if (ri->files[i]->type != FD_TYPES__INETSK || fds->fds[i] < 0)
			continue;
		sk = inet_sk_of(ri, i);
		if (needs_reuseport(r, sk))
			ret = set_int(fds->fds[i], SOL_SOCKET, SO_REUSEPORT, 0, "SO_REUSEPORT");
	}
	return ret;
}

/* Every socket but the TCP connections that sk-tcp.c rebuilds (all of them with --tcp-close). */
int inet_sk_open_all(const struct restore_image *ri, struct restore_fds *fds)
{
	const struct inet_sk_restore *r = ri->kind_state[FD_KIND_INETSK];
	bool any = false;

	for (size_t i = 0; i < ri->nr_files; i++) {
		const struct inet_sk_img *sk;
		bool reuseport;

		/*
		 * Every inet socket of the tree is made for its first process (restore_fds.given is NULL):
		 * listeners bind their ports before the connections, which the first process rebuilds,
		 * take them in repair mode. A later process was given those it holds.
		 */
		if (ri->files[i]->type != FD_TYPES__INETSK || fds->given || fds->fds[i] >= 0)
			continue;
		sk = inet_sk_of(ri, i);
		if (inet_sk_img_is_conn(sk) && !fds->tcp_close)
			continue;
		reuseport = needs_reuseport(r, sk);
		any |= reuseport;
		fds->fds[i] = inet_sk_open(sk, reuseport);
		if (fds->fds[i] < 0) {
			int ret = fds->fds[i];

			fds->fds[i] = -1;
			return ret;
		}
	}
	return any ? clear_reuseport(ri, fds) : 0;
}
