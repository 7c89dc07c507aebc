/*
 * epoll_closed_ng: epoll registrations whose fd number no longer names their
 * file. 40 pipes; the read end of each is registered in one epoll under its
 * own fd and in a second epoll under fd 900, dup'ed from it and closed before
 * the next (so the second holds 40 registrations under one number, each of
 * another file); an eventfd is registered in the second epoll under fd 901,
 * which then names a pipe's write end (dup2 over it). After restore each
 * write into a pipe wakes both epolls with that pipe's data word, the eventfd
 * wakes the second with its own, and fd 901 is still the write end.
 */
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NR_PIPES 40
#define DUP_FD 900
#define REUSED_FD 901
#define EFD_DATA 0xefd0efd0efdull

static int wait_one(int ep, uint64_t want, const char *what, int i)
{
	struct epoll_event ev;

	if (epoll_wait(ep, &ev, 1, 1000) != 1 || ev.data.u64 != want) {
		fail("%s %d: no event, or data %#llx instead of %#llx", what, i, (unsigned long long)ev.data.u64,
		     (unsigned long long)want);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int p[NR_PIPES][2], ep1, ep2, efd, wp[2];
	uint64_t one = 1;
	char c;

	test_init(argc, argv);
	ep1 = epoll_create1(0);
	ep2 = epoll_create1(0);
	efd = eventfd(0, 0);
	if (ep1 < 0 || ep2 < 0 || efd < 0 || pipe(wp)) {
		fail("epoll_create1, eventfd or pipe");
		return 1;
	}
	for (int i = 0; i < NR_PIPES; i++) {
		if (pipe(p[i])) {
			fail("pipe %d", i);
			return 1;
		}
		ev.data.u64 = (uint64_t)i;
		if (epoll_ctl(ep1, EPOLL_CTL_ADD, p[i][0], &ev) || dup2(p[i][0], DUP_FD) != DUP_FD ||
		    epoll_ctl(ep2, EPOLL_CTL_ADD, DUP_FD, &ev) || close(DUP_FD)) {
			fail("register pipe %d", i);
			return 1;
		}
	}
	ev.data.u64 = EFD_DATA;
	if (dup2(efd, REUSED_FD) != REUSED_FD || epoll_ctl(ep2, EPOLL_CTL_ADD, REUSED_FD, &ev) ||
	    dup2(wp[1], REUSED_FD) != REUSED_FD) {
		fail("register the eventfd under fd %d", REUSED_FD);
		return 1;
	}

	test_daemon();
	test_waitsig();

	for (int i = 0; i < NR_PIPES; i++) {
		if (write(p[i][1], "x", 1) != 1) {
			fail("write to pipe %d", i);
			return 1;
		}
		if (wait_one(ep1, (uint64_t)i, "epoll 1, pipe", i) || wait_one(ep2, (uint64_t)i, "epoll 2, pipe", i))
			return 1;
		if (read(p[i][0], &c, 1) != 1) {
			fail("read pipe %d", i);
			return 1;
		}
	}
	if (write(efd, &one, sizeof(one)) != sizeof(one) || wait_one(ep2, EFD_DATA, "epoll 2, eventfd", 0))
		return 1;
	if (write(REUSED_FD, "w", 1) != 1 || read(wp[0], &c, 1) != 1 || c != 'w') {
		fail("fd %d is no longer the write end of the pipe", REUSED_FD);
		return 1;
	}
	pass();
	return 0;
}
