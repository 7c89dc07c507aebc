/*
 * chroot00: a process whose root is not / keeps it. The test prepares a
 * directory with a marker file, chroots into it (its outfile, stdout and
 * stderr, was opened before) and moves to its new /. After the restore its
 * root must be the same directory (same inode as before), still closed
 * ("/.." is "/", a file next to the directory out of reach), with the marker
 * file in it, its cwd still that / and the fd it opened inside still on the
 * marker.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#define MARKER "marker"
#define MARKER_TEXT "chroot00 marker\n"
#define OUTER "chroot00.outer" /* next to the new root: out of reach once in it */

static char *dirname = "chroot00.root";
TEST_OPTION(dirname, TEST_OPT_STRING, "directory to chroot into", false);

static int make_root(void)
{
	int fd;

	if (mkdir(dirname, 0755) && errno != EEXIST) {
		fail("mkdir %s", dirname);
		return -1;
	}
	fd = open(OUTER, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || close(fd)) {
		fail("can't create %s", OUTER);
		return -1;
	}
	if (chdir(dirname)) {
		fail("chdir %s", dirname);
		return -1;
	}
	fd = open(MARKER, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, MARKER_TEXT, strlen(MARKER_TEXT)) != (ssize_t)strlen(MARKER_TEXT) || close(fd)) {
		fail("can't write %s/%s", dirname, MARKER);
		return -1;
	}
	return 0;
}

/* True when @a and @b are the same file. */
static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev;
}

static int check_root(const struct stat *root_before)
{
	struct stat root, dotdot, cwd;
	char buf[64] = { 0 };
	int fd;

	if (stat("/", &root) || stat("/..", &dotdot) || stat(".", &cwd)) {
		fail("stat / or /.. or .");
		return -1;
	}
	if (!same_file(&root, root_before)) {
		fail("/ is inode %lu, expected %lu (the directory chrooted into)", (unsigned long)root.st_ino,
		     (unsigned long)root_before->st_ino);
		return -1;
	}
	if (!same_file(&dotdot, &root)) {
		fail("/.. is inode %lu, not / (%lu): the root is not closed", (unsigned long)dotdot.st_ino,
		     (unsigned long)root.st_ino);
		return -1;
	}
	if (!same_file(&cwd, &root)) {
		fail("cwd is inode %lu, expected / (%lu)", (unsigned long)cwd.st_ino, (unsigned long)root.st_ino);
		return -1;
	}
	fd = open("/" MARKER, O_RDONLY);
	if (fd < 0 || read(fd, buf, sizeof(buf) - 1) < 0 || close(fd) || strcmp(buf, MARKER_TEXT)) {
		fail("/%s is missing or holds \"%s\"", MARKER, buf);
		return -1;
	}
	if (!access("/" OUTER, F_OK) || !access("/../" OUTER, F_OK)) {
		fail("%s, outside the root, is reachable", OUTER);
		return -1;
	}
	return 0;
}

/* @fd, opened inside the new root, still reads the marker there. */
static int check_fd(int fd)
{
	struct stat a, b;
	char buf[64] = { 0 };

	if (fstat(fd, &a) || stat("/" MARKER, &b) || pread(fd, buf, sizeof(buf) - 1, 0) < 0) {
		fail("fstat, stat or pread of /%s", MARKER);
		return -1;
	}
	if (!same_file(&a, &b) || strcmp(buf, MARKER_TEXT)) {
		fail("fd %d is inode %lu holding \"%s\", not /%s (inode %lu)", fd, (unsigned long)a.st_ino, buf, MARKER,
		     (unsigned long)b.st_ino);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct stat root_before;
	int fd;

	test_init(argc, argv);
	if (make_root())
		return 1;
	if (stat(".", &root_before)) {
		fail("stat %s", dirname);
		return 1;
	}
	if (chroot(".")) {
		if (errno == EPERM)
			test_skip("chroot needs CAP_SYS_CHROOT");
		fail("chroot %s", dirname);
		return 1;
	}
	if (chdir("/")) {
		fail("chdir /");
		return 1;
	}
	if (check_root(&root_before))
		return 1;
	/* Opened from inside: criu sees its path from its own root. */
	fd = open("/" MARKER, O_RDONLY);
	if (fd < 0 || check_fd(fd)) {
		fail("open /%s", MARKER);
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (check_root(&root_before) || check_fd(fd))
		return 1;
	pass();
	return 0;
}
