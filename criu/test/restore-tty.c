/*
 * criu restore --shell-job of a process whose stdio is a pty slave it has as
 * controlling terminal: the child leads its own session on the pty, with
 * ECHO off and IGNBRK on, and echoes every line it reads. It is dumped with -j.
 * A restore without -j is refused with a message naming --shell-job. Then a
 * "shell" (a session leader with the same pty as its controlling terminal,
 * ECHO on, IGNBRK off, another window size) runs criu restore -j -d: the
 * process comes back in the shell's session, in its own group, in the
 * foreground, with fds 0-2 on the pty, the termios and window size it had,
 * and a line written to the pty master comes back echoed.
 * Exit 0 pass, 1 fail, 77 skip.
 * timeout: 120
 */
#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>

#include "restore-test.h"

#define TTY_ROWS 33
#define TTY_COLS 111

struct tty_rtest {
	char tmp[256];
	char img[PATH_MAX];
	char pts[64];
	int master;
	pid_t pid;   /* the shell job */
	pid_t shell; /* the session leader criu restore runs under */
	int failures;
};

static void __attribute__((noreturn)) job_main(const char *pts, int ready_fd)
{
	struct termios tio;
	char buf[256];
	int fd;

	if (setsid() < 0)
		_exit(2);
	fd = open(pts, O_RDWR); /* the session leader's first terminal: its controlling one */
	if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		_exit(2);
	if (close_range(3, (unsigned int)ready_fd - 1, 0) || close_range((unsigned int)ready_fd + 1, ~0u, 0))
		_exit(2);
	if (tcgetattr(0, &tio))
		_exit(2);
	tio.c_lflag &= ~(tcflag_t)ECHO;
	tio.c_lflag |= ICANON;
	tio.c_iflag |= IGNBRK;
	if (tcsetattr(0, TCSANOW, &tio) || write(ready_fd, "r", 1) != 1)
		_exit(2);
	close(ready_fd);
	for (;;) {
		ssize_t n = read(0, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(3);
		if (write(1, "echo:", 5) != 5 || write(1, buf, (size_t)n) != n)
			_exit(4);
	}
}

static int open_pty(struct tty_rtest *t)
{
	struct winsize ws = { .ws_row = TTY_ROWS, .ws_col = TTY_COLS };
	char *name;

	t->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (t->master < 0 || grantpt(t->master) || unlockpt(t->master) || ioctl(t->master, TIOCSWINSZ, &ws))
		return -errno;
	name = ptsname(t->master);
	if (!name)
		return -ENOENT;
	snprintf(t->pts, sizeof(t->pts), "%s", name);
	return 0;
}

static int job_start(struct tty_rtest *t)
{
	int ready[2];
	char c;

	if (pipe(ready))
		return -errno;
	t->pid = fork();
	if (t->pid < 0)
		return -errno;
	if (t->pid == 0) {
		close(ready[0]);
		job_main(t->pts, ready[1]);
	}
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1) {
		close(ready[0]);
		return -EIO;
	}
	close(ready[0]);
	return 0;
}

/* The shell: leads a session on the pty with other settings, runs criu restore -j -d, reports, waits. */
static void __attribute__((noreturn)) shell_main(const struct tty_rtest *t, int report_fd)
{
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	char criu[PATH_MAX];
	struct termios tio;
	int fd, status;
	pid_t pid;

	if (setsid() < 0 || test_criu_bin(criu))
		_exit(2);
	fd = open(t->pts, O_RDWR);
	if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 || tcgetattr(0, &tio))
		_exit(2);
	tio.c_lflag |= ECHO | ICANON;
	tio.c_iflag &= ~(tcflag_t)IGNBRK;
	if (tcsetattr(0, TCSANOW, &tio) || ioctl(0, TIOCSWINSZ, &ws))
		_exit(2);
	pid = fork();
	if (pid == 0) {
		if (close_range(3, ~0u, 0))
			_exit(126);
		execl(criu, criu, "restore", "-j", "-d", "-D", t->img, "-o", "restore.log", "-v4", (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		status = 0x7f00;
	if (write(report_fd, &status, sizeof(status)) != sizeof(status))
		_exit(2);
	close(report_fd);
	for (;;)
		pause();
}

static int restore_in_shell(struct tty_rtest *t)
{
	int report[2], status = -1;
	struct pollfd pfd;

	if (pipe2(report, O_CLOEXEC))
		return -errno;
	t->shell = fork();
	if (t->shell < 0)
		return -errno;
	if (t->shell == 0) {
		close(report[0]);
		shell_main(t, report[1]);
	}
	close(report[1]);
	pfd = (struct pollfd){ .fd = report[0], .events = POLLIN };
	if (poll(&pfd, 1, 30000) != 1 || read(report[0], &status, sizeof(status)) != sizeof(status))
		status = -1;
	close(report[0]);
	expect(&t->failures, status == 0, "criu restore -j -d under the shell: status %#x", status);
	return status == 0 ? 0 : -EIO;
}

static void check_session(struct tty_rtest *t)
{
	int ppid, pgrp = -1, sid = -1, tty_nr, tpgid = -1;
	char path[64], link[PATH_MAX], *buf, *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", t->pid);
	buf = test_read_file(path);
	p = buf ? strrchr(buf, ')') : NULL;
	if (!p || sscanf(p + 1, " %*c %d %d %d %d %d", &ppid, &pgrp, &sid, &tty_nr, &tpgid) != 5)
		expect(&t->failures, 0, "can't read %s", path);
	free(buf);
	expect(&t->failures, sid == t->shell && pgrp == t->pid && tpgid == t->pid,
	       "restored job: session %d (shell %d), group %d, foreground group %d (want %d)", sid, t->shell, pgrp,
	       tpgid, t->pid);
	for (int fd = 0; fd < 3; fd++) {
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/%d/fd/%d", t->pid, fd);
		n = readlink(path, link, sizeof(link) - 1);
		link[n > 0 ? n : 0] = '\0';
		expect(&t->failures, !strcmp(link, t->pts), "fd %d of the restored job is '%s', not %s", fd, link,
		       t->pts);
	}
}

static void check_settings(struct tty_rtest *t)
{
	struct winsize ws = { 0 };
	struct termios tio;
	int fd = open(t->pts, O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd < 0 || tcgetattr(fd, &tio)) {
		expect(&t->failures, 0, "can't read the settings of %s: %s", t->pts, strerror(errno));
	} else {
		expect(&t->failures, !(tio.c_lflag & ECHO) && (tio.c_lflag & ICANON) && (tio.c_iflag & IGNBRK),
		       "termios not restored: lflag %#x, iflag %#x", tio.c_lflag, tio.c_iflag);
	}
	if (fd >= 0)
		close(fd);
	expect(&t->failures, !ioctl(t->master, TIOCGWINSZ, &ws) && ws.ws_row == TTY_ROWS && ws.ws_col == TTY_COLS,
	       "window size %ux%u, not %ux%u", ws.ws_row, ws.ws_col, TTY_ROWS, TTY_COLS);
}

/* A line written to the master must come back from the job, unechoed by the terminal. */
static void check_echo(struct tty_rtest *t)
{
	struct pollfd pfd = { .fd = t->master, .events = POLLIN };
	char buf[512] = "";
	size_t len = 0;

	expect(&t->failures, write(t->master, "hello tty\n", 10) == 10, "can't write to the pty master");
	while (len < sizeof(buf) - 1 && !strstr(buf, "echo:hello tty") && poll(&pfd, 1, 5000) == 1) {
		ssize_t n = read(t->master, buf + len, sizeof(buf) - 1 - len);

		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
	}
	expect(&t->failures, strstr(buf, "echo:hello tty") && strncmp(buf, "hello", 5),
	       "the restored job didn't echo the line: got '%s'", buf);
}

static void test_refused(struct tty_rtest *t)
{
	const char *args[] = { "restore", "-d", "-D", t->img, "-o", "restore-nojob.log", "-v4", NULL };
	char log[PATH_MAX * 2], *text;
	struct run_result r;

	if (rcriu_run(&r, t->tmp, args)) {
		expect(&t->failures, 0, "can't run criu restore");
		return;
	}
	expect(&t->failures, r.exit_code == 1, "criu restore without -j exited with %d, not 1", r.exit_code);
	test_run_free(&r);
	snprintf(log, sizeof(log), "%s/restore-nojob.log", t->img);
	text = test_read_file(log);
	expect(&t->failures, text && strstr(text, "restore it with --shell-job (-j)"),
	       "the log of the refused restore doesn't name --shell-job: %s", text ?: "(none)");
	free(text);
	expect(&t->failures, kill(t->pid, 0) && errno == ESRCH, "a refused restore left process %d", t->pid);
}

int main(void)
{
	struct tty_rtest t = { .master = -1 };
	char pidstr[32];
	const char *dump[] = { "dump", "-j", "-t", pidstr, "-D", t.img, "-o", "dump.log", "-v4", NULL };
	struct run_result r;
	int status;

	if (geteuid() != 0) {
		printf("SKIP: needs root\n");
		return TEST_SKIP;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) || test_mkdtemp(t.tmp, sizeof(t.tmp), "restore-tty"))
		return TEST_FAIL;
	snprintf(t.img, sizeof(t.img), "%s/img", t.tmp);
	if (mkdir(t.img, 0700) || open_pty(&t) || job_start(&t)) {
		fprintf(stderr, "can't start the job on a pty\n");
		t.failures++;
		goto out;
	}
	snprintf(pidstr, sizeof(pidstr), "%d", t.pid);
	if (rcriu_run(&r, t.tmp, dump) || r.exit_code != 0) {
		fprintf(stderr, "criu dump -j failed: %s\n", r.err ? r.err : "");
		rchild_kill(t.pid);
		t.failures++;
		goto out;
	}
	test_run_free(&r);
	status = rchild_wait(t.pid, 5000);
	expect(&t.failures, status >= 0 && WIFSIGNALED(status), "the dumped job was not killed");
	test_refused(&t);
	if (!restore_in_shell(&t)) {
		check_session(&t);
		check_settings(&t);
		check_echo(&t);
	}
	rchild_kill(t.pid);
	if (t.shell > 0)
		rchild_kill(t.shell);
out:
	if (t.failures) {
		rtest_print_log(t.img, "dump.log");
		rtest_print_log(t.img, "restore-nojob.log");
		rtest_print_log(t.img, "restore.log");
	}
	if (t.master >= 0)
		close(t.master);
	test_rm_rf(t.tmp);
	printf("%s\n", t.failures ? "FAIL" : "PASS");
	return t.failures ? TEST_FAIL : TEST_PASS;
}
