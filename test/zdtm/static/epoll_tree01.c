/*
 * epoll_tree01 (crfail): an epoll instance shared by a parent and its child
 * (inherited by fork), to which the child added a registration of its own: a
 * pipe it made after the fork, under an fd number the parent does not have.
 * The kernel keys that registration by the child's file and fd number; the
 * restore registers every target of a shared instance in the first process
 * holding it, so it can't bring this one back: the dump must refuse the tree,
 * saying so, and leave it running. The parent's epoll still reports the
 * child's pipe, with its data, and the child still reads from it.
 */
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tree.h"
#include "zdtmtst.h"

#define CHILD_DATA 0x3333

int main(int argc, char **argv)
{
	struct epoll_event ev = { .events = EPOLLIN }, got;
	int ep, ready[2];
	pid_t child;
	char c;

	test_init(argc, argv);
	ep = epoll_create1(0);
	if (ep < 0 || pipe(ready)) {
		fail("can't make the epoll");
		return 1;
	}
	child = tree_fork();
	if (child < 0)
		return 1;
	if (child == 0) {
		int p[2];

		close(ready[0]);
		/* Its own pipe, above any fd number of the parent. */
		if (pipe(p) || dup2(p[0], 100) < 0 || dup2(p[1], 101) < 0)
			_exit(2);
		close(p[0]);
		close(p[1]);
		ev.data.u64 = CHILD_DATA;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, 100, &ev) || write(101, "c", 1) != 1 || write(ready[1], "R", 1) != 1)
			_exit(2);
		close(ready[1]);
		test_waitsig();
		_exit(read(100, &c, 1) == 1 && c == 'c' ? 0 : 3);
	}
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1) {
		fail("the child did not register its pipe");
		return 1;
	}
	close(ready[0]);

	test_daemon();
	test_waitsig();

	if (epoll_wait(ep, &got, 1, 0) != 1 || got.data.u64 != CHILD_DATA) {
		fail("the shared epoll does not report the child's pipe");
		return 1;
	}
	if (!tree_end_child(child, SIGTERM, "child"))
		return 1;
	pass();
	return 0;
}
