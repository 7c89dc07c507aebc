/*
 * What the vfork_ng tests share: the vfork()ed child's part, and a look at
 * the state of a thread.
 */
#ifndef ZDTM_VFORK_NG_H
#define ZDTM_VFORK_NG_H

#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tree.h"
#include "zdtmtst.h"

/*
 * The child's part after vfork(): it shares its parent's memory and stack, so
 * raw syscalls only. Puts its pid in *@self and 1 in *@before, reports its pid
 * on @rep, waits for a byte on @rel, puts 2 in *@after, then execs /bin/true
 * (@code 0) or exits with @code. With VFORK_NG_SETSID it first leads a
 * session of its own (as posix_spawn()'s POSIX_SPAWN_SETSID).
 */
static inline __attribute__((always_inline, noreturn)) void
vfork_ng_child(int rel, int rep, volatile pid_t *self, volatile int *before, volatile int *after, int code)
{
	static char *const argv[] = { "true", NULL };
	static char *const envp[] = { NULL };
	pid_t pid = (pid_t)syscall(SYS_getpid);
	char b;

#ifdef VFORK_NG_SETSID
	if (syscall(SYS_setsid) != pid)
		code = 6;
#endif
	*self = pid;
	*before = 1;
	if (syscall(SYS_write, rep, &pid, sizeof(pid)) != sizeof(pid))
		code = 3;
	else if (syscall(SYS_read, rel, &b, 1) != 1)
		code = 4;
	else
		*after = 2;
	if (!code)
		syscall(SYS_execve, "/bin/true", argv, envp);
	for (;;)
		syscall(SYS_exit, code ? code : 5);
}

/* The state letter of thread @tid of @pid and its process's parent, from /proc/PID/task/TID/stat: 0 or -1. */
static inline int vfork_ng_state(pid_t pid, pid_t tid, char *state, pid_t *ppid)
{
	char path[64], comm[64];
	int ret;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	ret = fscanf(f, "%*d (%63[^)]) %c %d", comm, state, ppid) == 3 ? 0 : -1;
	fclose(f);
	return ret;
}

/* Waits up to a second for thread @tid of @pid to be in state D (in vfork()): 0, or -1 once fail()ed. */
static inline int vfork_ng_wait_blocked(pid_t pid, pid_t tid)
{
	pid_t ppid;
	char state = '?';

	for (int i = 0; i < 100 && !vfork_ng_state(pid, tid, &state, &ppid) && state != 'D'; i++)
		usleep(10000);
	if (vfork_ng_state(pid, tid, &state, &ppid) || state != 'D') {
		fail("thread %d of %d is not blocked in vfork() (state %c)", tid, pid, state);
		return -1;
	}
	return 0;
}

/*
 * Makes the two pipes and forks P (tree_fork()). In P: returns 0, *@rel and
 * *@rep its ends (to read the release byte, to report on). In the test:
 * returns P's pid once @n vfork()ed children reported their pids (the last in
 * *@last), *@rel the end to release them on; -1 once fail()ed.
 */
static inline pid_t vfork_ng_fork(int *rel, int *rep, int n, pid_t *last)
{
	int relp[2], repp[2];
	pid_t child;

	if (pipe(relp) || pipe(repp)) {
		fail("pipe");
		return -1;
	}
	child = tree_fork();
	if (child == 0) {
		close(relp[1]);
		close(repp[0]);
		*rel = relp[0];
		*rep = repp[1];
	}
	if (child <= 0)
		return child;
	close(relp[0]);
	close(repp[1]);
	*rel = relp[1];
	for (int k = 0; k < n; k++)
		if (read(repp[0], last, sizeof(*last)) != sizeof(*last)) {
			fail("a vfork() child did not report");
			child = -1;
			break;
		}
	close(repp[0]);
	return child;
}

/* Releases @n vfork()ed children (a byte each on @rel), then waits for P, @child, to exit with 0: 0, or -1 once fail()ed. */
static inline int vfork_ng_release(int rel, pid_t child, int n)
{
	const char b[8] = { 1, 1, 1, 1, 1, 1, 1, 1 };
	int status = 0;

	if (n > (int)sizeof(b) || write(rel, b, (size_t)n) != n) {
		fail("write");
		return -1;
	}
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fail("process %d did not return from vfork() well (status %#x)", child, status);
		return -1;
	}
	return 0;
}

#endif /* ZDTM_VFORK_NG_H */
