/*
 * sockopt-bench.c: what reading the socket options criu dumps costs per socket, with one
 * getsockopt(2) each (criu's way before the batches) and with libsoccr_getsockopt_batch().
 *
 * N sockets (both ends of N/2 loopback TCP connections in a private network namespace), and
 * per socket the options criu reads for a connection: SO_SNDTIMEO, SO_RCVTIMEO, SO_REUSEPORT,
 * SO_BROADCAST, SO_OOBINLINE, SO_DONTROUTE, SO_RCVLOWAT, SO_BUF_LOCK, SO_LINGER (SOL_SOCKET:
 * the ring can read them) and IP_TTL (a syscall either way). Each configuration runs REPS times;
 * the median is printed, in microseconds per socket:
 *
 *   sockopt-bench n=N opts=10 syscalls_us=X
 *   sockopt-bench n=N opts=10 workers=W backend=uring|syscall batch_us=X ctx_create_us=X
 *
 * syscalls_us: the plain loop in one thread. batch_us: one batch call over all N*10 entries, the
 * context made beforehand (ctx_create_us, once per dump, is printed apart). Every batch is checked
 * against the plain loop's values.
 *
 * Usage: sockopt-bench [-n N] [-r REPS]
 */
#include <errno.h>
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

#define MAX_REPS 15
#define NR_OPTS 10
#define VAL_SIZE 16

static const struct {
	int level, name;
	uint32_t len;
} opts[NR_OPTS] = {
	{ SOL_SOCKET, SO_SNDTIMEO, sizeof(struct timeval) },
	{ SOL_SOCKET, SO_RCVTIMEO, sizeof(struct timeval) },
	{ SOL_SOCKET, SO_REUSEPORT, sizeof(int) },
	{ SOL_SOCKET, SO_BROADCAST, sizeof(int) },
	{ SOL_SOCKET, SO_OOBINLINE, sizeof(int) },
	{ SOL_SOCKET, SO_DONTROUTE, sizeof(int) },
	{ SOL_SOCKET, SO_RCVLOWAT, sizeof(int) },
	{ SOL_SOCKET, SO_BUF_LOCK, sizeof(int) },
	{ SOL_SOCKET, SO_LINGER, sizeof(struct linger) },
	{ SOL_IP, IP_TTL, sizeof(int) },
};

struct bench {
	int *fds;
	size_t want; /* sockets to make */
	size_t n;
	struct libsoccr_sockopt *ops;
	unsigned char (*vals)[VAL_SIZE];
	unsigned char (*ref)[VAL_SIZE];
};

/* N/2 connections to a loopback listener: both ends kept, the listener closed. */
static int make_sockets(struct bench *b)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (ls < 0 || bind(ls, (struct sockaddr *)&a, len) || listen(ls, 4096) ||
	    getsockname(ls, (struct sockaddr *)&a, &len))
		return -errno;
	while (b->n + 2 <= b->want) {
		int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (c < 0 || connect(c, (struct sockaddr *)&a, len))
			return -errno;
		b->fds[b->n++] = c;
		b->fds[b->n] = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		if (b->fds[b->n++] < 0)
			return -errno;
	}
	close(ls);
	return 0;
}

static double now_us(void)
{
	return (double)test_now_ns() / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* The plain loop: what criu did per socket. */
static int read_syscalls(struct bench *b)
{
	for (size_t s = 0; s < b->n; s++)
		for (int k = 0; k < NR_OPTS; k++) {
			socklen_t len = opts[k].len;

			if (getsockopt(b->fds[s], opts[k].level, opts[k].name, b->ref[s * NR_OPTS + k], &len))
				return -errno;
		}
	return 0;
}

static void fill_ops(struct bench *b)
{
	for (size_t s = 0; s < b->n; s++)
		for (int k = 0; k < NR_OPTS; k++) {
			size_t i = s * NR_OPTS + k;

			memset(b->vals[i], 0, VAL_SIZE);
			b->ops[i] = (struct libsoccr_sockopt){ .fd = b->fds[s],
							       .level = opts[k].level,
							       .name = opts[k].name,
							       .val = b->vals[i],
							       .len = opts[k].len };
		}
}

static int bench_batch(struct bench *b, uint32_t flags, uint32_t workers, int reps)
{
	double batch[MAX_REPS], create[MAX_REPS];
	const char *backend = "syscall";
	struct libsoccr_ctx *ctx;
	int ret = 0;

	for (int r = 0; !ret && r < reps; r++) {
		double t0 = now_us(), t1;

		ret = test_ctx_create(flags, workers, &ctx);
		if (ret)
			break;
		t1 = now_us();
		create[r] = t1 - t0;
		fill_ops(b);
		t0 = now_us();
		ret = libsoccr_getsockopt_batch(ctx, b->ops, b->n * NR_OPTS);
		batch[r] = (now_us() - t0) / (double)b->n;
		workers = libsoccr_ctx_workers(ctx);
		backend = flags & SOCCR_CTX_NO_URING ? "syscall" : "uring";
		libsoccr_ctx_destroy(ctx);
		if (!ret && memcmp(b->vals, b->ref, b->n * NR_OPTS * VAL_SIZE))
			ret = -EIO;
	}
	if (ret) {
		test_msg("batch (workers %u, %s): %s", workers, backend, strerror(-ret));
		return ret;
	}
	printf("sockopt-bench n=%zu opts=%d workers=%u backend=%s batch_us=%.2f ctx_create_us=%.0f\n", b->n, NR_OPTS,
	       workers, backend, median(batch, reps), median(create, reps));
	return 0;
}

static int bench_syscalls(struct bench *b, int reps)
{
	double v[MAX_REPS];

	for (int r = 0; r < reps; r++) {
		double t0 = now_us();
		int ret = read_syscalls(b);

		if (ret) {
			test_msg("getsockopt: %s", strerror(-ret));
			return ret;
		}
		v[r] = (now_us() - t0) / (double)b->n;
	}
	printf("sockopt-bench n=%zu opts=%d syscalls_us=%.2f\n", b->n, NR_OPTS, median(v, reps));
	return 0;
}

int main(int argc, char **argv)
{
	struct bench b = { 0 };
	size_t n = 10000;
	int reps = 5, opt, ret;

	test_init(argv[0]);
	while ((opt = getopt(argc, argv, "n:r:")) != -1) {
		if (opt == 'n')
			n = strtoul(optarg, NULL, 10) & ~1ul;
		else if (opt == 'r')
			reps = atoi(optarg);
		else
			return test_fail("usage: sockopt-bench [-n N] [-r REPS]");
	}
	if (n < 2 || reps < 1 || reps > MAX_REPS)
		return test_fail("N must be 2 or more, REPS 1 to %d", MAX_REPS);
	ret = test_env_setup();
	if (ret)
		return ret;
	b.want = n;
	b.fds = calloc(n, sizeof(*b.fds));
	b.ops = calloc(n * NR_OPTS, sizeof(*b.ops));
	b.vals = calloc(n * NR_OPTS, VAL_SIZE);
	b.ref = calloc(n * NR_OPTS, VAL_SIZE);
	if (!b.fds || !b.ops || !b.vals || !b.ref)
		return test_fail("out of memory");
	ret = make_sockets(&b);
	if (ret)
		return test_fail("cannot make %zu sockets: %s", n, strerror(-ret));
	ret = bench_syscalls(&b, reps);
	ret = ret ?: bench_batch(&b, 0, 0, reps);
	ret = ret ?: bench_batch(&b, 0, 1, reps);
	ret = ret ?: bench_batch(&b, SOCCR_CTX_NO_URING, 0, reps);
	return ret ? TEST_FAIL : TEST_PASS;
}
