/*
 * sk-unix-sndaddr_ng: datagrams queued on a bound unix socket keep their
 * senders' addresses. Queued in this order:
 * - two from a socket bound to an abstract name, closed since;
 * - one from a socket bound to a path, still open and connected to the
 *   receiver;
 * - one from an unbound socket (no address);
 * - one from a socket bound to a path, closed since and its file unlinked.
 * After restore: each datagram has its data and its sender's address, in
 * order; the connected sender still reaches the receiver; the unlinked path
 * stays gone, the other one is there.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NR_PKTS 5

static struct sockaddr_un srv_addr, abs_addr, path_addr, gone_addr;
static socklen_t srv_len, abs_len, path_len, gone_len;
static const struct sockaddr_un *from_addr[NR_PKTS] = { &abs_addr, &abs_addr, &path_addr, NULL, &gone_addr };
static const socklen_t *from_len[NR_PKTS] = { &abs_len, &abs_len, &path_len, NULL, &gone_len };
static int srv, conn;

static socklen_t set_addr(struct sockaddr_un *a, const char *name, bool abstract)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	snprintf(a->sun_path + abstract, sizeof(a->sun_path) - 1, "%s", name);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + abstract + strlen(name) + !abstract);
}

static int bound(const struct sockaddr_un *a, socklen_t len)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

	if (fd < 0 || (a && bind(fd, (const struct sockaddr *)a, len))) {
		fail("a sender's socket");
		return -1;
	}
	return fd;
}

static int send_pkt(int fd, int i)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "datagram %d", i);

	if (sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&srv_addr, srv_len) != n) {
		fail("send datagram %d", i);
		return -1;
	}
	return 0;
}

static int setup(void)
{
	char cwd[64], name[128];
	int a, u, g;

	if (!getcwd(cwd, sizeof(cwd))) {
		fail("getcwd (a working directory under 64 bytes is needed)");
		return -1;
	}
	snprintf(name, sizeof(name), "criu-ng-sndaddr-srv-%d", getpid());
	srv_len = set_addr(&srv_addr, name, true);
	snprintf(name, sizeof(name), "criu-ng-sndaddr-a-%d", getpid());
	abs_len = set_addr(&abs_addr, name, true);
	snprintf(name, sizeof(name), "%s/sndaddr-path.sock", cwd);
	path_len = set_addr(&path_addr, name, false);
	snprintf(name, sizeof(name), "%s/sndaddr-gone.sock", cwd);
	gone_len = set_addr(&gone_addr, name, false);
	unlink(path_addr.sun_path);
	unlink(gone_addr.sun_path);

	srv = bound(&srv_addr, srv_len);
	a = bound(&abs_addr, abs_len);
	conn = bound(&path_addr, path_len);
	u = bound(NULL, 0);
	g = bound(&gone_addr, gone_len);
	if (srv < 0 || a < 0 || conn < 0 || u < 0 || g < 0)
		return -1;
	if (connect(conn, (struct sockaddr *)&srv_addr, srv_len)) {
		fail("connect");
		return -1;
	}
	if (send_pkt(a, 0) || send_pkt(a, 1) || send_pkt(conn, 2) || send_pkt(u, 3) || send_pkt(g, 4))
		return -1;
	close(a);
	close(g);
	if (unlink(gone_addr.sun_path)) {
		fail("unlink");
		return -1;
	}
	return 0;
}

static int check_queue(void)
{
	for (int i = 0; i < NR_PKTS; i++) {
		struct sockaddr_un from;
		char buf[64], want[32];
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1 };
		int n = snprintf(want, sizeof(want), "datagram %d", i);
		socklen_t wlen = from_len[i] ? *from_len[i] : 0; /* an unbound sender has no address */

		memset(&from, 0, sizeof(from));
		if (recvmsg(srv, &mh, MSG_DONTWAIT) != n || memcmp(buf, want, (size_t)n)) {
			fail("datagram %d: missing or changed", i);
			return -1;
		}
		if (mh.msg_namelen != wlen || (from_addr[i] && memcmp(&from, from_addr[i], wlen))) {
			fail("datagram %d: its sender's address changed (%u bytes, was %u)", i, mh.msg_namelen, wlen);
			return -1;
		}
	}
	return 0;
}

static int check_after(void)
{
	char buf[8];

	if (send(conn, "more", 4, 0) != 4 || recv(srv, buf, sizeof(buf), MSG_DONTWAIT) != 4) {
		fail("the connected sender does not reach the receiver");
		return -1;
	}
	if (access(path_addr.sun_path, F_OK)) {
		fail("the connected sender's socket file is gone");
		return -1;
	}
	if (access(gone_addr.sun_path, F_OK) == 0 || errno != ENOENT) {
		fail("the unlinked sender's path came back");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	if (setup())
		return 1;

	test_daemon();
	test_waitsig();

	if (check_queue() || check_after())
		return 1;
	pass();
	return 0;
}
