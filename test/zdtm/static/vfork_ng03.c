/*
 * vfork_ng03 (crfail): a child P of the test with two threads each blocked in
 * vfork() for a child of its own, both waiting for a byte on a pipe. The
 * restore makes one vfork() again per process only, so the dump must refuse
 * it and leave the tree running: after SIGTERM both threads are still in
 * vfork(); released, each child exits with its own code, and each thread's
 * vfork() returns its own child's pid.
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

#define NR_VFORKS 2

struct shared {
	volatile pid_t worker[NR_VFORKS]; /* the threads' tids */
};

static volatile pid_t child_self[NR_VFORKS];
static volatile int marker[NR_VFORKS][2];
static int rel_fd, rep_fd;
static struct shared *sh;

/* Thread @arg: vforks a child that exits with 20 + its index, then checks it. */
static void *worker(void *arg)
{
	long idx = (long)arg;
	int status;
	pid_t v;

	sh->worker[idx] = (pid_t)syscall(SYS_gettid);
	v = vfork();
	if (v == 0)
		vfork_ng_child(rel_fd, rep_fd, &child_self[idx], &marker[idx][0], &marker[idx][1], 20 + (int)idx);
	if (v <= 0 || v != child_self[idx])
		return (void *)10L;
	if (marker[idx][0] != 1 || marker[idx][1] != 2)
		return (void *)11L;
	if (waitpid(v, &status, 0) != v || !WIFEXITED(status) || WEXITSTATUS(status) != 20 + idx)
		return (void *)12L;
	return NULL;
}

static void __attribute__((noreturn)) vforker(void)
{
	pthread_t th[NR_VFORKS];
	void *res;

	for (long i = 0; i < NR_VFORKS; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)i))
			_exit(13);
	for (int i = 0; i < NR_VFORKS; i++)
		if (pthread_join(th[i], &res) || res)
			_exit(res ? (int)(long)res : 14);
	_exit(0);
}

/* Waits up to a second for every worker of @pid to be in state D. */
static int wait_vfork_states(pid_t pid)
{
	for (int k = 0; k < NR_VFORKS; k++)
		if (vfork_ng_wait_blocked(pid, sh->worker[k]))
			return -1;
	return 0;
}

int main(int argc, char **argv)
{
	pid_t child, vchild;
	int rel, rep;

	test_init(argc, argv);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		fail("mmap");
		return 1;
	}
	child = vfork_ng_fork(&rel, &rep, NR_VFORKS, &vchild);
	if (child < 0)
		return 1;
	if (child == 0) {
		rel_fd = rel;
		rep_fd = rep;
		vforker();
	}
	if (wait_vfork_states(child))
		return 1;

	test_daemon();
	test_waitsig();

	if (wait_vfork_states(child) || vfork_ng_release(rel, child, NR_VFORKS))
		return 1;
	pass();
	return 0;
}
