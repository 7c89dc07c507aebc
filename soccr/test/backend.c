/*
 * backend.c: which backend a context gets on this machine, and that a batch really runs on it.
 *
 * The io_uring backend needs Linux 6.11 (IORING_OP_BIND; the socket commands came in 6.7, see
 * Documentation/tcp-repair.md). The test prints the kernel and the backend, and checks: from 6.11
 * on, with io_uring not disabled (kernel.io_uring_disabled), a default context must choose uring,
 * and a restore batch run on it must report uring with no fallback to syscalls; before 6.11 it
 * must choose syscall. SOCCR_CTX_NO_URING must always give syscall.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/utsname.h>

#include "testutil.h"

#define NR_CONNS 4

/* 1 if io_uring is switched off for this process by the sysctl, else 0 */
static int uring_disabled(void)
{
	FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "re");
	int v = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%d", &v) != 1)
		v = 0;
	fclose(f);
	return v != 0;
}

/* A small restore batch on @ctx, closed again in repair mode (nothing reaches the wire). */
static int run_batch(struct libsoccr_ctx *ctx)
{
	static char queues[64];
	struct libsoccr_conn conns[NR_CONNS];
	int ret, close_ret;

	for (unsigned int i = 0; i < NR_CONNS; i++) {
		struct libsoccr_conn *c = &conns[i];

		memset(c, 0, sizeof(*c));
		c->fd = -1;
		c->src.in4.sin_family = AF_INET;
		c->src.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		c->src.in4.sin_port = htons(30000 + i);
		c->dst = c->src;
		c->dst.in4.sin_port = htons(31000);
		c->data.state = TCP_ESTABLISHED;
		c->data.outq_len = sizeof(queues);
		c->data.mss_clamp = 536;
		c->queues = queues;
	}
	ret = libsoccr_restore_batch(ctx, conns, NR_CONNS);
	if (ret)
		test_msg("restore batch: %s", strerror(-ret));
	close_ret = libsoccr_close_batch(ctx, conns, NR_CONNS);
	return ret ?: close_ret;
}

int main(int argc, char **argv)
{
	static struct test_log tl;
	struct libsoccr_ctx_opts opts = {
		.size = sizeof(opts),
		.log = test_log_keep,
		.log_arg = &tl,
		.log_level = SOCCR_LOG_INFO,
	};
	enum libsoccr_backend want, got;
	struct libsoccr_ctx *ctx;
	struct utsname u;
	int major = 0, minor = 0, ret;

	(void)argc;
	test_init(argv[0]);
	ret = test_env_setup();
	if (ret)
		return ret;
	test_log_init(&tl);
	if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return test_fail("cannot read the kernel version");
	want = (major > 6 || (major == 6 && minor >= 11)) && !uring_disabled() ? SOCCR_BACKEND_URING :
										 SOCCR_BACKEND_SYSCALL;
	ret = libsoccr_ctx_create(&opts, &ctx);
	if (ret)
		return test_fail("libsoccr_ctx_create: %s", strerror(-ret));
	got = libsoccr_ctx_backend(ctx);
	printf("backend: %s (kernel %s, expected %s)\n", libsoccr_backend_name(got), u.release,
	       libsoccr_backend_name(want));
	ret = run_batch(ctx);
	libsoccr_ctx_destroy(ctx);
	if (ret)
		return test_fail("%s", strerror(-ret));
	if (got != want)
		return test_fail("kernel %s: backend %s, expected %s", u.release, libsoccr_backend_name(got),
				 libsoccr_backend_name(want));
	if (got == SOCCR_BACKEND_URING &&
	    (test_log_count(&tl, "restored 4 connections (0 failed)") != 1 ||
	     test_log_count(&tl, "go on with syscalls") || test_log_count(&tl, "a ring failed")))
		return test_fail("the batch did not run on io_uring alone");

	opts.flags = SOCCR_CTX_NO_URING;
	ret = libsoccr_ctx_create(&opts, &ctx);
	if (ret)
		return test_fail("libsoccr_ctx_create(SOCCR_CTX_NO_URING): %s", strerror(-ret));
	got = libsoccr_ctx_backend(ctx);
	libsoccr_ctx_destroy(ctx);
	if (got != SOCCR_BACKEND_SYSCALL)
		return test_fail("SOCCR_CTX_NO_URING gave backend %s", libsoccr_backend_name(got));
	test_msg("PASS");
	return TEST_PASS;
}
