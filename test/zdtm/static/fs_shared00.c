/*
 * fs_shared00: a parent and a child sharing their fs context (clone with
 * CLONE_FS, without CLONE_VM): cwd, root and umask are one for both. Before
 * the dump the root moves into d1, and forks c, a plain child with a copy.
 * After restore the root moves into d2 and sets umask 027, which a must see;
 * a moves into d3, which the root must see once a ends; c stays in d1 with
 * the umask it had.
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tree.h"
#include "zdtmtst.h"

static char dirs[3][PATH_MAX + 32];
static mode_t first_umask;
static int ready_pipe[2];

/* True when the cwd is @dir. */
static bool in_dir(const char *dir)
{
	struct stat a, b;

	return !stat(".", &a) && !stat(dir, &b) && a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

static void ready(void)
{
	if (write(ready_pipe[1], "R", 1) != 1)
		exit(1);
	close(ready_pipe[0]);
	close(ready_pipe[1]);
}

static void __attribute__((noreturn)) run_a(void)
{
	mode_t mask;

	test_forked();
	ready();
	test_waitsig();
	mask = umask(0);
	umask(mask);
	if (!in_dir(dirs[1]) || mask != 027) {
		fail("a: not in %s, or umask %#o, not 027: the fs context is not shared", dirs[1], mask);
		exit(1);
	}
	exit(chdir(dirs[2]) ? 1 : 0);
}

static void __attribute__((noreturn)) run_c(void)
{
	mode_t mask;

	test_forked();
	ready();
	test_waitsig();
	mask = umask(0);
	if (!in_dir(dirs[0]) || mask != first_umask) {
		fail("c: not in %s, or umask %#o, not %#o: its fs context is shared", dirs[0], mask, first_umask);
		exit(1);
	}
	exit(0);
}

int main(int argc, char **argv)
{
	char cwd[PATH_MAX], c;
	pid_t a, ch;
	int ret = 0;

	test_init(argc, argv);
	if (!getcwd(cwd, sizeof(cwd)) || pipe(ready_pipe)) {
		fail("getcwd or pipe");
		return 1;
	}
	for (int i = 0; i < 3; i++) {
		snprintf(dirs[i], sizeof(dirs[i]), "%s/fs_shared00.d%d", cwd, i + 1);
		if (mkdir(dirs[i], 0755) && errno != EEXIST) {
			fail("mkdir %s", dirs[i]);
			return 1;
		}
	}
	first_umask = 022;
	umask(first_umask);
	if (chdir(dirs[0])) {
		fail("chdir");
		return 1;
	}
	a = (pid_t)syscall(SYS_clone, CLONE_FS | SIGCHLD, 0, NULL, NULL, 0);
	if (a == 0)
		run_a();
	ch = fork();
	if (ch == 0)
		run_c();
	if (a < 0 || ch < 0) {
		fail("clone or fork");
		return 1;
	}
	for (int i = 0; i < 2; i++)
		if (read(ready_pipe[0], &c, 1) != 1) {
			fail("a child did not get ready");
			return 1;
		}
	close(ready_pipe[0]);
	close(ready_pipe[1]);

	test_daemon();
	test_waitsig();

	if (!in_dir(dirs[0])) {
		fail("not in %s after restore", dirs[0]);
		ret = 1;
	}
	if (chdir(dirs[1])) {
		fail("chdir");
		return 1;
	}
	umask(027);
	if (!tree_end_child(a, SIGTERM, "child")) {
		fail("a did not end well");
		ret = 1;
	}
	if (!in_dir(dirs[2])) {
		fail("the root is not in a's %s: the fs context is not shared", dirs[2]);
		ret = 1;
	}
	if (!tree_end_child(ch, SIGTERM, "child")) {
		fail("c did not end well");
		ret = 1;
	}
	if (!ret)
		pass();
	return ret;
}
