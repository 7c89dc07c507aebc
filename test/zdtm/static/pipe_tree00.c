/*
 * pipe_tree00 (crfail): a pipe between a parent and its child, the parent
 * holding the read end and the child the write end, with bytes in it. criu
 * does not restore pipes between processes yet, so the dump must refuse the
 * tree and fail (the .desc says crfail) rather than give each process a pipe
 * of its own; the tree runs on, and the child's bytes and a fresh message
 * still reach the parent through the pipe.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

#define BEFORE "queued before the dump"
#define AFTER "sent after SIGTERM"

int main(int argc, char **argv)
{
	char buf[64] = { 0 };
	int p[2], status;
	pid_t child;

	test_init(argc, argv);
	if (pipe(p)) {
		fail("pipe");
		return 1;
	}
	child = fork();
	if (child < 0) {
		fail("fork");
		return 1;
	}
	if (child == 0) {
		test_forked();
		close(p[0]);
		if (write(p[1], BEFORE, sizeof(BEFORE)) != sizeof(BEFORE))
			_exit(2);
		test_waitsig();
		_exit(write(p[1], AFTER, sizeof(AFTER)) == sizeof(AFTER) ? 0 : 3);
	}
	close(p[1]);

	test_daemon();
	test_waitsig();

	if (read(p[0], buf, sizeof(BEFORE)) != sizeof(BEFORE) || strcmp(buf, BEFORE)) {
		fail("the bytes queued before the dump: \"%s\"", buf);
		return 1;
	}
	if (kill(child, SIGTERM) || read(p[0], buf, sizeof(AFTER)) != sizeof(AFTER) || strcmp(buf, AFTER)) {
		fail("the child's message after SIGTERM: \"%s\"", buf);
		return 1;
	}
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fail("the child ended with status %#x", status);
		return 1;
	}
	pass();
	return 0;
}
