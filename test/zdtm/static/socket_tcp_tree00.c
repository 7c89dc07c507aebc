/*
 * socket_tcp_tree00: TCP connections outside the root process, as nginx's
 * workers hold their clients' (--tcp-established). The child accepts a
 * connection from the parent on a listener of its own (the client end in the
 * parent, the server end in the child) and holds a connection of its own
 * (both ends in the child), each with bytes queued. After restore every
 * queued byte comes out, new bytes cross between the processes, and no
 * process holds more fds than before. Each process also has an epoll of its
 * own watching its end of the connection between them, which reports it
 * readable after restore.
 */
#include <dirent.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "inetsk.h"
#include "tree.h"
#include "zdtmtst.h"

/* An epoll of its own watching @fd, or -1. */
static int watch(int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0x5eed0000u + (unsigned int)fd };
	int ep = epoll_create1(0);

	if (ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
		close(ep);
		return -1;
	}
	return ep;
}

/* Whether epoll @ep reports @fd readable, with the data it was registered with. */
static bool reports(int ep, int fd)
{
	struct epoll_event ev;

	return epoll_wait(ep, &ev, 1, 5000) == 1 && (ev.events & EPOLLIN) &&
	       ev.data.u64 == 0x5eed0000u + (unsigned int)fd;
}

static bool read_is(int fd, const char *want)
{
	char buf[64] = { 0 };

	return !tsk_read_all(fd, buf, strlen(want), 5000) && !memcmp(buf, want, strlen(want));
}

static int child_main(int lfd, int wr)
{
	int own_l, own_c, own_s, srv, ep, before;

	own_l = tsk_listener(TSK_INET4, 4, 0);
	if (own_l < 0 || tsk_pair(own_l, TSK_INET4, 0, &own_c, &own_s))
		return 2;
	srv = tsk_accept(lfd, 5000);
	ep = srv < 0 ? -1 : watch(srv);
	if (ep < 0 || tsk_write_all(own_c, "own", 3, 5000) || tsk_write_all(srv, "to-parent", 9, 5000) ||
	    write(wr, "R", 1) != 1)
		return 2;
	close(wr);
	before = tree_nr_fds();
	test_waitsig();
	if (tree_nr_fds() != before) {
		fail("the child holds %d fds after restore, %d before", tree_nr_fds(), before);
		return 1;
	}
	if (!reports(ep, srv)) {
		fail("the child's epoll does not report its connection readable");
		return 1;
	}
	if (!read_is(own_s, "own") || !read_is(srv, "to-child")) {
		fail("the child did not read what was queued for it");
		return 1;
	}
	if (tsk_write_all(srv, "bye", 3, 5000)) {
		fail("the child can't send to its parent");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int lfd, cli, ep, status, ready[2], nfds;
	struct tsk_addr addr;
	pid_t child;
	char c;

	test_init(argc, argv);
	lfd = tsk_listener(TSK_INET4, 4, 0);
	if (lfd < 0 || tsk_sockname(lfd, &addr) || pipe(ready)) {
		fail("can't set the listener up");
		return 1;
	}
	child = fork();
	if (child < 0) {
		fail("fork");
		return 1;
	}
	if (child == 0) {
		test_forked();
		close(ready[0]);
		_exit(child_main(lfd, ready[1]));
	}
	close(ready[1]);
	close(lfd);
	cli = tsk_connect(TSK_INET4, &addr, 0);
	ep = cli < 0 ? -1 : watch(cli);
	if (ep < 0 || read(ready[0], &c, 1) != 1 || tsk_write_all(cli, "to-child", 8, 5000)) {
		fail("the child did not get ready");
		return 1;
	}
	close(ready[0]);

	test_daemon();
	nfds = tree_nr_fds();
	test_waitsig();
	if (tree_nr_fds() != nfds) {
		fail("the parent holds %d fds after restore, %d before", tree_nr_fds(), nfds);
		return 1;
	}
	if (!reports(ep, cli)) {
		fail("the parent's epoll does not report its connection readable");
		return 1;
	}
	if (!read_is(cli, "to-parent")) {
		fail("the parent did not read what the child queued");
		return 1;
	}
	if (kill(child, SIGTERM) || waitpid(child, &status, 0) != child) {
		fail("can't end the child");
		return 1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fail("the child ended with status %#x", status);
		return 1;
	}
	if (!read_is(cli, "bye")) {
		fail("the parent did not get what the child sent after restore");
		return 1;
	}
	pass();
	return 0;
}
