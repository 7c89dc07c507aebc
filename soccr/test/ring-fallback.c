/*
 * ring-fallback.c: io_uring rings that become unusable after the context chose them fall back to
 * plain syscalls for the connections they were working on, which then succeed.
 *
 * A real condition, no test hook: the context is created with io_uring (the rings pass their
 * probe), then the process installs a seccomp filter that refuses io_uring_enter with EPERM, as a
 * sandbox policy would. Every ring submission fails from then on. A full cycle then runs on
 * connections with data queued both ways, locked: dump, close, restore, repair off, unlock, resume
 * (two workers, chunks of 8 connections). Every connection must succeed in every step, the
 * library must have said that its rings failed, and both streams of every connection must be
 * intact afterwards, plus a round trip.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/tcp.h>

#include "connfix.h"
#include "soccr-cycle.h"
#include "testutil.h"

#define NR_CONNS 32

static int fallback_cycle(struct libsoccr_ctx *ctx, struct connfix *fix)
{
	struct cycle cy;
	int ret;

	ret = connfix_queue_start(fix, CONNFIX_PEER_BYTES, CONNFIX_SENT_BYTES);
	ret = ret ?: connfix_lock(fix, NETLOCK_NFTABLES);
	ret = ret ?: connfix_queue_finish(fix, CONNFIX_UNSENT_BYTES);
	ret = ret ?: connfix_check_queues(fix);
	if (ret)
		return ret;
	ret = test_forbid_io_uring_enter();
	if (ret) {
		test_msg("cannot install the seccomp filter: %s", strerror(-ret));
		return ret;
	}
	ret = cycle_init(&cy, ctx, fix, 0, NR_CONNS, 0);
	if (ret)
		return ret;
	ret = cycle_run(&cy);
	ret = ret ?: cycle_check_dump(&cy, TCP_ESTABLISHED);
	ret = ret ?: connfix_unlock(fix);
	ret = ret ?: cycle_resume(&cy);
	ret = ret ?: connfix_verify(fix);
	cycle_fini(&cy);
	return ret;
}

int main(int argc, char **argv)
{
	static struct test_log tl;
	struct libsoccr_ctx_opts opts = {
		.size = sizeof(opts),
		.workers = 2,
		.chunk = 8,
		.log = test_log_keep,
		.log_arg = &tl,
		.log_level = SOCCR_LOG_WARN,
	};
	struct connfix_opts fo = { .family = CONNFIX_IPV4, .n = NR_CONNS };
	struct libsoccr_ctx *ctx;
	struct connfix *fix;
	unsigned int fallbacks;
	int ret;

	(void)argc;
	test_init(argv[0]);
	ret = test_env_setup();
	if (ret)
		return ret;
	test_log_init(&tl);
	ret = libsoccr_ctx_create(&opts, &ctx);
	if (ret)
		return test_fail("libsoccr_ctx_create: %s", strerror(-ret));
	if (libsoccr_ctx_backend(ctx) != SOCCR_BACKEND_URING) {
		libsoccr_ctx_destroy(ctx);
		return test_skip("no io_uring backend on this kernel: nothing to fall back from");
	}
	ret = connfix_create(&fo, &fix);
	if (ret) {
		libsoccr_ctx_destroy(ctx);
		return test_fail("cannot make the connections");
	}
	ret = fallback_cycle(ctx, fix);
	connfix_destroy(fix);
	libsoccr_ctx_destroy(ctx);
	if (ret)
		return test_fail("%s", strerror(-ret));
	fallbacks = test_log_count(&tl, "go on with syscalls");
	if (!fallbacks)
		return test_fail("the rings never failed: the seccomp filter did not bite");
	test_msg("%u fallbacks to syscalls reported; every connection dumped, restored and verified", fallbacks);
	test_msg("PASS");
	return TEST_PASS;
}
