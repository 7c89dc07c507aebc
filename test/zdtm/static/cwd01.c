/*
 * cwd01: a working directory that was removed stays the process's working
 * directory. The test makes a directory, moves into it, opens an fd on it and
 * removes it (rmdir by its full path). After the restore its cwd and the fd
 * must be one directory, removed (no link left, nothing at the old path),
 * with the mode it had; the kernel names it "PATH (deleted)" as before, and a
 * file can't be created in it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#define MODE 0751

static char *dirname = "cwd01.test";
TEST_OPTION(dirname, TEST_OPT_STRING, "directory to move into, then remove", false);

static int cwd_link(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/cwd", buf, len - 1);

	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

static int check(const char *path, const char *link_before, int fd)
{
	char link[PATH_MAX + 16], fd_path[64];

	snprintf(fd_path, sizeof(fd_path), "/proc/self/fd/%d/", fd);
	if (test_removed_dir(".", MODE, fd_path))
		return -1;
	if (cwd_link(link, sizeof(link)) || strcmp(link, link_before)) {
		fail("/proc/self/cwd is \"%s\", expected \"%s\"", link, link_before);
		return -1;
	}
	if (!access(path, F_OK) || errno != ENOENT) {
		fail("%s exists again after the restore", path);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char path[PATH_MAX], link_before[PATH_MAX + 16];
	int fd;

	test_init(argc, argv);
	if (test_enter_dir(dirname, MODE, path, sizeof(path)))
		return 1;
	fd = open(".", O_RDONLY | O_DIRECTORY);
	if (fd < 0 || rmdir(path)) {
		fail("open or rmdir %s", path);
		return 1;
	}
	if (cwd_link(link_before, sizeof(link_before))) {
		fail("readlink /proc/self/cwd");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (check(path, link_before, fd))
		return 1;
	pass();
	return 0;
}
