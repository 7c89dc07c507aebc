/*
 * socket_tcp_tree01: a child blocked in recv() on a TCP connection to its
 * parent when the tree is dumped (--tcp-established). Its recv() restarts as
 * soon as the child runs again, so the child must not run before the tree's
 * connections are out of repair mode: recv() on a socket in repair mode fails
 * with EPERM. After restore the parent sends a line, the child's recv() must
 * return it (not an error), and the child answers on it and on a second
 * connection.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "inetsk.h"
#include "tree.h"
#include "zdtmtst.h"

#define PING "ping after restore"
#define PONG "pong after restore"

/* One blocking recv() for exactly @want: 0, or the errno of a failure (EPROTO for other bytes). */
static int recv_is(int fd, const char *want)
{
	char buf[64] = { 0 };
	size_t len = strlen(want), got = 0;

	while (got < len) {
		ssize_t n = recv(fd, buf + got, len - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		if (n == 0)
			return ENODATA;
		got += (size_t)n;
	}
	return memcmp(buf, want, len) ? EPROTO : 0;
}

static int listener = -1; /* the parent's, which the child accepts on */

static void child_main(int i, int ready)
{
	int a = tsk_accept(listener, 5000), b = a < 0 ? -1 : tsk_accept(listener, 5000), err;

	(void)i;
	if (b < 0 || write(ready, "R", 1) != 1)
		_exit(2);
	close(ready);
	/* Blocked here when dumped: the recv() restarts right after restore (a plain one, not a poll). */
	err = recv_is(a, PING);
	if (err) {
		fail("the child's recv() after restore: %s", strerror(err));
		_exit(1);
	}
	if (tsk_write_all(a, PONG, strlen(PONG), 5000) || tsk_write_all(b, PING, strlen(PING), 5000)) {
		fail("the child can't answer its parent");
		_exit(1);
	}
	_exit(0);
}

int main(int argc, char **argv)
{
	struct tsk_addr addr;
	int a, b, err;
	pid_t child;

	test_init(argc, argv);
	/* Both connections wait in the listener's backlog until the child accepts them. */
	listener = tsk_listener(TSK_INET4, 4, 0);
	a = listener < 0 || tsk_sockname(listener, &addr) ? -1 : tsk_connect(TSK_INET4, &addr, 0);
	b = a < 0 ? -1 : tsk_connect(TSK_INET4, &addr, 0);
	if (b < 0) {
		fail("can't connect to the listener");
		return 1;
	}
	if (tree_fork_ready(&child, 1, child_main))
		return 1;
	close(listener);

	test_daemon();
	test_waitsig();
	if (tsk_write_all(a, PING, strlen(PING), 5000)) {
		fail("the parent can't send to its child after restore");
		return 1;
	}
	err = recv_is(a, PONG);
	err = err ?: recv_is(b, PING);
	if (err) {
		fail("the parent's recv() after restore: %s", strerror(err));
		return 1;
	}
	if (!tree_end_child(child, 0, "child"))
		return 1;
	pass();
	return 0;
}
