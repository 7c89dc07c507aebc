/*
 * tree.c: checks for tests of a process tree (see tree.h).
 */
#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>

#include "tree.h"

bool tree_same_file(int fd, pid_t pid, int pfd)
{
	struct stat a, b;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, pfd);
	return !fstat(fd, &a) && !stat(path, &b) && a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

int tree_nr_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n - 1; /* not the directory's own fd */
}
