/*
 * socket_tcp_ext1k: 1,000 established TCP connections to an external peer,
 * a helper process outside the dumped tree, checkpointed with
 * --tcp-established. On each connection the test leaves 2 KiB the peer sent
 * unread, and writes 8 KiB that stay queued: the peer does not read, and its
 * receive buffers are small. A TCP control connection to the peer is dumped
 * with them.
 *
 * After restore every connection is ESTABLISHED, out of repair mode, with
 * its 2 KiB unread and no more queued than before. Then: the test reads the
 * 2 KiB and answers each with 64 bytes; the peer, told over the control
 * connection, reads the 8 KiB and the 64 bytes and answers with 64 bytes;
 * the test reads those. Every byte is checked (pattern streams), each exactly
 * once, and the peer reports its verdict over the control connection.
 *
 * socket_tcp_ext10k is this test with 10,000 connections (TEST_CONNS).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"
#include "inetsk.h"
#include "streamio.h"
#include "zdtmtst.h"

#ifndef TEST_CONNS
#define TEST_CONNS 1000
#endif

#define PEER_RCVBUF 2048       /* the peer's window: most of what the test writes stays queued */
#define UNREAD_BYTES 2048      /* from the peer, left unread by the test */
#define QUEUED_BYTES 8192      /* from the test, left unread by the peer */
#define REPLY_BYTES 64	       /* the fresh round trip */
#define IO_TIMEOUT_MS 8000     /* for all connections at once */
#define WAIT_TIMEOUT_MS 300000 /* the peer waits this long for the test, which may stay dumped a while */

enum peer_op {
	OP_READY = 1, /* peer -> test: all connections accepted, their 2 KiB sent */
	OP_DRAIN,     /* test -> peer: read what the test queued, answer */
	OP_DRAINED,   /* peer -> test: done, with a status */
	OP_BYE,	      /* test -> peer: the end */
};

struct conn {
	int fd;
	uint16_t port;	      /* the test's end: it names the streams */
	uint64_t sent, recvd; /* stream offsets, for streamio */
	struct tsk_queues q;  /* the test's end, before the checkpoint */
};

static struct conn *conns;

/* The streams of a connection, named by the test end's port: odd from the test, even from the peer. */
static uint32_t stream_from_test(uint16_t port)
{
	return pattern_stream(port, 1);
}

static uint32_t stream_from_peer(uint16_t port)
{
	return pattern_stream(port, 0);
}

static int nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	return flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) ? -1 : 0;
}

/*
 * Reads the streams of every connection up to target, checks that nothing
 * more is there, and answers each with reply bytes of the other stream.
 */
static int read_all(const char *who, bool from_test, uint64_t target, uint32_t reply)
{
	struct sio_item *items = calloc(TEST_CONNS, sizeof(*items));
	struct sio_report rep;
	int ret;

	if (!items)
		return -1;
	for (int i = 0; i < TEST_CONNS; i++) {
		struct conn *c = &conns[i];

		items[i] = (struct sio_item){
			.fd = c->fd,
			.idx = i,
			.stream = from_test ? stream_from_test(c->port) : stream_from_peer(c->port),
			.pos = &c->recvd,
			.target = target,
			.reply_stream = from_test ? stream_from_peer(c->port) : stream_from_test(c->port),
			.reply_len = reply,
			.reply_pos = &c->sent,
		};
	}
	sio_report_init(&rep);
	ret = sio_read(items, TEST_CONNS, IO_TIMEOUT_MS, &rep);
	if (ret)
		sio_report_print(who, &rep);
	free(items);
	return ret;
}

/*
 * Takes a new connection's fd: the test end's address names its streams; the
 * fd becomes non-blocking and sends the first len bytes of its stream.
 */
static int conn_start(struct conn *c, int fd, const struct tsk_addr *test_end, bool at_peer, size_t len)
{
	uint8_t buf[QUEUED_BYTES];

	c->fd = fd;
	c->port = tsk_addr_port(test_end);
	pattern_fill(buf, at_peer ? stream_from_peer(c->port) : stream_from_test(c->port), 0, len);
	if (nonblock(fd) || tsk_write_all(fd, buf, len, TSK_TIMEOUT_MS))
		return -1;
	c->sent = len;
	return 0;
}

/* ---------- the peer ---------- */

static int peer_accept_all(int lfd)
{
	for (int i = 0; i < TEST_CONNS; i++) {
		struct tsk_addr addr;
		int fd = tsk_accept(lfd, TSK_TIMEOUT_MS);

		if (fd < 0 || tsk_peername(fd, &addr) || conn_start(&conns[i], fd, &addr, true, UNREAD_BYTES)) {
			fail("peer: connection %d", i);
			return -1;
		}
	}
	return 0;
}

static int peer_main(int lfd, int ctl, void *arg)
{
	struct helper_msg msg;
	int ret;

	(void)arg;
	if (peer_accept_all(lfd) || helper_msg_send(ctl, OP_READY, 0, TEST_CONNS, TSK_TIMEOUT_MS))
		return 1;
	close(lfd);

	/* the test may be checkpointed now: wait as long as it takes */
	if (helper_msg_expect(ctl, OP_DRAIN, &msg, WAIT_TIMEOUT_MS)) {
		fail("peer: no word from the test");
		return 1;
	}
	ret = read_all("peer", true, QUEUED_BYTES + REPLY_BYTES, REPLY_BYTES);
	if (ret)
		fail("peer: reading what the test sent");
	if (helper_msg_send(ctl, OP_DRAINED, ret, 0, TSK_TIMEOUT_MS) ||
	    helper_msg_expect(ctl, OP_BYE, &msg, TSK_TIMEOUT_MS)) {
		fail("peer: the end of the control exchange");
		return 1;
	}
	return ret ? 1 : 0;
}

/* ---------- the test ---------- */

static int test_connect_all(const struct tsk_addr *to)
{
	for (int i = 0; i < TEST_CONNS; i++) {
		struct tsk_addr addr;
		int fd = tsk_connect(TSK_INET4, to, 0);

		if (fd < 0 || tsk_sockname(fd, &addr) || conn_start(&conns[i], fd, &addr, false, QUEUED_BYTES)) {
			fail("connection %d", i);
			return -1;
		}
	}
	return 0;
}

/* Every connection has the peer's bytes unread and some of its own queued; remember how much. */
static int test_queues_settle(void)
{
	for (int i = 0; i < TEST_CONNS; i++) {
		struct conn *c = &conns[i];

		if (tsk_wait_inq(c->fd, UNREAD_BYTES, TSK_TIMEOUT_MS) != UNREAD_BYTES || tsk_queues(c->fd, &c->q)) {
			fail("connection %d: the peer's %d bytes did not arrive", i, UNREAD_BYTES);
			return -1;
		}
		if (!c->q.unsent) {
			fail("connection %d: nothing left unsent (%d queued)", i, c->q.outq);
			return -1;
		}
	}
	test_msg("%d connections, each with %d bytes unread and about %d queued to send (%d unsent)\n", TEST_CONNS,
		 UNREAD_BYTES, conns[0].q.outq, conns[0].q.unsent);
	return 0;
}

static int test_check_restored(void)
{
	for (int i = 0; i < TEST_CONNS; i++) {
		struct conn *c = &conns[i];
		struct tsk_queues q;
		int state = tsk_tcp_state(c->fd);

		if (state != TCP_ESTABLISHED || tsk_tcp_repair(c->fd)) {
			fail("connection %d: state %s, repair %d", i, tsk_tcp_state_name(state), tsk_tcp_repair(c->fd));
			return -1;
		}
		if (tsk_queues(c->fd, &q)) {
			fail("connection %d: queue sizes", i);
			return -1;
		}
		if (q.inq != c->q.inq || !q.outq || q.outq > c->q.outq) {
			fail("connection %d: %d unread and %d queued to send, were %d and %d", i, q.inq, q.outq,
			     c->q.inq, c->q.outq);
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct test_peer peer;
	struct helper_msg msg;
	int ctl;

	test_init(argc, argv);
	conns = calloc(TEST_CONNS, sizeof(*conns));
	if (!conns) {
		fail("calloc");
		return 1;
	}
	/* both processes hold every connection, plus a few fds */
	if (tsk_nofile_raise(TEST_CONNS + 64)) {
		fail("RLIMIT_NOFILE for %d connections", TEST_CONNS);
		return 1;
	}
	if (test_peer_start(&peer, peer_main, NULL, 4096, PEER_RCVBUF)) {
		fail("starting the peer");
		return 1;
	}
	ctl = peer.ctl;
	if (test_connect_all(&peer.addr) || helper_msg_expect(ctl, OP_READY, &msg, TSK_TIMEOUT_MS) ||
	    test_queues_settle())
		return 1;

	test_daemon();
	test_waitsig();

	if (test_check_restored())
		return 1;
	if (read_all("test", false, UNREAD_BYTES, REPLY_BYTES)) {
		fail("reading what the peer sent (the connections are listed above)");
		return 1;
	}
	if (helper_msg_send(ctl, OP_DRAIN, 0, 0, TSK_TIMEOUT_MS) ||
	    helper_msg_expect(ctl, OP_DRAINED, &msg, IO_TIMEOUT_MS + TSK_TIMEOUT_MS)) {
		fail("no verdict from the peer");
		return 1;
	}
	if (msg.status) {
		errno = -msg.status;
		fail("the peer found what the test sent wrong (its messages are above)");
		return 1;
	}
	if (read_all("test", false, UNREAD_BYTES + REPLY_BYTES, 0)) {
		fail("reading the peer's answers (the connections are listed above)");
		return 1;
	}
	if (helper_msg_send(ctl, OP_BYE, 0, 0, TSK_TIMEOUT_MS)) {
		fail("saying goodbye to the peer");
		return 1;
	}
	pass();
	return 0;
}
