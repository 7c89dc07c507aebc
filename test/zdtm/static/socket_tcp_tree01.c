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
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "inetsk.h"
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

static int child_main(int lfd, int wr)
{
	int a = tsk_accept(lfd, 5000), b = a < 0 ? -1 : tsk_accept(lfd, 5000), err;

	if (b < 0 || write(wr, "R", 1) != 1)
		return 2;
	close(wr);
	/* Blocked here when dumped: the recv() restarts right after restore. */
	err = recv_is(a, PING);
	if (err) {
		fail("the child's recv() after restore: %s", strerror(err));
		return 1;
	}
	if (tsk_write_all(a, PONG, strlen(PONG), 5000) || tsk_write_all(b, PING, strlen(PING), 5000)) {
		fail("the child can't answer its parent");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int lfd, a, b, status, ready[2], err;
	struct tsk_addr addr;
	pid_t child;
	char c;

	test_init(argc, argv);
	lfd = tsk_listener(TSK_INET4, 4, 0);
	if (lfd < 0 || tsk_sockname(lfd, &addr) || pipe(ready)) {
		fail("can't set the listener up");
		return 1;
	}
	child = fork();
	if (child < 0) {
		fail("fork");
		return 1;
	}
	if (child == 0) {
		test_forked();
		close(ready[0]);
		_exit(child_main(lfd, ready[1]));
	}
	close(ready[1]);
	close(lfd);
	a = tsk_connect(TSK_INET4, &addr, 0);
	b = a < 0 ? -1 : tsk_connect(TSK_INET4, &addr, 0);
	if (b < 0 || read(ready[0], &c, 1) != 1) {
		fail("the child did not get ready");
		return 1;
	}
	close(ready[0]);

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
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fail("the child ended with status %#x", status);
		return 1;
	}
	pass();
	return 0;
}
