/*
 * pipe_tree00: a pipe between a parent and its child, as a shell's `a | b`
 * leaves it: the parent made it and forked, the parent holds the read end and
 * the child the write end, with bytes in it; and a second pipe both of whose
 * ends both processes hold (inherited by fork), its read end non-blocking (one
 * description: set in the parent, seen by the child), made larger with
 * F_SETPIPE_SZ, bytes in it too.
 *
 * After restore: both processes hold the same pipes as each other (same
 * inodes), no fd more than before; the queued bytes come out once, exactly
 * (nothing after them); the flags and size are kept; and what the child writes
 * after restore reaches its parent through the split pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tree.h"
#include "zdtmtst.h"

#define BEFORE "queued before the dump"
#define SHARED "queued in the shared pipe"
#define AFTER "sent after SIGTERM"
#define SHARED_SIZE (256 * 1024)

/* The pipe behind @fd holds exactly @want, which this reads out. */
static bool read_exactly(int fd, const char *want)
{
	char buf[128] = { 0 };
	int queued = -1;

	if (ioctl(fd, FIONREAD, &queued) || queued != (int)strlen(want) + 1)
		return false;
	return read(fd, buf, sizeof(buf)) == (ssize_t)strlen(want) + 1 && !strcmp(buf, want);
}

/* The shared pipe as dumped: non-blocking read end, its size, the same pipe as the other process's. */
static bool shared_pipe_kept(const int *sp, pid_t other)
{
	return (fcntl(sp[0], F_GETFL) & O_NONBLOCK) && !(fcntl(sp[1], F_GETFL) & O_NONBLOCK) &&
	       fcntl(sp[0], F_GETPIPE_SZ) == SHARED_SIZE && tree_same_file(sp[0], other, sp[0]) &&
	       tree_same_file(sp[1], other, sp[1]);
}

static int child_main(int w, int parent_r, const int *sp, pid_t parent)
{
	int before = tree_nr_fds();

	test_waitsig();
	if (tree_nr_fds() != before) {
		fail("the child holds %d fds after restore, %d before", tree_nr_fds(), before);
		return 1;
	}
	if (!tree_same_file(w, parent, parent_r) || !shared_pipe_kept(sp, parent)) {
		fail("the child's pipes are not its parent's, or lost their flags or size");
		return 1;
	}
	return write(w, AFTER, sizeof(AFTER)) == sizeof(AFTER) ? 0 : 3;
}

int main(int argc, char **argv)
{
	char buf[64] = { 0 };
	int p[2], sp[2], nfds;
	pid_t child;

	test_init(argc, argv);
	if (pipe(p) || pipe(sp) || fcntl(sp[0], F_SETFL, O_NONBLOCK) ||
	    fcntl(sp[1], F_SETPIPE_SZ, SHARED_SIZE) != SHARED_SIZE) {
		fail("can't set the pipes up");
		return 1;
	}
	child = tree_fork();
	if (child < 0)
		return 1;
	if (child == 0) {
		pid_t parent = getppid();

		close(p[0]);
		if (write(p[1], BEFORE, sizeof(BEFORE)) != sizeof(BEFORE) ||
		    write(sp[1], SHARED, sizeof(SHARED)) != sizeof(SHARED))
			_exit(2);
		_exit(child_main(p[1], p[0], sp, parent));
	}
	close(p[1]);
	/* The child's bytes are in before the dump. */
	for (int queued = 0, i = 0; queued < (int)sizeof(SHARED) && i < 5000; i++) {
		if (ioctl(sp[0], FIONREAD, &queued)) {
			fail("FIONREAD");
			return 1;
		}
		usleep(1000);
	}

	test_daemon();
	nfds = tree_nr_fds();
	test_waitsig();
	if (tree_nr_fds() != nfds) {
		fail("the parent holds %d fds after restore, %d before", tree_nr_fds(), nfds);
		return 1;
	}
	if (!shared_pipe_kept(sp, child)) {
		fail("the shared pipe is not the child's, or lost its flags or size");
		return 1;
	}
	if (!read_exactly(p[0], BEFORE) || !read_exactly(sp[0], SHARED)) {
		fail("the bytes queued before the dump did not come back exactly once");
		return 1;
	}
	if (read(sp[0], buf, sizeof(buf)) != -1 || errno != EAGAIN) {
		fail("the shared pipe holds more than was queued, or its read end blocks");
		return 1;
	}
	if (kill(child, SIGTERM) || read(p[0], buf, sizeof(AFTER)) != sizeof(AFTER) || strcmp(buf, AFTER)) {
		fail("the child's message after SIGTERM: \"%s\"", buf);
		return 1;
	}
	if (!tree_end_child(child, 0, "child"))
		return 1;
	/* The child gone, no writer is left: no stray copy of the write end in either process. */
	if (fcntl(p[0], F_SETFL, O_NONBLOCK) || read(p[0], buf, sizeof(buf)) != 0) {
		fail("the split pipe still has a writer after the child ended");
		return 1;
	}
	pass();
	return 0;
}
