/*
 * short-buffer.c: a restored connection whose send queue does not fit its socket buffer fails
 * alone, at once, with -EAGAIN, on both backends.
 *
 * Nothing frees buffer space in repair mode, so a refill that waits for room would hang the batch
 * (with the network lock held). A real short buffer: in the test's network namespace lo gets a
 * GSO limit of 300 bytes and the route to 127.0.0.2 an MTU of 150, so the rebuilt send queue of a
 * connection to 127.0.0.2 is cut into segments of about 100 bytes, each costing far more buffer
 * than its payload. A batch restores seven connections to 127.0.0.3 (small queues) and one to
 * 127.0.0.2 with 20,000 bytes of send queue: that one must get -EAGAIN and no socket, the batch
 * must return within a second, and the seven must be rebuilt with their queues.
 */
/* timeout: 60 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>

#include "testutil.h"

#define NR_CONNS 8
#define BIG 3	       /* the connection whose queue does not fit */
#define BIG_OUTQ 20000 /* bytes of send queue, all sent and unacknowledged */
#define SMALL_OUTQ 1000
#define SMALL_INQ 500
#define MAX_BATCH_MS 1000 /* a refill that waits for room takes seconds */

static const char *const setup_cmds[] = {
	"ip link set dev lo gso_max_size 300",
	"ip route add local 127.0.0.2/32 dev lo table local mtu lock 150",
};

static int run_setup(void)
{
	char cmd[256];

	for (size_t i = 0; i < sizeof(setup_cmds) / sizeof(setup_cmds[0]); i++) {
		snprintf(cmd, sizeof(cmd), "PATH=$PATH:/usr/sbin:/sbin %s", setup_cmds[i]);
		if (system(cmd) != 0) {
			test_msg("\"%s\" failed", setup_cmds[i]);
			return -ENOTSUP;
		}
	}
	return 0;
}

/* 127.0.0.@host:@port */
static void set_addr(union libsoccr_addr *a, uint8_t host, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->in4.sin_family = AF_INET;
	a->in4.sin_port = htons(port);
	a->in4.sin_addr.s_addr = htonl(0x7f000000u | host);
}

/* What an image would hold for connection @i; @base keeps the 4-tuples of passes apart. */
static void make_conn(struct libsoccr_conn *c, unsigned int i, uint16_t base, char *queues)
{
	struct libsoccr_sk_data *d = &c->data;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	set_addr(&c->src, 1, base + i);
	set_addr(&c->dst, i == BIG ? 2 : 3, 4000);
	d->state = TCP_ESTABLISHED;
	d->inq_len = i == BIG ? 0 : SMALL_INQ;
	d->outq_len = i == BIG ? BIG_OUTQ : SMALL_OUTQ;
	d->inq_seq = 100000 + i;
	d->outq_seq = 900000 + i;
	d->mss_clamp = 536;
	c->queues = queues;
}

static int check_small(const struct libsoccr_conn *c, unsigned int i)
{
	int inq = -1, outq = -1;

	if (c->status || c->fd < 0) {
		test_msg("conn %u: status %d (%s), fd %d: the short buffer of another connection failed it", i,
			 c->status, strerror(-c->status), c->fd);
		return -EPROTO;
	}
	if (ioctl(c->fd, SIOCINQ, &inq) < 0 || ioctl(c->fd, SIOCOUTQ, &outq) < 0)
		return -errno;
	if ((uint32_t)inq != c->data.inq_len || (uint32_t)outq != c->data.outq_len) {
		test_msg("conn %u: queues %d/%d, want %u/%u", i, inq, outq, c->data.inq_len, c->data.outq_len);
		return -EPROTO;
	}
	return 0;
}

static int restore_pass(uint32_t ctx_flags, void *queues)
{
	uint16_t base = ctx_flags & SOCCR_CTX_NO_URING ? 21000 : 20000;
	struct libsoccr_conn conns[NR_CONNS];
	struct libsoccr_ctx *ctx;
	uint64_t t0, ms;
	int ret, batch_ret, close_ret;

	ret = test_ctx_create(ctx_flags, 1, &ctx);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < NR_CONNS; i++)
		make_conn(&conns[i], i, base, queues);
	t0 = test_now_ns();
	batch_ret = libsoccr_restore_batch(ctx, conns, NR_CONNS);
	ms = (test_now_ns() - t0) / 1000000;
	test_msg("%s: restore of %d connections took %llu ms, returned %d; the big one: status %d (%s)",
		 libsoccr_backend_name(libsoccr_ctx_backend(ctx)), NR_CONNS, (unsigned long long)ms, batch_ret,
		 conns[BIG].status, strerror(-conns[BIG].status));
	if (ms > MAX_BATCH_MS) {
		test_msg("the batch waited for buffer space: %llu ms", (unsigned long long)ms);
		ret = -ETIMEDOUT;
	}
	if (conns[BIG].status != -EAGAIN || conns[BIG].fd >= 0 || batch_ret != -EAGAIN) {
		test_msg("the connection that does not fit: status %d, fd %d, batch %d; want -EAGAIN, -1, -EAGAIN",
			 conns[BIG].status, conns[BIG].fd, batch_ret);
		ret = ret ?: -EPROTO;
	}
	for (unsigned int i = 0; i < NR_CONNS; i++)
		if (i != BIG)
			ret = ret ?: check_small(&conns[i], i);
	/* closed in repair mode: nothing goes on the wire */
	close_ret = libsoccr_close_batch(ctx, conns, NR_CONNS);
	if (close_ret)
		test_msg("closing the restored sockets: %s", strerror(-close_ret));
	libsoccr_ctx_destroy(ctx);
	return ret ?: close_ret;
}

int main(int argc, char **argv)
{
	char *queues;
	int ret;

	(void)argc;
	test_init(argv[0]);
	ret = test_env_setup();
	if (ret)
		return ret;
	if (run_setup())
		return test_skip("cannot shape lo (iproute2)");
	queues = calloc(1, BIG_OUTQ);
	if (!queues)
		return test_fail("out of memory");
	ret = test_both_backends(restore_pass, queues);
	free(queues);
	return ret;
}
