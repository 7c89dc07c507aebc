/*
 * fdt_shared00: processes sharing one fd table (clone with CLONE_FILES,
 * without CLONE_VM), down the tree:
 *   root ══ a ══ b      (══: clone(CLONE_FILES), one table)
 *           └── c       (a plain fork of a: a copy of the table)
 * Before the dump a opens a file at fd 100 (the root sees it) and c, forked
 * after, has its copy. After restore the root opens a file at fd 200, which a
 * and b must see; b opens one at fd 201, which the root must see once b ends;
 * c must see fd 100 but neither 200 nor 201; the table holds as many fds as
 * before (criu left none of its own in it).
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

#define FD_BEFORE 100
#define FD_ROOT 200
#define FD_B 201

static int ready_pipe[2];

/* A child in the caller's fd table: returns 0 in the child, as fork(). */
static pid_t clone_files(void)
{
	return (pid_t)syscall(SYS_clone, CLONE_FILES | SIGCHLD, 0, NULL, NULL, 0);
}

static bool is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static void ready(void)
{
	if (write(ready_pipe[1], "R", 1) != 1)
		exit(1);
}

/* c: its own copy of the table, taken after fd 100 was opened. */
static void __attribute__((noreturn)) run_c(void)
{
	int ret = 0;

	test_forked();
	ready();
	close(ready_pipe[0]);
	close(ready_pipe[1]);
	test_waitsig();
	if (!is_open(FD_BEFORE) || is_open(FD_ROOT) || is_open(FD_B)) {
		fail("c: fd %d %s, fd %d %s, fd %d %s", FD_BEFORE, is_open(FD_BEFORE) ? "open" : "closed", FD_ROOT,
		     is_open(FD_ROOT) ? "open" : "closed", FD_B, is_open(FD_B) ? "open" : "closed");
		ret = 1;
	}
	exit(ret);
}

/* b: opens fd 201 in the table once restored, after checking it sees the root's fd 200. */
static void __attribute__((noreturn)) run_b(void)
{
	int fd, ret = 0;

	ready();
	test_waitsig();
	if (!is_open(FD_BEFORE) || !is_open(FD_ROOT)) {
		fail("b: doesn't see fd %d or %d of the table", FD_BEFORE, FD_ROOT);
		ret = 1;
	}
	fd = open("/dev/null", O_RDONLY);
	if (fd < 0 || dup2(fd, FD_B) != FD_B) {
		fail("b: can't open fd %d", FD_B);
		ret = 1;
	}
	close(fd);
	exit(ret);
}

static void __attribute__((noreturn)) run_a(void)
{
	pid_t b, c;
	int fd, ret = 0;

	/* No test_forked(): the table is the root's, and so are the fds it would close. */
	fd = open("/dev/null", O_RDONLY);
	if (fd < 0 || dup2(fd, FD_BEFORE) != FD_BEFORE)
		exit(1);
	close(fd);
	b = clone_files();
	if (b == 0)
		run_b();
	c = fork();
	if (c == 0)
		run_c();
	if (b < 0 || c < 0)
		exit(1);
	ready();
	test_waitsig();
	if (!is_open(FD_ROOT)) {
		fail("a: doesn't see the root's fd %d", FD_ROOT);
		ret = 1;
	}
	if (!tree_end_child(b, SIGTERM, "child") || !tree_end_child(c, SIGTERM, "child")) {
		fail("a: b or c did not end well");
		ret = 1;
	}
	exit(ret);
}

int main(int argc, char **argv)
{
	int ret = 0, nr_fds, fd;
	pid_t a;
	char c;

	test_init(argc, argv);
	if (pipe(ready_pipe)) {
		fail("pipe");
		return 1;
	}
	a = clone_files();
	if (a < 0) {
		fail("clone");
		return 1;
	}
	if (a == 0)
		run_a();
	for (int i = 0; i < 3; i++)
		if (read(ready_pipe[0], &c, 1) != 1) {
			fail("a child did not get ready");
			return 1;
		}
	if (!is_open(FD_BEFORE)) {
		fail("the root doesn't see a's fd %d", FD_BEFORE);
		return 1;
	}

	test_daemon();
	nr_fds = tree_nr_fds(); /* test_daemon() closed the launcher's fds */
	test_waitsig();

	if (tree_nr_fds() != nr_fds) {
		fail("the table holds %d fds, %d before the dump", tree_nr_fds(), nr_fds);
		ret = 1;
	}
	fd = open("/dev/null", O_RDONLY);
	if (fd < 0 || dup2(fd, FD_ROOT) != FD_ROOT) {
		fail("can't open fd %d", FD_ROOT);
		return 1;
	}
	close(fd);
	if (!tree_end_child(a, SIGTERM, "child")) {
		fail("a did not end well");
		ret = 1;
	}
	if (!is_open(FD_B)) {
		fail("the root doesn't see b's fd %d", FD_B);
		ret = 1;
	}
	if (!ret)
		pass();
	return ret;
}
