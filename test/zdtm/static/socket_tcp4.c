/*
 * socket_tcp4: established TCP connections with both ends in the process,
 * checkpointed with --tcp-established. One connection has data queued both
 * ways: each end's receive queue holds bytes it has not read and, since each
 * end advertises a small window, each end's send queue holds bytes not sent
 * yet. One has bytes only in a receive queue, one is idle. After restore
 * every socket is ESTABLISHED, out of repair mode, with its names and options
 * (receive buffers included) unchanged, as much unread as before and no more
 * queued to send than before; every byte arrives once and in order (pattern
 * streams), nothing more is there to read, a fresh round trip works on each
 * connection and the listener they came through accepts a new one.
 *
 * socket_tcp6 and socket_tcp_mapped are this test with other kinds of socket
 * (TEST_KIND); the mapped one also connects an IPv4 client to its IPv6
 * listener (TEST_V4_CLIENT). socket_tcp_noopt runs it without
 * --tcp-established: the dump must fail and leave all this as it was.
 * socket_tcp_netns00 runs it in a network namespace of its own, set up by
 * TEST_SETUP() before the first socket and checked by TEST_CHECK() after
 * restore (each returns 0 or fails the test).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "inetsk.h"
#include "zdtmtst.h"

#ifndef TEST_KIND
#define TEST_KIND TSK_INET4
#endif

#define SMALL_RCVBUF 2048 /* the kernel doubles it: windows of a few KiB */
#define BOTH_BYTES 10240  /* written each way on the "both" connection */
#define RECVQ_BYTES 4096  /* written to the client of the "recvq" connection */
#define TRIP_BYTES 100

#ifndef TEST_SETUP
#define TEST_SETUP() 0
#define TEST_CHECK() 0
#endif

struct conn {
	const char *label;
	enum tsk_kind cli_kind;
	int cli_rcvbuf;
	size_t to_srv, to_cli; /* bytes queued before the checkpoint */
	int fd[2];	       /* client, server */
	struct tsk_stream out[2], in[2];
	struct tsk_addr local[2], peer[2];
	struct tsk_queues q[2];
	const struct tsk_opt *opts[2];
	int nr_opts[2];
	struct tsk_optval vals[2][64];
};

static struct conn conns[] = {
	{ .label = "both",
	  .cli_kind = TEST_KIND,
	  .cli_rcvbuf = SMALL_RCVBUF,
	  .to_srv = BOTH_BYTES,
	  .to_cli = BOTH_BYTES },
	{ .label = "recvq", .cli_kind = TEST_KIND, .to_cli = RECVQ_BYTES },
	{ .label = "idle", .cli_kind = TEST_KIND },
#ifdef TEST_V4_CLIENT
	{ .label = "ipv4-client",
	  .cli_kind = TSK_INET4,
	  .cli_rcvbuf = SMALL_RCVBUF,
	  .to_srv = BOTH_BYTES,
	  .to_cli = BOTH_BYTES },
#endif
};

#define NR_CONNS (int)(sizeof(conns) / sizeof(conns[0]))

static const char *const side[] = { "client", "server" };

static int conn_open(int lfd, struct conn *c, int idx)
{
	if (tsk_pair(lfd, c->cli_kind, c->cli_rcvbuf, &c->fd[0], &c->fd[1])) {
		fail("%s: connecting", c->label);
		return -1;
	}
	for (int s = 0; s < 2; s++) {
		tsk_stream_init(&c->out[s], idx * 2 + s);
		tsk_stream_init(&c->in[s], idx * 2 + !s);
	}
	if (tsk_send_stream(c->fd[0], &c->out[0], c->to_srv, TSK_TIMEOUT_MS) ||
	    tsk_send_stream(c->fd[1], &c->out[1], c->to_cli, TSK_TIMEOUT_MS)) {
		fail("%s: queueing data", c->label);
		return -1;
	}
	return 0;
}

/* What each socket looks like once the data has settled: names, state, queues. */
static int conn_record(struct conn *c)
{
	for (int s = 0; s < 2; s++) {
		size_t expect_in = s ? c->to_srv : c->to_cli;

		c->nr_opts[s] = tsk_opts_table(s ? TEST_KIND : c->cli_kind, SOCK_STREAM, &c->opts[s]);
		if (tsk_sockname(c->fd[s], &c->local[s]) || tsk_peername(c->fd[s], &c->peer[s]) ||
		    tsk_opts_get(c->fd[s], c->opts[s], c->nr_opts[s], c->vals[s])) {
			fail("%s %s: names and options", c->label, side[s]);
			return -1;
		}
		if (expect_in && tsk_wait_inq(c->fd[s], 1, TSK_TIMEOUT_MS) < 0) {
			fail("%s %s: nothing arrived", c->label, side[s]);
			return -1;
		}
	}
	/* settled: the queues stay the same for 20 ms */
	for (int tries = 0, stable = 0; !stable; tries++) {
		struct tsk_queues before[2];

		memcpy(before, c->q, sizeof(before));
		usleep(20000);
		for (int s = 0; s < 2; s++) {
			if (tsk_queues(c->fd[s], &c->q[s])) {
				fail("%s %s: queue sizes", c->label, side[s]);
				return -1;
			}
		}
		stable = tries && !memcmp(before, c->q, sizeof(before));
		if (tries == 100) {
			fail("%s: the queues still move after 2 s", c->label);
			return -1;
		}
	}
	for (int s = 0; s < 2; s++) {
		struct tsk_queues *q = &c->q[s];

		test_msg("%s %s: %d unread, %d queued to send, %d of them unsent\n", c->label, side[s], q->inq, q->outq,
			 q->unsent);
		/* the point of the "both" connection: something unread and something unsent on each end */
		if (c->cli_rcvbuf && (!q->inq || !q->unsent)) {
			fail("%s %s: expected data unread and unsent, got %d and %d", c->label, side[s], q->inq,
			     q->unsent);
			return -1;
		}
	}
	return 0;
}

static int conn_check_restored(struct conn *c)
{
	char a[TSK_ADDR_STRLEN], b[TSK_ADDR_STRLEN], x[TSK_ADDR_STRLEN], y[TSK_ADDR_STRLEN];

	for (int s = 0; s < 2; s++) {
		struct tsk_addr name, peer;
		struct tsk_queues q;
		int state = tsk_tcp_state(c->fd[s]), changed;

		if (state != TCP_ESTABLISHED) {
			fail("%s %s: state %s, expected ESTABLISHED", c->label, side[s], tsk_tcp_state_name(state));
			return -1;
		}
		if (tsk_tcp_repair(c->fd[s])) {
			fail("%s %s: left in repair mode", c->label, side[s]);
			return -1;
		}
		if (tsk_sockname(c->fd[s], &name) || tsk_peername(c->fd[s], &peer)) {
			fail("%s %s: names", c->label, side[s]);
			return -1;
		}
		if (!tsk_addr_equal(&name, &c->local[s]) || !tsk_addr_equal(&peer, &c->peer[s])) {
			fail("%s %s: %s -> %s, was %s -> %s", c->label, side[s], tsk_addr_str(&name, a, sizeof(a)),
			     tsk_addr_str(&peer, b, sizeof(b)), tsk_addr_str(&c->local[s], x, sizeof(x)),
			     tsk_addr_str(&c->peer[s], y, sizeof(y)));
			return -1;
		}
		changed = tsk_opts_changed(c->fd[s], side[s], c->opts[s], c->nr_opts[s], c->vals[s]);
		if (changed) {
			fail("%s %s: %d options changed (listed above)", c->label, side[s], changed);
			return -1;
		}
		if (tsk_queues(c->fd[s], &q)) {
			fail("%s %s: queue sizes", c->label, side[s]);
			return -1;
		}
		/* the send queue may shrink: what was in flight is acknowledged again after restore */
		if (q.inq != c->q[s].inq || q.outq > c->q[s].outq) {
			fail("%s %s: %d unread and %d queued to send, were %d and %d", c->label, side[s], q.inq, q.outq,
			     c->q[s].inq, c->q[s].outq);
			return -1;
		}
	}
	return 0;
}

/* Every byte once: the whole stream each way, then nothing more, then a round trip. */
static int conn_check_data(struct conn *c)
{
	for (int s = 0; s < 2; s++) {
		size_t expect = s ? c->to_srv : c->to_cli;
		char byte;

		if (tsk_recv_stream(c->fd[s], &c->in[s], expect, TSK_TIMEOUT_MS)) {
			fail("%s %s: reading the %zu queued bytes (at %llu)", c->label, side[s], expect,
			     (unsigned long long)c->in[s].off);
			return -1;
		}
		if (recv(c->fd[s], &byte, 1, MSG_DONTWAIT) != -1 || errno != EAGAIN) {
			fail("%s %s: more than the %zu bytes written", c->label, side[s], expect);
			return -1;
		}
	}
	for (int s = 0; s < 2; s++) {
		if (tsk_send_stream(c->fd[s], &c->out[s], TRIP_BYTES, TSK_TIMEOUT_MS) ||
		    tsk_recv_stream(c->fd[!s], &c->in[!s], TRIP_BYTES, TSK_TIMEOUT_MS)) {
			fail("%s: round trip from the %s", c->label, side[s]);
			return -1;
		}
	}
	return 0;
}

/* The listener still listens: one more connection through it, one byte each way. */
static int listener_check(int lfd)
{
	struct conn c = { .label = "new", .cli_kind = TEST_KIND };

	if (conn_open(lfd, &c, NR_CONNS) || conn_check_data(&c))
		return -1;
	close(c.fd[0]);
	close(c.fd[1]);
	return 0;
}

int main(int argc, char **argv)
{
	int lfd;

	test_init(argc, argv);
	if (TEST_SETUP())
		return 1;
	lfd = tsk_listener(TEST_KIND, 16, SMALL_RCVBUF);
	if (lfd < 0) {
		fail("%s listener", tsk_kind_name(TEST_KIND));
		return 1;
	}
	for (int i = 0; i < NR_CONNS; i++)
		if (conn_open(lfd, &conns[i], i))
			return 1;
	for (int i = 0; i < NR_CONNS; i++)
		if (conn_record(&conns[i]))
			return 1;

	test_daemon();
	test_waitsig();

	if (TEST_CHECK())
		return 1;
	for (int i = 0; i < NR_CONNS; i++)
		if (conn_check_restored(&conns[i]))
			return 1;
	for (int i = 0; i < NR_CONNS; i++)
		if (conn_check_data(&conns[i]))
			return 1;
	if (listener_check(lfd))
		return 1;
	pass();
	return 0;
}
