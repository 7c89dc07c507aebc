/*
 * vfork_ng02: a child P of the test with two threads: its main thread keeps
 * counting in memory the test shares, its second thread W is blocked in
 * vfork() (as a posix_spawn() from a worker thread): its child C wrote a
 * marker and waits for a byte on a pipe, then _exit()s. The dump ends that
 * vfork() last and the restore makes it again from W: after restore W (not
 * the main thread) is in state D, C is P's child with its pid, and the
 * counter still goes up while W waits; once the test writes the byte, C
 * writes a second marker and exits, W's vfork() returns C's pid, W sees both
 * markers and C's exit status and ends P with 0. With --leave-running the
 * dump is refused (the .desc says killdump). vfork_ng04 swaps the roles: the
 * main thread vforks, the second thread counts.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tree.h"
#include "zdtmtst.h"

#define VFORK_EXIT 7
#ifndef VFORK_LEADER
#define VFORK_LEADER 0 /* 1: the main thread vforks, the second one counts (vfork_ng04) */
#endif

struct shared {
	volatile long counter; /* the main thread's */
	volatile pid_t worker; /* W's tid */
};

static volatile int marker_before, marker_after;
static volatile pid_t child_self;
static int rel_fd, rep_fd;

/* W: vforks C, then checks what vfork() returned and what C wrote; ends P with the verdict. */
static void *worker(void *arg)
{
	struct shared *sh = arg;
	int status;
	pid_t v;

	sh->worker = (pid_t)syscall(SYS_gettid);
	v = vfork();
	if (v == 0) {
		/* Shares P's memory and W's stack: raw syscalls only. */
		pid_t self = (pid_t)syscall(SYS_getpid);
		char b;

		child_self = self;
		marker_before = 1;
		if (syscall(SYS_write, rep_fd, &self, sizeof(self)) != sizeof(self))
			syscall(SYS_exit, 3);
		if (syscall(SYS_read, rel_fd, &b, 1) != 1)
			syscall(SYS_exit, 4);
		marker_after = 2;
		syscall(SYS_exit, VFORK_EXIT);
	}
	if (v <= 0 || v != child_self)
		_exit(10);
	if (marker_before != 1 || marker_after != 2)
		_exit(11);
	if (waitpid(v, &status, 0) != v || !WIFEXITED(status) || WEXITSTATUS(status) != VFORK_EXIT)
		_exit(12);
	_exit(0);
}

static void *counter(void *arg)
{
	struct shared *sh = arg;

	for (;;) {
		sh->counter++;
		usleep(1000);
	}
	return NULL;
}

static void __attribute__((noreturn)) vforker(struct shared *sh)
{
	pthread_t th;

	if (pthread_create(&th, NULL, VFORK_LEADER ? counter : worker, sh))
		_exit(13);
	if (VFORK_LEADER)
		worker(sh);
	counter(sh);
	_exit(15);
}

/* The state letter of thread @tid of @pid and its process's parent, from /proc/PID/task/TID/stat. */
static int thread_state(pid_t pid, pid_t tid, char *state, pid_t *ppid)
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

/* Waits up to a second for thread @tid of @pid to be in state D. */
static int wait_vfork_state(pid_t pid, pid_t tid)
{
	pid_t ppid;
	char state = '?';

	for (int i = 0; i < 100 && !thread_state(pid, tid, &state, &ppid) && state != 'D'; i++)
		usleep(10000);
	if (thread_state(pid, tid, &state, &ppid) || state != 'D') {
		fail("thread %d of %d is not blocked in vfork() (state %c)", tid, pid, state);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int rel[2], rep[2], status;
	pid_t child, vchild = 0, ppid;
	struct shared *sh;
	long before;
	char state, b = 1;

	test_init(argc, argv);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED || pipe(rel) || pipe(rep)) {
		fail("mmap or pipe");
		return 1;
	}
	child = tree_fork();
	if (child < 0)
		return 1;
	if (child == 0) {
		close(rel[1]);
		close(rep[0]);
		rel_fd = rel[0];
		rep_fd = rep[1];
		vforker(sh);
	}
	close(rel[0]);
	close(rep[1]);
	if (read(rep[0], &vchild, sizeof(vchild)) != sizeof(vchild)) {
		fail("the vfork() child did not report");
		return 1;
	}
	close(rep[0]);
	if (!sh->worker || (sh->worker == child) != VFORK_LEADER || wait_vfork_state(child, sh->worker))
		return 1;

	test_daemon();
	test_waitsig();

	if (wait_vfork_state(child, sh->worker))
		return 1;
	if (!VFORK_LEADER && (thread_state(child, child, &state, &ppid) || state == 'D')) {
		fail("the main thread of %d is gone or blocked (state %c)", child, state);
		return 1;
	}
	if (thread_state(vchild, vchild, &state, &ppid) || ppid != child) {
		fail("the vfork() child %d is gone or not the child's", vchild);
		return 1;
	}
	before = sh->counter;
	usleep(100000);
	if (sh->counter <= before) {
		fail("the counting thread did not run while the other one was in vfork() (%ld)", before);
		return 1;
	}
	if (wait_vfork_state(child, sh->worker))
		return 1;
	if (write(rel[1], &b, 1) != 1) {
		fail("write");
		return 1;
	}
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fail("the worker did not return from vfork() well (status %#x)", status);
		return 1;
	}
	pass();
	return 0;
}
