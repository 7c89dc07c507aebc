// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * batch.c: the context, and the batch calls. A batch is cut into chunks of
 * connections (or of socket options); the workers take chunks in turn and run
 * each with the context's backend: their own io_uring ring, or plain
 * syscalls. The backend is chosen here, once, when the context is created.
 * Each connection batch runs in its caller's network namespace: workers that
 * are elsewhere join it first. A socket option batch needs no namespace.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "internal.h"

#define SOCCR_DEFAULT_CHUNK 64
#define SOCCR_MAX_CHUNK 256
#define SOCCR_MAX_WORKERS 64

enum batch_op {
	BATCH_DUMP,
	BATCH_CLOSE,
	BATCH_RESTORE,
	BATCH_REPAIR_OFF,
	BATCH_RESUME,
	BATCH_GETSOCKOPT,
	BATCH_SETSOCKOPT,
};

/* clang-format off */
static const char *const batch_op_names[] = {
	[BATCH_DUMP] = "dumped",
	[BATCH_CLOSE] = "closed",
	[BATCH_RESTORE] = "restored",
	[BATCH_REPAIR_OFF] = "released from repair",
	[BATCH_RESUME] = "resumed",
	[BATCH_GETSOCKOPT] = "read",
	[BATCH_SETSOCKOPT] = "set",
};
/* clang-format on */

struct batch {
	struct libsoccr_ctx *ctx;
	struct libsoccr_conn *conns;  /* a connection batch's, or */
	struct libsoccr_sockopt *ops; /* a socket option batch's */
	size_t n;
	size_t chunk; /* entries a worker takes at a time */
	enum batch_op op;
	atomic_size_t next; /* first connection of the next chunk to take */
	atomic_size_t done; /* connections finished, for progress messages */
	atomic_size_t failed;
	atomic_size_t first_failed; /* lowest index of a failed connection, or n */
	size_t progress_step;
	struct soccr_netns netns; /* the caller's network namespace */
	int netns_fd;		  /* open on it when a worker is elsewhere, else -1 */
};

#define NETNS_SELF "/proc/thread-self/ns/net"

const char *libsoccr_backend_name(enum libsoccr_backend backend)
{
	return backend == SOCCR_BACKEND_URING ? "uring" : "syscall";
}

enum libsoccr_backend libsoccr_ctx_backend(const struct libsoccr_ctx *ctx)
{
	return ctx->backend;
}

unsigned int libsoccr_ctx_workers(const struct libsoccr_ctx *ctx)
{
	return ctx->nr_workers;
}

static void ctx_destroy_rings(struct libsoccr_ctx *ctx)
{
	if (!ctx->rings)
		return;
	for (unsigned int i = 0; i < ctx->nr_workers; i++)
		soccr_ring_destroy(ctx->rings[i]);
	free(ctx->rings);
	ctx->rings = NULL;
}

/*
 * One ring per worker if the kernel has the socket commands; the connection
 * batches use them only where it has every operation they need.
 */
static int ctx_setup_rings(struct libsoccr_ctx *ctx)
{
	unsigned int entries = ctx->chunk * SOCCR_RING_SQES_PER_CONN;
	int ret;

	ctx->rings = calloc(ctx->nr_workers, sizeof(ctx->rings[0]));
	if (!ctx->rings)
		return -ENOMEM;
	for (unsigned int i = 0; i < ctx->nr_workers; i++) {
		ret = soccr_ring_create(entries, &ctx->rings[i]);
		if (ret)
			goto out_destroy_rings;
	}
	ret = soccr_ring_probe(ctx->rings[0], &ctx->ring_caps);
	if (ret)
		goto out_destroy_rings;
	if (ctx->ring_caps & SOCCR_RING_CONNS)
		ctx->backend = SOCCR_BACKEND_URING;
	return 0;

out_destroy_rings:
	ctx_destroy_rings(ctx);
	return ret;
}

static void netns_of(const struct stat *st, struct soccr_netns *ns)
{
	ns->dev = st->st_dev;
	ns->ino = st->st_ino;
}

static bool netns_equal(const struct soccr_netns *a, const struct soccr_netns *b)
{
	return a->dev == b->dev && a->ino == b->ino;
}

/*
 * The calling thread's network namespace and, if @fdp, an fd open on it.
 * Through procfs; where the caller's /proc is not its own, a socket of the
 * namespace is asked (SIOCGSKNS).
 */
static int caller_netns(struct soccr_netns *ns, int *fdp)
{
	struct stat st;
	int fd, sk, ret = 0;

	if (!fdp && !stat(NETNS_SELF, &st)) {
		netns_of(&st, ns);
		return 0;
	}
	fd = fdp ? open(NETNS_SELF, O_RDONLY | O_CLOEXEC) : -1;
	if (fd < 0) {
		sk = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (sk < 0)
			return -errno;
		fd = ioctl(sk, SIOCGSKNS);
		if (fd < 0)
			ret = -errno;
		close(sk);
		if (ret)
			return ret;
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	netns_of(&st, ns);
	if (fdp)
		*fdp = fd;
	else
		close(fd);
	return 0;
}

/*
 * Before a batch: find the caller's network namespace and, if a worker
 * thread is in another one, open it for them to join. Costs a stat() of
 * procfs per call (about 7 us); the open and the setns() only when the
 * caller moved since the last batch.
 */
static void batch_netns_prepare(struct batch *b)
{
	struct libsoccr_ctx *ctx = b->ctx;
	bool moved = false;
	int ret;

	b->netns_fd = -1;
	if (ctx->nr_workers < 2)
		return;
	ret = caller_netns(&b->netns, NULL);
	for (unsigned int w = 1; !ret && w < ctx->nr_workers; w++)
		moved |= !netns_equal(&ctx->worker_netns[w], &b->netns);
	if (!ret && moved)
		ret = caller_netns(&b->netns, &b->netns_fd);
	if (ret) {
		/* the workers may be elsewhere: the caller works alone */
		soccr_warn(ctx, "cannot tell the caller's network namespace (%s): no worker threads", strerror(-ret));
		memset(&b->netns, 0, sizeof(b->netns));
	}
}

/* A worker thread joins the caller's network namespace; false if it cannot work in it. */
static bool worker_join_netns(struct batch *b, unsigned int worker)
{
	struct soccr_netns *mine = &b->ctx->worker_netns[worker];

	if (!b->netns.ino)
		return false;
	if (netns_equal(mine, &b->netns))
		return true;
	if (b->netns_fd < 0 || setns(b->netns_fd, CLONE_NEWNET)) {
		soccr_warn(b->ctx, "worker %u cannot join the caller's network namespace: %s", worker,
			   b->netns_fd < 0 ? "no namespace fd" : strerror(errno));
		return false;
	}
	*mine = b->netns;
	return true;
}

int libsoccr_ctx_create(const struct libsoccr_ctx_opts *opts, struct libsoccr_ctx **ctxp)
{
	struct libsoccr_ctx_opts o = { 0 };
	struct libsoccr_ctx *ctx;
	long cpus;
	int ret;

	if (opts) {
		if (opts->size < offsetof(struct libsoccr_ctx_opts, log))
			return -EINVAL;
		memcpy(&o, opts, opts->size < sizeof(o) ? opts->size : sizeof(o));
	}
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->log = o.log;
	ctx->log_arg = o.log_arg;
	ctx->queue_alloc = o.queue_alloc;
	ctx->queue_arg = o.queue_arg;
	ctx->log_level = o.log_level;
	ctx->flags = o.flags;
	ctx->chunk = o.chunk ? o.chunk : SOCCR_DEFAULT_CHUNK;
	if (ctx->chunk > SOCCR_MAX_CHUNK)
		ctx->chunk = SOCCR_MAX_CHUNK;
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	ctx->nr_workers = o.workers ? o.workers : cpus > 0 ? (unsigned int)cpus : 1;
	if (ctx->nr_workers > SOCCR_MAX_WORKERS)
		ctx->nr_workers = SOCCR_MAX_WORKERS;
	ctx->backend = SOCCR_BACKEND_SYSCALL;

	/* the threads start in the creator's network namespace */
	ctx->worker_netns = calloc(ctx->nr_workers, sizeof(ctx->worker_netns[0]));
	if (!ctx->worker_netns) {
		ret = -ENOMEM;
		goto out_free_ctx;
	}
	if (ctx->nr_workers > 1 && !caller_netns(&ctx->worker_netns[1], NULL))
		for (unsigned int w = 2; w < ctx->nr_workers; w++)
			ctx->worker_netns[w] = ctx->worker_netns[1];
	ret = soccr_pool_create(ctx->nr_workers, &ctx->pool);
	if (ret)
		goto out_free_ctx;
	if (!(ctx->flags & SOCCR_CTX_NO_URING)) {
		ret = ctx_setup_rings(ctx);
		if (ret)
			soccr_info(ctx, "io_uring not usable (%s): plain syscalls", strerror(-ret));
	}
	soccr_info(ctx, "context: %u workers, backend %s, chunks of %u, socket options on %s", ctx->nr_workers,
		   libsoccr_backend_name(ctx->backend), ctx->chunk,
		   libsoccr_backend_name(ctx->rings ? SOCCR_BACKEND_URING : SOCCR_BACKEND_SYSCALL));
	*ctxp = ctx;
	return 0;

out_free_ctx:
	free(ctx->worker_netns);
	free(ctx);
	return ret;
}

void libsoccr_ctx_destroy(struct libsoccr_ctx *ctx)
{
	if (!ctx)
		return;
	ctx_destroy_rings(ctx);
	soccr_pool_destroy(ctx->pool);
	free(ctx->worker_netns);
	free(ctx);
}

static bool batch_is_sockopt(const struct batch *b)
{
	return b->op == BATCH_GETSOCKOPT || b->op == BATCH_SETSOCKOPT;
}

/* Is entry @i worked on? A restore makes the fds: all its connections are. */
static bool batch_selected(const struct batch *b, size_t i)
{
	if (batch_is_sockopt(b))
		return b->ops[i].fd >= 0;
	return b->op == BATCH_RESTORE || b->conns[i].fd >= 0;
}

static int batch_status(const struct batch *b, size_t i)
{
	return batch_is_sockopt(b) ? b->ops[i].status : b->conns[i].status;
}

static void chunk_run_syscalls(struct batch *b, size_t start, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct libsoccr_conn *c = b->conns ? &b->conns[start + i] : NULL;

		if (!batch_selected(b, start + i))
			continue;
		switch (b->op) {
		case BATCH_DUMP:
			c->status = soccr_sys_dump(b->ctx, c);
			break;
		case BATCH_CLOSE:
			c->status = soccr_sys_close(c);
			break;
		case BATCH_RESTORE:
			c->status = soccr_sys_restore(b->ctx, c);
			break;
		case BATCH_REPAIR_OFF:
			c->status = soccr_sys_repair_off(b->ctx, c);
			break;
		case BATCH_RESUME:
			c->status = soccr_sys_resume(b->ctx, c);
			break;
		case BATCH_GETSOCKOPT:
		case BATCH_SETSOCKOPT:
			b->ops[start + i].status = soccr_sys_sockopt(&b->ops[start + i], b->op == BATCH_SETSOCKOPT);
			break;
		}
	}
}

static void chunk_run_ring(struct batch *b, struct soccr_ring *ring, size_t start, size_t n)
{
	struct libsoccr_conn *conns;

	if (batch_is_sockopt(b)) {
		soccr_ring_sockopt(b->ctx, ring, b->ops + start, n, b->op == BATCH_SETSOCKOPT);
		return;
	}
	conns = b->conns + start;
	switch (b->op) {
	case BATCH_DUMP:
		soccr_ring_dump(b->ctx, ring, conns, n);
		break;
	case BATCH_CLOSE:
		soccr_ring_close(b->ctx, ring, conns, n);
		break;
	case BATCH_RESTORE:
		soccr_ring_restore(b->ctx, ring, conns, n);
		break;
	case BATCH_REPAIR_OFF:
		soccr_ring_repair_off(b->ctx, ring, conns, n);
		break;
	case BATCH_RESUME:
		soccr_ring_resume(b->ctx, ring, conns, n);
		break;
	default:
		break;
	}
}

static void batch_progress(struct batch *b, size_t n)
{
	size_t before = atomic_fetch_add(&b->done, n);
	size_t after = before + n;

	if (b->progress_step && before / b->progress_step != after / b->progress_step)
		soccr_info(b->ctx, "%s %zu of %zu connections", batch_op_names[b->op], after, b->n);
}

/* Count the chunk's failures; the batch reports the lowest failed index. */
static void batch_account(struct batch *b, size_t start, size_t n, const bool *selected)
{
	size_t failed = 0, first = b->n;

	for (size_t i = 0; i < n; i++) {
		if (!selected[i] || !batch_status(b, start + i))
			continue;
		if (first == b->n)
			first = start + i;
		failed++;
	}
	if (!failed)
		return;
	atomic_fetch_add(&b->failed, failed);
	for (size_t cur = atomic_load(&b->first_failed); first < cur;)
		if (atomic_compare_exchange_weak(&b->first_failed, &cur, first))
			break;
}

/* The worker's ring, if this batch may use it */
static struct soccr_ring *batch_ring(const struct batch *b, unsigned int worker)
{
	const struct libsoccr_ctx *ctx = b->ctx;
	struct soccr_ring *ring = ctx->rings ? ctx->rings[worker] : NULL;

	if (!ring || soccr_ring_broken(ring))
		return NULL;
	if (!batch_is_sockopt(b) && ctx->backend != SOCCR_BACKEND_URING)
		return NULL; /* a kernel with the socket option commands only */
	return ring;
}

static void batch_worker(void *arg, unsigned int worker)
{
	struct batch *b = arg;
	size_t chunk = b->chunk;
	bool selected[SOCCR_MAX_CHUNK * SOCCR_SOCKOPTS_PER_CONN];

	if (worker && !batch_is_sockopt(b) && !worker_join_netns(b, worker))
		return;
	for (;;) {
		size_t start = atomic_fetch_add(&b->next, chunk);
		struct soccr_ring *ring = batch_ring(b, worker);
		size_t n;

		if (start >= b->n)
			break;
		n = b->n - start < chunk ? b->n - start : chunk;
		for (size_t i = 0; i < n; i++)
			selected[i] = batch_selected(b, start + i);
		if (ring)
			chunk_run_ring(b, ring, start, n);
		else
			chunk_run_syscalls(b, start, n);
		batch_account(b, start, n, selected);
		batch_progress(b, n);
	}
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Runs @b (ctx, conns or ops, n and op set) on every worker; the first failure's status. */
static int batch_run(struct batch *b)
{
	struct libsoccr_ctx *ctx = b->ctx;
	bool sockopt = batch_is_sockopt(b);
	double start = now_ms();
	unsigned int broken = 0;
	size_t failed, first;

	if (!ctx || (b->n && !(sockopt ? (void *)b->ops : (void *)b->conns)))
		return -EINVAL;
	b->chunk = sockopt ? ctx->chunk * SOCCR_SOCKOPTS_PER_CONN : ctx->chunk;
	b->progress_step = !sockopt && b->n >= 4096 ? b->n / 4 : 0;
	atomic_init(&b->next, 0);
	atomic_init(&b->done, 0);
	atomic_init(&b->failed, 0);
	atomic_init(&b->first_failed, b->n);
	b->netns_fd = -1;
	if (!sockopt)
		batch_netns_prepare(b);
	soccr_pool_run(ctx->pool, batch_worker, b);
	if (b->netns_fd >= 0)
		close(b->netns_fd);

	failed = atomic_load(&b->failed);
	first = atomic_load(&b->first_failed);
	for (unsigned int w = 0; ctx->rings && w < ctx->nr_workers; w++)
		broken += soccr_ring_broken(ctx->rings[w]);
	soccr_info(ctx, "%s %zu %s (%zu failed) in %.1f ms: %u workers, %s%s", batch_op_names[b->op], b->n - failed,
		   sockopt ? "socket options" : "connections", failed, now_ms() - start, ctx->nr_workers,
		   libsoccr_backend_name(sockopt && ctx->rings ? SOCCR_BACKEND_URING : ctx->backend),
		   broken ? " (a ring failed: syscalls in its worker)" : "");
	return first < b->n ? batch_status(b, first) : 0;
}

static int conn_batch(struct libsoccr_ctx *ctx, struct libsoccr_conn *conns, size_t n, enum batch_op op)
{
	struct batch b = { .ctx = ctx, .conns = conns, .n = n, .op = op };

	return batch_run(&b);
}

int libsoccr_dump_batch(struct libsoccr_ctx *ctx, struct libsoccr_conn *conns, size_t n)
{
	return conn_batch(ctx, conns, n, BATCH_DUMP);
}

int libsoccr_close_batch(struct libsoccr_ctx *ctx, struct libsoccr_conn *conns, size_t n)
{
	return conn_batch(ctx, conns, n, BATCH_CLOSE);
}

int libsoccr_restore_batch(struct libsoccr_ctx *ctx, struct libsoccr_conn *conns, size_t n)
{
	return conn_batch(ctx, conns, n, BATCH_RESTORE);
}

int libsoccr_repair_off_batch(struct libsoccr_ctx *ctx, struct libsoccr_conn *conns, size_t n)
{
	return conn_batch(ctx, conns, n, BATCH_REPAIR_OFF);
}

int libsoccr_resume_batch(struct libsoccr_ctx *ctx, struct libsoccr_conn *conns, size_t n)
{
	return conn_batch(ctx, conns, n, BATCH_RESUME);
}

static int sockopt_batch(struct libsoccr_ctx *ctx, struct libsoccr_sockopt *ops, size_t n, enum batch_op op)
{
	struct batch b = { .ctx = ctx, .ops = ops, .n = n, .op = op };

	return batch_run(&b);
}

int libsoccr_getsockopt_batch(struct libsoccr_ctx *ctx, struct libsoccr_sockopt *ops, size_t n)
{
	return sockopt_batch(ctx, ops, n, BATCH_GETSOCKOPT);
}

int libsoccr_setsockopt_batch(struct libsoccr_ctx *ctx, struct libsoccr_sockopt *ops, size_t n)
{
	return sockopt_batch(ctx, ops, n, BATCH_SETSOCKOPT);
}
