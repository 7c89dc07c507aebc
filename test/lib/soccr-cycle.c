/*
 * soccr-cycle.c: a timed checkpoint/restore cycle of fixture connections (see soccr-cycle.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/tcp.h>

#include "soccr-cycle.h"
#include "testutil.h"

#define CYCLE_REPORT 8

enum cycle_step {
	STEP_DUMP,
	STEP_CLOSE,
	STEP_RESTORE,
	STEP_REPAIR_OFF,
	STEP_RESUME
};

static const char *const step_names[] = { "dump", "close", "restore", "repair off", "resume" };

const char *cycle_backend(const struct libsoccr_ctx *ctx)
{
	return libsoccr_ctx_backend(ctx) == SOCCR_BACKEND_URING ? "uring" : "syscall";
}

int cycle_init(struct cycle *cy, struct libsoccr_ctx *ctx, struct connfix *fix, uint32_t lo, uint32_t hi,
	       unsigned int flags)
{
	memset(cy, 0, sizeof(*cy));
	if (lo > hi || hi > connfix_count(fix))
		return -ERANGE;
	cy->ctx = ctx;
	cy->fix = fix;
	cy->lo = lo;
	cy->n = hi - lo;
	cy->flags = flags;
	cy->dumped = calloc(cy->n ? cy->n : 1, sizeof(*cy->dumped));
	cy->restored = calloc(cy->n ? cy->n : 1, sizeof(*cy->restored));
	if (!cy->dumped || !cy->restored) {
		cycle_fini(cy);
		return -ENOMEM;
	}
	return 0;
}

void cycle_fini(struct cycle *cy)
{
	if (cy->dumped)
		libsoccr_conns_free_queues(cy->dumped, cy->n);
	free(cy->dumped);
	free(cy->restored);
	cy->dumped = NULL;
	cy->restored = NULL;
}

static int single_call(struct libsoccr_ctx *ctx, enum cycle_step step, struct libsoccr_conn *c)
{
	switch (step) {
	case STEP_DUMP:
		return libsoccr_dump(ctx, c);
	case STEP_CLOSE:
		return libsoccr_close(ctx, c);
	case STEP_RESTORE:
		return libsoccr_restore(ctx, c);
	case STEP_RESUME:
		return libsoccr_resume_batch(ctx, c, 1);
	default:
		return libsoccr_repair_off(ctx, c);
	}
}

static int batch_call(struct libsoccr_ctx *ctx, enum cycle_step step, struct libsoccr_conn *c, size_t n)
{
	switch (step) {
	case STEP_DUMP:
		return libsoccr_dump_batch(ctx, c, n);
	case STEP_CLOSE:
		return libsoccr_close_batch(ctx, c, n);
	case STEP_RESTORE:
		return libsoccr_restore_batch(ctx, c, n);
	case STEP_RESUME:
		return libsoccr_resume_batch(ctx, c, n);
	default:
		return libsoccr_repair_off_batch(ctx, c, n);
	}
}

/* Run @step on @conns, timed into *@ns; every status must be 0 and agree with the return value. */
static int cycle_step(struct cycle *cy, enum cycle_step step, struct libsoccr_conn *conns, uint64_t *ns)
{
	uint64_t t0 = test_now_ns();
	uint32_t i, bad = 0;
	int ret = 0, first = 0;

	if (cy->flags & CYCLE_SINGLE) {
		for (i = 0; i < cy->n; i++) {
			int r = single_call(cy->ctx, step, &conns[i]);

			conns[i].status = r;
			if (r && !ret)
				ret = r;
		}
	} else {
		ret = batch_call(cy->ctx, step, conns, cy->n);
	}
	*ns = test_now_ns() - t0;
	for (i = 0; i < cy->n; i++) {
		if (!conns[i].status)
			continue;
		if (!bad++)
			first = conns[i].status;
		if (bad <= CYCLE_REPORT)
			test_msg("conn %u: %s: %s", cy->lo + i, step_names[step], strerror(-conns[i].status));
	}
	if (bad) {
		test_msg("%s failed on %u of %u connections", step_names[step], bad, cy->n);
		return first;
	}
	if (ret) {
		test_msg("%s returned %s, but every connection's status is 0", step_names[step], strerror(-ret));
		return ret;
	}
	return 0;
}

int cycle_dump(struct cycle *cy)
{
	uint32_t i;

	for (i = 0; i < cy->n; i++) {
		struct libsoccr_conn *c = &cy->dumped[i];

		libsoccr_conn_free_queues(c);
		memset(c, 0, sizeof(*c));
		c->fd = connfix_fd(cy->fix, cy->lo + i);
		if (cy->flags & CYCLE_ADDRS) {
			memcpy(&c->src, connfix_local(cy->fix, cy->lo + i), sizeof(c->src));
			memcpy(&c->dst, connfix_peer(cy->fix, cy->lo + i), sizeof(c->dst));
			c->flags = SOCCR_CONN_ADDRS;
		}
	}
	return cycle_step(cy, STEP_DUMP, cy->dumped, &cy->dump_ns);
}

int cycle_close(struct cycle *cy)
{
	uint32_t i;
	int ret = cycle_step(cy, STEP_CLOSE, cy->dumped, &cy->close_ns);

	for (i = 0; i < cy->n; i++) {
		if (cy->dumped[i].fd >= 0) {
			test_msg("conn %u: close left fd %d", cy->lo + i, cy->dumped[i].fd);
			if (!ret)
				ret = -EPROTO;
			continue;
		}
		connfix_set_fd(cy->fix, cy->lo + i, -1);
	}
	return ret;
}

int cycle_restore(struct cycle *cy)
{
	uint32_t i;
	int ret;

	for (i = 0; i < cy->n; i++) {
		struct libsoccr_conn *r = &cy->restored[i];
		const struct libsoccr_conn *d = &cy->dumped[i];

		/* only what an image would hold */
		memset(r, 0, sizeof(*r));
		r->fd = -1;
		r->data = d->data;
		r->src = d->src;
		r->dst = d->dst;
		r->queues = d->queues;
	}
	ret = cycle_step(cy, STEP_RESTORE, cy->restored, &cy->restore_ns);
	for (i = 0; i < cy->n; i++)
		if (cy->restored[i].fd >= 0)
			connfix_set_fd(cy->fix, cy->lo + i, cy->restored[i].fd);
	return ret;
}

int cycle_repair_off(struct cycle *cy)
{
	return cycle_step(cy, STEP_REPAIR_OFF, cy->restored, &cy->repair_off_ns);
}

int cycle_resume(struct cycle *cy)
{
	return cycle_step(cy, STEP_RESUME, cy->restored, &cy->resume_ns);
}

int cycle_abandon(struct cycle *cy)
{
	return cycle_step(cy, STEP_REPAIR_OFF, cy->dumped, &cy->repair_off_ns);
}

int cycle_run(struct cycle *cy)
{
	int ret;

	ret = cycle_dump(cy);
	if (!ret)
		ret = cycle_close(cy);
	if (!ret)
		ret = cycle_restore(cy);
	if (!ret)
		ret = cycle_repair_off(cy);
	return ret;
}

static int addr_equal(const union libsoccr_addr *a, const union connfix_addr *b)
{
	if (a->any.sa_family != b->sa.sa_family)
		return 0;
	if (a->any.sa_family == AF_INET)
		return a->in4.sin_port == b->v4.sin_port && a->in4.sin_addr.s_addr == b->v4.sin_addr.s_addr;
	return a->in6.sin6_port == b->v6.sin6_port && !memcmp(&a->in6.sin6_addr, &b->v6.sin6_addr, 16);
}

/* NULL if the dumped data of connection @i is right, else what is wrong with it. */
static const char *dump_wrong(const struct cycle *cy, uint32_t i, uint32_t state)
{
	const struct libsoccr_conn *c = &cy->dumped[i];
	uint32_t inq, outq, unsent;

	connfix_queues(cy->fix, cy->lo + i, &inq, &outq, &unsent);
	if (c->data.state != state)
		return "state";
	if (c->data.inq_len != inq)
		return "inq_len";
	if (c->data.outq_len != outq)
		return "outq_len";
	if (c->data.unsq_len != unsent || c->data.unsq_len > c->data.outq_len)
		return "unsq_len";
	if (!addr_equal(&c->src, connfix_local(cy->fix, cy->lo + i)))
		return "src";
	if (!addr_equal(&c->dst, connfix_peer(cy->fix, cy->lo + i)))
		return "dst";
	return NULL;
}

int cycle_check_dump(const struct cycle *cy, uint32_t state)
{
	uint32_t i, bad = 0;

	for (i = 0; i < cy->n; i++) {
		const struct libsoccr_sk_data *d = &cy->dumped[i].data;
		const char *what = dump_wrong(cy, i, state);
		uint32_t inq, outq, unsent;

		if (!what)
			continue;
		connfix_queues(cy->fix, cy->lo + i, &inq, &outq, &unsent);
		if (bad++ < CYCLE_REPORT)
			test_msg("conn %u: dumped %s wrong: state %u (want %u), inq_len %u (want %u), outq_len %u "
				 "(want %u), unsq_len %u (want %u)",
				 cy->lo + i, what, d->state, state, d->inq_len, inq, d->outq_len, outq, d->unsq_len,
				 unsent);
	}
	if (bad) {
		test_msg("the dumped data is wrong on %u of %u connections", bad, cy->n);
		return -EPROTO;
	}
	return 0;
}
