/*
 * epoll_tree00: an epoll instance shared by a parent and its child, as a
 * fork leaves it. The parent made it and registered its fds: a pipe's read
 * end with bytes in it, an eventfd with a count (each with its data); then it
 * forked. The child holds the instance and the eventfd, and closed its copy of
 * the read end (the registration is the parent's: the kernel keys it by the
 * file and the parent's fd number).
 *
 * After restore: both processes hold one instance (kcmp), which lists the two
 * registrations once each, with their events and data, and reports both
 * targets to either process; the child removes the eventfd's registration
 * through its own fd and the parent's epoll no longer reports it, so the
 * registrations are on the one instance; no fd more than before.
 */
#include <linux/kcmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tree.h"
#include "zdtmtst.h"

#define PIPE_DATA 0x1111
#define EFD_DATA 0x2222

/* The data of the events epoll @ep reports now, as a mask: 1 for the pipe, 2 for the eventfd, 4 other. */
static int ready(int ep)
{
	struct epoll_event evs[8];
	int n = epoll_wait(ep, evs, 8, 0), mask = 0;

	for (int i = 0; i < n; i++)
		mask |= evs[i].data.u64 == PIPE_DATA ? 1 : evs[i].data.u64 == EFD_DATA ? 2 : 4;
	return n < 0 ? -1 : mask;
}

/* How many registrations /proc/self/fdinfo lists for @ep. */
static int registrations(int ep)
{
	char path[64], line[256];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", ep);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += !strncmp(line, "tfd:", 4);
	fclose(f);
	return n;
}

static bool same_file(pid_t other, int fd, int ofd)
{
	return syscall(SYS_kcmp, getpid(), other, KCMP_FILE, fd, ofd) == 0;
}

static int child_main(int ep, int efd, pid_t parent)
{
	int nfds = tree_nr_fds();

	test_waitsig();
	if (tree_nr_fds() != nfds || !same_file(parent, ep, ep) || !same_file(parent, efd, efd)) {
		fail("the child holds %d fds (%d before), or not its parent's epoll and eventfd", tree_nr_fds(), nfds);
		return 1;
	}
	if (registrations(ep) != 2 || ready(ep) != 3) {
		fail("the child's epoll lists %d registrations and reports %#x", registrations(ep), ready(ep));
		return 1;
	}
	if (epoll_ctl(ep, EPOLL_CTL_DEL, efd, NULL)) {
		fail("the child can't remove the eventfd's registration");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int ep, efd, p[2], nfds;
	pid_t child;

	test_init(argc, argv);
	ep = epoll_create1(0);
	efd = eventfd(3, 0);
	if (ep < 0 || efd < 0 || pipe(p) || write(p[1], "x", 1) != 1) {
		fail("can't set up the epoll and its targets");
		return 1;
	}
	ev.data.u64 = PIPE_DATA;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev)) {
		fail("can't register the pipe");
		return 1;
	}
	ev.data.u64 = EFD_DATA;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev)) {
		fail("can't register the eventfd");
		return 1;
	}
	child = tree_fork();
	if (child < 0)
		return 1;
	if (child == 0) {
		pid_t parent = getppid();

		close(p[0]);
		close(p[1]);
		_exit(child_main(ep, efd, parent));
	}

	test_daemon();
	nfds = tree_nr_fds();
	test_waitsig();
	if (tree_nr_fds() != nfds || registrations(ep) != 2 || ready(ep) != 3) {
		fail("the parent holds %d fds (%d before), its epoll lists %d registrations and reports %#x",
		     tree_nr_fds(), nfds, registrations(ep), ready(ep));
		return 1;
	}
	if (!tree_end_child(child, SIGTERM, "child"))
		return 1;
	if (registrations(ep) != 1 || ready(ep) != 1) {
		fail("the child's removal did not reach the parent's epoll: %d registrations, reports %#x",
		     registrations(ep), ready(ep));
		return 1;
	}
	pass();
	return 0;
}
