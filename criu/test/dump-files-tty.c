/*
 * criu dump of a child whose stdio is a pty slave it has as controlling
 * terminal (a shell job): without --shell-job the dump is refused, naming fd 0
 * and the terminal, and the child runs on; with --shell-job --leave-running
 * the images decode with crit: fds 0-2 are one TTY file, files.img's
 * tty_file_entry points at tty-info.img's PTY entry (index, session, foreground
 * group, window size, termios as the child set them, device; its id CRIU's,
 * the index times two) and at a REG entry
 * with the slave's path; the child still runs on the same terminal afterwards.
 */
#include <sys/ioctl.h>
#include <termios.h>

#include "dump-test.h"

#define TTY_ROWS 33
#define TTY_COLS 111

static const char decode_py[] =
	"import json, os, subprocess, sys\n"
	"d, pid = sys.argv[1], sys.argv[2]\n"
	"def dec(name):\n"
	"    out = subprocess.run([sys.executable, '" CRIT "', 'decode', '-i', os.path.join(d, name)],\n"
	"                         capture_output=True, text=True)\n"
	"    if out.returncode:\n"
	"        print('undecodable', name, out.stderr.strip().replace('\\n', ' '))\n"
	"        return []\n"
	"    return json.loads(out.stdout)['entries']\n"
	"fid = dec('ids-%s.img' % pid)[0]['files_id']\n"
	"for e in dec('fdinfo-%d.img' % fid):\n"
	"    print('fd', e['fd'], e['id'], e['type'])\n"
	"for e in dec('files.img'):\n"
	"    if 'reg' in e:\n"
	"        print('reg', e['id'], e['reg']['name'])\n"
	"    elif 'tty' in e:\n"
	"        t = e['tty']\n"
	"        print('ttyfile', e['id'], e['type'], t['id'], t['tty_info_id'], t.get('regf_id', 0), t['flags'])\n"
	"for e in dec('tty-info.img'):\n"
	"    w, tio = e['winsize'], e['termios']\n"
	"    print('ttyinfo', e['id'], e['type'], e.get('pty', {}).get('index', -1), e['sid'], e['pgrp'], e['rdev'],\n"
	"          w['ws_row'], w['ws_col'], tio['c_lflag'], tio['c_iflag'], len(tio['c_cc']))\n";

struct tty_test {
	char tmp[256];
	char fifo[512];
	char pts[64];
	int failures;
	int master;
	pid_t pid;
	int result_fd;
	struct stat pts_st;
	struct termios tio; /* as the child set it */
};

/* True when the child still has its terminal on fds 0-2, as controlling terminal, in the foreground. */
static bool child_tty_intact(const struct tty_test *t)
{
	struct winsize ws;
	struct stat st;

	for (int fd = 0; fd < 3; fd++)
		if (fstat(fd, &st) || st.st_rdev != t->pts_st.st_rdev)
			return false;
	return tcgetpgrp(0) == getpid() && !ioctl(0, TIOCGWINSZ, &ws) && ws.ws_row == TTY_ROWS && ws.ws_col == TTY_COLS;
}

static void __attribute__((noreturn)) child_main(struct tty_test *t, int ready_fd)
{
	struct termios tio;
	sigset_t set;
	int fd;

	if (setsid() < 0)
		_exit(2);
	fd = open(t->pts, O_RDWR); /* the session leader's first terminal: its controlling one */
	if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		_exit(2);
	if (ready_fd < 3 || close_range(3, (unsigned int)ready_fd - 1, 0) ||
	    close_range((unsigned int)ready_fd + 1, ~0u, 0))
		_exit(2);
	if (tcgetattr(0, &tio))
		_exit(2);
	tio.c_lflag &= ~(tcflag_t)(ECHO | ICANON);
	tio.c_iflag |= IGNBRK;
	if (tcsetattr(0, TCSANOW, &tio) || tcgetattr(0, &tio))
		_exit(2);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		_exit(2);
	if (write(ready_fd, &tio, sizeof(tio)) != sizeof(tio))
		_exit(2);
	close(ready_fd);
	for (;;) {
		if (sigwaitinfo(&set, NULL) < 0)
			continue;
		if (dump_child_answer(t->fifo, child_tty_intact(t) ? 'O' : 'F'))
			_exit(2);
	}
}

static int open_pty(struct tty_test *t)
{
	struct winsize ws = { .ws_row = TTY_ROWS, .ws_col = TTY_COLS };
	char *name;

	t->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (t->master < 0 || grantpt(t->master) || unlockpt(t->master) || ioctl(t->master, TIOCSWINSZ, &ws))
		return -errno;
	name = ptsname(t->master);
	if (!name)
		return -errno;
	snprintf(t->pts, sizeof(t->pts), "%s", name);
	return stat(t->pts, &t->pts_st) ? -errno : 0;
}

static int child_start(struct tty_test *t)
{
	int ready[2];
	ssize_t n;

	snprintf(t->fifo, sizeof(t->fifo), "%s/answer", t->tmp);
	if (mkfifo(t->fifo, 0600) || (t->result_fd = open(t->fifo, O_RDWR | O_CLOEXEC)) < 0 || pipe2(ready, O_CLOEXEC))
		return -errno;
	t->pid = fork();
	if (t->pid < 0)
		return -errno;
	if (t->pid == 0) {
		close(ready[0]);
		child_main(t, ready[1]);
	}
	close(ready[1]);
	n = read(ready[0], &t->tio, sizeof(t->tio));
	close(ready[0]);
	return n == sizeof(t->tio) ? 0 : -EIO;
}

static int child_check(struct tty_test *t)
{
	struct pollfd pfd = { .fd = t->result_fd, .events = POLLIN };
	char answer;

	if (kill(t->pid, SIGUSR1))
		return -errno;
	if (poll(&pfd, 1, 5000) != 1)
		return -ETIMEDOUT;
	if (read(t->result_fd, &answer, 1) != 1)
		return -EIO;
	return answer == 'O' ? 0 : -EIO;
}

static void test_refused(struct tty_test *t)
{
	char dir[PATH_MAX], log[PATH_MAX], msg[128];
	struct run_result r;
	char *text;
	int ret;

	snprintf(dir, sizeof(dir), "%s/images-nojob", t->tmp);
	snprintf(log, sizeof(log), "%s/dump-nojob.log", t->tmp);
	if (mkdir(dir, 0700)) {
		expect(&t->failures, 0, "can't create %s", dir);
		return;
	}
	ret = dump_run_criu(&r, t->tmp, t->pid, dir, log, "--leave-running");
	expect(&t->failures, !ret && r.exit_code == 1, "no --shell-job: criu dump: %s, exit %d (not 1)", strerror(-ret),
	       r.exit_code);
	if (!ret)
		test_run_free(&r);
	snprintf(msg, sizeof(msg), "fd 0 of process %d is the terminal %s: dump it with --shell-job", t->pid, t->pts);
	text = test_read_file(log);
	expect(&t->failures, text && strstr(text, msg), "no --shell-job: the log lacks '%s': %s", msg,
	       text ?: "(no log)");
	free(text);
	expect(&t->failures, child_check(t) == 0, "no --shell-job: the child lost its terminal");
}

static void check_facts(struct tty_test *t, char *out)
{
	int fd_ids[3] = { -1, -1, -1 }, nr_ttyfiles = 0, nr_infos = 0, info_id = -1, regf_id = -1;
	char *save, regname[PATH_MAX] = "";
	int index = -1;

	if (sscanf(t->pts, "/dev/pts/%d", &index) != 1)
		index = -2;
	for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int fd, id, a, b, c, d, e, f, g, ncc;
		unsigned int lflag, iflag;
		char type[32], name[PATH_MAX];
		unsigned long long rdev;

		if (!strncmp(line, "undecodable", 11)) {
			expect(&t->failures, 0, "crit can't decode: %s", line);
		} else if (sscanf(line, "fd %d %d %31s", &fd, &id, type) == 3) {
			expect(&t->failures, fd >= 0 && fd < 3 && !strcmp(type, "TTY"), "fd %d of type %s", fd, type);
			if (fd >= 0 && fd < 3)
				fd_ids[fd] = id;
		} else if (sscanf(line, "ttyfile %d %31s %d %d %d %d", &id, type, &a, &b, &c, &d) == 6) {
			nr_ttyfiles++;
			expect(&t->failures, id == fd_ids[0] && id == a && !strcmp(type, "TTY"),
			       "tty file %d (inner id %d, type %s) is not fd 0's %d", id, a, type, fd_ids[0]);
			expect(&t->failures, (d & O_ACCMODE) == O_RDWR, "tty file flags %#o", d);
			info_id = b;
			regf_id = c;
		} else if (sscanf(line, "reg %d %4095s", &id, name) == 2) {
			if (id == regf_id || !strncmp(name, "/dev/pts/", 9))
				snprintf(regname, sizeof(regname), "%s", name);
		} else if (sscanf(line, "ttyinfo %d %31s %d %d %d %llu %d %d %u %u %d", &id, type, &e, &f, &g, &rdev,
				  &a, &b, &lflag, &iflag, &ncc) == 11) {
			nr_infos++;
			expect(&t->failures, id == info_id && !strcmp(type, "PTY") && e == index,
			       "tty info %d (tty file points at %d): type %s, index %d (not %d)", id, info_id, type, e,
			       index);
			/* CRIU pairs a slave (index * 2) with its master (index * 2 + 1) by this id */
			expect(&t->failures, id == 2 * index, "tty info id %d, CRIU's is %d (the pty index times two)",
			       id, 2 * index);
			expect(&t->failures, f == t->pid && g == t->pid, "tty info: session %d, group %d (child %d)", f,
			       g, t->pid);
			expect(&t->failures, rdev == (uint32_t)t->pts_st.st_rdev, "tty info: rdev %llu", rdev);
			expect(&t->failures, a == TTY_ROWS && b == TTY_COLS, "tty info: window %dx%d", a, b);
			expect(&t->failures, lflag == t->tio.c_lflag && iflag == t->tio.c_iflag && ncc == 19,
			       "tty info: lflag %#x iflag %#x (%d c_cc), the child set %#x %#x", lflag, iflag, ncc,
			       t->tio.c_lflag, t->tio.c_iflag);
		}
	}
	expect(&t->failures, fd_ids[0] >= 0 && fd_ids[0] == fd_ids[1] && fd_ids[0] == fd_ids[2],
	       "fds 0-2 have files %d %d %d, not one", fd_ids[0], fd_ids[1], fd_ids[2]);
	expect(&t->failures, nr_ttyfiles == 1 && nr_infos == 1, "%d tty files, %d tty infos", nr_ttyfiles, nr_infos);
	expect(&t->failures, !strcmp(regname, t->pts), "the tty file's regf_id %d names '%s', not %s", regf_id, regname,
	       t->pts);
}

static void test_shell_job(struct tty_test *t)
{
	char dir[PATH_MAX], log[PATH_MAX], script[PATH_MAX], pid[32], *text;
	char *argv[] = { PYTHON, script, dir, pid, NULL };
	char criu[PATH_MAX], *cargv[12];
	struct run_result r;
	int ret, n = 0;

	snprintf(dir, sizeof(dir), "%s/images", t->tmp);
	snprintf(log, sizeof(log), "%s/dump.log", t->tmp);
	snprintf(pid, sizeof(pid), "%d", t->pid);
	if (mkdir(dir, 0700) || test_criu_bin(criu)) {
		expect(&t->failures, 0, "can't create %s or find criu", dir);
		return;
	}
	cargv[n++] = criu;
	cargv[n++] = "dump";
	cargv[n++] = "-t";
	cargv[n++] = pid;
	cargv[n++] = "-D";
	cargv[n++] = dir;
	cargv[n++] = "-o";
	cargv[n++] = log;
	cargv[n++] = "-v4";
	cargv[n++] = "--shell-job";
	cargv[n++] = "--leave-running";
	cargv[n] = NULL;
	ret = test_run(&r, t->tmp, NULL, cargv, NULL);
	expect(&t->failures, !ret && r.exit_code == 0, "--shell-job: criu dump: %s, exit %d", strerror(-ret),
	       r.exit_code);
	if (!ret)
		test_run_free(&r);
	text = test_read_file(log);
	expect(&t->failures, text && !strstr(text, "Error"), "--shell-job: errors in the log: %s", text ?: "(no log)");
	free(text);
	snprintf(script, sizeof(script), "%s/decode.py", t->tmp);
	if (test_write_file(script, decode_py, strlen(decode_py)) || test_run(&r, t->tmp, NULL, argv, NULL)) {
		expect(&t->failures, 0, "can't run the decoder");
		return;
	}
	expect(&t->failures, r.exit_code == 0, "decoder exit %d: %s", r.exit_code, r.err);
	check_facts(t, r.out);
	test_run_free(&r);
	expect(&t->failures, child_check(t) == 0, "--shell-job: the child lost its terminal");
}

int main(void)
{
	struct tty_test t = { .master = -1, .result_fd = -1 };
	int ret;

	if (!dump_crit_usable()) {
		fprintf(stderr, "SKIP: %s or %s missing\n", CRIT, PYTHON);
		return TEST_SKIP;
	}
	if (test_mkdtemp(t.tmp, sizeof(t.tmp), "dump-files-tty")) {
		perror("mkdtemp");
		return TEST_FAIL;
	}
	ret = open_pty(&t);
	if (ret) {
		fprintf(stderr, "SKIP: no pty: %s\n", strerror(-ret));
		test_rm_rf(t.tmp);
		return TEST_SKIP;
	}
	ret = child_start(&t);
	expect(&t.failures, !ret, "can't start the child: %s", strerror(-ret));
	if (!ret) {
		test_refused(&t);
		test_shell_job(&t);
	}
	if (t.pid > 0) {
		kill(t.pid, SIGKILL);
		waitpid(t.pid, NULL, 0);
	}
	if (t.result_fd >= 0)
		close(t.result_fd);
	close(t.master);
	if (!t.failures)
		test_rm_rf(t.tmp);
	else
		fprintf(stderr, "images kept in %s\n", t.tmp);
	fprintf(stderr, "dump-files-tty: %s\n", t.failures ? "FAILED" : "all passed");
	return t.failures ? TEST_FAIL : TEST_PASS;
}
