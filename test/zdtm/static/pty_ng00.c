/*
 * pty_ng00: two pseudo-terminal pairs made and held by the test itself.
 *
 * Pair A (what CRIU's pty00 checks): the slave, opened without O_NOCTTY by the
 * test (a session leader), is its controlling terminal; /dev/tty is open too;
 * master and slave sit at fds 101 and 100. Ten lines went into the master and
 * wait on the slave (canonical mode, echo on), a line the slave wrote and the
 * echoes wait on the master, and a line without its newline waits on the
 * slave. Its settings are the test's own: erase and kill characters, no
 * ICRNL, a window size, canonical mode, echo and ICRNL locked; the master is
 * exclusive.
 *
 * Pair B: the slave raw and exclusive, the master in packet mode and locked
 * again after the slave was opened; control bytes (^C, DEL, CR) wait both ways.
 *
 * Pair C: only the master is held; its slave wrote a line and was closed, so
 * the master has hung up with the line still to be read.
 *
 * After restore: each pair has its index and device again; its settings, locked
 * settings, window size and modes are the dumped ones; the bytes come out exactly, once, in
 * their order (lines as lines, the unfinished line still unfinished until its
 * newline comes); the slave of A is the test's controlling terminal (session
 * and foreground group) and /dev/tty reaches it; closing the master of A hangs
 * the session up: one SIGHUP, none before. The master of C has its index, its
 * line, then the end (EIO), and polls as hung up.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include "pty_ng.h"
#include "zdtmtst.h"

#define LINE "hello\n"
#define NR_LINES 10
#define FROM_SLAVE "from slave\n"
#define PARTIAL "partial"
/* What waits on the master of A: the echoes (ONLCR), the slave's line, the echo of the partial line. */
#define ECHO_LINE "hello\r\n"
#define FROM_SLAVE_OUT "from slave\r\n"
#define RAW_OUT "\x03raw\r\n\x7fout"
#define RAW_IN "\x03\x7fin\r"
#define BYE "bye\n"
#define BYE_OUT "bye\r\n"

#define KERNEL_NCCS 19

static volatile sig_atomic_t nr_sighups;

static void on_sighup(int sig)
{
	(void)sig;
	nr_sighups++;
}

struct pair {
	int m, s;
	int index;
	dev_t rdev;
	struct termios tio;
	struct termios locked;
	struct winsize ws;
};

static int open_pair(struct pair *p, int slave_flags)
{
	char name[64];
	struct stat st;
	int unlock = 0;

	p->m = open("/dev/ptmx", O_RDWR | O_NOCTTY);
	if (p->m < 0 || ioctl(p->m, TIOCSPTLCK, &unlock) || ioctl(p->m, TIOCGPTN, &p->index))
		return -1;
	snprintf(name, sizeof(name), "/dev/pts/%d", p->index);
	p->s = open(name, O_RDWR | slave_flags);
	if (p->s < 0 || fstat(p->s, &st))
		return -1;
	p->rdev = st.st_rdev;
	return 0;
}

/* Everything @fd (made non-blocking) holds, which must be @want exactly. */
static int read_all_exactly(int fd, const char *want, size_t len, const char *what)
{
	char buf[512];
	ssize_t n, got = 0;
	int fl = fcntl(fd, F_GETFL);

	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	while ((n = read(fd, buf + got, sizeof(buf) - (size_t)got)) > 0)
		got += n;
	fcntl(fd, F_SETFL, fl);
	if ((size_t)got != len || memcmp(buf, want, len)) {
		fail("%s: %zd bytes queued, not the %zu expected", what, got, len);
		return -1;
	}
	return 0;
}

static bool same_termios(const struct termios *a, const struct termios *b)
{
	/* The kernel's termios has KERNEL_NCCS control characters; the rest of glibc's are not the tty's. */
	return a->c_iflag == b->c_iflag && a->c_oflag == b->c_oflag && a->c_cflag == b->c_cflag &&
	       a->c_lflag == b->c_lflag && !memcmp(a->c_cc, b->c_cc, KERNEL_NCCS);
}

static int check_identity(const struct pair *p, const char *name)
{
	struct termios tio;
	struct winsize ws;
	struct stat st;
	char path[64], link[64] = { 0 }, want[64];
	int index = -1;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", p->s);
	snprintf(want, sizeof(want), "/dev/pts/%d", p->index);
	if (ioctl(p->m, TIOCGPTN, &index) || index != p->index || fstat(p->s, &st) || st.st_rdev != p->rdev ||
	    readlink(path, link, sizeof(link) - 1) < 0 || strcmp(link, want)) {
		fail("pair %s: index %d (was %d), slave %s (was %s)", name, index, p->index, link, want);
		return -1;
	}
	if (tcgetattr(p->s, &tio) || !same_termios(&tio, &p->tio)) {
		fail("pair %s: settings changed (lflag %#x, was %#x)", name, tio.c_lflag, p->tio.c_lflag);
		return -1;
	}
	memset(&tio, 0, sizeof(tio));
	if (ioctl(p->s, TIOCGLCKTRMIOS, &tio) || !same_termios(&tio, &p->locked)) {
		fail("pair %s: locked settings changed (lflag %#x, was %#x)", name, tio.c_lflag, p->locked.c_lflag);
		return -1;
	}
	if (ioctl(p->m, TIOCGWINSZ, &ws) || memcmp(&ws, &p->ws, sizeof(ws))) {
		fail("pair %s: window size %ux%u, was %ux%u", name, ws.ws_row, ws.ws_col, p->ws.ws_row, p->ws.ws_col);
		return -1;
	}
	return 0;
}

static int set_mode(int fd, int req, int on, const char *what)
{
	if (ioctl(fd, req, &on)) {
		fail("%s: %m", what);
		return -1;
	}
	return 0;
}

static int get_flag(int fd, unsigned long req)
{
	int v = -1;

	return ioctl(fd, req, &v) ? -1 : v;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_sighup };
	struct pair a = { 0 }, b = { 0 }, c = { 0 };
	struct pollfd pfd;
	char buf[64], want[512];
	size_t wlen = 0;
	int tty, i;

	test_init(argc, argv);
	if (getsid(0) != getpid()) {
		fail("the test does not lead its session");
		return 1;
	}
	if (sigaction(SIGHUP, &sa, NULL) || open_pair(&a, 0) || open_pair(&b, O_NOCTTY) || open_pair(&c, O_NOCTTY)) {
		fail("can't make the pairs: %m");
		return 1;
	}
	tty = open("/dev/tty", O_RDWR);
	if (tty < 0 || dup2(a.m, 101) != 101 || dup2(a.s, 100) != 100) {
		fail("can't open /dev/tty or move pair A: %m");
		return 1;
	}
	close(a.m);
	close(a.s);
	a.m = 101;
	a.s = 100;

	/* Pair A: its own settings, then the bytes. */
	if (tcgetattr(a.s, &a.tio))
		return 1;
	a.tio.c_iflag &= ~(tcflag_t)ICRNL;
	a.tio.c_cc[VERASE] = 0x08;
	a.tio.c_cc[VKILL] = 0x15;
	a.ws = (struct winsize){ .ws_row = 33, .ws_col = 111, .ws_xpixel = 7, .ws_ypixel = 9 };
	a.locked = (struct termios){ .c_lflag = ICANON | ECHO, .c_iflag = ICRNL };
	if (tcsetattr(a.s, TCSANOW, &a.tio) || ioctl(a.s, TIOCSWINSZ, &a.ws) || tcgetattr(a.s, &a.tio) ||
	    ioctl(a.m, TIOCEXCL) || ioctl(a.s, TIOCSLCKTRMIOS, &a.locked) || ioctl(a.s, TIOCGLCKTRMIOS, &a.locked)) {
		fail("can't set pair A up: %m");
		return 1;
	}
	for (i = 0; i < NR_LINES; i++)
		if (write(a.m, LINE, strlen(LINE)) != (ssize_t)strlen(LINE))
			return 1;
	if (wait_queued(a.s, NR_LINES * (int)strlen(LINE)) ||
	    write(a.s, FROM_SLAVE, strlen(FROM_SLAVE)) != (ssize_t)strlen(FROM_SLAVE) ||
	    write(a.m, PARTIAL, strlen(PARTIAL)) != (ssize_t)strlen(PARTIAL))
		return 1;
	for (i = 0; i < NR_LINES; i++)
		wlen += (size_t)sprintf(want + wlen, "%s", ECHO_LINE);
	wlen += (size_t)sprintf(want + wlen, "%s%s", FROM_SLAVE_OUT, PARTIAL);
	if (wait_queued(a.m, (int)wlen)) {
		fail("pair A: the master did not get its %zu bytes", wlen);
		return 1;
	}

	/* Pair B: raw, exclusive slave; packet mode, locked master; control bytes both ways. */
	if (tcgetattr(b.s, &b.tio))
		return 1;
	cfmakeraw(&b.tio);
	b.ws = (struct winsize){ .ws_row = 5, .ws_col = 6 };
	if (tcsetattr(b.s, TCSANOW, &b.tio) || ioctl(b.s, TIOCSWINSZ, &b.ws) || tcgetattr(b.s, &b.tio) ||
	    ioctl(b.s, TIOCEXCL) || set_mode(b.m, TIOCPKT, 1, "TIOCPKT"))
		return 1;
	if (write(b.s, RAW_OUT, strlen(RAW_OUT)) != (ssize_t)strlen(RAW_OUT) ||
	    write(b.m, RAW_IN, strlen(RAW_IN)) != (ssize_t)strlen(RAW_IN) || wait_queued(b.s, strlen(RAW_IN)) ||
	    wait_queued(b.m, strlen(RAW_OUT)) || set_mode(b.m, TIOCSPTLCK, 1, "TIOCSPTLCK")) {
		fail("pair B: the bytes did not arrive");
		return 1;
	}

	/* Pair C: the slave's last words, then it is gone. */
	if (write(c.s, BYE, strlen(BYE)) != (ssize_t)strlen(BYE) || wait_queued(c.m, strlen(BYE_OUT)) || close(c.s)) {
		fail("pair C: the line did not arrive");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (check_identity(&a, "A") || check_identity(&b, "B"))
		return 1;
	if (get_flag(a.m, TIOCGEXCL) != 1 || get_flag(b.s, TIOCGEXCL) != 1 || get_flag(b.m, TIOCGPKT) != 1 ||
	    get_flag(b.m, TIOCGPTLCK) != 1 || get_flag(a.m, TIOCGPTLCK) != 0 || get_flag(a.m, TIOCGPKT) != 0) {
		fail("modes: A excl %d lock %d pkt %d, B slave excl %d, B pkt %d lock %d", get_flag(a.m, TIOCGEXCL),
		     get_flag(a.m, TIOCGPTLCK), get_flag(a.m, TIOCGPKT), get_flag(b.s, TIOCGEXCL),
		     get_flag(b.m, TIOCGPKT), get_flag(b.m, TIOCGPTLCK));
		return 1;
	}
	/* The controlling terminal: the slave of A, for this session, this group in the foreground. */
	if (tcgetsid(a.s) != getpid() || tcgetpgrp(a.s) != getpgrp()) {
		fail("pair A controls session %d, group %d", tcgetsid(a.s), tcgetpgrp(a.s));
		return 1;
	}
	/* The queued bytes, once and in order. */
	if (read_all_exactly(a.m, want, wlen, "master A"))
		return 1;
	for (i = 0; i < NR_LINES; i++) {
		memset(buf, 0, sizeof(buf));
		if (read(a.s, buf, sizeof(buf)) != (ssize_t)strlen(LINE) || strcmp(buf, LINE)) {
			fail("line %d on slave A: \"%s\"", i, buf);
			return 1;
		}
	}
	fcntl(a.s, F_SETFL, O_NONBLOCK);
	if (read(a.s, buf, sizeof(buf)) != -1 || errno != EAGAIN) {
		fail("slave A: the unfinished line came out without its newline");
		return 1;
	}
	fcntl(a.s, F_SETFL, 0);
	memset(buf, 0, sizeof(buf));
	if (write(a.m, "\n", 1) != 1 || read(a.s, buf, sizeof(buf)) != (ssize_t)strlen(PARTIAL "\n") ||
	    strcmp(buf, PARTIAL "\n")) {
		fail("slave A: the unfinished line is \"%s\"", buf);
		return 1;
	}
	memset(buf, 0, sizeof(buf));
	if (read(b.m, buf, sizeof(buf)) != (ssize_t)strlen(RAW_OUT) + 1 || buf[0] != TIOCPKT_DATA ||
	    memcmp(buf + 1, RAW_OUT, strlen(RAW_OUT)) || read_all_exactly(b.s, RAW_IN, strlen(RAW_IN), "slave B")) {
		fail("pair B: the queued bytes did not come back");
		return 1;
	}
	pfd = (struct pollfd){ .fd = c.m, .events = POLLIN };
	memset(buf, 0, sizeof(buf));
	if (ioctl(c.m, TIOCGPTN, &i) || i != c.index || poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLHUP) ||
	    read(c.m, buf, sizeof(buf)) != (ssize_t)strlen(BYE_OUT) || strcmp(buf, BYE_OUT) ||
	    read(c.m, buf, sizeof(buf)) != -1 || errno != EIO) {
		fail("pair C: index %d (was %d), poll %#x, line \"%s\"", i, c.index, pfd.revents, buf);
		return 1;
	}
	/* /dev/tty is the controlling terminal: the slave of A. */
	memset(buf, 0, sizeof(buf));
	if (write(a.m, LINE, strlen(LINE)) != (ssize_t)strlen(LINE) ||
	    read(tty, buf, sizeof(buf)) != (ssize_t)strlen(LINE) || strcmp(buf, LINE)) {
		fail("/dev/tty does not reach the slave of A: \"%s\"", buf);
		return 1;
	}
	if (nr_sighups) {
		fail("%d SIGHUP before the master was closed", (int)nr_sighups);
		return 1;
	}
	close(a.m);
	close(a.s);
	close(tty);
	if (nr_sighups != 1) {
		fail("%d SIGHUP once the controlling terminal hung up, not 1", (int)nr_sighups);
		return 1;
	}
	pass();
	return 0;
}
