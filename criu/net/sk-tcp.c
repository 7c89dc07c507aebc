/*
 * TCP connections through libsoccr and the network lock (see include/sk-tcp.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "image.h"
#include "magic.h"
#include "restore-image.h"
#include "sk-tcp.h"
#include "stats.h"
#include "tcp-pack.h"

#include "tcp-stream.pb-c.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define LOG_PREFIX "tcp: "
#include "log.h"

#define MAX_QUEUE (1u << 30)

static void cfg_lock(struct sk_tcp_cfg *cfg, enum network_lock_method method)
{
	switch (method) {
	case LOCK_METHOD_NFTABLES:
		cfg->lock_mode = NETLOCK_NFTABLES;
		break;
	case LOCK_METHOD_SKIP:
		cfg->lock_mode = NETLOCK_SKIP;
		break;
	default:
		cfg->lock_mode = NETLOCK_IPTABLES;
	}
}

void sk_tcp_cfg_init(struct sk_tcp_cfg *cfg, const struct criu_opts *opts, pid_t pid)
{
	cfg->pid = pid;
	cfg->criu_images = opts->tcp_images_criu;
	cfg->own_netns = false;
	cfg_lock(cfg, opts->network_lock);
}

/* libsoccr's and the lock's messages into criu's log; errors keep their "Error" marker for zdtm. */
static void lib_log(void *arg, unsigned int level, const char *fmt, va_list ap)
{
	char buf[LOG_LINE_MAX];

	(void)arg;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (level == 1 && strncmp(buf, "Error", 5))
		log_print(LOG_ERROR, "Error (%s): %s%s", "criu/net/sk-tcp.c", buf,
			  buf[0] && buf[strlen(buf) - 1] == '\n' ? "" : "\n");
	else
		log_print((int)level, "%s%s", buf, buf[0] && buf[strlen(buf) - 1] == '\n' ? "" : "\n");
}

static void *arena_alloc(void *arg, size_t len)
{
	struct sk_tcp_arena *a = arg;
	size_t off = atomic_fetch_add(&a->used, (len + 15) & ~(size_t)15);

	return off + len <= a->size ? a->base + off : NULL; /* NULL: libsoccr mallocs it */
}

/*
 * The queues of all connections in one region sized from sock_diag's queue
 * lengths (a little more for what arrives before the lock): faulted in once,
 * with huge pages where the kernel has them, instead of thousands of buffers
 * faulted page by page while the process is frozen.
 */
static void arena_setup(struct sk_tcp_arena *a, const struct sk_tcp_dump *t, const struct inet_sk_dump *d)
{
	size_t size = 64u << 10;

	for (size_t i = 0; i < t->nr; i++)
		size += (size_t)d->v[t->sk_idx[i]].diag.rqueue + d->v[t->sk_idx[i]].diag.wqueue + 16;
	a->base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (a->base == MAP_FAILED) {
		a->base = NULL;
		pr_warn("no region for the TCP queues (%zu bytes): %m; each gets its own buffer\n", size);
		return;
	}
	a->size = size;
	atomic_store(&a->used, 0);
	if (madvise(a->base, size, MADV_HUGEPAGE))
		pr_debug("no huge pages for the TCP queues: %m\n");
	if (madvise(a->base, size, MADV_POPULATE_WRITE))
		pr_debug("the TCP queues' region is faulted in as it is used: %m\n");
}

static void arena_free(struct sk_tcp_arena *a)
{
	if (a->base)
		munmap(a->base, a->size);
	a->base = NULL;
	a->size = 0;
}

int sk_tcp_soccr_open(struct libsoccr_ctx **ctx, struct sk_tcp_arena *arena)
{
	struct libsoccr_ctx_opts o = {
		.size = sizeof(o),
		.log = lib_log,
		.log_level = (unsigned int)log_get_level(),
		.queue_alloc = arena ? arena_alloc : NULL,
		.queue_arg = arena,
	};
	int ret = libsoccr_ctx_create(&o, ctx);

	if (ret)
		pr_err("can't create the socket and TCP repair context: %s\n", strerror(-ret));
	else
		pr_info("socket and TCP repair context: %u worker(s), %s backend\n", libsoccr_ctx_workers(*ctx),
			libsoccr_backend_name(libsoccr_ctx_backend(*ctx)));
	return ret;
}

void sk_tcp_lock_setup(struct netlock_opts *o, char *id, pid_t pid, enum netlock_mode mode)
{
	snprintf(id, NETLOCK_ID_MAX + 1, "%d", pid);
	memset(o, 0, sizeof(*o));
	o->mode = mode;
	o->id = id;
	o->log = lib_log;
	o->log_level = (unsigned int)log_get_level();
	o->exempt_mark = SOCCR_MARK;
}

static void tuple_from(struct netlock_tuple *t, const union libsoccr_addr *src, const union libsoccr_addr *dst)
{
	memset(t, 0, sizeof(*t));
	t->family = src->any.sa_family;
	if (t->family == AF_INET) {
		t->src.v4 = src->in4.sin_addr;
		t->dst.v4 = dst->in4.sin_addr;
		t->sport = ntohs(src->in4.sin_port);
		t->dport = ntohs(dst->in4.sin_port);
	} else {
		t->src.v6 = src->in6.sin6_addr;
		t->dst.v6 = dst->in6.sin6_addr;
		t->sport = ntohs(src->in6.sin6_port);
		t->dport = ntohs(dst->in6.sin6_port);
	}
}

/*
 * The lock of @n connections: one rule for the whole namespace when the tree has one of its own
 * (@own_netns: the calling thread is in it), else every connection's tuple in one transaction.
 */
static int lock_conns(struct netlock_opts *o, const struct libsoccr_conn *conns, size_t n, bool own_netns, uint64_t *us)
{
	struct netlock_tuple *t;
	uint64_t start = stats_now_us();
	int ret;

	if (o->mode == NETLOCK_SKIP)
		return 0;
	if (own_netns) {
		ret = netlock_lock_netns(o);
		*us = stats_now_us() - start;
		if (ret)
			pr_err("can't lock the network namespace of %zu TCP connection(s): %s\n", n, strerror(-ret));
		else
			pr_info("the network namespace of %zu TCP connection(s) locked in %llu us\n", n,
				(unsigned long long)*us);
		return ret;
	}
	t = calloc(n ? n : 1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		tuple_from(&t[i], &conns[i].src, &conns[i].dst);
	ret = netlock_lock_conns(o, t, n);
	free(t);
	*us = stats_now_us() - start;
	if (ret)
		pr_err("can't lock %zu TCP connection(s): %s\n", n, strerror(-ret));
	else
		pr_info("%zu TCP connection(s) locked in %llu us\n", n, (unsigned long long)*us);
	return ret;
}

static int unlock(struct netlock_opts *o)
{
	int ret;

	if (o->mode == NETLOCK_SKIP)
		return 0;
	ret = netlock_unlock(o);
	if (ret == -ENOENT)
		return 0;
	if (ret)
		pr_err("can't lift the network lock %s: %s\n", o->id, strerror(-ret));
	return ret;
}

static void addr_from_diag(union libsoccr_addr *a, const struct sk_diag *d, bool src)
{
	memset(a, 0, sizeof(*a));
	if (d->family == AF_INET) {
		a->in4.sin_family = AF_INET;
		a->in4.sin_port = htons(src ? d->sport : d->dport);
		a->in4.sin_addr.s_addr = src ? d->src[0] : d->dst[0];
	} else {
		a->in6.sin6_family = AF_INET6;
		a->in6.sin6_port = htons(src ? d->sport : d->dport);
		memcpy(&a->in6.sin6_addr, src ? d->src : d->dst, sizeof(a->in6.sin6_addr));
	}
}

/* Takes over criu's copies of the connections' sockets from @d. */
static int collect_conns(struct sk_tcp_dump *t, struct inet_sk_dump *d)
{
	t->conns = calloc(d->nr_conns ? d->nr_conns : 1, sizeof(*t->conns));
	t->inos = calloc(d->nr_conns ? d->nr_conns : 1, sizeof(*t->inos));
	t->sk_idx = calloc(d->nr_conns ? d->nr_conns : 1, sizeof(*t->sk_idx));
	if (!t->conns || !t->inos || !t->sk_idx)
		return -ENOMEM;
	for (size_t i = 0; i < d->nr; i++) {
		struct inet_sk *sk = &d->v[i];
		struct libsoccr_conn *c = &t->conns[t->nr];

		if (!sk->conn || sk->dup_fd < 0)
			continue;
		c->fd = sk->dup_fd;
		sk->dup_fd = -1;
		c->flags = SOCCR_CONN_ADDRS;
		addr_from_diag(&c->src, &sk->diag, true);
		addr_from_diag(&c->dst, &sk->diag, false);
		t->sk_idx[t->nr] = i;
		t->inos[t->nr++] = sk->diag.ino;
	}
	return 0;
}

static void report_failures(const struct libsoccr_conn *conns, const uint32_t *inos, size_t n, const char *what)
{
	size_t bad = 0;

	for (size_t i = 0; i < n; i++) {
		if (!conns[i].status)
			continue;
		if (bad++ < 8)
			pr_err("%s of the connection of socket %u failed: %s\n", what, inos[i],
			       strerror(-conns[i].status));
	}
	if (bad > 8)
		pr_err("... and %zu more connection(s)\n", bad - 8);
}

/* The options libsoccr read with the state, which sk-inet.c leaves out for connections. */
static void copy_opts(const struct sk_tcp_dump *t, struct inet_sk_dump *d)
{
	for (size_t i = 0; i < t->nr; i++) {
		const struct libsoccr_sk_data *s = &t->conns[i].data;
		struct inet_sk_opts *o = &d->v[t->sk_idx[i]].opts;

		o->common.sndbuf = s->sndbuf;
		o->common.rcvbuf = s->rcvbuf;
		o->reuseaddr = s->reuseaddr;
		o->keepalive = s->keepalive;
		o->nodelay = s->nodelay;
		o->cork = s->cork;
		if (s->flags & SOCCR_HAS_KEEPALIVE) {
			o->keepidle = s->keepidle;
			o->keepintvl = s->keepintvl;
			o->keepcnt = s->keepcnt;
		}
	}
}

int sk_tcp_dump(struct sk_tcp_dump *t, struct inet_sk_dump *d, const struct sk_tcp_cfg *cfg, struct libsoccr_ctx *soccr)
{
	uint64_t start;
	int ret;

	memset(t, 0, sizeof(*t));
	sk_tcp_lock_setup(&t->lock, t->lock_id, cfg->pid, cfg->lock_mode);
	t->own_netns = cfg->own_netns;
	if (!d->nr_conns)
		return 0;
	if (!soccr) {
		pr_err("%zu TCP connection(s) and no TCP repair context\n", d->nr_conns);
		return -EINVAL;
	}
	t->soccr = soccr;
	ret = collect_conns(t, d);
	if (!ret)
		arena_setup(&t->arena, t, d);
	if (!ret)
		ret = lock_conns(&t->lock, t->conns, t->nr, t->own_netns, &t->lock_us);
	if (ret)
		goto out_undo;
	t->locked = true;
	start = stats_now_us();
	ret = libsoccr_dump_batch(t->soccr, t->conns, t->nr);
	t->dump_us = stats_now_us() - start;
	t->repaired = true;
	if (ret) {
		report_failures(t->conns, t->inos, t->nr, "the dump");
		goto out_undo;
	}
	pr_info("%zu TCP connection(s) dumped in %llu us\n", t->nr, (unsigned long long)t->dump_us);
	copy_opts(t, d);
	return 0;
out_undo:
	if (sk_tcp_dump_finish(t, false))
		pr_err("the TCP connections could not all be handed back: see above\n");
	return ret;
}

/* Writes @iov in as few writev() calls as IOV_MAX allows. */
static int write_iov(int fd, struct iovec *iov, size_t n, const char *name)
{
	while (n) {
		int cnt = n > IOV_MAX ? IOV_MAX : (int)n;
		ssize_t w = writev(fd, iov, cnt);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			pr_perror("Can't write %s", name);
			return -errno;
		}
		while (n && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++, n--;
		}
		if (n && w) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

static void pack_rec(struct tcp_pack_rec *r, uint32_t ino, const struct libsoccr_sk_data *s, uint64_t off)
{
	memset(r, 0, sizeof(*r));
	r->ino = ino;
	r->flags = (s->flags & SOCCR_HAS_WINDOW) ? TCP_PACK_HAS_WINDOW : 0;
	r->inq_len = s->inq_len, r->inq_seq = s->inq_seq;
	r->outq_len = s->outq_len, r->outq_seq = s->outq_seq;
	r->unsq_len = s->unsq_len, r->opt_mask = s->opt_mask;
	r->snd_wscale = s->snd_wscale, r->rcv_wscale = s->rcv_wscale;
	r->mss_clamp = s->mss_clamp, r->timestamp = s->timestamp;
	r->snd_wl1 = s->snd_wl1, r->snd_wnd = s->snd_wnd, r->max_window = s->max_window;
	r->rcv_wnd = s->rcv_wnd, r->rcv_wup = s->rcv_wup;
	r->nodelay = s->nodelay, r->cork = s->cork;
	r->data_off = off;
}

static int cmp_conn_ino(const void *a, const void *b, void *arg)
{
	const uint32_t *inos = arg;
	uint32_t x = inos[*(const size_t *)a], y = inos[*(const size_t *)b];

	return (x > y) - (x < y);
}

/* tcp-streams.img: header, records by ascending inode, then every queue, all in large writev()s. */
static int write_pack(const struct sk_tcp_dump *t, int dirfd)
{
	uint32_t magic[2] = { IMG_COMMON_MAGIC, TCP_STREAMS_MAGIC };
	struct tcp_pack_head head = { .version = TCP_PACK_VERSION, .rec_size = sizeof(struct tcp_pack_rec) };
	struct tcp_pack_rec *recs;
	struct iovec *iov;
	size_t n = 0, *order;
	int fd, ret;

	recs = calloc(t->nr ? t->nr : 1, sizeof(*recs));
	iov = calloc(t->nr + 3, sizeof(*iov));
	order = calloc(t->nr ? t->nr : 1, sizeof(*order));
	if (!recs || !iov || !order) {
		ret = -ENOMEM;
		goto out_free;
	}
	for (size_t i = 0; i < t->nr; i++)
		order[i] = i;
	qsort_r(order, t->nr, sizeof(*order), cmp_conn_ino, t->inos);
	for (size_t k = 0; k < t->nr; k++) {
		size_t i = order[k];
		const struct libsoccr_sk_data *s = &t->conns[i].data;
		size_t len = (size_t)s->inq_len + s->outq_len;

		pack_rec(&recs[k], t->inos[i], s, head.data_len);
		if (len)
			iov[3 + n++] = (struct iovec){ .iov_base = t->conns[i].queues, .iov_len = len };
		head.data_len += len;
	}
	head.nr = t->nr;
	iov[0] = (struct iovec){ .iov_base = magic, .iov_len = sizeof(magic) };
	iov[1] = (struct iovec){ .iov_base = &head, .iov_len = sizeof(head) };
	iov[2] = (struct iovec){ .iov_base = recs, .iov_len = t->nr * sizeof(*recs) };
	fd = openat(dirfd, SK_TCP_PACK_NAME, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		pr_perror("Can't create %s", SK_TCP_PACK_NAME);
		ret = -errno;
		goto out_free;
	}
	ret = write_iov(fd, iov, n + 3, SK_TCP_PACK_NAME);
	if (close(fd) < 0 && !ret) {
		pr_perror("Can't close %s", SK_TCP_PACK_NAME);
		ret = -errno;
	}
	if (!ret)
		pr_info("%s: %zu connection(s), %llu bytes of queues\n", SK_TCP_PACK_NAME, t->nr,
			(unsigned long long)head.data_len);
out_free:
	free(order);
	free(iov);
	free(recs);
	return ret;
}

static void stream_entry(TcpStreamEntry *e, const struct libsoccr_sk_data *s)
{
	tcp_stream_entry__init(e);
	e->inq_len = s->inq_len, e->inq_seq = s->inq_seq;
	e->outq_len = s->outq_len, e->outq_seq = s->outq_seq;
	e->opt_mask = s->opt_mask, e->snd_wscale = s->snd_wscale, e->mss_clamp = s->mss_clamp;
	e->has_rcv_wscale = 1, e->rcv_wscale = s->rcv_wscale;
	e->has_timestamp = 1, e->timestamp = s->timestamp;
	e->has_cork = 1, e->cork = s->cork;
	e->has_nodelay = 1, e->nodelay = s->nodelay;
	e->has_unsq_len = 1, e->unsq_len = s->unsq_len;
	if (s->flags & SOCCR_HAS_WINDOW) {
		e->has_snd_wl1 = 1, e->snd_wl1 = s->snd_wl1;
		e->has_snd_wnd = 1, e->snd_wnd = s->snd_wnd;
		e->has_max_window = 1, e->max_window = s->max_window;
		e->has_rcv_wnd = 1, e->rcv_wnd = s->rcv_wnd;
		e->has_rcv_wup = 1, e->rcv_wup = s->rcv_wup;
	}
}

/* CRIU's format: tcp-stream-INO.img per connection, the entry then both queues. */
static int write_criu(const struct sk_tcp_dump *t, int dirfd)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < t->nr; i++) {
		const struct libsoccr_conn *c = &t->conns[i];
		TcpStreamEntry e;
		struct cr_img *img;
		int cret;

		stream_entry(&e, &c->data);
		ret = img_open(&img, dirfd, IMG_WRITE, CR_IMG_TCP_STREAM, t->inos[i]);
		if (ret)
			break;
		ret = img_write_entry(img, &e);
		if (!ret)
			ret = img_write_raw(img, c->queues, (size_t)c->data.inq_len + c->data.outq_len);
		cret = img_close(img);
		ret = ret ?: cret;
	}
	return ret;
}

int sk_tcp_write(const struct sk_tcp_dump *t, int dirfd, const struct sk_tcp_cfg *cfg)
{
	if (!t->nr)
		return 0;
	return cfg->criu_images ? write_criu(t, dirfd) : write_pack(t, dirfd);
}

int sk_tcp_dump_finish(struct sk_tcp_dump *t, bool killed)
{
	int ret = 0, r;

	if (t->repaired && killed) {
		/* The process is gone: ours are the last references, closed in repair mode (silently). */
		ret = libsoccr_close_batch(t->soccr, t->conns, t->nr);
		if (ret)
			report_failures(t->conns, t->inos, t->nr, "the silent close");
	} else if (t->repaired) {
		ret = libsoccr_repair_off_batch(t->soccr, t->conns, t->nr);
		if (ret)
			report_failures(t->conns, t->inos, t->nr, "leaving repair mode");
	}
	if (t->locked && !killed) {
		r = unlock(&t->lock);
		ret = ret ?: r;
		if (!r && t->repaired) {
			r = libsoccr_resume_batch(t->soccr, t->conns, t->nr);
			if (r)
				pr_warn("some connections could not be probed: they resume at their next retransmission\n");
		}
	}
	/* criu's copies: the process holds the sockets on (or, killed, nothing does). */
	for (size_t i = 0; i < t->nr; i++) {
		if (t->conns[i].fd >= 0)
			close(t->conns[i].fd);
		libsoccr_conn_free_queues(&t->conns[i]);
	}
	arena_free(&t->arena);
	free(t->conns);
	free(t->inos);
	free(t->sk_idx);
	t->conns = NULL;
	t->inos = NULL;
	t->sk_idx = NULL;
	t->soccr = NULL;
	t->nr = 0;
	t->repaired = t->locked = false;
	return ret;
}

/* Restore. */

static const struct inet_sk_img *conn_entry(const struct sk_tcp_restore *r, const struct restore_image *ri, size_t i)
{
	return inet_sk_of(ri, r->file_idx[i]);
}

/* The libsoccr state of connection @i: the stream's fields from the image, the rest from its entry. */
static void fill_conn(struct libsoccr_conn *c, const struct inet_sk_img *ie)
{
	const uint32_t keep = SKO_HAS_KEEPIDLE | SKO_HAS_KEEPINTVL | SKO_HAS_KEEPCNT;

	if (ie->flags & O_NONBLOCK)
		c->flags |= SOCCR_CONN_NONBLOCK;
	struct libsoccr_sk_data *s = &c->data;
	const struct sk_opts_img *o = &ie->opts;
	s->state = ie->state;
	s->flags |= SOCCR_HAS_BUFS;
	s->sndbuf = o->sndbuf;
	s->rcvbuf = o->rcvbuf;
	s->reuseaddr = !!(o->flags & SKO_REUSEADDR);
	s->keepalive = !!(o->flags & SKO_KEEPALIVE);
	if (s->keepalive && (o->flags & keep) == keep) {
		s->flags |= SOCCR_HAS_KEEPALIVE;
		s->keepidle = o->keepidle;
		s->keepintvl = o->keepintvl;
		s->keepcnt = o->keepcnt;
	}
	if (ie->family == AF_INET6) {
		s->flags |= SOCCR_HAS_V6ONLY;
		s->v6only = ie->v6only;
	}
	if (ie->family == AF_INET) {
		c->src.in4.sin_family = c->dst.in4.sin_family = AF_INET;
		c->src.in4.sin_port = htons(ie->src_port);
		c->dst.in4.sin_port = htons(ie->dst_port);
		c->src.in4.sin_addr.s_addr = ie->src_addr[0];
		c->dst.in4.sin_addr.s_addr = ie->dst_addr[0];
	} else {
		c->src.in6.sin6_family = c->dst.in6.sin6_family = AF_INET6;
		c->src.in6.sin6_port = htons(ie->src_port);
		c->dst.in6.sin6_port = htons(ie->dst_port);
		memcpy(&c->src.in6.sin6_addr, ie->src_addr, sizeof(c->src.in6.sin6_addr));
		memcpy(&c->dst.in6.sin6_addr, ie->dst_addr, sizeof(c->dst.in6.sin6_addr));
	}
	c->fd = -1;
}

static int check_lens(uint32_t inq, uint32_t outq, uint32_t unsq, uint32_t ino, const char *name)
{
	if (inq > MAX_QUEUE || outq > MAX_QUEUE || unsq > outq) {
		pr_err("%s: connection of socket %u: queue lengths %u/%u (unsent %u) are impossible\n", name, ino, inq,
		       outq, unsq);
		return -EINVAL;
	}
	return 0;
}

static void data_from_rec(struct libsoccr_sk_data *s, const struct tcp_pack_rec *r)
{
	s->inq_len = r->inq_len, s->inq_seq = r->inq_seq;
	s->outq_len = r->outq_len, s->outq_seq = r->outq_seq;
	s->unsq_len = r->unsq_len, s->opt_mask = r->opt_mask;
	s->snd_wscale = r->snd_wscale, s->rcv_wscale = r->rcv_wscale;
	s->mss_clamp = r->mss_clamp, s->timestamp = r->timestamp;
	s->nodelay = r->nodelay, s->cork = r->cork;
	if (r->flags & TCP_PACK_HAS_WINDOW) {
		s->flags |= SOCCR_HAS_WINDOW;
		s->snd_wl1 = r->snd_wl1, s->snd_wnd = r->snd_wnd, s->max_window = r->max_window;
		s->rcv_wnd = r->rcv_wnd, s->rcv_wup = r->rcv_wup;
	}
}

static int cmp_rec_ino(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = ((const struct tcp_pack_rec *)b)->ino;

	return (x > y) - (x < y);
}

static int check_pack_head(const struct sk_tcp_restore *r, const struct tcp_pack_head **headp)
{
	const uint32_t *magic = r->map;
	const struct tcp_pack_head *head = (const void *)(magic + 2);
	size_t fixed = 2 * sizeof(uint32_t) + sizeof(*head);
	const struct tcp_pack_rec *recs = (const void *)(head + 1);

	if (r->map_len < fixed || magic[0] != IMG_COMMON_MAGIC || magic[1] != TCP_STREAMS_MAGIC) {
		pr_err("%s: not a criu-ng TCP streams image (bad magic or %zu bytes)\n", SK_TCP_PACK_NAME, r->map_len);
		return -EINVAL;
	}
	if (head->version != TCP_PACK_VERSION || head->rec_size != sizeof(struct tcp_pack_rec)) {
		pr_err("%s: version %u with %u-byte records is not supported\n", SK_TCP_PACK_NAME, head->version,
		       head->rec_size);
		return -EINVAL;
	}
	if (head->nr != r->nr || head->nr > (r->map_len - fixed) / sizeof(*recs) ||
	    head->data_len != r->map_len - fixed - head->nr * sizeof(*recs)) {
		pr_err("%s: %llu records and %llu data bytes don't match its size %zu and the %zu connections of "
		       "files.img: truncated or corrupt\n",
		       SK_TCP_PACK_NAME, (unsigned long long)head->nr, (unsigned long long)head->data_len, r->map_len,
		       r->nr);
		return -EINVAL;
	}
	for (size_t i = 1; i < head->nr; i++)
		if (recs[i].ino <= recs[i - 1].ino) {
			pr_err("%s: record %zu is out of order (inode %u after %u)\n", SK_TCP_PACK_NAME, i, recs[i].ino,
			       recs[i - 1].ino);
			return -EINVAL;
		}
	*headp = head;
	return 0;
}

static int map_pack(struct sk_tcp_restore *r, int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		pr_perror("Can't stat %s", SK_TCP_PACK_NAME);
		return -errno;
	}
	r->map_len = (size_t)st.st_size;
	if (!r->map_len) {
		pr_err("%s is empty\n", SK_TCP_PACK_NAME);
		return -EINVAL;
	}
	r->map = mmap(NULL, r->map_len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	if (r->map == MAP_FAILED) {
		r->map = NULL;
		pr_perror("Can't map %s", SK_TCP_PACK_NAME);
		return -errno;
	}
	return 0;
}

static int load_pack(struct sk_tcp_restore *r, const struct restore_image *ri, int fd)
{
	const struct tcp_pack_head *head;
	const struct tcp_pack_rec *recs;
	const char *data;
	int ret;

	ret = map_pack(r, fd);
	if (!ret)
		ret = check_pack_head(r, &head);
	if (ret)
		return ret;
	recs = (const void *)(head + 1);
	data = (const char *)(recs + head->nr);
	for (size_t i = 0; i < r->nr; i++) {
		uint32_t ino = conn_entry(r, ri, i)->ino;
		const struct tcp_pack_rec *rec = bsearch(&ino, recs, head->nr, sizeof(*recs), cmp_rec_ino);

		if (!rec) {
			pr_err("%s: no stream for the connection of socket %u\n", SK_TCP_PACK_NAME, ino);
			return -EINVAL;
		}
		ret = check_lens(rec->inq_len, rec->outq_len, rec->unsq_len, ino, SK_TCP_PACK_NAME);
		if (ret)
			return ret;
		if (rec->data_off > head->data_len ||
		    (uint64_t)rec->inq_len + rec->outq_len > head->data_len - rec->data_off) {
			pr_err("%s: the queues of socket %u lie outside the data area\n", SK_TCP_PACK_NAME, ino);
			return -EINVAL;
		}
		data_from_rec(&r->conns[i].data, rec);
		r->conns[i].queues = (char *)data + rec->data_off;
	}
	return 0;
}

static void data_from_entry(struct libsoccr_sk_data *s, const TcpStreamEntry *e)
{
	s->inq_len = e->inq_len, s->inq_seq = e->inq_seq;
	s->outq_len = e->outq_len, s->outq_seq = e->outq_seq;
	s->unsq_len = e->has_unsq_len ? e->unsq_len : 0;
	s->opt_mask = e->opt_mask, s->snd_wscale = e->snd_wscale, s->mss_clamp = e->mss_clamp;
	s->rcv_wscale = e->has_rcv_wscale ? e->rcv_wscale : 0;
	s->timestamp = e->has_timestamp ? e->timestamp : 0;
	s->nodelay = e->has_nodelay && e->nodelay;
	s->cork = e->has_cork && e->cork;
	if (e->has_snd_wl1 && e->has_snd_wnd && e->has_max_window && e->has_rcv_wnd && e->has_rcv_wup) {
		s->flags |= SOCCR_HAS_WINDOW;
		s->snd_wl1 = e->snd_wl1, s->snd_wnd = e->snd_wnd, s->max_window = e->max_window;
		s->rcv_wnd = e->rcv_wnd, s->rcv_wup = e->rcv_wup;
	}
}

static int load_one_criu(struct sk_tcp_restore *r, size_t i, uint32_t ino, int dirfd)
{
	TcpStreamEntry *e = NULL;
	struct cr_img *img;
	size_t len;
	int ret;

	ret = img_open(&img, dirfd, IMG_READ, CR_IMG_TCP_STREAM, ino);
	if (ret)
		return ret;
	ret = img_read_one(img, (void **)&e);
	if (!ret)
		ret = check_lens(e->inq_len, e->outq_len, e->has_unsq_len ? e->unsq_len : 0, ino, img_name(img));
	if (ret)
		goto out_close;
	data_from_entry(&r->conns[i].data, e);
	len = (size_t)e->inq_len + e->outq_len;
	r->bufs[i] = malloc(len ? len : 1);
	if (!r->bufs[i]) {
		ret = -ENOMEM;
		goto out_close;
	}
	ret = img_read_raw(img, r->bufs[i], len);
	r->conns[i].queues = r->bufs[i];
out_close:
	if (e)
		img_free_entry(e);
	img_close(img);
	return ret;
}

static int load_criu(struct sk_tcp_restore *r, const struct restore_image *ri, int dirfd)
{
	int ret = 0;

	r->bufs = calloc(r->nr ? r->nr : 1, sizeof(*r->bufs));
	if (!r->bufs)
		return -ENOMEM;
	for (size_t i = 0; !ret && i < r->nr; i++)
		ret = load_one_criu(r, i, conn_entry(r, ri, i)->ino, dirfd);
	return ret;
}

int sk_tcp_load(struct sk_tcp_restore *r, int dirfd, const struct restore_image *ri, const struct sk_tcp_cfg *cfg)
{
	int fd, ret;

	memset(r, 0, sizeof(*r));
	r->ri = ri;
	sk_tcp_lock_setup(&r->lock, r->lock_id, cfg->pid, cfg->lock_mode);
	r->own_netns = cfg->own_netns;
	for (size_t i = 0; i < ri->nr_files; i++)
		if (ri->files[i]->type == FD_TYPES__INETSK && inet_sk_img_is_conn(inet_sk_of(ri, i)))
			r->nr++;
	if (!r->nr)
		return 0;
	r->conns = calloc(r->nr, sizeof(*r->conns));
	r->file_idx = calloc(r->nr, sizeof(*r->file_idx));
	r->inos = calloc(r->nr, sizeof(*r->inos));
	if (!r->conns || !r->file_idx || !r->inos)
		return -ENOMEM;
	for (size_t i = 0, n = 0; i < ri->nr_files; i++)
		if (ri->files[i]->type == FD_TYPES__INETSK && inet_sk_img_is_conn(inet_sk_of(ri, i))) {
			const struct inet_sk_img *sk = inet_sk_of(ri, i);

			r->file_idx[n] = i;
			r->inos[n] = sk->ino;
			fill_conn(&r->conns[n++], sk);
		}
	fd = openat(dirfd, SK_TCP_PACK_NAME, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ret = load_pack(r, ri, fd);
		close(fd);
	} else if (errno == ENOENT) {
		ret = load_criu(r, ri, dirfd);
	} else {
		pr_perror("Can't open %s", SK_TCP_PACK_NAME);
		ret = -errno;
	}
	if (!ret)
		pr_info("%zu TCP connection(s) to restore\n", r->nr);
	return ret;
}

void sk_tcp_close_setup(struct sk_tcp_restore *r, const struct restore_image *ri, const struct sk_tcp_cfg *cfg)
{
	memset(r, 0, sizeof(*r));
	r->ri = ri;
	sk_tcp_lock_setup(&r->lock, r->lock_id, cfg->pid, cfg->lock_mode);
	r->own_netns = cfg->own_netns;
	for (size_t i = 0; i < ri->nr_files && !r->lift_lock; i++)
		r->lift_lock = ri->files[i]->type == FD_TYPES__INETSK && inet_sk_img_is_conn(inet_sk_of(ri, i));
}

/* The lock on this host: the dump's if it was taken here, else a new one with the same name. */
static int ensure_lock(struct sk_tcp_restore *r)
{
	uint64_t us = 0;
	int ret;

	if (r->lock.mode == NETLOCK_SKIP)
		return 0;
	ret = netlock_is_locked(&r->lock);
	if (ret < 0) {
		pr_err("can't tell whether the network lock %s is held: %s\n", r->lock_id, strerror(-ret));
		return ret;
	}
	if (ret == 1) {
		pr_info("the connections are still locked by the dump (lock %s)\n", r->lock_id);
		return 0;
	}
	ret = lock_conns(&r->lock, r->conns, r->nr, r->own_netns, &us);
	if (!ret)
		r->lock_taken = true;
	return ret;
}

/* The options libsoccr leaves alone, and the file flags, of connections @from to @to. */
static int finish_conns(struct sk_tcp_restore *r, const struct restore_image *ri, int *fds, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		const struct inet_sk_img *ie = conn_entry(r, ri, i);
		int fd = r->conns[i].fd, ret;

		fds[r->file_idx[i]] = fd;
		ret = inet_sk_set_opts(fd, ie, false);
		if (ret) {
			pr_err("can't set the options of connection %u: %s\n", ie->ino, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* Connections @from to @to: one libsoccr batch, then their options. */
static int restore_range(struct sk_tcp_restore *r, const struct restore_image *ri, int *fds, size_t from, size_t to)
{
	int ret = libsoccr_restore_batch(r->soccr, r->conns + from, to - from);

	if (ret)
		report_failures(r->conns + from, r->inos + from, to - from, "the restore");
	/* Every socket made is placed, even after a failure, so that the caller closes it. */
	for (size_t i = from; i < to; i++)
		if (r->conns[i].fd >= 0 && r->conns[i].status)
			close(r->conns[i].fd), r->conns[i].fd = -1;
	if (!ret)
		return finish_conns(r, ri, fds, from, to);
	for (size_t i = from; i < to; i++)
		fds[r->file_idx[i]] = r->conns[i].fd;
	return ret;
}

int sk_tcp_restore_chunked(struct sk_tcp_restore *r, const struct restore_image *ri, int *fds, size_t chunk,
			   int (*placed)(void *arg, size_t from, size_t to), void *arg)
{
	uint64_t start = stats_now_us();
	int ret;

	if (!r->nr)
		return 0;
	ret = sk_tcp_soccr_open(&r->soccr, NULL);
	if (!ret)
		ret = ensure_lock(r);
	if (ret)
		return ret;
	pr_info("rebuilding %zu TCP connection(s)\n", r->nr);
	for (size_t from = 0; !ret && from < r->nr; from += chunk) {
		size_t to = r->nr - from < chunk ? r->nr : from + chunk;

		ret = restore_range(r, ri, fds, from, to);
		if (!ret && placed)
			ret = placed(arg, from, to);
	}
	r->restore_us = stats_now_us() - start;
	if (!ret)
		pr_info("%zu TCP connection(s) rebuilt in repair mode in %llu us\n", r->nr,
			(unsigned long long)r->restore_us);
	return ret;
}

int sk_tcp_restore(struct sk_tcp_restore *r, const struct restore_image *ri, int *fds)
{
	return sk_tcp_restore_chunked(r, ri, fds, r->nr ? r->nr : 1, NULL, NULL);
}

void sk_tcp_set_fds(struct sk_tcp_restore *r, const int *fds)
{
	for (size_t i = 0; i < r->nr; i++)
		r->conns[i].fd = fds[r->file_idx[i]];
}

#ifndef SO_BUF_LOCK
#define SO_BUF_LOCK 72
#endif

#define CONN_FINAL_OPTS 3 /* per pass: SO_LINGER, then SO_RCVBUFFORCE or SO_SNDBUFFORCE and SO_BUF_LOCK */

/* The values a batch of socket options points at, per connection. */
struct conn_final {
	int sndbuf, rcvbuf, lock;
	struct linger linger;
};

static void add_opt(struct libsoccr_sockopt *ops, size_t *n, int fd, int name, void *val, uint32_t len)
{
	ops[*n] = (struct libsoccr_sockopt){ .fd = fd, .level = SOL_SOCKET, .name = name, .val = val, .len = len };
	(*n)++;
}

/*
 * The options a connection gets once its queues are in: the application's
 * buffer sizes (libsoccr enlarged and locked them for the queues) or the
 * kernel's autotuning where it had set none, and its SO_LINGER; before repair
 * off (@before), SO_LINGER {1, 0} instead. A connection out of repair mode
 * that is closed before the process runs (criu killed) then resets, which the
 * lock drops, rather than sending a FIN and lingering as an orphan that holds
 * its 4-tuple against the next restore.
 *
 * An application's own receive buffer is given back before repair off, not
 * after: leaving repair mode sends a window probe, and the window it
 * advertises is computed from the receive buffer of that moment. Computed
 * from libsoccr's enlarged one it promises the peer room that the real
 * buffer, already full of unread data, doesn't have; the kernel never takes
 * back a window it advertised, so the peer sends into it as soon as the lock
 * is lifted, every segment is dropped for want of memory, and the connection
 * waits for its retransmission timer, seconds with backoff (see
 * Documentation/tcp-images.md, "The window at repair off"). The queues are in
 * already, so the smaller buffer costs nothing; a peer's FIN replayed after
 * repair off is taken whatever the buffer holds.
 */
static int set_final_opts(struct sk_tcp_restore *r, bool before)
{
	struct libsoccr_sockopt *ops = calloc(r->nr * CONN_FINAL_OPTS, sizeof(*ops));
	struct conn_final *v = calloc(r->nr, sizeof(*v));
	size_t n = 0;
	int ret;

	if (!ops || !v) {
		ret = -ENOMEM;
		goto out_free;
	}
	for (size_t i = 0; i < r->nr; i++) {
		const struct sk_opts_img *o = &conn_entry(r, r->ri, i)->opts;
		uint32_t lock = (o->flags & SKO_HAS_BUF_LOCK) ? o->buf_lock : 3;
		int fd = r->conns[i].fd;

		v[i].linger = (struct linger){ .l_onoff = before || (o->flags & SKO_HAS_LINGER),
					       .l_linger = before ? 0 : (int)o->linger };
		add_opt(ops, &n, fd, SO_LINGER, &v[i].linger, sizeof(v[i].linger));
		v[i].sndbuf = (int)(o->sndbuf / 2), v[i].rcvbuf = (int)(o->rcvbuf / 2), v[i].lock = (int)lock;
		if (before) {
			if (lock & 2)
				add_opt(ops, &n, fd, SO_RCVBUFFORCE, &v[i].rcvbuf, sizeof(int));
			continue;
		}
		/* the send buffer stays large until the unsent tail is written, at repair off */
		if (lock & 1)
			add_opt(ops, &n, fd, SO_SNDBUFFORCE, &v[i].sndbuf, sizeof(int));
		if (lock != 3)
			add_opt(ops, &n, fd, SO_BUF_LOCK, &v[i].lock, sizeof(int));
	}
	ret = libsoccr_setsockopt_batch(r->soccr, ops, n);
	for (size_t k = 0, bad = 0; ret && k < n; k++)
		if (ops[k].status && bad++ < 8)
			pr_err("can't set option %d of the connection at fd %d: %s\n", ops[k].name, ops[k].fd,
			       strerror(-ops[k].status));
out_free:
	free(v);
	free(ops);
	return ret;
}

int sk_tcp_repair_off(struct sk_tcp_restore *r)
{
	uint64_t start = stats_now_us();
	int ret;

	if (!r->nr)
		return 0;
	ret = set_final_opts(r, true);
	if (!ret)
		ret = libsoccr_repair_off_batch(r->soccr, r->conns, r->nr);
	if (ret) {
		r->repair_off_us = stats_now_us() - start;
		report_failures(r->conns, r->inos, r->nr, "leaving repair mode");
		return ret;
	}
	ret = set_final_opts(r, false);
	/* Some got their own SO_LINGER back: {1, 0} again, so that the close after this failure resets them. */
	if (ret && set_final_opts(r, true))
		pr_err("connections out of repair mode may linger as orphans once closed\n");
	r->repair_off_us = stats_now_us() - start;
	if (ret)
		return ret;
	r->repair_off = true;
	pr_info("%zu TCP connection(s) out of repair mode in %llu us\n", r->nr, (unsigned long long)r->repair_off_us);
	return 0;
}

int sk_tcp_unlock(struct sk_tcp_restore *r)
{
	uint64_t start = stats_now_us();
	int ret;

	if (!r->nr && !r->lift_lock)
		return 0;
	ret = unlock(&r->lock);
	r->unlock_us = stats_now_us() - start;
	if (ret || !r->nr)
		return ret;
	if (libsoccr_resume_batch(r->soccr, r->conns, r->nr))
		pr_warn("some connections could not be probed: they resume at their next retransmission\n");
	return 0;
}

void sk_tcp_restore_free(struct sk_tcp_restore *r)
{
	if (r->map)
		munmap(r->map, r->map_len);
	for (size_t i = 0; r->bufs && i < r->nr; i++)
		free(r->bufs[i]);
	free(r->bufs);
	if (r->soccr)
		libsoccr_ctx_destroy(r->soccr);
	free(r->conns);
	free(r->file_idx);
	free(r->inos);
	memset(r, 0, sizeof(*r));
}
