/*
 * nsfile01: a negative test. The process holds an fd on a network namespace it
 * does not live in (made by a child that unshared it and passed its fd back, the
 * child gone since): criu can't say which namespace to restore it as, so the
 * dump must fail naming the fd, and leave the process running with the fd still
 * on that namespace (the .desc flags it crfail).
 */
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

/* A child unshares a network namespace; the parent opens it through /proc while the child lives. */
static int other_netns(void)
{
	int go[2], ready[2], fd = -1, status;
	char path[64], c = 0;
	pid_t pid;

	if (pipe(go) || pipe(ready))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(go[1]);
		close(ready[0]);
		if (unshare(CLONE_NEWNET) || write(ready[1], &c, 1) != 1)
			_exit(1);
		_exit(read(go[0], &c, 1) == 1 ? 0 : 2);
	}
	close(go[0]);
	close(ready[1]);
	if (read(ready[0], &c, 1) == 1) {
		snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
		fd = open(path, O_RDONLY);
	}
	if (write(go[1], &c, 1) != 1 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	close(go[1]);
	close(ready[0]);
	return fd;
}

int main(int argc, char **argv)
{
	struct stat other, own;
	int fd;

	test_init(argc, argv);
	fd = other_netns();
	if (fd < 0) {
		fail("can't hold another network namespace");
		return 1;
	}
	if (fstat(fd, &other) || stat("/proc/self/ns/net", &own) || other.st_ino == own.st_ino) {
		fail("the fd is not on another network namespace");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (fstat(fd, &own) || own.st_ino != other.st_ino) {
		fail("fd %d no longer names the other network namespace", fd);
		return 1;
	}
	pass();
	return 0;
}
