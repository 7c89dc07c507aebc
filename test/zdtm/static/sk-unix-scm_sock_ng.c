/*
 * sk-unix-scm_sock_ng: unix sockets in flight in a unix socket's queue
 * (SCM_RIGHTS). One end of a seqpacket pair, closed by the process since, is
 * in flight with a queue of its own: a message without files, then one
 * carrying the read end of a pipe (closed too: a file in flight in a socket in
 * flight). The same datagram carries the other end, which the process still
 * holds. After restore the end received reads its queue in order, the pipe end
 * reads what the process writes to the pipe, the held end and its copy
 * received are one socket, and the received end talks with its peer both ways.
 */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "scm.h"
#include "zdtmtst.h"

static int check_sock(int peer, int p1, const int *got)
{
	int pr = -1;
	char buf[16];

	if (!scm_same_file(peer, got[1])) {
		fail("the held end and its copy in flight are not one socket");
		return -1;
	}
	if (scm_recv(got[0], "queued first", NULL, 0) || scm_recv(got[0], "with a pipe", &pr, 1))
		return -1;
	if (write(p1, "pipe", 4) != 4 || read(pr, buf, sizeof(buf)) != 4 || memcmp(buf, "pipe", 4)) {
		fail("the pipe end in flight in the socket in flight is not the pipe's");
		return -1;
	}
	if (write(got[0], "hello", 5) != 5 || read(peer, buf, sizeof(buf)) != 5 || memcmp(buf, "hello", 5) ||
	    write(peer, "back", 4) != 4 || read(got[0], buf, sizeof(buf)) != 4 || memcmp(buf, "back", 4)) {
		fail("the socket in flight does not talk with its peer");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int carrier[2], sp[2], p[2], got[2];

	test_init(argc, argv);
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, carrier) || socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp) || pipe(p)) {
		fail("socketpair or pipe");
		return 1;
	}
	if (scm_send(sp[0], "queued first", NULL, 0) || scm_send(sp[0], "with a pipe", &p[0], 1) ||
	    scm_send(carrier[0], "sockets", (int[]){ sp[1], sp[0] }, 2)) {
		fail("sendmsg");
		return 1;
	}
	close(p[0]);
	close(sp[1]);

	test_daemon();
	test_waitsig();

	if (scm_recv(carrier[1], "sockets", got, 2) || check_sock(sp[0], p[1], got))
		return 1;
	pass();
	return 0;
}
