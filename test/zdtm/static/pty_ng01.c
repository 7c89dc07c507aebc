/*
 * pty_ng01: a pty pair split between processes, as sshd and a login shell
 * hold it. The test holds the master (its child and grandchild too: one
 * description, which the child made non-blocking); its child leads a session of its own
 * whose controlling terminal is the slave (opened without O_NOCTTY); the
 * child's child leads its own process group, which has the terminal's
 * foreground, and holds no fd of the slave; another child of the child was
 * forked before its setsid() and stays in the test's session. Echo is off; a line waits on the
 * slave (written by the master) and one on the master (written by the slave).
 *
 * After restore: the index and device are the same; the slave controls the
 * child's session (tcgetsid) with the grandchild's group in the foreground
 * (tcgetpgrp), and /proc says so for the child and grandchild (session, group,
 * tty_nr, tpgid); each waiting line comes out once; a line written after
 * restore crosses from the master in the test to the slave, read by the
 * grandchild through /dev/tty; the master is still one description (the
 * parent makes it blocking again, the child sees it).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "tree.h"
#include "pty_ng.h"
#include "zdtmtst.h"

#define TO_CHILD "to the child\n"
#define TO_PARENT "to the parent\n"
#define TO_PARENT_OUT "to the parent\r\n"
#define AFTER "after restore\n"

struct stat_ids {
	int pgid, sid, tty_nr, tpgid;
};

static int read_stat(struct stat_ids *s)
{
	char buf[1024], *p;
	int fd = open("/proc/self/stat", O_RDONLY), ppid;
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && sscanf(p + 1, " %*c %d %d %d %d %d", &ppid, &s->pgid, &s->sid, &s->tty_nr, &s->tpgid) == 5 ? 0 : -1;
}

/* The kernel's encoding of a device in tty_nr. */
static int encode(dev_t d)
{
	return (int)((minor(d) & 0xff) | (major(d) << 8) | ((minor(d) & ~0xffu) << 12));
}

/*
 * The grandchild: a group of its own in the child's session, the terminal's
 * foreground; no fd on it. After restore it reads the slave through /dev/tty
 * (the child, in the background, can't).
 */
static int grandchild_main(dev_t rdev, int ready)
{
	struct stat_ids s;
	pid_t me = getpid();
	char buf[64] = { 0 };
	int tty;

	if (setpgid(0, 0) || write(ready, "g", 1) != 1)
		return 2;
	close(ready);
	test_waitsig();
	if (read_stat(&s) || s.pgid != me || s.sid != getppid() || s.tty_nr != encode(rdev) || s.tpgid != me) {
		fail("grandchild: group %d, session %d, tty %#x (want %#x), foreground %d", s.pgid, s.sid, s.tty_nr,
		     encode(rdev), s.tpgid);
		return 1;
	}
	tty = open("/dev/tty", O_RDONLY);
	if (tty < 0 || read(tty, buf, sizeof(buf)) != (ssize_t)strlen(TO_CHILD) || strcmp(buf, TO_CHILD)) {
		fail("grandchild: \"%s\" waited on the slave", buf);
		return 1;
	}
	memset(buf, 0, sizeof(buf));
	if (read(tty, buf, sizeof(buf)) != (ssize_t)strlen(AFTER) || strcmp(buf, AFTER)) {
		fail("grandchild: \"%s\" came after restore", buf);
		return 1;
	}
	return 0;
}

static int child_main(const char *name, int master, int ready)
{
	struct stat_ids s;
	struct termios tio;
	struct stat st;
	char buf[64] = { 0 }, link[64] = { 0 };
	int fd, r[2];
	pid_t me, gc, early, born_sid;

	/* Born before the setsid(): it stays in the test's session (the restore forks it before its parent's). */
	born_sid = getsid(0);
	early = tree_fork();
	if (early < 0)
		return 2;
	if (early == 0) {
		close(ready);
		test_waitsig();
		if (getsid(0) != born_sid) {
			fail("the child's early child is in session %d, not %d", getsid(0), born_sid);
			_exit(1);
		}
		_exit(0);
	}
	if (setsid() < 0 || (fd = open(name, O_RDWR)) < 0 || fstat(fd, &st) || tcgetattr(fd, &tio))
		return 2;
	me = getpid();
	tio.c_lflag &= ~(tcflag_t)ECHO;
	if (tcsetattr(fd, TCSANOW, &tio) || pipe(r))
		return 2;
	gc = tree_fork();
	if (gc < 0)
		return 2;
	if (gc == 0) {
		close(fd);
		close(r[0]);
		_exit(grandchild_main(st.st_rdev, r[1]));
	}
	close(r[1]);
	if (read(r[0], buf, 1) != 1 || tcsetpgrp(fd, gc))
		return 2;
	close(r[0]);
	/* The master is one description with the parent's: its status flags are theirs too. */
	if (write(fd, TO_PARENT, strlen(TO_PARENT)) != (ssize_t)strlen(TO_PARENT) ||
	    fcntl(master, F_SETFL, O_NONBLOCK) || write(ready, "c", 1) != 1)
		return 2;
	close(ready);

	test_waitsig();

	if (fcntl(master, F_GETFL) & O_NONBLOCK) {
		fail("child: its master is not the parent's description (the parent made it blocking)");
		return 1;
	}
	snprintf(buf, sizeof(buf), "/proc/self/fd/%d", fd);
	if (readlink(buf, link, sizeof(link) - 1) < 0 || strcmp(link, name)) {
		fail("child: its slave is %s, not %s", link, name);
		return 1;
	}
	if (getsid(0) != me || tcgetsid(fd) != me || tcgetpgrp(fd) != gc || read_stat(&s) ||
	    s.tty_nr != encode(st.st_rdev) || s.tpgid != gc) {
		fail("child: session %d, the slave's %d, its foreground %d (want %d), tty %#x", getsid(0), tcgetsid(fd),
		     tcgetpgrp(fd), gc, s.tty_nr);
		return 1;
	}
	return tree_end_child(gc, SIGTERM, "grandchild") && tree_end_child(early, SIGTERM, "early child") ? 0 : 1;
}

int main(int argc, char **argv)
{
	char name[64], buf[64] = { 0 };
	int master, index = -1, after = -1, unlock = 0, ready[2];
	pid_t child;

	test_init(argc, argv);
	master = open("/dev/ptmx", O_RDWR | O_NOCTTY);
	if (master < 0 || ioctl(master, TIOCSPTLCK, &unlock) || ioctl(master, TIOCGPTN, &index) || pipe(ready)) {
		fail("can't make the pair: %m");
		return 1;
	}
	snprintf(name, sizeof(name), "/dev/pts/%d", index);
	child = tree_fork();
	if (child < 0)
		return 1;
	if (child == 0) {
		close(ready[0]);
		_exit(child_main(name, master, ready[1]));
	}
	close(ready[1]);
	if (read(ready[0], buf, 1) != 1) {
		fail("the child did not set itself up");
		return 1;
	}
	close(ready[0]);
	if (!(fcntl(master, F_GETFL) & O_NONBLOCK)) {
		fail("the child's master is not the parent's description");
		return 1;
	}
	if (write(master, TO_CHILD, strlen(TO_CHILD)) != (ssize_t)strlen(TO_CHILD) ||
	    wait_queued(master, strlen(TO_PARENT_OUT))) {
		fail("the lines did not cross");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (ioctl(master, TIOCGPTN, &after) || after != index) {
		fail("the master is /dev/pts/%d's, not /dev/pts/%d's", after, index);
		return 1;
	}
	if (!(fcntl(master, F_GETFL) & O_NONBLOCK)) {
		fail("the master the child shares is blocking after restore");
		return 1;
	}
	memset(buf, 0, sizeof(buf));
	if (read(master, buf, sizeof(buf)) != (ssize_t)strlen(TO_PARENT_OUT) || strcmp(buf, TO_PARENT_OUT) ||
	    read(master, buf, sizeof(buf)) != -1 || errno != EAGAIN) {
		fail("the master had \"%s\" waiting", buf);
		return 1;
	}
	if (fcntl(master, F_SETFL, 0) || write(master, AFTER, strlen(AFTER)) != (ssize_t)strlen(AFTER))
		return 1;
	if (!tree_end_child(child, SIGTERM, "child"))
		return 1;
	pass();
	return 0;
}
