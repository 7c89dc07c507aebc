/*
 * pty_outside_ng02: the test holds the master of a pty whose slave is the
 * controlling terminal of a session outside the tree: a process adopted out
 * of the tree made a session, opened the slave (taking it as its terminal)
 * and closed it. No fd of the slave is left, but the session still has it:
 * criu refuses the dump (crfail), and the test finds its master as before:
 * its index, the line the slave wrote, the session it reports.
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

#define BYE "bye\n"
#define BYE_OUT "bye\r\n"

/* Outside the tree: a session on the slave, its fd closed; stays until the test's pipe closes. */
static void outside_main(const char *name, int ready, int stop)
{
	pid_t sid = setsid();
	char buf[16];
	int fd;

	fd = open(name, O_RDWR);
	if (sid < 0 || fd < 0 || write(fd, BYE, strlen(BYE)) != (ssize_t)strlen(BYE) || tcdrain(fd) || close(fd) ||
	    write(ready, &sid, sizeof(sid)) != sizeof(sid))
		_exit(2);
	close(ready);
	while (read(stop, buf, sizeof(buf)) > 0)
		;
	_exit(0);
}

int main(int argc, char **argv)
{
	int master, unlock = 0, index, after = -1, ready[2], stop[2], done[2], status;
	char name[64], buf[64] = { 0 };
	pid_t child, sid = -1, now = -1;

	test_init(argc, argv);
	master = open("/dev/ptmx", O_RDWR | O_NOCTTY);
	if (master < 0 || ioctl(master, TIOCSPTLCK, &unlock) || ioctl(master, TIOCGPTN, &index) || pipe(ready) ||
	    pipe(stop) || pipe(done)) {
		fail("can't make the pair: %m");
		return 1;
	}
	snprintf(name, sizeof(name), "/dev/pts/%d", index);
	child = fork();
	if (child < 0) {
		fail("fork: %m");
		return 1;
	}
	if (child == 0) {
		/* The grandchild is adopted out of the tree once this child exits. */
		test_forked();
		close(master);
		close(ready[0]);
		close(stop[1]);
		close(done[0]);
		if (fork() == 0)
			outside_main(name, ready[1], stop[0]);
		_exit(0);
	}
	close(ready[1]);
	close(stop[0]);
	close(done[1]);
	if (waitpid(child, &status, 0) != child || status || read(ready[0], &sid, sizeof(sid)) != sizeof(sid) ||
	    ioctl(master, TIOCGSID, &now) || now != sid) {
		fail("the session outside the tree did not start (session %d, the pty's %d)", sid, now);
		return 1;
	}
	close(ready[0]);

	test_daemon();
	test_waitsig();

	if (ioctl(master, TIOCGPTN, &after) || after != index || ioctl(master, TIOCGSID, &now) || now != sid) {
		fail("the master is /dev/pts/%d's (was %d), controlling session %d (was %d)", after, index, now, sid);
		return 1;
	}
	fcntl(master, F_SETFL, O_NONBLOCK);
	if (read(master, buf, sizeof(buf)) != (ssize_t)strlen(BYE_OUT) || strcmp(buf, BYE_OUT)) {
		fail("the line the slave wrote is \"%s\"", buf);
		return 1;
	}
	/* The process outside ends with the test (its end of @done closes then). */
	close(stop[1]);
	while (read(done[0], buf, sizeof(buf)) > 0)
		;
	/* Until it is gone (reaped by whoever adopted it), 5 s at most. */
	for (int tries = 0; tries < 5000 && !kill(sid, 0); tries++)
		usleep(1000);
	pass();
	return 0;
}
