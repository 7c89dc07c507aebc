/*
 * pty_outside_ng00: the test holds the slave of a pty whose master is held by a
 * process outside its tree (a grandchild whose parent exited: it was adopted
 * out of the tree), a line queued on the slave. Without --shell-job criu
 * refuses the dump (crfail), and the test runs on untouched: the queued line
 * comes out once, the pty still carries lines both ways.
 *
 * pty_outside_ng01 is the same with the ends swapped: the test holds the
 * master, the process outside the slave.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "zdtmtst.h"

#ifndef PTY_OUTSIDE_HOLDS_SLAVE
#define PTY_OUTSIDE_HOLDS_SLAVE 0 /* the process outside holds the master */
#endif

#define QUEUED "queued before the dump\n"
#define LATER "sent after the dump\n"

/* Outside the tree: keeps its end until the test's pipe closes, echoing one line back on it first. */
static void outside_main(int end, int ready, int stop)
{
	char buf[64] = { 0 };
	pid_t me = getpid();

	if (write(end, QUEUED, strlen(QUEUED)) != (ssize_t)strlen(QUEUED) ||
	    write(ready, &me, sizeof(me)) != sizeof(me))
		_exit(2);
	close(ready);
	/* One line from the test, sent back, then wait for the end. */
	if (read(end, buf, sizeof(buf)) > 0 && write(end, buf, strlen(buf)) < 0)
		_exit(3);
	while (read(stop, buf, sizeof(buf)) > 0)
		;
	_exit(0);
}

/* Until process @pid is gone (reaped by whoever adopted it), 5 s at most. */
static void wait_gone(pid_t pid)
{
	for (int tries = 0; tries < 5000 && !kill(pid, 0); tries++)
		usleep(1000);
}

/* @len bytes from @fd into @buf, in as many reads as they come in. */
static int read_line(int fd, char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int master, slave, mine, theirs, unlock = 0, index, ready[2], stop[2], done[2], status;
	char name[64], buf[64] = { 0 };
	struct termios tio;
	pid_t child, outside = -1;

	test_init(argc, argv);
	master = open("/dev/ptmx", O_RDWR | O_NOCTTY);
	if (master < 0 || ioctl(master, TIOCSPTLCK, &unlock) || ioctl(master, TIOCGPTN, &index)) {
		fail("can't make the pair: %m");
		return 1;
	}
	snprintf(name, sizeof(name), "/dev/pts/%d", index);
	slave = open(name, O_RDWR | O_NOCTTY);
	/* Raw: the lines go through unchanged, no echo. */
	if (slave < 0 || tcgetattr(slave, &tio) || (cfmakeraw(&tio), tcsetattr(slave, TCSANOW, &tio)) || pipe(ready) ||
	    pipe(stop) || pipe(done)) {
		fail("can't set the pair up: %m");
		return 1;
	}
	mine = PTY_OUTSIDE_HOLDS_SLAVE ? master : slave;
	theirs = PTY_OUTSIDE_HOLDS_SLAVE ? slave : master;
	child = fork();
	if (child < 0) {
		fail("fork: %m");
		return 1;
	}
	if (child == 0) {
		/* The grandchild is adopted out of the tree once this child exits. */
		test_forked();
		close(mine);
		close(ready[0]);
		close(stop[1]);
		close(done[0]);
		if (fork() == 0)
			outside_main(theirs, ready[1], stop[0]);
		_exit(0);
	}
	close(theirs);
	close(ready[1]);
	close(stop[0]);
	close(done[1]);
	if (waitpid(child, &status, 0) != child || status ||
	    read(ready[0], &outside, sizeof(outside)) != sizeof(outside)) {
		fail("the process outside the tree did not start");
		return 1;
	}
	close(ready[0]);

	test_daemon();
	test_waitsig();

	memset(buf, 0, sizeof(buf));
	fcntl(mine, F_SETFL, O_NONBLOCK);
	if (read(mine, buf, sizeof(buf)) != (ssize_t)strlen(QUEUED) || strcmp(buf, QUEUED) ||
	    read(mine, buf, sizeof(buf)) != -1 || errno != EAGAIN) {
		fail("the line queued before the dump is \"%s\"", buf);
		return 1;
	}
	fcntl(mine, F_SETFL, 0);
	memset(buf, 0, sizeof(buf));
	if (write(mine, LATER, strlen(LATER)) != (ssize_t)strlen(LATER) || read_line(mine, buf, strlen(LATER)) ||
	    strcmp(buf, LATER)) {
		fail("the pty no longer carries lines: \"%s\"", buf);
		return 1;
	}
	/* The process outside ends with the test (its end of @done closes then). */
	close(stop[1]);
	while (read(done[0], buf, sizeof(buf)) > 0)
		;
	wait_gone(outside);
	pass();
	return 0;
}
