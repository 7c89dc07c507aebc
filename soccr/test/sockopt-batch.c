/*
 * sockopt-batch.c: libsoccr_getsockopt_batch() and libsoccr_setsockopt_batch() on a few hundred
 * sockets (TCP connections, both ends, listeners and UDP sockets, IPv4 and IPv6), about twenty
 * options each, at SOL_SOCKET and at the IP and TCP levels.
 *
 * get: every socket first gets values of its own with plain setsockopt(); every entry of the
 * batch must then hold what a plain getsockopt() of the same option gives: status, length and
 * the bytes of the buffer (also past the length: nothing else written). set: new values of
 * their own through the batch, read back with plain getsockopt().
 *
 * Both batches carry entries that must fail alone, each with the errno the plain syscall gives
 * for it: an fd that is not open, a pipe, an unknown option, a value the kernel refuses, and
 * an entry with a negative fd, which must be left untouched. Each call must return the status
 * of the first failed entry.
 *
 * Passes: io_uring (the summary line must say uring, no fallback), plain syscalls
 * (SOCCR_CTX_NO_URING), then io_uring made to fail after the context chose it (a seccomp filter
 * refuses io_uring_enter): the rings must hand their entries to syscalls, same results.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "testutil.h"

#ifndef SO_BUF_LOCK
#define SO_BUF_LOCK 72
#endif

#define NR_TCP4 100 /* connections: both ends are ours */
#define NR_TCP6 25
#define NR_UDP4 30
#define NR_UDP6 15
#define MAX_SOCKS (2 * (NR_TCP4 + NR_TCP6) + NR_UDP4 + NR_UDP6 + 2)
#define MAX_OPTS_PER_SOCK 24
#define MAX_OPS (MAX_SOCKS * MAX_OPTS_PER_SOCK + 16)
#define VAL_SIZE 32
#define NOT_OPEN_FD 1000000 /* above any fd limit: EBADF */
#define UNTOUCHED 12345
#define FILL 0xa5

struct sock {
	int fd;
	int family;
	int type;
};

struct fixture {
	struct sock socks[MAX_SOCKS];
	size_t nr;
	int pipe[2];
	unsigned int round; /* each pass sets values of its own */
	struct libsoccr_sockopt ops[MAX_OPS];
	unsigned char vals[MAX_OPS][VAL_SIZE];
	uint32_t len_in[MAX_OPS]; /* ops[].len before the call */
	bool bad[MAX_OPS];	  /* made to fail (or to be skipped) */
	int want[MAX_OPS];	  /* the status a plain syscall gives */
	size_t nr_ops;
};

static int set_int(int fd, int level, int name, int v)
{
	return setsockopt(fd, level, name, &v, sizeof(v)) ? -errno : 0;
}

static int add_sock(struct fixture *f, int fd, int family, int type)
{
	if (fd < 0)
		return -errno;
	f->socks[f->nr++] = (struct sock){ .fd = fd, .family = family, .type = type };
	return 0;
}

static socklen_t loopback(int family, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(*a);
	}
	((struct sockaddr_in6 *)ss)->sin6_family = AF_INET6;
	((struct sockaddr_in6 *)ss)->sin6_addr = in6addr_loopback;
	return sizeof(struct sockaddr_in6);
}

/* A listener of @family and @n connections to it: the listener and both ends of each are kept. */
static int make_tcp(struct fixture *f, int family, unsigned int n)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(family, &ss);
	int ls, ret;

	ls = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ret = add_sock(f, ls, family, SOCK_STREAM);
	if (ret)
		return ret;
	if (bind(ls, (struct sockaddr *)&ss, len) || listen(ls, (int)n) ||
	    getsockname(ls, (struct sockaddr *)&ss, &len))
		return -errno;
	for (unsigned int i = 0; i < n; i++) {
		int c = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

		ret = add_sock(f, c, family, SOCK_STREAM);
		if (ret)
			return ret;
		if (connect(c, (struct sockaddr *)&ss, len))
			return -errno;
		ret = add_sock(f, accept4(ls, NULL, NULL, SOCK_CLOEXEC), family, SOCK_STREAM);
		if (ret)
			return ret;
	}
	return 0;
}

static int make_udp(struct fixture *f, int family, unsigned int n)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(family, &ss);

	for (unsigned int i = 0; i < n; i++) {
		int s = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		int ret = add_sock(f, s, family, SOCK_DGRAM);

		if (ret)
			return ret;
		if (bind(s, (struct sockaddr *)&ss, len))
			return -errno;
	}
	return 0;
}

static int ip_level(const struct sock *s)
{
	return s->family == AF_INET ? SOL_IP : SOL_IPV6;
}

static int ttl_name(const struct sock *s)
{
	return s->family == AF_INET ? IP_TTL : IPV6_UNICAST_HOPS;
}

/* Values of its own for socket @i, with plain syscalls, for the get pass to find. */
static int preset(const struct sock *s, unsigned int i)
{
	struct timeval snd = { .tv_sec = i % 4, .tv_usec = 20000 * (i % 50) };
	struct timeval rcv = { .tv_sec = i % 3, .tv_usec = 40000 * (i % 25) };
	struct linger lg = { .l_onoff = (int)(i & 1), .l_linger = (int)(i % 60) };
	int fd = s->fd, ret;

	ret = set_int(fd, SOL_SOCKET, SO_RCVLOWAT, 1 + (int)(i % 97));
	ret = ret ?: set_int(fd, SOL_SOCKET, SO_MARK, (int)i);
	ret = ret ?: set_int(fd, SOL_SOCKET, SO_PRIORITY, (int)(i % 7));
	ret = ret ?: set_int(fd, SOL_SOCKET, SO_KEEPALIVE, (int)(i & 1));
	ret = ret ?: set_int(fd, SOL_SOCKET, SO_OOBINLINE, (int)(i % 3 == 0));
	ret = ret ?: set_int(fd, SOL_SOCKET, SO_DONTROUTE, (int)(i % 5 == 0));
	ret = ret ?: set_int(fd, SOL_SOCKET, SO_BROADCAST, (int)(i % 4 == 0));
	ret = ret ?: set_int(fd, ip_level(s), ttl_name(s), 1 + (int)(i % 200));
	if (!ret && i % 3 == 0)
		ret = set_int(fd, SOL_SOCKET, SO_SNDBUF, 4096 + 64 * (int)i);
	if (!ret && setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof(snd)))
		ret = -errno;
	if (!ret && setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof(rcv)))
		ret = -errno;
	if (!ret && setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
		ret = -errno;
	if (!ret && s->type == SOCK_STREAM)
		ret = set_int(fd, SOL_TCP, TCP_KEEPIDLE, 10 + (int)i);
	return ret;
}

static int fixture_init(struct fixture *f)
{
	int ret;

	f->nr = 0;
	f->pipe[0] = f->pipe[1] = -1;
	ret = make_tcp(f, AF_INET, NR_TCP4);
	ret = ret ?: make_tcp(f, AF_INET6, NR_TCP6);
	ret = ret ?: make_udp(f, AF_INET, NR_UDP4);
	ret = ret ?: make_udp(f, AF_INET6, NR_UDP6);
	if (!ret && pipe2(f->pipe, O_CLOEXEC))
		ret = -errno;
	for (size_t i = 0; !ret && i < f->nr; i++)
		ret = preset(&f->socks[i], (unsigned int)i);
	if (ret)
		test_msg("cannot make the sockets: %s", strerror(-ret));
	return ret;
}

static void fixture_fini(struct fixture *f)
{
	for (size_t i = 0; i < f->nr; i++)
		close(f->socks[i].fd);
	if (f->pipe[0] >= 0) {
		close(f->pipe[0]);
		close(f->pipe[1]);
	}
}

/* A new entry with a value buffer filled with FILL, then @len bytes of @val if given. */
static struct libsoccr_sockopt *add_op(struct fixture *f, int fd, int level, int name, const void *val, uint32_t len)
{
	size_t i = f->nr_ops++;
	struct libsoccr_sockopt *op = &f->ops[i];

	memset(f->vals[i], FILL, VAL_SIZE);
	if (val)
		memcpy(f->vals[i], val, len);
	*op = (struct libsoccr_sockopt){ .fd = fd, .level = level, .name = name, .val = f->vals[i], .len = len };
	f->len_in[i] = len;
	f->bad[i] = false;
	f->want[i] = 0;
	return op;
}

/* Entries that must fail (or be skipped) in the middle of the batch, after socket @i. */
static void add_bad_ops(struct fixture *f, size_t i, bool set)
{
	static const int big_ttl = 1000;
	static const int one = 1;
	size_t first = f->nr_ops;

	switch (i) {
	case 7:
		add_op(f, NOT_OPEN_FD, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one));
		break;
	case 40:
		add_op(f, f->pipe[0], SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one));
		break;
	case 90:
		add_op(f, f->socks[i].fd, SOL_SOCKET, 9999, &one, sizeof(one));
		break;
	case 150:
		add_op(f, f->socks[i].fd, SOL_TCP, 9999, &one, sizeof(one));
		break;
	case 200:
		/* too short for a linger value (set: EINVAL; get: truncated, not an error) */
		add_op(f, f->socks[i].fd, SOL_SOCKET, SO_LINGER, &one, 2);
		break;
	case 230:
		if (set)
			add_op(f, f->socks[i].fd, ip_level(&f->socks[i]), ttl_name(&f->socks[i]), &big_ttl,
			       sizeof(big_ttl));
		break;
	case 260:
		add_op(f, -1, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof(one))->status = UNTOUCHED;
		break;
	}
	for (size_t k = first; k < f->nr_ops; k++)
		f->bad[k] = true;
}

/* What the batch must find: every entry read again with a plain getsockopt() into a fresh buffer. */
static int check_get(const struct fixture *f)
{
	unsigned int bad = 0;

	for (size_t i = 0; i < f->nr_ops; i++) {
		const struct libsoccr_sockopt *op = &f->ops[i];
		unsigned char ref[VAL_SIZE];
		socklen_t len;
		int status;

		if (op->fd < 0) {
			if (op->status != UNTOUCHED && bad++ < 8)
				test_msg("entry %zu (fd -1): status %d, not left alone", i, op->status);
			continue;
		}
		memset(ref, FILL, sizeof(ref));
		len = f->len_in[i];
		status = getsockopt(op->fd, op->level, op->name, ref, &len) ? -errno : 0;
		if (status != op->status || (!status && (len != op->len || memcmp(ref, f->vals[i], VAL_SIZE)))) {
			if (bad++ < 8)
				test_msg("get entry %zu (fd %d, level %d, option %d): status %d len %u, the syscall "
					 "gives %d len %u%s",
					 i, op->fd, op->level, op->name, op->status, op->len, status, (unsigned int)len,
					 status == op->status ? " (other bytes)" : "");
		}
	}
	if (bad)
		test_msg("%u of %zu entries differ from getsockopt()", bad, f->nr_ops);
	return bad ? -EIO : 0;
}

/* The options read of socket @s: SOL_SOCKET (through the ring), then other levels (syscalls). */
static void add_get_ops(struct fixture *f, const struct sock *s)
{
	static const int sol_socket[] = { SO_SNDTIMEO,	SO_RCVTIMEO,  SO_REUSEPORT,   SO_BROADCAST, SO_OOBINLINE,
					  SO_DONTROUTE, SO_RCVLOWAT,  SO_BUF_LOCK,    SO_LINGER,    SO_SNDBUF,
					  SO_RCVBUF,	SO_REUSEADDR, SO_KEEPALIVE,   SO_MARK,	    SO_PRIORITY,
					  SO_TYPE,	SO_DOMAIN,    SO_BINDTODEVICE };
	uint32_t len;

	for (size_t k = 0; k < sizeof(sol_socket) / sizeof(sol_socket[0]); k++) {
		int name = sol_socket[k];

		len = name == SO_SNDTIMEO || name == SO_RCVTIMEO ? sizeof(struct timeval) : sizeof(int);
		len = name == SO_LINGER ? sizeof(struct linger) : name == SO_BINDTODEVICE ? 16 : len;
		add_op(f, s->fd, SOL_SOCKET, name, NULL, len);
	}
	add_op(f, s->fd, ip_level(s), ttl_name(s), NULL, sizeof(int));
	if (s->type == SOCK_STREAM) {
		add_op(f, s->fd, SOL_TCP, TCP_KEEPIDLE, NULL, sizeof(int));
		add_op(f, s->fd, SOL_TCP, TCP_NODELAY, NULL, sizeof(int));
	}
}

/*
 * The status each entry must get, from the plain syscall (set: the entries made to fail only,
 * which change nothing), and the first failed entry.
 */
static size_t expect(struct fixture *f, bool set)
{
	size_t first = f->nr_ops;

	for (size_t i = 0; i < f->nr_ops; i++) {
		struct libsoccr_sockopt *op = &f->ops[i];
		unsigned char scratch[VAL_SIZE];
		socklen_t len = op->len;
		int r;

		if (op->fd < 0 || (set && !f->bad[i]))
			continue;
		memcpy(scratch, f->vals[i], VAL_SIZE);
		r = set ? setsockopt(op->fd, op->level, op->name, scratch, len) :
			  getsockopt(op->fd, op->level, op->name, scratch, &len);
		f->want[i] = r ? -errno : 0;
		if (f->want[i] && first == f->nr_ops)
			first = i;
	}
	return first;
}

/* New values of their own for socket @i, from round @round. */
static void add_set_ops(struct fixture *f, const struct sock *s, unsigned int i, unsigned int round)
{
	struct timeval snd = { .tv_sec = (i + round) % 3, .tv_usec = 40000 * ((i + round) % 20) };
	struct linger lg = { .l_onoff = 1, .l_linger = (int)((i + round) % 50) };
	int v;

	v = 300 + (int)(i + 7 * round);
	add_op(f, s->fd, SOL_SOCKET, SO_RCVLOWAT, &v, sizeof(v));
	v = 5000 + (int)(i + 1000 * round);
	add_op(f, s->fd, SOL_SOCKET, SO_MARK, &v, sizeof(v));
	v = (int)((i + round) % 7);
	add_op(f, s->fd, SOL_SOCKET, SO_PRIORITY, &v, sizeof(v));
	v = (int)((i + round) & 1);
	add_op(f, s->fd, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof(v));
	add_op(f, s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	add_op(f, s->fd, SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof(snd));
	v = 2 + (int)((i + 11 * round) % 250);
	add_op(f, s->fd, ip_level(s), ttl_name(s), &v, sizeof(v));
	if (s->type == SOCK_STREAM) {
		v = 20 + (int)(i + round);
		add_op(f, s->fd, SOL_TCP, TCP_KEEPIDLE, &v, sizeof(v));
		v = (int)((i + round) % 2);
		add_op(f, s->fd, SOL_TCP, TCP_NODELAY, &v, sizeof(v));
	}
}

/* Every entry that succeeded must read back as set; the others as a plain setsockopt() failed. */
static int check_set(const struct fixture *f)
{
	unsigned int bad = 0;

	for (size_t i = 0; i < f->nr_ops; i++) {
		const struct libsoccr_sockopt *op = &f->ops[i];
		unsigned char now[VAL_SIZE];
		socklen_t len = op->len;
		bool same;

		if (op->fd < 0) {
			same = op->status == UNTOUCHED;
		} else if (f->want[i] || op->status) {
			same = op->status == f->want[i];
		} else {
			memset(now, FILL, sizeof(now));
			same = !getsockopt(op->fd, op->level, op->name, now, &len) && len == op->len &&
			       !memcmp(now, f->vals[i], op->len);
		}
		if (!same && bad++ < 8)
			test_msg("set entry %zu (fd %d, level %d, option %d): status %d, the syscall gives %d%s", i,
				 op->fd, op->level, op->name, op->status, f->want[i],
				 op->status == f->want[i] ? " (the value reads back otherwise)" : "");
	}
	if (bad)
		test_msg("%u of %zu entries differ from setsockopt()", bad, f->nr_ops);
	return bad ? -EIO : 0;
}

/* One batch, get or set, over every socket with the entries made to fail among them. */
static int run_batch(struct libsoccr_ctx *ctx, struct fixture *f, bool set)
{
	const char *what = set ? "setsockopt" : "getsockopt";
	size_t first;
	int ret;

	f->nr_ops = 0;
	f->round += set;
	for (size_t i = 0; i < f->nr; i++) {
		if (set)
			add_set_ops(f, &f->socks[i], (unsigned int)i, f->round);
		else
			add_get_ops(f, &f->socks[i]);
		add_bad_ops(f, i, set);
	}
	first = expect(f, set);
	ret = set ? libsoccr_setsockopt_batch(ctx, f->ops, f->nr_ops) :
		    libsoccr_getsockopt_batch(ctx, f->ops, f->nr_ops);
	if (first == f->nr_ops || ret != f->want[first]) {
		test_msg("%s batch returned %d, the first failure is %d", what, ret,
			 first < f->nr_ops ? f->want[first] : 0);
		return -EIO;
	}
	test_msg("%s batch: %zu entries on %zu sockets, first failure %s at entry %zu", what, f->nr_ops, f->nr,
		 strerror(-ret), first);
	return set ? check_set(f) : check_get(f);
}

enum pass_kind {
	PASS_URING,
	PASS_SYSCALL,
	PASS_RING_FAILS,
};

static const char *const pass_names[] = { "io_uring", "syscalls", "io_uring failing" };

/* Both batches on a context of two workers with small chunks (many of them, both workers busy). */
static int run_pass(struct fixture *f, enum pass_kind kind)
{
	static struct test_log tl;
	struct libsoccr_ctx_opts opts = {
		.size = sizeof(opts),
		.flags = kind == PASS_SYSCALL ? SOCCR_CTX_NO_URING : 0,
		.workers = 2,
		.chunk = 8,
		.log = test_log_keep,
		.log_arg = &tl,
		.log_level = SOCCR_LOG_INFO,
	};
	const char *backend = kind == PASS_SYSCALL ? "workers, syscall" : "workers, uring";
	struct libsoccr_ctx *ctx;
	int ret;

	test_msg("pass: %s", pass_names[kind]);
	test_log_init(&tl);
	ret = libsoccr_ctx_create(&opts, &ctx);
	if (ret) {
		test_msg("libsoccr_ctx_create: %s", strerror(-ret));
		return ret;
	}
	if (kind == PASS_RING_FAILS) {
		ret = test_forbid_io_uring_enter();
		if (ret)
			test_msg("cannot install the seccomp filter: %s", strerror(-ret));
	}
	ret = ret ?: run_batch(ctx, f, false);
	ret = ret ?: run_batch(ctx, f, true);
	libsoccr_ctx_destroy(ctx);
	if (ret)
		return ret;
	if (test_log_count(&tl, backend) != 2) {
		test_msg("the batches did not say they ran on %s", backend);
		return -EIO;
	}
	if ((kind == PASS_RING_FAILS) != (test_log_count(&tl, "socket options go on with syscalls") > 0)) {
		test_msg(kind == PASS_RING_FAILS ? "the rings never failed: the seccomp filter did not bite" :
						   "the rings failed");
		return -EIO;
	}
	return 0;
}

/* Does a context get rings for socket options here (Linux 6.7, io_uring not disabled)? */
static int have_uring(bool *uring)
{
	static struct test_log tl;
	struct libsoccr_ctx_opts opts = {
		.size = sizeof(opts),
		.workers = 1,
		.log = test_log_keep,
		.log_arg = &tl,
		.log_level = SOCCR_LOG_INFO,
	};
	struct libsoccr_ctx *ctx;
	int ret;

	test_log_init(&tl);
	ret = libsoccr_ctx_create(&opts, &ctx);
	if (ret)
		return ret;
	libsoccr_ctx_destroy(ctx);
	*uring = test_log_count(&tl, "socket options on uring") == 1;
	return 0;
}

int main(int argc, char **argv)
{
	static struct fixture fix;
	bool uring;
	int ret;

	(void)argc;
	test_init(argv[0]);
	ret = test_env_setup();
	if (ret)
		return ret;
	ret = have_uring(&uring);
	if (ret)
		return test_fail("libsoccr_ctx_create: %s", strerror(-ret));
	ret = fixture_init(&fix);
	if (!ret && uring)
		ret = run_pass(&fix, PASS_URING);
	ret = ret ?: run_pass(&fix, PASS_SYSCALL);
	if (!ret && uring)
		ret = run_pass(&fix, PASS_RING_FAILS);
	fixture_fini(&fix);
	if (ret)
		return test_fail("%s", strerror(-ret));
	if (!uring)
		test_msg("no io_uring on this kernel: syscalls only");
	test_msg("PASS");
	return TEST_PASS;
}
