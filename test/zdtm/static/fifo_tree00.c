/*
 * fifo_tree00: named pipes between the processes of a tree. FIFO 1 is read by
 * the parent (opened non-blocking before the fork) and written by its child,
 * which opened it itself, bytes in it; FIFO 2 is one description opened O_RDWR
 * before the fork, both processes hold it, bytes in it too, made non-blocking
 * (by the child: the parent sees it).
 *
 * After restore: the fds are the FIFOs at their paths, the same in both
 * processes, no fd more than before; each FIFO's bytes come out once, exactly;
 * what the child writes after restore reaches its parent; once the child is
 * gone FIFO 1 has no writer left (no stray copy of the child's end).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tree.h"
#include "zdtmtst.h"

static char *filename = "fifo_tree00.test";
TEST_OPTION(filename, TEST_OPT_STRING, "prefix of the FIFOs to create", false);

#define IN_1 "queued in FIFO 1 by the child"
#define IN_2 "queued in the shared FIFO 2"
#define AFTER "sent after SIGTERM"

static bool is_fifo_at(int fd, const char *path)
{
	struct stat a, b;

	return !fstat(fd, &a) && !stat(path, &b) && S_ISFIFO(a.st_mode) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* @fd (non-blocking) holds exactly @want: read out, nothing after it. */
static bool read_exactly(int fd, const char *want)
{
	char buf[128] = { 0 };

	return read(fd, buf, sizeof(buf)) == (ssize_t)strlen(want) && !strcmp(buf, want) &&
	       read(fd, buf, sizeof(buf)) == -1 && errno == EAGAIN;
}

static int child_main(const char *path1, int shared, pid_t parent)
{
	int w, nfds;

	w = open(path1, O_WRONLY);
	if (w < 0 || write(w, IN_1, strlen(IN_1)) != (ssize_t)strlen(IN_1) ||
	    write(shared, IN_2, strlen(IN_2)) != (ssize_t)strlen(IN_2) || fcntl(shared, F_SETFL, O_NONBLOCK))
		return 2;
	nfds = tree_nr_fds();
	test_waitsig();
	if (tree_nr_fds() != nfds || !is_fifo_at(w, path1) || !tree_same_file(shared, parent, shared)) {
		fail("the child holds %d fds (%d before), or its FIFOs are not its parent's", tree_nr_fds(), nfds);
		return 1;
	}
	return write(w, AFTER, strlen(AFTER)) == (ssize_t)strlen(AFTER) ? 0 : 3;
}

int main(int argc, char **argv)
{
	char path1[256], path2[256], buf[64];
	int r, shared, nfds, tries;
	pid_t child;

	test_init(argc, argv);
	snprintf(path1, sizeof(path1), "%s.1", filename);
	snprintf(path2, sizeof(path2), "%s.2", filename);
	if (mkfifo(path1, 0600) || mkfifo(path2, 0600)) {
		fail("mkfifo");
		return 1;
	}
	r = open(path1, O_RDONLY | O_NONBLOCK);
	shared = open(path2, O_RDWR);
	if (r < 0 || shared < 0) {
		fail("can't open the FIFOs");
		return 1;
	}
	child = tree_fork();
	if (child < 0)
		return 1;
	if (child == 0) {
		pid_t parent = getppid();

		close(r);
		_exit(child_main(path1, shared, parent));
	}
	/* The child's bytes in both FIFOs (it makes FIFO 2 non-blocking last). */
	for (tries = 0; !(fcntl(shared, F_GETFL) & O_NONBLOCK) && tries < 5000; tries++)
		usleep(1000);

	test_daemon();
	nfds = tree_nr_fds();
	test_waitsig();
	if (tree_nr_fds() != nfds || !is_fifo_at(r, path1) || !is_fifo_at(shared, path2) ||
	    (fcntl(shared, F_GETFL) & O_ACCMODE) != O_RDWR) {
		fail("the parent holds %d fds (%d before), or its FIFOs are not at their paths", tree_nr_fds(), nfds);
		return 1;
	}
	if (!read_exactly(r, IN_1) || !read_exactly(shared, IN_2)) {
		fail("the bytes queued before the dump did not come back exactly once");
		return 1;
	}
	if (!tree_end_child(child, SIGTERM, "child"))
		return 1;
	/* The child gone: its message, then the end (no writer left). */
	memset(buf, 0, sizeof(buf));
	if (read(r, buf, sizeof(buf)) != (ssize_t)strlen(AFTER) || strcmp(buf, AFTER) ||
	    read(r, buf, sizeof(buf)) != 0) {
		fail("the child's message after SIGTERM did not arrive, or FIFO 1 still has a writer");
		return 1;
	}
	unlink(path1);
	unlink(path2);
	pass();
	return 0;
}
