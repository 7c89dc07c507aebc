/*
 * file_shared00: an open file description shared by a parent and its child
 * (inherited by fork) stays one description after restore: an lseek in the
 * parent moves the child's offset too. The child's own open of the same file,
 * a description of its own, keeps its offset.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define FILE_NAME "file_shared00.data"

int main(int argc, char **argv)
{
	char buf[4096] = { 0 };
	int fd, status, ready[2];
	pid_t child;
	char c;

	test_init(argc, argv);
	fd = open(FILE_NAME, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, buf, sizeof(buf)) != sizeof(buf) || lseek(fd, 10, SEEK_SET) != 10 || pipe(ready)) {
		fail("can't set the file up");
		return 1;
	}
	child = fork();
	if (child < 0) {
		fail("fork");
		return 1;
	}
	if (child == 0) {
		int own;

		test_forked();
		own = open(FILE_NAME, O_RDONLY);
		if (own < 0 || lseek(own, 7, SEEK_SET) != 7 || write(ready[1], "R", 1) != 1)
			_exit(2);
		close(ready[0]);
		close(ready[1]);
		test_waitsig();
		if (lseek(fd, 0, SEEK_CUR) != 1000) {
			fail("the child's offset of the shared file is %lld, expected 1000",
			     (long long)lseek(fd, 0, SEEK_CUR));
			_exit(1);
		}
		if (lseek(own, 0, SEEK_CUR) != 7) {
			fail("the child's own open file moved to %lld", (long long)lseek(own, 0, SEEK_CUR));
			_exit(1);
		}
		_exit(0);
	}
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1) {
		fail("the child did not get ready");
		return 1;
	}
	close(ready[0]);

	test_daemon();
	test_waitsig();

	if (lseek(fd, 0, SEEK_CUR) != 10) {
		fail("the offset is %lld, expected 10", (long long)lseek(fd, 0, SEEK_CUR));
		return 1;
	}
	if (lseek(fd, 1000, SEEK_SET) != 1000 || kill(child, SIGTERM) || waitpid(child, &status, 0) != child) {
		fail("can't end the child");
		return 1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fail("the child ended with status %#x", status);
		return 1;
	}
	unlink(FILE_NAME);
	pass();
	return 0;
}
