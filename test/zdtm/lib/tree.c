/*
 * tree.c: checks for tests of a process tree (see tree.h).
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tree.h"
#include "zdtmtst.h"

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

pid_t tree_fork(void)
{
	pid_t pid = fork();

	if (pid < 0)
		fail("fork");
	else if (pid == 0)
		test_forked();
	return pid;
}

bool tree_end_child(pid_t child, int sig, const char *who)
{
	int status = -1;

	if ((sig && kill(child, sig)) || waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		fail("the %s ended with status %#x", who, status);
		return false;
	}
	return true;
}
