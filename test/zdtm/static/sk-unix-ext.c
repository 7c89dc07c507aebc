/*
 * sk-unix-ext: a datagram socket connected to a socket outside the dumped
 * process (a helper's, bound to an abstract name), dumped and restored with
 * --ext-unix-sk. After restore it is connected to the same name again: what
 * it sends reaches the helper, which checks the datagrams sent before the
 * dump and after the restore.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "helper.h"
#include "zdtmtst.h"

static struct sockaddr_un addr = { .sun_family = AF_UNIX };
static socklen_t addr_len;

static int expect_dgram(int fd, const char *want)
{
	char buf[64];
	ssize_t n = recv(fd, buf, sizeof(buf), 0);

	if (n != (ssize_t)strlen(want) || memcmp(buf, want, (size_t)n)) {
		fail("helper: expected '%s', got %zd bytes", want, n);
		return -1;
	}
	return 0;
}

/* The outside socket: bound, says so, then takes one datagram before the dump and one after the restore. */
static int helper(int chan, void *arg)
{
	struct timeval tv = { 120, 0 };
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

	(void)arg;
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, addr_len) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) || write(chan, "R", 1) != 1) {
		fail("helper: bind");
		return 1;
	}
	close(chan);
	return expect_dgram(fd, "before") || expect_dgram(fd, "after") ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_un peer;
	socklen_t len = sizeof(peer);
	int chan, fd;
	char c;

	test_init(argc, argv);
	snprintf(addr.sun_path + 1, sizeof(addr.sun_path) - 1, "criu-ng-sk-unix-ext-%d", getpid());
	addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(addr.sun_path + 1));
	if (test_helper_start(helper, NULL, &chan) < 0 || read(chan, &c, 1) != 1) {
		fail("starting the helper");
		return 1;
	}
	close(chan);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, addr_len) || send(fd, "before", 6, 0) != 6) {
		fail("connecting to the helper");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (getpeername(fd, (struct sockaddr *)&peer, &len) || len != addr_len || memcmp(&peer, &addr, len)) {
		fail("the socket's peer changed");
		return 1;
	}
	if (send(fd, "after", 5, 0) != 5) {
		fail("sending to the helper after restore");
		return 1;
	}
	pass();
	return 0;
}
