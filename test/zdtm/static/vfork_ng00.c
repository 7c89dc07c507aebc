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
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tree.h"
#include "zdtmtst.h"

#ifndef VFORK_EXIT
#define VFORK_EXIT 0 /* 0: C execs /bin/true; else it _exit()s with this code */
#endif

static volatile int marker_before, marker_after;
static volatile pid_t child_self;

/* P: vforks C, then checks what vfork() returned and what C wrote. */
static void __attribute__((noreturn)) vforker(int rel, int rep)
{
	static char *const argv[] = { "true", NULL };
	static char *const envp[] = { NULL };
	int status, want = VFORK_EXIT;
	pid_t v;

	v = vfork();
	if (v == 0) {
		/* Shares P's memory and stack: raw syscalls only. */
		pid_t self = (pid_t)syscall(SYS_getpid);
		char b;

		child_self = self;
		marker_before = 1;
		if (syscall(SYS_write, rep, &self, sizeof(self)) != sizeof(self))
			syscall(SYS_exit, 3);
		if (syscall(SYS_read, rel, &b, 1) != 1)
			syscall(SYS_exit, 4);
		marker_after = 2;
		if (!VFORK_EXIT)
			syscall(SYS_execve, "/bin/true", argv, envp);
		syscall(SYS_exit, VFORK_EXIT ? VFORK_EXIT : 5);
	}
	if (v <= 0 || v != child_self)
		_exit(10);
	if (marker_before != 1 || marker_after != 2)
		_exit(11);
	if (waitpid(v, &status, 0) != v || !WIFEXITED(status) || WEXITSTATUS(status) != want)
		_exit(12);
	_exit(0);
}

/* The state letter of @pid and its parent, from /proc/PID/stat. */
static int proc_state(pid_t pid, char *state, pid_t *ppid)
{
	char path[64], comm[64];
	int ret;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	ret = fscanf(f, "%*d (%63[^)]) %c %d", comm, state, ppid) == 3 ? 0 : -1;
	fclose(f);
	return ret;
}

int main(int argc, char **argv)
{
	int rel[2], rep[2], status;
	pid_t child, vchild = 0, ppid;
	char state, b = 1;

	test_init(argc, argv);
	if (pipe(rel) || pipe(rep)) {
		fail("pipe");
		return 1;
	}
	child = tree_fork();
	if (child < 0)
		return 1;
	if (child == 0) {
		close(rel[1]);
		close(rep[0]);
		vforker(rel[0], rep[1]);
	}
	close(rel[0]);
	close(rep[1]);
	if (read(rep[0], &vchild, sizeof(vchild)) != sizeof(vchild)) {
		fail("the vfork() child did not report");
		return 1;
	}
	close(rep[0]);

	test_daemon();
	test_waitsig();

	/* Let P reach its vfork() wait again when the restore runs it. */
	for (int i = 0; i < 100 && !proc_state(child, &state, &ppid) && state != 'D'; i++)
		usleep(10000);
	if (proc_state(child, &state, &ppid) || state != 'D') {
		fail("the child is not blocked in vfork() (state %c)", state);
		return 1;
	}
	if (proc_state(vchild, &state, &ppid) || ppid != child) {
		fail("the vfork() child %d is gone or not the child's", vchild);
		return 1;
	}
	if (write(rel[1], &b, 1) != 1) {
		fail("write");
		return 1;
	}
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fail("the child did not return from vfork() well (status %#x)", status);
		return 1;
	}
	pass();
	return 0;
}
