/*
 * dirs.c: checks on directories (see zdtmtst.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

int test_enter_dir(const char *dir, unsigned int mode, char *path, size_t len)
{
	if (mkdir(dir, mode) && errno != EEXIST) {
		fail("mkdir %s", dir);
		return -1;
	}
	if (chmod(dir, mode) || chdir(dir) || !getcwd(path, len)) {
		fail("chmod or chdir %s", dir);
		return -1;
	}
	return 0;
}

int test_removed_dir(const char *path, unsigned int mode, const char *same)
{
	char file[PATH_MAX];
	struct stat st, other;

	if (stat(path, &st) || (same && stat(same, &other))) {
		fail("stat %s or %s", path, same ? same : "-");
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || st.st_nlink || (st.st_mode & 07777) != mode) {
		fail("%s has mode %o and %lu links, expected a removed directory of mode %o", path, st.st_mode,
		     (unsigned long)st.st_nlink, mode);
		return -1;
	}
	if (same && (other.st_dev != st.st_dev || other.st_ino != st.st_ino)) {
		fail("%s is inode %lu, %s inode %lu: expected one directory", path, (unsigned long)st.st_ino, same,
		     (unsigned long)other.st_ino);
		return -1;
	}
	snprintf(file, sizeof(file), "%s/new-file", path);
	if (open(file, O_WRONLY | O_CREAT | O_EXCL, 0600) >= 0 || errno != ENOENT) {
		fail("%s could be created in the removed directory (errno %d)", file, errno);
		return -1;
	}
	return 0;
}
