/*
 * sk-unix-scm_refuse_epoll_ng: an epoll instance in flight in a unix socket's
 * queue (SCM_RIGHTS) whose registration's fd number names another file now:
 * the eventfd registered under it lives on at another fd, and a pipe end took
 * its number. The tree's first process, which would register it again under
 * that number, can't: the dump must be refused, naming the socket and the
 * epoll, and the process runs on, the epoll received still watching the
 * eventfd.
 */
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "scm.h"
#include "zdtmtst.h"

int main(int argc, char **argv)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 7 };
	int sk[2], p[2], ep, efd, kept, got;
	uint64_t v = 1;

	test_init(argc, argv);
	ep = epoll_create1(0);
	efd = eventfd(0, 0);
	if (ep < 0 || efd < 0 || pipe(p) || epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) || (kept = dup(efd)) < 0 ||
	    dup2(p[0], efd) != efd || socketpair(AF_UNIX, SOCK_DGRAM, 0, sk) || scm_send(sk[0], "epoll", &ep, 1)) {
		fail("epoll, eventfd, pipe, dup2, socketpair or sendmsg");
		return 1;
	}
	close(ep);

	test_daemon();
	test_waitsig();

	if (scm_recv(sk[1], "epoll", &got, 1))
		return 1;
	if (write(kept, &v, sizeof(v)) != sizeof(v) || epoll_wait(got, &ev, 1, 1000) != 1 || ev.data.u64 != 7) {
		fail("the epoll in flight does not watch its eventfd");
		return 1;
	}
	pass();
	return 0;
}
