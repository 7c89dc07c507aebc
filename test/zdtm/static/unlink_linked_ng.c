/*
 * unlink_linked_ng: a file removed from its path but linked elsewhere
 * (--link-remap). The file is created, linked at a second name, removed from
 * the first, then written (1000 bytes at an offset, the fd left there); a
 * second fd opens it read-only through the second name before it is removed
 * from there too and linked again at a third (so both fds' files are "deleted").
 * After restore both fds are on that same inode (the third name's), with the
 * contents, size, offsets and flags as before; neither old name exists again,
 * and no link of criu's is left in the directory.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#define SIZE 1000
#define OFFSET 123

static char *filename = "unlink_linked_ng.test";
TEST_OPTION(filename, TEST_OPT_STRING, "file to create, link and unlink", false);

static char second[256], third[256];

static int check_fd(int fd, const struct stat *want, off_t pos, int acc, const char *what)
{
	char buf[SIZE], exp[SIZE];
	struct stat st;

	memset(exp, 'z', sizeof(exp));
	if (fstat(fd, &st) || st.st_ino != want->st_ino || st.st_dev != want->st_dev || st.st_size != SIZE) {
		fail("%s: not the linked file (or its size changed)", what);
		return -1;
	}
	if (lseek(fd, 0, SEEK_CUR) != pos || (fcntl(fd, F_GETFL) & O_ACCMODE) != acc) {
		fail("%s: offset or access mode changed", what);
		return -1;
	}
	if (pread(fd, buf, SIZE, 0) != SIZE || memcmp(buf, exp, SIZE)) {
		fail("%s: contents changed", what);
		return -1;
	}
	return 0;
}

/* No name of criu's beside the test's files. */
static int check_dir(void)
{
	DIR *d = opendir(".");
	struct dirent *de;
	int ret = 0;

	if (!d) {
		fail("opendir");
		return -1;
	}
	while ((de = readdir(d)))
		if (strstr(de->d_name, "link_remap") || strstr(de->d_name, "criu-ghost")) {
			fail("%s is left in the directory", de->d_name);
			ret = -1;
		}
	closedir(d);
	return ret;
}

int main(int argc, char **argv)
{
	char buf[SIZE];
	struct stat st;
	int fd, ro;

	test_init(argc, argv);
	snprintf(second, sizeof(second), "%s.second", filename);
	snprintf(third, sizeof(third), "%s.third", filename);
	unlink(second);
	unlink(third);
	fd = open(filename, O_RDWR | O_CREAT | O_TRUNC, 0640);
	if (fd < 0 || link(filename, second) || unlink(filename)) {
		fail("create, link and unlink %s", filename);
		return 1;
	}
	memset(buf, 'z', sizeof(buf));
	if (write(fd, buf, SIZE) != SIZE || lseek(fd, OFFSET, SEEK_SET) != OFFSET) {
		fail("write");
		return 1;
	}
	ro = open(second, O_RDONLY);
	if (ro < 0 || link(second, third) || unlink(second) || stat(third, &st)) {
		fail("open %s, link it at %s and unlink it", second, third);
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (check_fd(fd, &st, OFFSET, O_RDWR, "read-write fd") || check_fd(ro, &st, 0, O_RDONLY, "read-only fd"))
		return 1;
	if (!access(filename, F_OK) || !access(second, F_OK)) {
		fail("a name the file was removed from is back");
		return 1;
	}
	if (check_dir())
		return 1;
	unlink(third);
	pass();
	return 0;
}
