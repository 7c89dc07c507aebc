/*
 * pgrp_orphan00: process groups whose leader has exited while members remain.
 * The root forks g, which leads a group, then m1 and m2, which join it (m1's
 * child m1c is born in it); g is killed and the root reaps it. Below p, a
 * child of the root, l leads a group that its sibling k joins, then l dies:
 *   root ── m1 (group g) ── m1c (group g)
 *        ├─ m2 (group g)
 *        └─ p  (the root's group) ── k (group l)
 * The restore needs a helper with g's pid and one with l's to make the groups.
 * After restore every process checks its parent, session and group, the root
 * checks them all from outside, and g's and l's pids are free again.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tree.h"
#include "zdtmtst.h"

enum {
	M1,
	M1C,
	M2,
	P,
	K,
	NR
};

static const char *const names[NR] = { "m1", "m1c", "m2", "p", "k" };

static int report_pipe[2];

static void report(int idx, pid_t ppid, pid_t dead)
{
	tree_report_send(report_pipe[1], idx, ppid, dead);
	close(report_pipe[1]);
	close(report_pipe[0]);
}

/* A member: reports, waits for the end, checks where it is, ends its child if it has one. */
static void __attribute__((noreturn)) member(int idx, pid_t ppid, pid_t child, pid_t dead)
{
	struct tree_ids want = { getpid(), ppid, getpgid(0), getsid(0) };
	int ret = 0;

	report(idx, ppid, dead);
	test_waitsig();
	if (getppid() != want.ppid || getpgid(0) != want.pgid || getsid(0) != want.sid) {
		fail("%s: parent %d, group %d, session %d; expected %d, %d, %d", names[idx], getppid(), getpgid(0),
		     getsid(0), want.ppid, want.pgid, want.sid);
		ret = 1;
	}
	if (child > 0 && !tree_end_child(child, SIGTERM, "child")) {
		fail("%s: its child %d did not end well", names[idx], child);
		ret = 1;
	}
	exit(ret);
}

/* A leader: it waits in its group until its parent kills it, once the group has its members. */
static void __attribute__((noreturn)) leader(void)
{
	test_forked();
	close(report_pipe[0]);
	close(report_pipe[1]);
	if (setpgid(0, 0))
		exit(1);
	for (;;)
		pause();
}

static pid_t fork_leader(void)
{
	pid_t pid = fork();

	if (pid == 0)
		leader();
	/* As a shell does: the group exists before a member joins it, whoever runs first. */
	if (pid > 0 && setpgid(pid, pid))
		return -1;
	return pid;
}

/* Kills leader @pid and reaps it once its members are in its group. */
static int end_leader(pid_t pid)
{
	int status;

	return kill(pid, SIGKILL) || waitpid(pid, &status, 0) != pid || !WIFSIGNALED(status);
}

/* Forks a process that joins group @pgid and runs @fn(@idx, @parent). */
static pid_t fork_member(int idx, pid_t pgid, void (*fn)(int, pid_t))
{
	pid_t parent = getpid(), pid = fork();

	if (pid == 0) {
		test_forked();
		if (setpgid(0, pgid))
			exit(1);
		fn(idx, parent);
	}
	if (pid > 0 && setpgid(pid, pgid))
		return -1;
	return pid;
}

static void run_m1c(int idx, pid_t ppid)
{
	member(idx, ppid, 0, 0);
}

static void run_m1(int idx, pid_t ppid)
{
	pid_t child = fork();

	if (child < 0)
		exit(1);
	if (child == 0) {
		test_forked();
		run_m1c(M1C, getppid());
	}
	member(idx, ppid, child, 0);
}

static void run_member(int idx, pid_t ppid)
{
	member(idx, ppid, 0, 0);
}

/* p: l leads a group, k joins it, l exits. */
static void __attribute__((noreturn)) run_p(pid_t ppid)
{
	pid_t l, k;

	test_forked();
	l = fork_leader();
	if (l < 0)
		exit(1);
	k = fork_member(K, l, run_member);
	if (k < 0 || end_leader(l))
		exit(1);
	member(P, ppid, k, l);
}

static int check_all(const struct tree_ids *want, pid_t g, pid_t l)
{
	int ret = 0;

	for (int i = 0; i < NR; i++)
		ret |= tree_check_ids(names[i], &want[i]);
	if (kill(g, 0) == 0 || kill(l, 0) == 0) {
		fail("the dead leaders' pids %d, %d are taken", g, l);
		ret = 1;
	}
	return ret;
}

int main(int argc, char **argv)
{
	struct tree_report reports[NR];
	struct tree_ids want[NR];
	pid_t g, l, p;
	int ret = 0;

	test_init(argc, argv);
	if (pipe(report_pipe)) {
		fail("pipe");
		return 1;
	}
	g = fork_leader();
	if (g < 0 || fork_member(M1, g, run_m1) < 0 || fork_member(M2, g, run_member) < 0) {
		fail("fork");
		return 1;
	}
	p = fork();
	if (p < 0) {
		fail("fork");
		return 1;
	}
	if (p == 0)
		run_p(getppid());
	if (tree_reports_read(report_pipe, reports, want, NR))
		return 1;
	l = reports[P].extra; /* p: l's pid, once l is reaped */
	if (end_leader(g)) {
		fail("g did not exit well");
		return 1;
	}
	if (want[M1].pgid != g || want[M1C].pgid != g || want[M2].pgid != g || want[K].pgid != l ||
	    want[P].pgid != getpgid(0)) {
		fail("the groups are not as planned before the dump");
		return 1;
	}
	if (check_all(want, g, l))
		return 1;

	test_daemon();
	test_waitsig();

	ret = check_all(want, g, l);
	for (int i = 0; i < NR; i++)
		if (want[i].ppid == getpid() && !tree_end_child(want[i].pid, SIGTERM, "child")) {
			fail("%s did not end well", names[i]);
			ret = 1;
		}
	if (!ret)
		pass();
	return ret;
}
