/*
 * flock_owner00: flock() locks come back held by the processes that took
 * them: the kernel shows the pid of the process that took a flock beside it
 * (/proc/PID/fdinfo, /proc/locks), and that must be the restored process, not
 * criu. The parent locks a file exclusively and its child inherits the open
 * file (one lock, shared); the child locks a file of its own shared. After
 * restore each lock is still held (another open file of the same file can't
 * take it) and names its owner.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "tree.h"
#include "zdtmtst.h"

#define FILE_PARENT "flock_owner00.parent"
#define FILE_CHILD "flock_owner00.child"

/* The pid that the flock lock on @fd of this process names, or -1 if it has none. */
static int flock_pid(int fd)
{
	char path[64], line[256], kind[16], adv[16], rw[16];
	int pid = -1, n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "lock: %*d: %15s %15s %15s %d", kind, adv, rw, &n) == 4 && !strcmp(kind, "FLOCK"))
			pid = n;
	fclose(f);
	return pid;
}

/* Whether a new open file of @name can't take a lock of @how (held by someone else). */
static bool held(const char *name, int how)
{
	int fd = open(name, O_RDONLY);
	bool busy;

	if (fd < 0)
		return false;
	busy = flock(fd, how | LOCK_NB) < 0;
	close(fd);
	return busy;
}

static bool check(const char *what, int fd, pid_t owner, const char *name, int how)
{
	int pid = flock_pid(fd);

	if (pid != owner) {
		fail("%s: its flock names pid %d, expected %d", what, pid, owner);
		return false;
	}
	if (!held(name, how)) {
		fail("%s: the lock is not held", what);
		return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	int fd, ready[2];
	pid_t child, parent;
	char c;

	test_init(argc, argv);
	fd = open(FILE_PARENT, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) || pipe(ready)) {
		fail("can't lock %s", FILE_PARENT);
		return 1;
	}
	parent = getpid();
	child = tree_fork();
	if (child < 0)
		return 1;
	if (child == 0) {
		int own = open(FILE_CHILD, O_RDWR | O_CREAT | O_TRUNC, 0600);

		if (own < 0 || flock(own, LOCK_SH | LOCK_NB) || write(ready[1], "R", 1) != 1)
			_exit(2);
		close(ready[0]);
		close(ready[1]);
		test_waitsig();
		if (!check("the child's own file", own, getpid(), FILE_CHILD, LOCK_EX) ||
		    !check("the inherited file, in the child", fd, parent, FILE_PARENT, LOCK_SH))
			_exit(1);
		_exit(0);
	}
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1) {
		fail("the child did not get ready");
		return 1;
	}
	close(ready[0]);

	test_daemon();
	test_waitsig();

	if (!check("the parent's file", fd, getpid(), FILE_PARENT, LOCK_SH) ||
	    !tree_end_child(child, SIGTERM, "the child"))
		return 1;
	unlink(FILE_PARENT);
	unlink(FILE_CHILD);
	pass();
	return 0;
}
