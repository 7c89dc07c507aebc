/*
 * file_lease_ng (dumped and restored with --file-locks): leases. A read lease
 * on a file opened read-only, a write lease on another opened write-only
 * (whose fd is dup()ed: the lease belongs to the open file description).
 *
 * After restore, F_GETLEASE gives the same lease on every fd, the fdinfo lock
 * lines are the same, and the write lease still works: a child's
 * non-blocking open of that file fails with EWOULDBLOCK (it starts breaking
 * the lease; SIGIO, the break notice, is ignored).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

static char *filename = "file_lease_ng.test";
TEST_OPTION(filename, TEST_OPT_STRING, "prefix of the leased files", false);

/* The lease lines of /proc/self/fdinfo/FD ("LEASE ACTIVE READ"), joined. */
static void lease_lines(int fd, char *out, size_t size)
{
	char path[64], line[256];
	size_t used = 0;
	FILE *f;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char kind[16], mode[16], rw[16];

		if (sscanf(line, "lock: %*d: %15s %15s %15s", kind, mode, rw) == 3 && used < size)
			used += snprintf(out + used, size - used, "%s %s %s;", kind, mode, rw);
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	char rd[256], wr[256], before[3][128], after[128];
	int fd[3], status, ret = 0;
	pid_t child;

	test_init(argc, argv);
	snprintf(rd, sizeof(rd), "%s.rd", filename);
	snprintf(wr, sizeof(wr), "%s.wr", filename);
	fd[0] = open(rd, O_CREAT | O_RDONLY, 0600);
	fd[1] = open(wr, O_CREAT | O_WRONLY, 0600);
	if (fd[0] < 0 || fd[1] < 0) {
		fail("open");
		return 1;
	}
	if (signal(SIGIO, SIG_IGN) == SIG_ERR || fcntl(fd[0], F_SETLEASE, F_RDLCK) ||
	    fcntl(fd[1], F_SETLEASE, F_WRLCK)) {
		fail("taking the leases");
		return 1;
	}
	fd[2] = dup(fd[1]);
	for (int i = 0; i < 3; i++)
		lease_lines(fd[i], before[i], sizeof(before[i]));
	if (!strstr(before[0], "LEASE ACTIVE READ") || !strstr(before[1], "LEASE ACTIVE WRITE")) {
		fail("unexpected lease lines before the dump: '%s' '%s'", before[0], before[1]);
		return 1;
	}

	test_daemon();
	test_waitsig();

	for (int i = 0; i < 3; i++) {
		int want = i ? F_WRLCK : F_RDLCK, got = fcntl(fd[i], F_GETLEASE);

		lease_lines(fd[i], after, sizeof(after));
		if (got != want || strcmp(after, before[i])) {
			fail("fd %d: lease %d (want %d), lines '%s' (before '%s')", fd[i], got, want, after, before[i]);
			ret = 1;
		}
	}
	child = fork();
	if (child == 0) {
		int fdc = open(wr, O_RDONLY | O_NONBLOCK);

		_exit(fdc < 0 && errno == EWOULDBLOCK ? 0 : 1);
	}
	if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fail("another process's open was not stopped by the write lease");
		ret = 1;
	}
	unlink(rd);
	unlink(wr);
	if (!ret)
		pass();
	return ret;
}
