/*
 * pipe01: several pipes in the shapes a process leaves them in.
 *  - A: both ends; the read end dup()ed, the write end dup2()ed to a high fd,
 *    bytes queued. Afterwards each pair of fds still shares its description
 *    (a flag set through one shows through the other).
 *  - B: the write end closed, bytes queued: they read back, then end of file.
 *  - C: the read end closed: a write fails with EPIPE.
 *  - D: only the write end held, bytes queued, and two more descriptions of
 *    the pipe opened through /proc/self/fd: one O_RDONLY, one O_RDWR. The
 *    bytes are read back through the first, and the three still share the
 *    pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtmtst.h"

#define HIGH_FD 100
#define MSG_A "queued in pipe A"
#define MSG_B "queued in pipe B, whose writer is gone"
#define MSG_D "queued in pipe D through its only write end"

static int reopen(int fd, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, flags);
}

static int check_read(int fd, const char *want, const char *what)
{
	char buf[128] = "";
	size_t len = strlen(want);

	if (read(fd, buf, sizeof(buf)) != (ssize_t)len || memcmp(buf, want, len)) {
		fail("%s: read \"%s\", expected \"%s\"", what, buf, want);
		return -1;
	}
	return 0;
}

/* Whether @a and @b are one description: O_NONBLOCK set through @a shows on @b. */
static int check_shared(int a, int b, const char *what)
{
	int fa = fcntl(a, F_GETFL);

	if (fa < 0 || fcntl(a, F_SETFL, fa ^ O_NONBLOCK) || fcntl(b, F_GETFL) != (fa ^ O_NONBLOCK) ||
	    fcntl(a, F_SETFL, fa)) {
		fail("%s: fds %d and %d no longer share their description", what, a, b);
		return -1;
	}
	return 0;
}

static int same_pipe(int a, int b)
{
	struct stat sa, sb;

	return !fstat(a, &sa) && !fstat(b, &sb) && S_ISFIFO(sa.st_mode) && sa.st_ino == sb.st_ino;
}

int main(int argc, char **argv)
{
	int a[2], b[2], c[2], d[2], a_dup, d_ro, d_rw, flags_ro, flags_rw;
	char ch;

	test_init(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	if (pipe(a) || pipe(b) || pipe(c) || pipe(d)) {
		fail("making the pipes");
		return 1;
	}
	a_dup = dup(a[0]);
	if (a_dup < 0 || dup2(a[1], HIGH_FD) != HIGH_FD || close(a[1])) {
		fail("dup of pipe A's ends");
		return 1;
	}
	if (write(HIGH_FD, MSG_A, strlen(MSG_A)) != (ssize_t)strlen(MSG_A) ||
	    write(b[1], MSG_B, strlen(MSG_B)) != (ssize_t)strlen(MSG_B) || close(b[1]) || close(c[0]) ||
	    write(d[1], MSG_D, strlen(MSG_D)) != (ssize_t)strlen(MSG_D)) {
		fail("queueing bytes");
		return 1;
	}
	d_ro = reopen(d[1], O_RDONLY | O_NONBLOCK);
	d_rw = reopen(d[1], O_RDWR);
	if (d_ro < 0 || d_rw < 0 || close(d[0])) {
		fail("opening pipe D again through /proc/self/fd");
		return 1;
	}
	flags_ro = fcntl(d_ro, F_GETFL);
	flags_rw = fcntl(d_rw, F_GETFL);

	test_daemon();
	test_waitsig();

	if (check_shared(a[0], a_dup, "pipe A's read end") || check_read(a_dup, MSG_A, "pipe A"))
		return 1;
	if (!same_pipe(a[0], HIGH_FD)) {
		fail("pipe A's write end is not at fd %d", HIGH_FD);
		return 1;
	}
	if (check_read(b[0], MSG_B, "pipe B"))
		return 1;
	if (read(b[0], &ch, 1) != 0) {
		fail("pipe B: no end of file after its bytes");
		return 1;
	}
	if (write(c[1], "x", 1) != -1 || errno != EPIPE) {
		fail("pipe C: a write without a reader did not fail with EPIPE");
		return 1;
	}
	if (fcntl(d_ro, F_GETFL) != flags_ro || fcntl(d_rw, F_GETFL) != flags_rw) {
		fail("pipe D: flags %#o %#o, expected %#o %#o", fcntl(d_ro, F_GETFL), fcntl(d_rw, F_GETFL), flags_ro,
		     flags_rw);
		return 1;
	}
	if (!same_pipe(d[1], d_ro) || !same_pipe(d[1], d_rw) || check_read(d_ro, MSG_D, "pipe D"))
		return 1;
	if (write(d_rw, "y", 1) != 1 || read(d_ro, &ch, 1) != 1 || ch != 'y') {
		fail("pipe D: its O_RDWR description does not write into it");
		return 1;
	}
	pass();
	return 0;
}
