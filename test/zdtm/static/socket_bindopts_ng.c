/*
 * socket_bindopts_ng: inet sockets whose bind needed an option that was
 * cleared since.
 * - two TCP listeners on one port, both bound with SO_REUSEPORT, which the
 *   first one then cleared;
 * - a TCP listener and a UDP socket bound with IP_FREEBIND to an address the
 *   host does not have (192.0.2.0/24, TEST-NET-1), the option cleared since.
 * After restore: every name and option is as it was, and a client reaches
 * one of the two listeners.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "zdtmtst.h"

enum {
	LSN1,
	LSN2,
	FREE_TCP,
	FREE_UDP,
	NR_SK
};

static const char *const labels[NR_SK] = { "first listener", "second listener", "freebind TCP", "freebind UDP" };
static int sk[NR_SK];
static struct sockaddr_in addr[NR_SK];

static int get_int(int fd, int level, int name)
{
	socklen_t len = sizeof(int);
	int v = -1;

	if (getsockopt(fd, level, name, &v, &len))
		return -1;
	return v;
}

static int set_int(int fd, int level, int name, int v)
{
	return setsockopt(fd, level, name, &v, sizeof(v));
}

static int bind_one(int i, int type, const char *ip, int level, int opt)
{
	socklen_t len = sizeof(addr[i]);

	sk[i] = socket(AF_INET, type, 0);
	if (sk[i] < 0 || set_int(sk[i], level, opt, 1)) {
		fail("%s: socket", labels[i]);
		return -1;
	}
	addr[i].sin_family = AF_INET;
	if (i == LSN2)
		addr[i].sin_port = addr[LSN1].sin_port;
	inet_pton(AF_INET, ip, &addr[i].sin_addr);
	if (bind(sk[i], (struct sockaddr *)&addr[i], sizeof(addr[i])) ||
	    getsockname(sk[i], (struct sockaddr *)&addr[i], &len) || (type == SOCK_STREAM && listen(sk[i], 4))) {
		fail("%s: bind", labels[i]);
		return -1;
	}
	return 0;
}

static int setup(void)
{
	if (bind_one(LSN1, SOCK_STREAM, "127.0.0.1", SOL_SOCKET, SO_REUSEPORT) ||
	    bind_one(LSN2, SOCK_STREAM, "127.0.0.1", SOL_SOCKET, SO_REUSEPORT) ||
	    bind_one(FREE_TCP, SOCK_STREAM, "192.0.2.77", SOL_IP, IP_FREEBIND) ||
	    bind_one(FREE_UDP, SOCK_DGRAM, "192.0.2.78", SOL_IP, IP_FREEBIND))
		return -1;
	if (set_int(sk[LSN1], SOL_SOCKET, SO_REUSEPORT, 0) || set_int(sk[FREE_TCP], SOL_IP, IP_FREEBIND, 0) ||
	    set_int(sk[FREE_UDP], SOL_IP, IP_FREEBIND, 0)) {
		fail("clearing the options");
		return -1;
	}
	return 0;
}

static int check_state(void)
{
	static const int reuseport[NR_SK] = { 0, 1, 0, 0 };

	for (int i = 0; i < NR_SK; i++) {
		struct sockaddr_in a;
		socklen_t len = sizeof(a);

		if (getsockname(sk[i], (struct sockaddr *)&a, &len) || a.sin_port != addr[i].sin_port ||
		    a.sin_addr.s_addr != addr[i].sin_addr.s_addr) {
			fail("%s: its name changed", labels[i]);
			return -1;
		}
		if (get_int(sk[i], SOL_SOCKET, SO_REUSEPORT) != reuseport[i]) {
			fail("%s: SO_REUSEPORT is %d", labels[i], get_int(sk[i], SOL_SOCKET, SO_REUSEPORT));
			return -1;
		}
		if (get_int(sk[i], SOL_IP, IP_FREEBIND) != 0) {
			fail("%s: IP_FREEBIND is set", labels[i]);
			return -1;
		}
		if (i != FREE_UDP && get_int(sk[i], SOL_SOCKET, SO_ACCEPTCONN) != 1) {
			fail("%s: not listening", labels[i]);
			return -1;
		}
	}
	return 0;
}

/* A client reaches one of the two listeners and talks to it. */
static int check_listeners(void)
{
	struct pollfd pfd[2] = { { .fd = sk[LSN1], .events = POLLIN }, { .fd = sk[LSN2], .events = POLLIN } };
	int cli, acc;
	char buf[8];

	cli = socket(AF_INET, SOCK_STREAM, 0);
	if (cli < 0 || connect(cli, (struct sockaddr *)&addr[LSN1], sizeof(addr[LSN1]))) {
		fail("connect to the shared port");
		return -1;
	}
	if (poll(pfd, 2, 5000) <= 0) {
		fail("no listener got the connection");
		return -1;
	}
	acc = accept(pfd[0].revents ? sk[LSN1] : sk[LSN2], NULL, NULL);
	if (acc < 0 || send(cli, "ping", 4, 0) != 4 || recv(acc, buf, sizeof(buf), 0) != 4 || memcmp(buf, "ping", 4)) {
		fail("data through the shared port");
		return -1;
	}
	close(acc);
	close(cli);
	return 0;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	if (setup())
		return 1;

	test_daemon();
	test_waitsig();

	if (check_state() || check_listeners())
		return 1;
	pass();
	return 0;
}
