/*
 * sk-unix-scm_refuse_ng: a unix socket in flight in its own queue
 * (SCM_RIGHTS): a cycle of sockets in flight, which can't be restored. The
 * dump must be refused, naming the socket, and the process runs on with its
 * queue untouched: the socket received is the socket itself.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scm.h"
#include "zdtmtst.h"

int main(int argc, char **argv)
{
	int sk[2], got;

	test_init(argc, argv);
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sk) || scm_send(sk[0], "itself", &sk[1], 1)) {
		fail("socketpair or sendmsg");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (scm_recv(sk[1], "itself", &got, 1))
		return 1;
	if (!scm_same_file(got, sk[1])) {
		fail("the socket in flight in its own queue is not itself");
		return 1;
	}
	pass();
	return 0;
}
