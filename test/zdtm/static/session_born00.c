/*
 * session_born00: processes left in the session of an ancestor that is not
 * their parent. A process forks a child, then calls setsid(): the child stays
 * in the session the parent left, led by its grandparent. The root r:
 *   r ── a  (session a)  ── a1 (session r, group r: forked before a's setsid)
 *     │                   ├─ a4 (a zombie, session r, group r: forked before too)
 *     │                   ├─ a2 (session a, a group of its own)
 *     │                   └─ a3 (session a, a2's group)
 *     └─ b  (session b)  ── b1 (session b1, forked before b's setsid)
 *                             ├─ b2 (session r, a group of its own: forked before
 *                             │      b1's and b's setsid)
 *                             └─ b3 (session b1, group b1)
 * The restore forks a, b and b1 in r's session and has each call setsid() once
 * it has forked the children that stay there (CRIU's born_sid). After restore
 * every process checks its parent, session and group itself, the root checks
 * them all from outside, and each ends its children.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tree.h"
#include "zdtmtst.h"

enum {
	A,
	A1,
	A2,
	A3,
	A4,
	B,
	B1,
	B2,
	B3,
	NR
};

#define ROOT (-1)
#define NONE (-1)

static const struct node {
	const char *name;
	int parent;	/* index, or ROOT */
	bool before;	/* forked before its parent's setsid() */
	bool setsid;	/* calls setsid() after forking its children marked before */
	bool own_group; /* setpgid(0, 0) */
	int join;	/* the group of this earlier sibling, or NONE */
	bool zombie;	/* exits once it has reported; its parent reaps it at the end */
} nodes[NR] = {
	[A] = { "a", ROOT, false, true, false, NONE },	    [A1] = { "a1", A, true, false, false, NONE },
	[A2] = { "a2", A, false, false, true, NONE },	    [A3] = { "a3", A, false, false, false, A2 },
	[A4] = { "a4", A, true, false, false, NONE, true }, [B] = { "b", ROOT, false, true, false, NONE },
	[B1] = { "b1", B, true, true, false, NONE },	    [B2] = { "b2", B1, true, false, true, NONE },
	[B3] = { "b3", B1, false, false, false, NONE },
};

static int report_pipe[2];
static pid_t pids[NR]; /* in each process: the pids of the children it forked */

static void __attribute__((noreturn)) node_main(int idx, pid_t ppid);

/* Forks the children of @idx (ROOT for the root) marked @before; -1 after fail(). */
static int fork_children(int idx, bool before)
{
	for (int c = 0; c < NR; c++) {
		pid_t pid;

		if (nodes[c].parent != idx || nodes[c].before != before)
			continue;
		pid = fork();
		if (pid < 0) {
			fail("fork %s", nodes[c].name);
			return -1;
		}
		if (pid == 0)
			node_main(c, getppid());
		pids[c] = pid;
		/* Both sides set the group, so that a later sibling can join it at once. */
		if ((nodes[c].own_group && setpgid(pid, pid)) ||
		    (nodes[c].join != NONE && setpgid(pid, pids[nodes[c].join]))) {
			fail("setpgid of %s", nodes[c].name);
			return -1;
		}
	}
	return 0;
}

/* Sends SIGTERM to the children of @idx and reaps them: 0 when each exited 0. */
static int end_children(int idx)
{
	int ret = 0, status;

	for (int c = 0; c < NR; c++) {
		if (nodes[c].parent != idx)
			continue;
		if (kill(pids[c], SIGTERM) || waitpid(pids[c], &status, 0) != pids[c] || !WIFEXITED(status) ||
		    WEXITSTATUS(status)) {
			fail("%s did not end well", nodes[c].name);
			ret = 1;
		}
	}
	return ret;
}

static void __attribute__((noreturn)) node_main(int idx, pid_t ppid)
{
	const struct node *n = &nodes[idx];
	struct tree_ids want;
	int ret = 0;

	test_forked();
	if ((n->own_group && setpgid(0, 0)) || (n->join != NONE && setpgid(0, pids[n->join])))
		exit(2);
	if (fork_children(idx, true) || (n->setsid && setsid() < 0) || fork_children(idx, false))
		exit(3);
	want = (struct tree_ids){ getpid(), ppid, getpgid(0), getsid(0) };
	tree_report_send(report_pipe[1], idx, ppid, 0);
	close(report_pipe[1]);
	close(report_pipe[0]);
	if (n->zombie)
		exit(0);

	test_waitsig();
	if (getppid() != want.ppid || getpgid(0) != want.pgid || getsid(0) != want.sid) {
		fail("%s: parent %d, group %d, session %d; expected %d, %d, %d", n->name, getppid(), getpgid(0),
		     getsid(0), want.ppid, want.pgid, want.sid);
		ret = 1;
	}
	exit(end_children(idx) | ret);
}

/* Whether process @pid is a zombie (state Z in /proc/PID/stat). */
static bool is_zombie(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	bool z;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	z = fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) && p[1] == ' ' && p[2] == 'Z';
	fclose(f);
	return z;
}

/* The sessions and groups the tree was made with, from the processes' reports. */
static int check_shape(const struct tree_ids *w, pid_t r)
{
	const struct {
		int idx;
		pid_t sid, pgid;
	} expect[] = {
		{ A, w[A].pid, w[A].pid },    { A1, r, r },	    { A2, w[A].pid, w[A2].pid },
		{ A3, w[A].pid, w[A2].pid },  { A4, r, r },	    { B, w[B].pid, w[B].pid },
		{ B1, w[B1].pid, w[B1].pid }, { B2, r, w[B2].pid }, { B3, w[B1].pid, w[B1].pid },
	};

	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		const struct tree_ids *g = &w[expect[i].idx];

		if (g->sid != expect[i].sid || g->pgid != expect[i].pgid) {
			fail("%s: session %d, group %d before the dump; expected %d, %d", nodes[expect[i].idx].name,
			     g->sid, g->pgid, expect[i].sid, expect[i].pgid);
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct tree_report reports[NR];
	struct tree_ids want[NR];
	int ret = 0;

	test_init(argc, argv);
	if (getsid(0) != getpid() || pipe(report_pipe)) {
		fail("the root does not lead its session, or pipe");
		return 1;
	}
	if (fork_children(ROOT, false) || tree_reports_read(report_pipe, reports, want, NR) ||
	    check_shape(want, getpid()))
		return 1;
	for (int i = 0; i < 5000 && !is_zombie(want[A4].pid); i++)
		usleep(1000);
	if (!is_zombie(want[A4].pid)) {
		fail("a4 did not become a zombie");
		return 1;
	}

	test_daemon();
	test_waitsig();

	for (int i = 0; i < NR; i++)
		ret |= tree_check_ids(nodes[i].name, &want[i]);
	ret |= end_children(ROOT);
	if (!ret)
		pass();
	return ret;
}
