/*
 * fdt_shared01 (crfail): two siblings sharing one fd table that their parent
 * no longer shares (clone with CLONE_FILES twice, then unshare(CLONE_FILES)
 * in the parent). The restore can share a table only down the tree, as
 * CRIU's does, so the dump must refuse it (the .desc says crfail); the tree
 * runs on, and a file one sibling opens after SIGTERM is seen by the other,
 * not by the parent.
 */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tree.h"
#include "zdtmtst.h"

#define FD_A 200

static int ready_pipe[2], go_pipe[2];

static pid_t clone_files(void)
{
	return (pid_t)syscall(SYS_clone, CLONE_FILES | SIGCHLD, 0, NULL, NULL, 0);
}

/* a: once the parent has a table of its own, closes the launcher's fds in a's and b's; opens fd 200 at the end. */
static void __attribute__((noreturn)) run_a(void)
{
	char c;
	int fd;

	if (read(go_pipe[0], &c, 1) != 1)
		exit(1);
	test_forked();
	if (write(ready_pipe[1], "R", 1) != 1)
		exit(1);
	test_waitsig();
	fd = open("/dev/null", O_RDONLY);
	exit(fd < 0 || dup2(fd, FD_A) != FD_A);
}

/* b: waits, then checks it sees a's fd 200. */
static void __attribute__((noreturn)) run_b(void)
{
	if (write(ready_pipe[1], "R", 1) != 1)
		exit(1);
	test_waitsig();
	exit(fcntl(FD_A, F_GETFD) < 0);
}

int main(int argc, char **argv)
{
	pid_t a, b;
	char c;

	test_init(argc, argv);
	if (pipe(ready_pipe) || pipe(go_pipe)) {
		fail("pipe");
		return 1;
	}
	a = clone_files();
	if (a == 0)
		run_a();
	b = clone_files();
	if (b == 0)
		run_b();
	if (a < 0 || b < 0 || unshare(CLONE_FILES) || write(go_pipe[1], "G", 1) != 1) {
		fail("clone or unshare");
		return 1;
	}
	for (int i = 0; i < 2; i++)
		if (read(ready_pipe[0], &c, 1) != 1) {
			fail("a child did not get ready");
			return 1;
		}

	test_daemon();
	test_waitsig();

	if (!tree_end_child(a, SIGTERM, "child")) {
		fail("a did not end well");
		return 1;
	}
	if (!tree_end_child(b, SIGTERM, "child")) {
		fail("b does not see a's fd %d", FD_A);
		return 1;
	}
	if (fcntl(FD_A, F_GETFD) >= 0) {
		fail("the parent sees a's fd %d: it has a table of its own", FD_A);
		return 1;
	}
	pass();
	return 0;
}
