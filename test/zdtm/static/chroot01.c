/*
 * chroot01: a root directory that was removed stays the process's root. The
 * test makes a directory, moves into it, removes it (rmdir by its full path)
 * and chroots into it, so that its root and cwd are one removed directory
 * (its outfile was opened before). After the restore / and . must still be
 * that one directory, removed (no link left), of the mode it had, and closed:
 * "/.." is "/".
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#define MODE 0715

static char *dirname = "chroot01.root";
TEST_OPTION(dirname, TEST_OPT_STRING, "directory to chroot into, once removed", false);

int main(int argc, char **argv)
{
	char path[PATH_MAX];

	test_init(argc, argv);
	if (test_enter_dir(dirname, MODE, path, sizeof(path)))
		return 1;
	if (rmdir(path) || chroot(".")) {
		fail("rmdir %s or chroot into it", path);
		return 1;
	}

	test_daemon();
	test_waitsig();

	/* "/.." is "/": the root is closed */
	if (test_removed_dir("/", MODE, "/..") || test_removed_dir(".", MODE, "/"))
		return 1;
	pass();
	return 0;
}
