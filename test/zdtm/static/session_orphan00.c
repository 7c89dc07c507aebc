/*
 * session_orphan00: a daemon's double fork. The root, a child subreaper, forks
 * d; d calls setsid(), forks w1 and w2 and exits, so that w1 and w2 are
 * adopted by the root and stay in d's session, whose leader is gone:
 *   root ── w1  (session d, group d) ── w1c (session d, group d)
 *        └─ w2  (session d, a group of its own)
 * The restore needs a helper with d's pid to make that session. After restore
 * every process checks its parent, session and group, the root checks them
 * all from outside, and d's pid is free again (the helper is gone).
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tree.h"
#include "zdtmtst.h"

enum {
	W1,
	W1C,
	W2,
	NR
};

static const char *const names[NR] = { "w1", "w1c", "w2" };

static int report_pipe[2];

static void report(int idx, pid_t ppid)
{
	tree_report_send(report_pipe[1], idx, ppid, 0);
	close(report_pipe[1]);
	close(report_pipe[0]);
}

/* Once restored: the process itself checks where it is, ends its child if it has one, and exits. */
static void __attribute__((noreturn)) worker_end(int idx, const struct tree_ids *want, pid_t child)
{
	int ret = 0, status;

	test_waitsig();
	if (getppid() != want->ppid || getpgid(0) != want->pgid || getsid(0) != want->sid) {
		fail("%s: parent %d, group %d, session %d; expected %d, %d, %d", names[idx], getppid(), getpgid(0),
		     getsid(0), want->ppid, want->pgid, want->sid);
		ret = 1;
	}
	if (child > 0 && (kill(child, SIGTERM) || waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
			  WEXITSTATUS(status))) {
		fail("%s: its child %d did not end well", names[idx], child);
		ret = 1;
	}
	exit(ret);
}

static void __attribute__((noreturn)) worker(int idx, pid_t ppid)
{
	struct tree_ids want;
	pid_t child = 0;

	test_forked();
	if (idx == W2 && setpgid(0, 0))
		exit(1);
	if (idx == W1) {
		child = fork();
		if (child < 0)
			exit(1);
		if (child == 0)
			worker(W1C, getppid());
	}
	want = (struct tree_ids){ getpid(), ppid, getpgid(0), getsid(0) };
	report(idx, ppid);
	worker_end(idx, &want, child);
}

/* d: a session of its own, two workers in it, then it exits, as a daemon's first child does. */
static void __attribute__((noreturn)) daemonize(pid_t root)
{
	test_forked();
	if (setsid() < 0)
		exit(1);
	for (int idx = W1; idx < NR; idx++) {
		pid_t pid;

		if (idx == W1C)
			continue;
		pid = fork();
		if (pid < 0)
			exit(1);
		if (pid == 0)
			worker(idx, root); /* adopted by the root once d exits */
	}
	exit(0);
}

static int check_all(const struct tree_ids *want, pid_t d)
{
	int ret = 0;

	for (int i = 0; i < NR; i++)
		ret |= tree_check_ids(names[i], &want[i]);
	if (kill(d, 0) == 0) {
		fail("d's pid %d is taken", d);
		ret = 1;
	}
	return ret;
}

int main(int argc, char **argv)
{
	struct tree_report reports[NR];
	struct tree_ids want[NR];
	int ret = 0, status;
	pid_t d;

	test_init(argc, argv);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) || pipe(report_pipe)) {
		fail("subreaper or pipe");
		return 1;
	}
	d = fork();
	if (d < 0) {
		fail("fork");
		return 1;
	}
	if (d == 0)
		daemonize(getppid());
	if (tree_reports_read(report_pipe, reports, want, NR))
		return 1;
	if (waitpid(d, &status, 0) != d || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fail("d did not exit well");
		return 1;
	}
	for (int i = 0; i < NR; i++)
		if (want[i].sid != d || want[i].pgid != (i == W2 ? want[i].pid : d)) {
			fail("%s: session %d, group %d before the dump", names[i], want[i].sid, want[i].pgid);
			return 1;
		}
	/* The adopted ones came to us: their parent is the root now. */
	if (check_all(want, d))
		return 1;

	test_daemon();
	test_waitsig();

	ret = check_all(want, d);
	for (int i = 0; i < NR; i++) {
		if (want[i].ppid != getpid())
			continue;
		if (kill(want[i].pid, SIGTERM) || waitpid(want[i].pid, &status, 0) != want[i].pid ||
		    !WIFEXITED(status) || WEXITSTATUS(status)) {
			fail("%s did not end well", names[i]);
			ret = 1;
		}
	}
	if (!ret)
		pass();
	return ret;
}
