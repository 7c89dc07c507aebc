/*
 * sk-unix-scm_epoll_ng: an epoll instance with registrations in flight in a
 * unix socket's queue (SCM_RIGHTS), closed by the process since: it watches an
 * eventfd and one end of a pipe the process holds. After restore the epoll
 * received reports both under their data, and its fdinfo names them under the
 * process's fd numbers, as the kernel had them. The process holds no more fds
 * than before (criu's copy of the epoll, kept for the registrations, is gone).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "scm.h"
#include "tree.h"
#include "zdtmtst.h"

/* Whether /proc/self/fdinfo of epoll @ep has a registration under fd number @tfd. */
static int registered_at(int ep, int tfd)
{
	char path[64], line[256], want[32];
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", ep);
	snprintf(want, sizeof(want), "tfd: %8d ", tfd);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		found |= !strncmp(line, want, strlen(want));
	if (f)
		fclose(f);
	return found;
}

int main(int argc, char **argv)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 7 }, got_ev[2];
	int sk[2], p[2], ep, efd, got, n, nfds;
	uint64_t v = 1, seen = 0;

	test_init(argc, argv);
	ep = epoll_create1(0);
	efd = eventfd(0, 0);
	if (ep < 0 || efd < 0 || pipe(p) || epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &(struct epoll_event){ .events = EPOLLIN, .data.u64 = 9 }) ||
	    socketpair(AF_UNIX, SOCK_DGRAM, 0, sk) || scm_send(sk[0], "epoll", &ep, 1)) {
		fail("epoll, eventfd, pipe, socketpair or sendmsg");
		return 1;
	}
	close(ep);

	test_daemon();
	nfds = tree_nr_fds(); /* test_daemon() closed what it used */
	test_waitsig();

	if (tree_nr_fds() != nfds) {
		fail("the process holds %d fds after restore, %d before", tree_nr_fds(), nfds);
		return 1;
	}

	if (scm_recv(sk[1], "epoll", &got, 1))
		return 1;
	if (!registered_at(got, efd) || !registered_at(got, p[0])) {
		fail("the epoll in flight does not watch fds %d and %d under their numbers", efd, p[0]);
		return 1;
	}
	if (write(efd, &v, sizeof(v)) != sizeof(v) || write(p[1], "x", 1) != 1) {
		fail("write");
		return 1;
	}
	n = epoll_wait(got, got_ev, 2, 1000);
	for (int i = 0; i < n; i++)
		seen |= 1ull << got_ev[i].data.u64;
	if (n != 2 || seen != ((1ull << 7) | (1ull << 9))) {
		fail("the epoll in flight reported %d event(s), data mask %#llx", n, (unsigned long long)seen);
		return 1;
	}
	pass();
	return 0;
}
