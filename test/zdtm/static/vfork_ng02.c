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
#include "vfork_ng.h"
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
	if (v == 0)
		vfork_ng_child(rel_fd, rep_fd, &child_self, &marker_before, &marker_after, VFORK_EXIT);
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

int main(int argc, char **argv)
{
	pid_t child, vchild = 0, ppid;
	struct shared *sh;
	int rel, rep;
	long before;
	char state;

	test_init(argc, argv);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		fail("mmap");
		return 1;
	}
	child = vfork_ng_fork(&rel, &rep, 1, &vchild);
	if (child < 0)
		return 1;
	if (child == 0) {
		rel_fd = rel;
		rep_fd = rep;
		vforker(sh);
	}
	if (!sh->worker || (sh->worker == child) != VFORK_LEADER || vfork_ng_wait_blocked(child, sh->worker))
		return 1;

	test_daemon();
	test_waitsig();

	if (vfork_ng_wait_blocked(child, sh->worker))
		return 1;
	if (!VFORK_LEADER && (vfork_ng_state(child, child, &state, &ppid) || state == 'D')) {
		fail("the main thread of %d is gone or blocked (state %c)", child, state);
		return 1;
	}
	if (vfork_ng_state(vchild, vchild, &state, &ppid) || ppid != child) {
		fail("the vfork() child %d is gone or not the child's", vchild);
		return 1;
	}
	before = sh->counter;
	usleep(100000);
	if (sh->counter <= before) {
		fail("the counting thread did not run while the other one was in vfork() (%ld)", before);
		return 1;
	}
	if (vfork_ng_wait_blocked(child, sh->worker) || vfork_ng_release(rel, child, 1))
		return 1;
	pass();
	return 0;
}
