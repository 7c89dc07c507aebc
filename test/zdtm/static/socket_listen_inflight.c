/*
 * socket_listen_inflight: a listener with connections not accepted yet, each
 * with data its client sent waiting in it; the clients are in the process
 * too. Without --skip-in-flight criu cannot checkpoint them, so the dump must
 * fail (the .desc says crfail) and the test runs on: the listener still has
 * them queued, accepts them, every byte the clients sent is there once, and
 * each connection carries a fresh round trip. The clients, established
 * sockets that went through the failed dump, are ESTABLISHED and out of
 * repair mode.
 */
#include <unistd.h>

#include "inetsk.h"
#include "zdtmtst.h"

#define NR_PENDING 2
#define EARLY_BYTES 100
#define TRIP_BYTES 100

struct pending {
	int cli, srv;
	struct tsk_stream up, down; /* client to server, server to client */
};

static struct pending pending[NR_PENDING];

static int queued_check(int lfd, const char *when)
{
	int backlog, queued;

	if (tsk_listen_backlog(lfd, &backlog, &queued)) {
		fail("%s: the listener's queue from sock_diag", when);
		return -1;
	}
	if (queued != NR_PENDING) {
		fail("%s: %d connections wait to be accepted, expected %d", when, queued, NR_PENDING);
		return -1;
	}
	return 0;
}

/* Accepts every waiting connection and gives each to the client whose port it is connected to. */
static int pending_accept(int lfd)
{
	for (int n = 0; n < NR_PENDING; n++) {
		struct tsk_addr peer, name;
		int fd = tsk_accept(lfd, TSK_TIMEOUT_MS), i;

		if (fd < 0 || tsk_peername(fd, &peer)) {
			fail("accepting connection %d", n);
			return -1;
		}
		for (i = 0; i < NR_PENDING; i++)
			if (!tsk_sockname(pending[i].cli, &name) && tsk_addr_equal(&name, &peer))
				break;
		if (i == NR_PENDING) {
			fail("an accepted connection belongs to no client");
			return -1;
		}
		pending[i].srv = fd;
	}
	return 0;
}

static int pending_check(struct pending *p, int i)
{
	struct tsk_stream up_in = { .id = p->up.id }, down_in = { .id = p->down.id };
	int state = tsk_tcp_state(p->cli);

	if (state != TCP_ESTABLISHED || tsk_tcp_repair(p->cli)) {
		fail("client %d: state %s, repair %d", i, tsk_tcp_state_name(state), tsk_tcp_repair(p->cli));
		return -1;
	}
	if (tsk_recv_stream(p->srv, &up_in, EARLY_BYTES, TSK_TIMEOUT_MS) ||
	    tsk_send_stream(p->cli, &p->up, TRIP_BYTES, TSK_TIMEOUT_MS) ||
	    tsk_recv_stream(p->srv, &up_in, TRIP_BYTES, TSK_TIMEOUT_MS) ||
	    tsk_send_stream(p->srv, &p->down, TRIP_BYTES, TSK_TIMEOUT_MS) ||
	    tsk_recv_stream(p->cli, &down_in, TRIP_BYTES, TSK_TIMEOUT_MS)) {
		fail("connection %d: data", i);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct tsk_addr addr;
	int lfd;

	test_init(argc, argv);
	lfd = tsk_listener(TSK_INET4, 8, 0);
	if (lfd < 0 || tsk_sockname(lfd, &addr)) {
		fail("listener");
		return 1;
	}
	for (int i = 0; i < NR_PENDING; i++) {
		struct pending *p = &pending[i];

		tsk_stream_init(&p->up, pattern_stream(i, 0));
		tsk_stream_init(&p->down, pattern_stream(i, 1));
		p->cli = tsk_connect(TSK_INET4, &addr, 0);
		if (p->cli < 0 || tsk_send_stream(p->cli, &p->up, EARLY_BYTES, TSK_TIMEOUT_MS)) {
			fail("client %d", i);
			return 1;
		}
	}
	if (queued_check(lfd, "before"))
		return 1;

	test_daemon();
	test_waitsig();

	if (queued_check(lfd, "after") || pending_accept(lfd))
		return 1;
	for (int i = 0; i < NR_PENDING; i++)
		if (pending_check(&pending[i], i))
			return 1;
	pass();
	return 0;
}
