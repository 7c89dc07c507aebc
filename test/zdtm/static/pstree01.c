/*
 * pstree01: sessions and process groups in a tree.
 *   root ── s  (setsid: leads a session)  ── s1 (in s's session and group)
 *        ├─ g  (setpgid: leads a group)    ── g1 (in g's group)
 *        └─ j  (joins g's group, whose leader is its sibling)
 * After restore each process checks its pid, parent, session and group, and
 * the root checks them all from outside before it ends the tree.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"

enum {
	ROOT,
	S,
	S1,
	G,
	G1,
	J,
	NR
};

static const char *const names[NR] = { "root", "s", "s1", "g", "g1", "j" };
static const int parents[NR] = { -1, ROOT, S, ROOT, G, ROOT };

/* What each process is expected to be in, filled by the root as it forks. */
static pid_t pids[NR], sids[NR], pgids[NR];
static int ready_pipe[2];

static int check(int i)
{
	pid_t pid = pids[i];
	int ret = 0;

	if (getsid(pid) != sids[i]) {
		fail("%s (%d): session %d, expected %d", names[i], pid, getsid(pid), sids[i]);
		ret = 1;
	}
	if (getpgid(pid) != pgids[i]) {
		fail("%s (%d): group %d, expected %d", names[i], pid, getpgid(pid), pgids[i]);
		ret = 1;
	}
	return ret;
}

static int end_children(int self)
{
	int ret = 0;

	for (int i = 0; i < NR; i++) {
		int status;

		if (parents[i] != self)
			continue;
		if (kill(pids[i], SIGTERM) || waitpid(pids[i], &status, 0) != pids[i]) {
			fail("%s: can't end %s (%d)", names[self], names[i], pids[i]);
			ret = 1;
		} else if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			fail("%s: %s ended with status %#x", names[self], names[i], status);
			ret = 1;
		}
	}
	return ret;
}

static void report_ready(void)
{
	if (write(ready_pipe[1], "R", 1) != 1)
		exit(1);
	close(ready_pipe[0]);
	close(ready_pipe[1]);
}

static void __attribute__((noreturn)) child_main(int self)
{
	pid_t ppid = getppid();
	int ret = 0;

	test_forked();
	pids[self] = getpid();
	if (self == S && setsid() < 0)
		exit(1);
	if (self == G && setpgid(0, 0))
		exit(1);
	if (self == J && setpgid(0, pids[G]))
		exit(1);
	sids[self] = getsid(0);
	pgids[self] = getpgid(0);
	for (int i = 0; i < NR; i++) {
		if (parents[i] != self)
			continue;
		pids[i] = fork();
		if (pids[i] < 0)
			exit(1);
		if (pids[i] == 0)
			child_main(i);
		sids[i] = sids[self];
		pgids[i] = pgids[self];
	}
	report_ready();
	test_waitsig();
	if (getppid() != ppid) {
		fail("%s: parent %d, expected %d", names[self], getppid(), ppid);
		ret = 1;
	}
	ret |= check(self);
	for (int i = 0; i < NR; i++)
		if (parents[i] == self)
			ret |= check(i);
	ret |= end_children(self);
	exit(ret);
}

int main(int argc, char **argv)
{
	int ret = 0;
	char c;

	test_init(argc, argv);
	if (pipe(ready_pipe)) {
		fail("pipe");
		return 1;
	}
	pids[ROOT] = getpid();
	sids[ROOT] = getsid(0);
	pgids[ROOT] = getpgid(0);
	/* g before j: j joins g's group. */
	for (int i = 0; i < NR; i++) {
		if (parents[i] != ROOT)
			continue;
		pids[i] = fork();
		if (pids[i] < 0) {
			fail("fork");
			return 1;
		}
		if (pids[i] == 0)
			child_main(i);
		/* As a shell does: the group exists before the next child may join it, whoever runs first. */
		if ((i == G && setpgid(pids[G], pids[G])) || (i == J && setpgid(pids[J], pids[G]))) {
			fail("setpgid");
			return 1;
		}
		sids[i] = i == S ? pids[S] : sids[ROOT];
		pgids[i] = i == S || i == G ? pids[i] : i == J ? pids[G] : pgids[ROOT];
	}
	close(ready_pipe[1]);
	for (int i = 1; i < NR; i++)
		if (read(ready_pipe[0], &c, 1) != 1) {
			fail("a child did not get ready");
			return 1;
		}
	close(ready_pipe[0]);
	for (int i = 0; i < NR; i++)
		if (parents[i] == ROOT)
			ret |= check(i);
	if (ret)
		return 1;

	test_daemon();
	test_waitsig();

	ret |= check(ROOT);
	for (int i = 0; i < NR; i++)
		if (parents[i] == ROOT)
			ret |= check(i);
	ret |= end_children(ROOT);
	if (!ret)
		pass();
	return ret;
}
