/*
 * socket_tcp_close_ng: TCP connections dumped with --tcp-established and
 * restored with --tcp-close (see the .desc), IPv4 and IPv6, data queued on
 * each, beside their listeners. After restore every connection is closed as
 * if its peer had reset it: state CLOSE, a read gives the end of the stream,
 * poll() reports POLLHUP, a write fails with EPIPE. The listeners are back on
 * their ports and take new connections that carry data.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "inetsk.h"
#include "zdtmtst.h"

static const enum tsk_kind kinds[] = { TSK_INET4, TSK_INET6 };
#define NR_KINDS (int)(sizeof(kinds) / sizeof(kinds[0]))

static int lsn[NR_KINDS], cli[NR_KINDS], srv[NR_KINDS];

static int check_closed(int fd, const char *what)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLOUT };
	char c;

	if (tsk_tcp_state(fd) != TCP_CLOSE) {
		fail("%s: TCP state %d, not CLOSE", what, tsk_tcp_state(fd));
		return -1;
	}
	if (recv(fd, &c, 1, MSG_DONTWAIT) != 0) {
		fail("%s: a read does not give the end of the stream", what);
		return -1;
	}
	if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLHUP)) {
		fail("%s: no POLLHUP (revents %#x)", what, pfd.revents);
		return -1;
	}
	if (send(fd, "x", 1, MSG_DONTWAIT) != -1 || errno != EPIPE) {
		fail("%s: a write does not fail with EPIPE", what);
		return -1;
	}
	return 0;
}

static int check_listener(int i)
{
	int c, s;
	char buf[4];

	if (tsk_pair(lsn[i], kinds[i], 0, &c, &s) < 0) {
		fail("listener %d: a new connection", i);
		return -1;
	}
	if (tsk_write_all(c, "ping", 4, 5000) < 0 || tsk_read_all(s, buf, 4, 5000) < 0 || memcmp(buf, "ping", 4)) {
		fail("listener %d: data through a new connection", i);
		return -1;
	}
	close(c);
	close(s);
	return 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < NR_KINDS; i++) {
		lsn[i] = tsk_listener(kinds[i], 8, 0);
		if (lsn[i] < 0 || tsk_pair(lsn[i], kinds[i], 0, &cli[i], &srv[i]) < 0) {
			fail("kind %d: a listener and a connection", i);
			return 1;
		}
		if (tsk_write_all(cli[i], "queued", 6, 5000) < 0 || tsk_wait_inq(srv[i], 6, 5000) < 0) {
			fail("kind %d: queue data", i);
			return 1;
		}
	}

	test_daemon();
	test_waitsig();

	for (int i = 0; i < NR_KINDS; i++)
		if (check_closed(cli[i], "client") || check_closed(srv[i], "server") || check_listener(i))
			return 1;
	pass();
	return 0;
}
