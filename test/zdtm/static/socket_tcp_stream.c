/*
 * socket_tcp_stream: an external peer (a helper process outside the dumped
 * tree) streams data to the test over TCP, 16 KiB every millisecond, while
 * the test reads it; the checkpoint (--tcp-established) comes in the middle
 * of the stream, with data in flight, in the peer's send queue and in the
 * test's receive queue.
 *
 * The test checks every byte it reads against the stream's pattern at its
 * offset, so a gap, a duplicate or a reordering fails at the first byte out of
 * place. Once stopped, the peer reports over a control connection how many
 * bytes it sent and whether any write failed (a reset from the restored or
 * locked side would show there); the test must then read exactly that many,
 * and nothing more, and the connection must still be established on both
 * ends. The peer also counts the writes it made while the test was frozen or
 * gone, and says so in the outfile.
 *
 * socket_tcp_lock is this test with a slow stream (STREAM_PACED): 256 bytes
 * every 10 ms, so the test's window never closes and the peer keeps sending
 * segments while the test is dumped. The network lock must drop them (no
 * reset reaches the peer) and they must arrive after restore.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"
#include "inetsk.h"
#include "zdtmtst.h"

#ifdef STREAM_PACED
#define CHUNK_BYTES 256
#define CHUNK_EVERY_MS 10
#define PRIMING_BYTES 2048 /* read before test_daemon(): the stream flows */
#else
#define CHUNK_BYTES 16384
#define CHUNK_EVERY_MS 1
#define PRIMING_BYTES (1 << 20)
#endif

#define STREAM_ID 0x5743
#define DRAIN_TIMEOUT_MS 8000  /* retransmissions after the lock back off: leave them time */
#define WAIT_TIMEOUT_MS 300000 /* the peer waits this long for the test, which may stay dumped a while */

enum peer_op {
	OP_STOP = 1, /* test -> peer: stop sending */
	OP_TOTAL,    /* peer -> test: bytes sent; status: the first write error */
	OP_BYE,	     /* test -> peer: the end */
};

/* ---------- the peer ---------- */

struct peer {
	pid_t test;
	int ctl, data;
	struct tsk_stream out;
	int err;		    /* -errno of the first failed write */
	unsigned long chunks, away; /* writes, and those made while the test was frozen or gone */
};

/* The test is gone (between dump and restore) or stopped (frozen by criu). */
static bool test_away(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return true;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return !p || p[1] != ' ' || p[2] == 't' || p[2] == 'T' || p[2] == 'Z';
}

static void peer_write_chunk(struct peer *p)
{
	uint8_t buf[CHUNK_BYTES];
	bool away = test_away(p->test);
	ssize_t n;

	pattern_fill(buf, p->out.id, p->out.off, sizeof(buf));
	n = send(p->data, buf, sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		p->err = -errno;
		fail("peer: writing at byte %llu", (unsigned long long)p->out.off);
		return;
	}
	if (n > 0) {
		p->out.off += n;
		p->chunks++;
		p->away += away;
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sends a chunk every CHUNK_EVERY_MS until the test says stop. */
static int peer_stream(struct peer *p)
{
	struct pollfd pfd = { .fd = p->ctl, .events = POLLIN };
	int64_t next = now_ms(), deadline = next + WAIT_TIMEOUT_MS;

	while (now_ms() < deadline) {
		int64_t wait = next - now_ms();
		int n = poll(&pfd, 1, wait > 0 ? (int)wait : 0);

		if (n < 0 && errno != EINTR) {
			fail("peer: poll");
			return -1;
		}
		if (n > 0)
			return 0; /* a message from the test */
		if (now_ms() >= next) {
			if (!p->err)
				peer_write_chunk(p);
			next += CHUNK_EVERY_MS;
		}
	}
	fail("peer: no word from the test");
	return -1;
}

/* After the last write: no error on the socket, still established. */
static int peer_conn_check(struct peer *p)
{
	int err = 0, state;
	socklen_t len = sizeof(err);

	if (p->err)
		return p->err;
	if (getsockopt(p->data, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
		fail("peer: the connection has error %d", err);
		return -(err ? err : errno);
	}
	state = tsk_tcp_state(p->data);
	if (state != TCP_ESTABLISHED) {
		fail("peer: the connection is %s", tsk_tcp_state_name(state));
		return -ENOTCONN;
	}
	return 0;
}

static int peer_main(int lfd, int ctl, void *arg)
{
	struct peer p = { .test = *(pid_t *)arg, .ctl = ctl };
	struct helper_msg msg;
	int status;

	tsk_stream_init(&p.out, STREAM_ID);
	p.data = tsk_accept(lfd, TSK_TIMEOUT_MS);
	if (p.data < 0) {
		fail("peer: data connection");
		return 1;
	}
	close(lfd);
	if (peer_stream(&p) || helper_msg_expect(p.ctl, OP_STOP, &msg, TSK_TIMEOUT_MS))
		return 1;
	status = peer_conn_check(&p);
	test_msg("peer: %lu writes, %llu bytes; %lu writes while the test was frozen or gone\n", p.chunks,
		 (unsigned long long)p.out.off, p.away);
	if (helper_msg_send(p.ctl, OP_TOTAL, status, p.out.off, TSK_TIMEOUT_MS) ||
	    helper_msg_expect(p.ctl, OP_BYE, &msg, DRAIN_TIMEOUT_MS + TSK_TIMEOUT_MS)) {
		fail("peer: the end of the control exchange");
		return 1;
	}
	return status ? 1 : 0;
}

/* ---------- the test ---------- */

/* Reads and checks whatever has come, waiting up to timeout_ms for something: bytes read, or -errno. */
static ssize_t test_read_some(int fd, struct tsk_stream *in, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint8_t buf[65536];
	ssize_t n;
	long bad;

	if (poll(&pfd, 1, timeout_ms) < 0)
		return errno == EINTR ? 0 : -errno;
	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (n == 0)
		return -ENODATA;
	bad = pattern_check(buf, in->id, in->off, n);
	if (bad >= 0) {
		test_msg("byte %llu is %#x, expected %#x\n", (unsigned long long)(in->off + bad), buf[bad],
			 pattern_byte(in->id, in->off + bad));
		return -EILSEQ;
	}
	in->off += n;
	return n;
}

int main(int argc, char **argv)
{
	struct test_peer peer;
	struct tsk_stream in;
	struct helper_msg msg;
	int ctl, data;
	pid_t self;
	char byte;

	test_init(argc, argv);
	self = getpid();
	if (test_peer_start(&peer, peer_main, &self, 4, 0)) {
		fail("starting the peer");
		return 1;
	}
	ctl = peer.ctl;
	data = tsk_connect(TSK_INET4, &peer.addr, 0);
	if (data < 0) {
		fail("the data connection");
		return 1;
	}
	tsk_stream_init(&in, STREAM_ID);
	while (in.off < PRIMING_BYTES) {
		if (test_read_some(data, &in, TSK_TIMEOUT_MS) <= 0) {
			fail("the stream does not flow (at byte %llu)", (unsigned long long)in.off);
			return 1;
		}
	}

	test_daemon();
	while (test_go()) {
		ssize_t n = test_read_some(data, &in, 100);

		if (n < 0) {
			errno = -n;
			fail("reading the stream at byte %llu", (unsigned long long)in.off);
			return 1;
		}
	}

	if (helper_msg_send(ctl, OP_STOP, 0, 0, TSK_TIMEOUT_MS) ||
	    helper_msg_expect(ctl, OP_TOTAL, &msg, TSK_TIMEOUT_MS)) {
		fail("no word from the peer");
		return 1;
	}
	if (msg.status) {
		errno = -msg.status;
		fail("the peer's connection failed (the peer's messages are above)");
		return 1;
	}
	test_msg("%llu bytes read of %llu sent; the rest now\n", (unsigned long long)in.off,
		 (unsigned long long)msg.value);
	if (in.off > msg.value || tsk_recv_stream(data, &in, msg.value - in.off, DRAIN_TIMEOUT_MS)) {
		fail("reading the end of the stream: at byte %llu of %llu", (unsigned long long)in.off,
		     (unsigned long long)msg.value);
		return 1;
	}
	if (recv(data, &byte, 1, MSG_DONTWAIT) != -1 || errno != EAGAIN) {
		fail("more than the %llu bytes sent", (unsigned long long)msg.value);
		return 1;
	}
	if (tsk_tcp_state(data) != TCP_ESTABLISHED || tsk_tcp_repair(data)) {
		fail("the connection is %s, repair %d", tsk_tcp_state_name(tsk_tcp_state(data)), tsk_tcp_repair(data));
		return 1;
	}
	if (helper_msg_send(ctl, OP_BYE, 0, 0, TSK_TIMEOUT_MS)) {
		fail("saying goodbye to the peer");
		return 1;
	}
	pass();
	return 0;
}
