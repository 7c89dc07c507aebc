/*
 * file_shared01: descriptions criu makes itself, shared by a parent and its
 * child (inherited by fork): a listening TCP socket and an eventfd. After
 * restore each is still one description for both: the child's fds are the
 * parent's (same inodes), both accept connections on the one listener (the
 * parent one, the child the next), and what the child adds to the eventfd the
 * parent reads (the counter both added to before the dump, plus the child's
 * add after it).
 */
#include <signal.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "inetsk.h"
#include "tree.h"
#include "zdtmtst.h"

#define BEFORE_CHILD 2
#define BEFORE_PARENT 3
#define AFTER_CHILD 1

/* Accepts one connection on @lfd and checks that it carries @byte. */
static int accept_one(int lfd, char byte)
{
	int fd = tsk_accept(lfd, 5000);
	char c;

	if (fd < 0)
		return -1;
	if (tsk_read_all(fd, &c, 1, 5000) || c != byte) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int connect_one(const struct tsk_addr *to, char byte)
{
	int fd = tsk_connect(TSK_INET4, to, 0);

	if (fd < 0)
		return -1;
	if (tsk_write_all(fd, &byte, 1, 5000)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int child_main(int lfd, int efd, pid_t parent)
{
	test_waitsig();
	if (!tree_same_file(lfd, parent, lfd) || !tree_same_file(efd, parent, efd)) {
		fail("the child's listener or eventfd is not its parent's");
		return 1;
	}
	if (accept_one(lfd, 'c')) {
		fail("the child can't accept on the shared listener");
		return 1;
	}
	if (eventfd_write(efd, AFTER_CHILD)) {
		fail("the child can't add to the shared eventfd");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int lfd, efd, status, ready[2], c1, c2;
	struct tsk_addr addr;
	eventfd_t v = 0;
	pid_t child;
	char c;

	test_init(argc, argv);
	lfd = tsk_listener(TSK_INET4, 8, 0);
	efd = eventfd(0, 0);
	if (lfd < 0 || efd < 0 || tsk_sockname(lfd, &addr) || pipe(ready)) {
		fail("can't set the listener and the eventfd up");
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
		if (eventfd_write(efd, BEFORE_CHILD) || write(ready[1], "R", 1) != 1)
			_exit(2);
		close(ready[1]);
		_exit(child_main(lfd, efd, parent));
	}
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1 || eventfd_write(efd, BEFORE_PARENT)) {
		fail("the child did not get ready");
		return 1;
	}
	close(ready[0]);

	test_daemon();
	test_waitsig();

	/* The parent accepts the first connection itself, the child the second. */
	c1 = connect_one(&addr, 'p');
	if (c1 < 0 || accept_one(lfd, 'p')) {
		fail("the parent can't accept on the shared listener");
		return 1;
	}
	c2 = connect_one(&addr, 'c');
	if (c2 < 0 || kill(child, SIGTERM) || waitpid(child, &status, 0) != child) {
		fail("can't connect for the child or end it");
		return 1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fail("the child ended with status %#x", status);
		return 1;
	}
	if (eventfd_read(efd, &v) || v != BEFORE_CHILD + BEFORE_PARENT + AFTER_CHILD) {
		fail("the shared eventfd reads %llu, expected %d", (unsigned long long)v,
		     BEFORE_CHILD + BEFORE_PARENT + AFTER_CHILD);
		return 1;
	}
	close(c1);
	close(c2);
	pass();
	return 0;
}
