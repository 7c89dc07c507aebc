/*
 * criu restore of a pty pair whose index another pty took meanwhile. The child
 * leads a session on a pty it made (master at fd 10, slave at fd 11, its
 * controlling terminal), a line queued on the slave; it is dumped. The test
 * then holds a pty of that index itself: criu restore is refused with a
 * message saying the index is taken, no process is left and the images stay.
 * With the index free again the restore succeeds: the child finds the same
 * index, its session's terminal and the queued line (it checks them on
 * SIGUSR1 and exits 0).
 * Exit 0 pass, 1 fail, 77 skip.
 * timeout: 120
 */
#include <sys/ioctl.h>
#include <termios.h>

#include "restore-test.h"

#define QUEUED "queued before the dump\n"
#define MASTER_FD 10
#define SLAVE_FD 11
#define MAX_HELD 256

static void __attribute__((noreturn)) pty_child(int ready_fd)
{
	char name[64], buf[64] = { 0 };
	int m, s, n = -1, after = -1, unlock = 0, sig;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	if (setsid() < 0 || sigprocmask(SIG_BLOCK, &set, NULL))
		_exit(2);
	if (close_range(3, (unsigned int)ready_fd - 1, 0) || close_range((unsigned int)ready_fd + 1, ~0u, 0))
		_exit(2);
	m = open("/dev/ptmx", O_RDWR | O_NOCTTY);
	if (m < 0 || ioctl(m, TIOCSPTLCK, &unlock) || ioctl(m, TIOCGPTN, &n) || dup2(m, MASTER_FD) != MASTER_FD)
		_exit(2);
	close(m);
	snprintf(name, sizeof(name), "/dev/pts/%d", n);
	s = open(name, O_RDWR); /* the session leader's first terminal: its controlling one */
	if (s < 0 || dup2(s, SLAVE_FD) != SLAVE_FD)
		_exit(2);
	close(s);
	if (write(MASTER_FD, QUEUED, strlen(QUEUED)) != (ssize_t)strlen(QUEUED) || write(ready_fd, "r", 1) != 1)
		_exit(2);
	close(ready_fd);
	while (sigwait(&set, &sig) || sig != SIGUSR1)
		;
	if (ioctl(MASTER_FD, TIOCGPTN, &after) || after != n)
		_exit(3);
	if (tcgetsid(SLAVE_FD) != getpid())
		_exit(4);
	if (read(SLAVE_FD, buf, sizeof(buf)) != (ssize_t)strlen(QUEUED) || strcmp(buf, QUEUED))
		_exit(5);
	_exit(0);
}

/* Holds ptys until one has @index (its fd returned, the others closed), or -1. */
static int take_index(int index)
{
	int held[MAX_HELD], nr = 0, got = -1;

	while (nr < MAX_HELD) {
		int cur = -1;

		held[nr] = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (held[nr] < 0 || ioctl(held[nr], TIOCGPTN, &cur))
			break;
		if (cur == index) {
			got = held[nr];
			break;
		}
		nr++;
		if (cur > index)
			break;
	}
	for (int i = 0; i < nr; i++)
		close(held[i]);
	return got;
}

static int pty_index(pid_t pid)
{
	char path[64], link[64] = { 0 };
	int index = -1;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, SLAVE_FD);
	if (readlink(path, link, sizeof(link) - 1) < 0 || sscanf(link, "/dev/pts/%d", &index) != 1)
		return -1;
	return index;
}

int main(void)
{
	char tmp[256], img[PATH_MAX], pidstr[32], log[PATH_MAX * 2], core[PATH_MAX * 2], *text;
	const char *dump[] = { "dump", "-t", pidstr, "-D", img, "-o", "dump.log", "-v4", NULL };
	const char *taken[] = { "restore", "-d", "-D", img, "-o", "restore-taken.log", "-v4", NULL };
	const char *restore[] = { "restore", "-d", "-D", img, "-o", "restore.log", "-v4", NULL };
	struct run_result r;
	int failures = 0, index, held, status;
	pid_t pid = -1;

	if (geteuid() != 0) {
		printf("SKIP: needs root\n");
		return TEST_SKIP;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) || test_mkdtemp(tmp, sizeof(tmp), "restore-pty"))
		return TEST_FAIL;
	snprintf(img, sizeof(img), "%s/img", tmp);
	if (mkdir(img, 0700) || rtest_start_child(&pid, pty_child) || (index = pty_index(pid)) < 0) {
		fprintf(stderr, "can't start the child on a pty\n");
		rchild_kill(pid);
		failures++;
		goto out;
	}
	snprintf(pidstr, sizeof(pidstr), "%d", pid);
	if (rtest_dump(tmp, dump, pid, &failures))
		goto out;

	held = take_index(index);
	if (held < 0) {
		printf("note: /dev/pts/%d was taken by another process: the refusal is not checked\n", index);
	} else {
		expect(&failures, !rcriu_run(&r, tmp, taken) && r.exit_code == 1,
		       "criu restore with /dev/pts/%d taken exited with %d, not 1", index, r.exit_code);
		test_run_free(&r);
		snprintf(log, sizeof(log), "%s/restore-taken.log", img);
		text = test_read_file(log);
		expect(&failures, text && strstr(text, "its index is taken"),
		       "the log of the refused restore doesn't say the index is taken: %s", text ?: "(none)");
		free(text);
		expect(&failures, kill(pid, 0) && errno == ESRCH, "a refused restore left process %d", pid);
		snprintf(core, sizeof(core), "%s/core-%d.img", img, pid);
		expect(&failures, !access(core, R_OK), "a refused restore removed %s", core);
		close(held);
	}

	if (rcriu_run(&r, tmp, restore) || r.exit_code != 0) {
		expect(&failures, 0, "criu restore failed: %s", r.err ? r.err : "");
		test_run_free(&r);
		goto out;
	}
	test_run_free(&r);
	expect(&failures, pty_index(pid) == index, "the restored slave is /dev/pts/%d, not /dev/pts/%d", pty_index(pid),
	       index);
	expect(&failures, !kill(pid, SIGUSR1), "can't signal the restored child");
	status = rchild_wait(pid, 5000);
	expect(&failures, status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "the restored child found its pty changed: status %#x", status);
	pid = -1;
out:
	rchild_kill(pid);
	if (failures) {
		rtest_print_log(img, "dump.log");
		rtest_print_log(img, "restore-taken.log");
		rtest_print_log(img, "restore.log");
	}
	test_rm_rf(tmp);
	printf("%s\n", failures ? "FAIL" : "PASS");
	return failures ? TEST_FAIL : TEST_PASS;
}
