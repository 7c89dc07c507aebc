/*
 * unsent-short.c: repair off writes the unsent tail of each send queue into a live socket; when
 * the socket takes only part of it, the library must keep writing while the socket takes more,
 * and report the connection (-EAGAIN or -EIO, logged with its fd) only when it takes nothing more.
 *
 * Connections with the standard data load are locked, dumped, closed and restored; then the test,
 * as an application could, gives the restored sockets of most connections send buffers of 4,000
 * to 16,000 bytes (SO_SNDBUF), so that their unsent bytes fit completely, in part after a retry,
 * or not at all, with lo's GSO limit at 1,000 bytes so the data is cut into many segments. After
 * repair off, for every connection:
 *  - status 0: its whole send queue is queued (SIOCOUTQ is the dumped outq_len);
 *  - any other status: -EAGAIN or -EIO, an error line names its fd, and the socket really takes
 *    no more (a one-byte MSG_DONTWAIT send gets EAGAIN);
 *  - the connections left alone succeed.
 * Once with io_uring, once with plain syscalls, each on a fixture of its own.
 */
/* timeout: 120 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>

#include "connfix.h"
#include "soccr-cycle.h"
#include "testutil.h"

#define NR_CONNS 16
#define NR_SHAPED 13 /* connections 0..12 get a send buffer of their own */
#define SNDBUF_FIRST 4000
#define SNDBUF_STEP 1000

/* Is an error line about @fd among the library's messages? */
static int logged_fd(struct test_log *tl, int fd)
{
	char needle[32];

	snprintf(needle, sizeof(needle), "fd %d:", fd);
	return test_log_count(tl, needle) > 0;
}

static int shape_buffers(const struct cycle *cy)
{
	for (uint32_t i = 0; i < NR_SHAPED; i++) {
		int val = SNDBUF_FIRST + (int)i * SNDBUF_STEP;

		if (setsockopt(cy->restored[i].fd, SOL_SOCKET, SO_SNDBUF, &val, sizeof(val)) < 0)
			return -errno;
	}
	return 0;
}

/* The properties of the header comment, for connection @i after repair off. */
static int check_conn(const struct cycle *cy, uint32_t i, struct test_log *tl, uint32_t *cut)
{
	const struct libsoccr_conn *c = &cy->restored[i];
	int outq = -1;
	ssize_t n;

	if (!c->status) {
		if (ioctl(c->fd, SIOCOUTQ, &outq) < 0)
			return -errno;
		if ((uint32_t)outq != c->data.outq_len) {
			test_msg("conn %u: status 0 but %d of %u bytes queued", i, outq, c->data.outq_len);
			return -EPROTO;
		}
		return 0;
	}
	(*cut)++;
	if (i >= NR_SHAPED) {
		test_msg("conn %u (buffer untouched) failed: %s", i, strerror(-c->status));
		return -EPROTO;
	}
	if (c->status != -EAGAIN && c->status != -EIO) {
		test_msg("conn %u: status %d (%s), want -EAGAIN or -EIO", i, c->status, strerror(-c->status));
		return -EPROTO;
	}
	if (!logged_fd(tl, c->fd)) {
		test_msg("conn %u: failed with %s but no error line names fd %d", i, strerror(-c->status), c->fd);
		return -EPROTO;
	}
	n = send(c->fd, "x", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n != -1 || errno != EAGAIN) {
		test_msg("conn %u (sndbuf %d): reported %s, but the socket still takes bytes (send: %zd)", i,
			 SNDBUF_FIRST + (int)i * SNDBUF_STEP, strerror(-c->status), n);
		return -EPROTO;
	}
	return 0;
}

static int unsent_pass(uint32_t ctx_flags, void *arg)
{
	struct libsoccr_ctx_opts opts = { .size = sizeof(opts), .flags = ctx_flags, .workers = 1 };
	struct connfix_opts fo = { .family = CONNFIX_IPV4, .n = NR_CONNS };
	struct test_log *tl = arg;
	struct libsoccr_ctx *ctx;
	struct connfix *fix;
	struct cycle cy;
	uint32_t cut = 0;
	int ret, off;

	test_log_init(tl);
	opts.log = test_log_keep;
	opts.log_arg = tl;
	opts.log_level = SOCCR_LOG_WARN;
	ret = libsoccr_ctx_create(&opts, &ctx);
	if (ret)
		return ret;
	ret = connfix_create(&fo, &fix);
	if (ret)
		goto out_destroy_ctx;
	ret = connfix_queue_start(fix, CONNFIX_PEER_BYTES, CONNFIX_SENT_BYTES);
	ret = ret ?: connfix_lock(fix, NETLOCK_NFTABLES);
	ret = ret ?: connfix_queue_finish(fix, CONNFIX_UNSENT_BYTES);
	ret = ret ?: connfix_check_queues(fix);
	ret = ret ?: cycle_init(&cy, ctx, fix, 0, NR_CONNS, 0);
	if (ret)
		goto out_destroy_fix;
	ret = cycle_dump(&cy);
	ret = ret ?: cycle_close(&cy);
	ret = ret ?: cycle_restore(&cy);
	ret = ret ?: shape_buffers(&cy);
	if (ret)
		goto out_fini;
	off = libsoccr_repair_off_batch(ctx, cy.restored, NR_CONNS);
	for (uint32_t i = 0; i < NR_CONNS; i++)
		ret = ret ?: check_conn(&cy, i, tl, &cut);
	if (!ret && (!cut) != (!off)) {
		test_msg("repair off returned %d with %u connections failed", off, cut);
		ret = -EPROTO;
	}
	test_msg("%s: %u of %u connections could not take all their unsent bytes: %s", cycle_backend(ctx), cut,
		 NR_CONNS, ret ? strerror(-ret) : "reported, the others complete");
out_fini:
	cycle_fini(&cy);
out_destroy_fix:
	connfix_destroy(fix);
out_destroy_ctx:
	libsoccr_ctx_destroy(ctx);
	return ret;
}

int main(int argc, char **argv)
{
	static struct test_log tl;
	int ret;

	(void)argc;
	test_init(argv[0]);
	ret = test_env_setup();
	if (ret)
		return ret;
	if (system("PATH=$PATH:/usr/sbin:/sbin ip link set dev lo gso_max_size 1000") != 0)
		return test_skip("cannot set lo's GSO limit (iproute2)");
	return test_both_backends(unsent_pass, &tl);
}
