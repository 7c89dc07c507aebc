/*
 * file_locks00 (dumped and restored with --file-locks): the three kinds of
 * advisory lock a program takes. An exclusive flock() on one file; two POSIX
 * locks on another (a write lock on bytes 10-29, a read lock from 100 to the
 * end); an OFD write lock on bytes 0-4 of a third, through an fd that is
 * dup()ed so two fds share the locked description.
 *
 * After restore, /proc/self/fdinfo of each fd lists the same locks; a child
 * process (another owner) finds each lock held: its flock() and OFD lock
 * attempts fail with EWOULDBLOCK/EAGAIN, and F_GETLK on the POSIX ranges
 * names this process as the holder.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

static char *filename = "file_locks00.test";
TEST_OPTION(filename, TEST_OPT_STRING, "prefix of the locked files", false);

#define MAX_LINES 8

/* The lock lines of /proc/self/fdinfo/FD without the lock's ordinal and pid (which may change). */
static int lock_lines(int fd, char lines[MAX_LINES][128])
{
	char path[64], line[256];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (n < MAX_LINES && fgets(line, sizeof(line), f)) {
		char kind[16], mode[16], rw[16], start[24], end[24];

		if (sscanf(line, "lock: %*d: %15s %15s %15s %*d %*s %23s %23s", kind, mode, rw, start, end) == 5)
			snprintf(lines[n++], sizeof(lines[0]), "%s %s %s %s %s", kind, mode, rw, start, end);
	}
	fclose(f);
	return n;
}

/* In a child (another lock owner): 0 when every lock is seen held by @holder. */
static int check_from_child(const char *a, const char *b, const char *c, pid_t holder)
{
	struct flock w = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 15, .l_len = 1 };
	struct flock r = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 200, .l_len = 1 };
	struct flock o = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 5 };
	int fa = open(a, O_RDWR), fb = open(b, O_RDWR), fc = open(c, O_RDWR);

	if (fa < 0 || fb < 0 || fc < 0)
		return 1;
	if (flock(fa, LOCK_EX | LOCK_NB) == 0 || errno != EWOULDBLOCK)
		return 2;
	if (fcntl(fb, F_GETLK, &w) || w.l_type != F_WRLCK || w.l_pid != holder)
		return 3;
	if (fcntl(fb, F_GETLK, &r) || r.l_type != F_RDLCK || r.l_pid != holder)
		return 4;
	if (fcntl(fc, F_OFD_SETLK, &o) == 0 || (errno != EAGAIN && errno != EACCES))
		return 5;
	return 0;
}

int main(int argc, char **argv)
{
	char a[256], b[256], c[256], before[3][MAX_LINES][128], after[MAX_LINES][128];
	struct flock w = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 20 };
	struct flock r = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 100, .l_len = 0 };
	struct flock o = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 5 };
	int fd[3], dup_c, nb[3], status, ret = 0;
	pid_t child;

	test_init(argc, argv);
	snprintf(a, sizeof(a), "%s.flock", filename);
	snprintf(b, sizeof(b), "%s.posix", filename);
	snprintf(c, sizeof(c), "%s.ofd", filename);
	fd[0] = open(a, O_CREAT | O_RDWR, 0600);
	fd[1] = open(b, O_CREAT | O_RDWR, 0600);
	fd[2] = open(c, O_CREAT | O_RDWR, 0600);
	if (fd[0] < 0 || fd[1] < 0 || fd[2] < 0) {
		fail("open");
		return 1;
	}
	if (flock(fd[0], LOCK_EX) || fcntl(fd[1], F_SETLK, &w) || fcntl(fd[1], F_SETLK, &r) ||
	    fcntl(fd[2], F_OFD_SETLK, &o)) {
		fail("taking the locks");
		return 1;
	}
	dup_c = dup(fd[2]);
	for (int i = 0; i < 3; i++)
		nb[i] = lock_lines(fd[i], before[i]);

	test_daemon();
	test_waitsig();

	for (int i = 0; i < 3; i++) {
		int na = lock_lines(fd[i], after);

		int same = na == nb[i];

		for (int k = 0; same && k < na; k++)
			same = !strcmp(after[k], before[i][k]);
		if (!same) {
			fail("fd %d: %d lock(s) after restore, %d before (or they differ)", fd[i], na, nb[i]);
			ret = 1;
		}
	}
	if (lock_lines(dup_c, after) != nb[2]) {
		fail("the dup of the OFD-locked fd lost the lock");
		ret = 1;
	}
	child = fork();
	if (child == 0)
		_exit(check_from_child(a, b, c, getppid()));
	if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fail("another owner does not see the locks held (check %d)",
		     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		ret = 1;
	}
	unlink(a);
	unlink(b);
	unlink(c);
	if (!ret)
		pass();
	return ret;
}
