/*
 * socket_tcp_many1k: 1,000 established TCP connections with both ends in the
 * process, checkpointed with --tcp-established. On each, one end (the client)
 * leaves 2 KiB from the other end unread and has written 8 KiB that stay
 * queued, since the other end (accepted from a listener with a small receive
 * buffer) does not read.
 *
 * After restore every socket is ESTABLISHED and out of repair mode, each
 * client with its 2 KiB unread and no more queued than before, each server
 * with as much unread as before. Then every client reads its 2 KiB and
 * answers with 64 bytes, every server reads the 8 KiB and the 64 bytes and
 * answers with 64 bytes, every client reads those: every byte checked
 * (pattern streams), each exactly once.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "inetsk.h"
#include "streamio.h"
#include "zdtmtst.h"

#define NR_CONNS 1000
#define SERVER_RCVBUF 2048 /* the servers' window: most of what a client writes stays queued */
#define UNREAD_BYTES 2048
#define QUEUED_BYTES 8192
#define REPLY_BYTES 64
#define IO_TIMEOUT_MS 8000

enum {
	CLI,
	SRV
};

struct conn {
	int fd[2];
	uint64_t sent[2], recvd[2]; /* stream offsets, for streamio */
	struct tsk_queues q[2];	    /* before the checkpoint */
};

static struct conn conns[NR_CONNS];

/* The stream a side writes: odd from the client, even from the server. */
static uint32_t stream_of(int i, int side)
{
	return pattern_stream(i, side == CLI);
}

/* Every side's stream up to target, nothing more, answered with reply bytes of its own stream. */
static int read_side(int side, uint64_t target, uint32_t reply)
{
	struct sio_item items[NR_CONNS];
	struct sio_report rep;
	int ret;

	for (int i = 0; i < NR_CONNS; i++) {
		items[i] = (struct sio_item){
			.fd = conns[i].fd[side],
			.idx = i,
			.stream = stream_of(i, !side),
			.pos = &conns[i].recvd[side],
			.target = target,
			.reply_stream = stream_of(i, side),
			.reply_len = reply,
			.reply_pos = &conns[i].sent[side],
		};
	}
	sio_report_init(&rep);
	ret = sio_read(items, NR_CONNS, IO_TIMEOUT_MS, &rep);
	if (ret)
		sio_report_print(side == CLI ? "client" : "server", &rep);
	return ret;
}

static int conns_open(void)
{
	static const size_t first[2] = { QUEUED_BYTES, UNREAD_BYTES };
	uint8_t buf[QUEUED_BYTES];
	int lfd;

	lfd = tsk_listener(TSK_INET4, NR_CONNS, SERVER_RCVBUF);
	if (lfd < 0) {
		fail("listener");
		return -1;
	}
	for (int i = 0; i < NR_CONNS; i++) {
		struct conn *c = &conns[i];

		if (tsk_pair(lfd, TSK_INET4, 0, &c->fd[CLI], &c->fd[SRV])) {
			fail("connection %d", i);
			return -1;
		}
		for (int side = 0; side < 2; side++) {
			int flags = fcntl(c->fd[side], F_GETFL);

			pattern_fill(buf, stream_of(i, side), 0, first[side]);
			if (flags < 0 || fcntl(c->fd[side], F_SETFL, flags | O_NONBLOCK) ||
			    tsk_write_all(c->fd[side], buf, first[side], TSK_TIMEOUT_MS)) {
				fail("connection %d: writing", i);
				return -1;
			}
			c->sent[side] = first[side];
		}
	}
	close(lfd);
	return 0;
}

/* The clients have the 2 KiB unread and bytes unsent; remember every queue. */
static int conns_settle(void)
{
	for (int i = 0; i < NR_CONNS; i++) {
		struct conn *c = &conns[i];

		if (tsk_wait_inq(c->fd[CLI], UNREAD_BYTES, TSK_TIMEOUT_MS) != UNREAD_BYTES ||
		    tsk_wait_inq(c->fd[SRV], 1, TSK_TIMEOUT_MS) < 0) {
			fail("connection %d: the data did not arrive", i);
			return -1;
		}
	}
	usleep(50000); /* delayed acknowledgements */
	for (int i = 0; i < NR_CONNS; i++) {
		struct conn *c = &conns[i];

		if (tsk_queues(c->fd[CLI], &c->q[CLI]) || tsk_queues(c->fd[SRV], &c->q[SRV])) {
			fail("connection %d: queue sizes", i);
			return -1;
		}
		if (!c->q[CLI].unsent) {
			fail("connection %d: nothing left unsent (%d queued)", i, c->q[CLI].outq);
			return -1;
		}
	}
	test_msg("%d connections: the client with %d bytes unread, %d queued to send (%d unsent); the server with %d "
		 "unread\n",
		 NR_CONNS, conns[0].q[CLI].inq, conns[0].q[CLI].outq, conns[0].q[CLI].unsent, conns[0].q[SRV].inq);
	return 0;
}

static int conns_check_restored(void)
{
	for (int i = 0; i < NR_CONNS; i++) {
		for (int side = 0; side < 2; side++) {
			struct conn *c = &conns[i];
			int fd = c->fd[side], state = tsk_tcp_state(fd);
			struct tsk_queues q;

			if (state != TCP_ESTABLISHED || tsk_tcp_repair(fd)) {
				fail("connection %d, %s: state %s, repair %d", i, side == CLI ? "client" : "server",
				     tsk_tcp_state_name(state), tsk_tcp_repair(fd));
				return -1;
			}
			if (tsk_queues(fd, &q)) {
				fail("connection %d: queue sizes", i);
				return -1;
			}
			if (q.inq != c->q[side].inq || q.outq > c->q[side].outq) {
				fail("connection %d, %s: %d unread and %d queued to send, were %d and %d", i,
				     side == CLI ? "client" : "server", q.inq, q.outq, c->q[side].inq, c->q[side].outq);
				return -1;
			}
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	if (tsk_nofile_raise(2 * NR_CONNS + 64)) {
		fail("RLIMIT_NOFILE for %d connections", NR_CONNS);
		return 1;
	}
	if (conns_open() || conns_settle())
		return 1;

	test_daemon();
	test_waitsig();

	if (conns_check_restored())
		return 1;
	if (read_side(CLI, UNREAD_BYTES, REPLY_BYTES) || read_side(SRV, QUEUED_BYTES + REPLY_BYTES, REPLY_BYTES) ||
	    read_side(CLI, UNREAD_BYTES + REPLY_BYTES, 0)) {
		fail("the streams (the connections are listed above)");
		return 1;
	}
	pass();
	return 0;
}
