/*
 * cwd00: the current working directory survives. The test moves into a
 * directory of its own before it is checkpointed.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

static char *dirname = "cwd00.test";
TEST_OPTION(dirname, TEST_OPT_STRING, "directory to move into", false);

int main(int argc, char **argv)
{
	char before[PATH_MAX], after[PATH_MAX];

	test_init(argc, argv);
	if (mkdir(dirname, 0700) && errno != EEXIST) {
		fail("mkdir %s", dirname);
		return 1;
	}
	if (chdir(dirname) || !getcwd(before, sizeof(before))) {
		fail("chdir to %s", dirname);
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (!getcwd(after, sizeof(after))) {
		fail("getcwd");
		return 1;
	}
	if (strcmp(before, after)) {
		fail("cwd is %s, expected %s", after, before);
		return 1;
	}
	pass();
	return 0;
}
