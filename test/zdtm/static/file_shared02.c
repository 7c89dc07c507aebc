/*
 * file_shared02: an established TCP connection of the root process shared by
 * its child (inherited by fork), with --tcp-established. After restore the
 * child's fd is the parent's (same inode) and both use the one connection:
 * what the child sends on the server end the parent reads on the client end,
 * and then what the parent sends on the server end it reads there too.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "inetsk.h"
#include "tree.h"
#include "zdtmtst.h"

static int child_main(int srv, pid_t parent)
{
	test_waitsig();
	if (!tree_same_file(srv, parent, srv)) {
		fail("the child's connection is not its parent's");
		return 1;
	}
	if (tsk_write_all(srv, "c", 1, 5000)) {
		fail("the child can't send on the shared connection");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int lfd, cli, srv, status, ready[2];
	pid_t child;
	char c;

	test_init(argc, argv);
	lfd = tsk_listener(TSK_INET4, 4, 0);
	if (lfd < 0 || tsk_pair(lfd, TSK_INET4, 0, &cli, &srv) || pipe(ready)) {
		fail("can't set the connection up");
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
		if (write(ready[1], "R", 1) != 1)
			_exit(2);
		close(ready[1]);
		_exit(child_main(srv, parent));
	}
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1) {
		fail("the child did not get ready");
		return 1;
	}
	close(ready[0]);

	test_daemon();
	test_waitsig();

	if (kill(child, SIGTERM) || waitpid(child, &status, 0) != child) {
		fail("can't end the child");
		return 1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fail("the child ended with status %#x", status);
		return 1;
	}
	if (tsk_read_all(cli, &c, 1, 5000) || c != 'c') {
		fail("the parent did not read what the child sent");
		return 1;
	}
	if (tsk_write_all(srv, "p", 1, 5000) || tsk_read_all(cli, &c, 1, 5000) || c != 'p') {
		fail("the parent's own use of the connection failed");
		return 1;
	}
	pass();
	return 0;
}
