/*
 * sk-unix-scm_refuse_tcp_ng: an established TCP connection in flight in a
 * unix socket's queue (SCM_RIGHTS), closed by the process since. criu rebuilds
 * connections after it refills the queues: the dump must be refused, naming
 * the socket, and the process runs on, the connection in flight still
 * carrying bytes once received.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "scm.h"
#include "zdtmtst.h"

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int sk[2], l, c, s, got;
	char buf[8];

	test_init(argc, argv);
	l = socket(AF_INET, SOCK_STREAM, 0);
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sk) || l < 0 || c < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(l, (struct sockaddr *)&a, &len) || listen(l, 1) ||
	    connect(c, (struct sockaddr *)&a, sizeof(a)) || (s = accept(l, NULL, NULL)) < 0) {
		fail("a connection on the loopback");
		return 1;
	}
	if (scm_send(sk[0], "conn", &s, 1)) {
		fail("sendmsg");
		return 1;
	}
	close(s);

	test_daemon();
	test_waitsig();

	if (scm_recv(sk[1], "conn", &got, 1))
		return 1;
	if (write(got, "x", 1) != 1 || read(c, buf, sizeof(buf)) != 1 || buf[0] != 'x') {
		fail("the connection in flight does not carry bytes");
		return 1;
	}
	pass();
	return 0;
}
