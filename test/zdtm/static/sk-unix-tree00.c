/*
 * sk-unix-tree00: unix socket pairs whose ends are in two processes of a tree,
 * as nginx's master and workers hold their channels. A stream pair split
 * between parent and child (each closed the other's end), with bytes queued
 * both ways; and a seqpacket pair both of whose ends both processes hold
 * (inherited by fork), with a message queued. After restore the queued bytes
 * come out in order on the right side, new messages cross between the two
 * processes, and the child's ends are its parent's (same inodes).
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tree.h"
#include "zdtmtst.h"

#define TO_CHILD "queued for the child"
#define TO_PARENT "queued for the parent"
#define PACKET "a packet for whoever reads"

static bool read_is(int fd, const char *want)
{
	char buf[128] = { 0 };
	size_t len = strlen(want);

	return recv(fd, buf, sizeof(buf) - 1, MSG_WAITALL | MSG_DONTWAIT) == (ssize_t)len && !memcmp(buf, want, len);
}

static int child_main(int st, const int *sq, pid_t parent)
{
	int before = tree_nr_fds();

	test_waitsig();
	if (tree_nr_fds() != before) {
		fail("the child holds %d fds after restore, %d before", tree_nr_fds(), before);
		return 1;
	}
	if (!tree_same_file(sq[0], parent, sq[0]) || !tree_same_file(sq[1], parent, sq[1])) {
		fail("the child's seqpacket ends are not its parent's");
		return 1;
	}
	if (!read_is(st, TO_CHILD)) {
		fail("the child did not read what was queued for it");
		return 1;
	}
	if (send(st, "c", 1, 0) != 1 || send(sq[1], "k", 1, 0) != 1) {
		fail("the child can't send to its parent");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int st[2], sq[2], status, ready[2], nfds;
	pid_t child;
	char c;

	test_init(argc, argv);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, st) || socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sq) || pipe(ready)) {
		fail("can't set the pairs up");
		return 1;
	}
	child = fork();
	if (child < 0) {
		fail("fork");
		return 1;
	}
	if (child == 0) {
		pid_t parent = getppid();

		test_forked();
		close(ready[0]);
		close(st[0]);
		if (send(st[1], TO_PARENT, strlen(TO_PARENT), 0) != (ssize_t)strlen(TO_PARENT) ||
		    write(ready[1], "R", 1) != 1)
			_exit(2);
		close(ready[1]);
		_exit(child_main(st[1], sq, parent));
	}
	close(ready[1]);
	close(st[1]);
	if (read(ready[0], &c, 1) != 1 || send(st[0], TO_CHILD, strlen(TO_CHILD), 0) != (ssize_t)strlen(TO_CHILD) ||
	    send(sq[0], PACKET, strlen(PACKET), 0) != (ssize_t)strlen(PACKET)) {
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

	if (!read_is(st[0], TO_PARENT)) {
		fail("the parent did not read what was queued for it");
		return 1;
	}
	if (!read_is(sq[1], PACKET)) {
		fail("the queued packet is not on the shared seqpacket pair");
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
	if (!read_is(st[0], "c") || !read_is(sq[0], "k")) {
		fail("the parent did not get what the child sent after restore");
		return 1;
	}
	pass();
	return 0;
}
