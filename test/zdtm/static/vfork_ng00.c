/*
 * vfork_ng00: a child P of the test blocked in vfork(): its child C, sharing
 * its memory, wrote a marker and waits for a byte on a pipe, then execs
 * /bin/true (vfork_ng01: _exit()s). criu-ng's dump ends that vfork() last
 * (it kills C once everything else is collected) and its restore makes it
 * again: after restore P is still blocked in vfork() (state D) and C is its
 * child with its pid; once the test writes the byte, C writes a second
 * marker and execs (or exits), P's vfork() returns C's pid, P sees both
 * markers and C's exit status. CRIU refuses such a dump (its vfork00 is
 * crfail); with --leave-running, which can't end the vfork(), criu-ng refuses
 * it too (the .desc says killdump).
 */
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tree.h"
#include "vfork_ng.h"
#include "zdtmtst.h"

#ifndef VFORK_EXIT
#define VFORK_EXIT 0 /* 0: C execs /bin/true; else it _exit()s with this code */
#endif
#ifndef VFORK_UID
#define VFORK_UID 0 /* not 0: P takes this uid and gid, and no groups, before its vfork() */
#endif

/* 1 when every id of "Uid:" and "Gid:" in /proc/@pid/status is VFORK_UID, 0 if not, -1 if unreadable. */
static int ids_are(pid_t pid)
{
	char path[64], line[256], want[64];
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	snprintf(want, sizeof(want), "\t%d\t%d\t%d\t%d\n", VFORK_UID, VFORK_UID, VFORK_UID, VFORK_UID);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "Uid:", 4) || !strncmp(line, "Gid:", 4))
			found += !strcmp(line + 4, want);
	fclose(f);
	return found == 2;
}

static volatile int marker_before, marker_after;
static volatile pid_t child_self;

/* P: vforks C, then checks what vfork() returned and what C wrote. */
static void __attribute__((noreturn)) vforker(int rel, int rep)
{
	int status, want = VFORK_EXIT;
	pid_t v;

	if (VFORK_UID && (setgroups(0, NULL) || setresgid(VFORK_UID, VFORK_UID, VFORK_UID) ||
			  setresuid(VFORK_UID, VFORK_UID, VFORK_UID)))
		_exit(13);
	v = vfork();
	if (v == 0)
		vfork_ng_child(rel, rep, &child_self, &marker_before, &marker_after, VFORK_EXIT);
	if (v <= 0 || v != child_self)
		_exit(10);
	if (marker_before != 1 || marker_after != 2)
		_exit(11);
	if (waitpid(v, &status, 0) != v || !WIFEXITED(status) || WEXITSTATUS(status) != want)
		_exit(12);
	if (VFORK_UID && ids_are(getpid()) != 1)
		_exit(14);
	_exit(0);
}

int main(int argc, char **argv)
{
	pid_t child, vchild = 0, ppid;
	int rel, rep;
	char state;

	test_init(argc, argv);
	child = vfork_ng_fork(&rel, &rep, 1, &vchild);
	if (child < 0)
		return 1;
	if (child == 0)
		vforker(rel, rep);

	test_daemon();
	test_waitsig();

	/* Let P reach its vfork() wait again when the restore runs it. */
	if (vfork_ng_wait_blocked(child, child))
		return 1;
	if (vfork_ng_state(vchild, vchild, &state, &ppid) || ppid != child) {
		fail("the vfork() child %d is gone or not the child's", vchild);
		return 1;
	}
	if (VFORK_UID && (ids_are(child) != 1 || ids_are(vchild) != 1)) {
		fail("processes %d and %d are not uid and gid %d after restore", child, vchild, VFORK_UID);
		return 1;
	}
	if (vfork_ng_release(rel, child, 1))
		return 1;
	pass();
	return 0;
}
