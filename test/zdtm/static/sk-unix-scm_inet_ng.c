/*
 * sk-unix-scm_inet_ng: inet sockets in flight in a unix socket's queue
 * (SCM_RIGHTS), as a listening socket passes from one server process to
 * another (systemd's socket activation, nginx's binary upgrade): a listening
 * TCP socket and a bound UDP socket, both closed by the process since. After
 * restore the listener received accepts a new connection to its port and
 * carries bytes both ways; the UDP socket receives a datagram sent to its port.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "scm.h"
#include "zdtmtst.h"

static int bound(int type, struct sockaddr_in *a)
{
	socklen_t len = sizeof(*a);
	int fd = socket(AF_INET, type, 0);

	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a->sin_port = 0;
	if (fd < 0 || bind(fd, (struct sockaddr *)a, sizeof(*a)) || getsockname(fd, (struct sockaddr *)a, &len) ||
	    (type == SOCK_STREAM && listen(fd, 4)))
		return -1;
	return fd;
}

static int check_inet(const int *got, const struct sockaddr_in *tcp, const struct sockaddr_in *udp)
{
	int c = socket(AF_INET, SOCK_STREAM, 0), u = socket(AF_INET, SOCK_DGRAM, 0), a;
	char buf[8];

	if (c < 0 || u < 0 || connect(c, (const struct sockaddr *)tcp, sizeof(*tcp))) {
		fail("can't connect to the listener's port %u", ntohs(tcp->sin_port));
		return -1;
	}
	a = accept(got[0], NULL, NULL);
	if (a < 0 || write(c, "ping", 4) != 4 || read(a, buf, sizeof(buf)) != 4 || memcmp(buf, "ping", 4) ||
	    write(a, "pong", 4) != 4 || read(c, buf, sizeof(buf)) != 4 || memcmp(buf, "pong", 4)) {
		fail("the listener in flight does not accept, or the connection does not carry bytes");
		return -1;
	}
	if (sendto(u, "udp", 3, 0, (const struct sockaddr *)udp, sizeof(*udp)) != 3 ||
	    recv(got[1], buf, sizeof(buf), 0) != 3 || memcmp(buf, "udp", 3)) {
		fail("the UDP socket in flight does not receive on its port %u", ntohs(udp->sin_port));
		return -1;
	}
	close(a);
	close(c);
	close(u);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in tcp, udp;
	int sk[2], fds[2], got[2];

	test_init(argc, argv);
	fds[0] = bound(SOCK_STREAM, &tcp);
	fds[1] = bound(SOCK_DGRAM, &udp);
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sk) || fds[0] < 0 || fds[1] < 0) {
		fail("socketpair, or a socket bound on the loopback");
		return 1;
	}
	if (scm_send(sk[0], "inet", fds, 2)) {
		fail("sendmsg");
		return 1;
	}
	close(fds[0]);
	close(fds[1]);

	test_daemon();
	test_waitsig();

	if (scm_recv(sk[1], "inet", got, 2) || check_inet(got, &tcp, &udp))
		return 1;
	pass();
	return 0;
}
