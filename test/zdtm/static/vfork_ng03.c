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
#include "zdtmtst.h"

#define NR_VFORKS 2

struct shared {
	volatile pid_t worker[NR_VFORKS]; /* the threads' tids */
};

static volatile pid_t child_self[NR_VFORKS];
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
	if (v == 0) {
		/* Shares P's memory and this thread's stack: raw syscalls only. */
		pid_t self = (pid_t)syscall(SYS_getpid);
		char b;

		child_self[idx] = self;
		if (syscall(SYS_write, rep_fd, &self, sizeof(self)) != sizeof(self))
			syscall(SYS_exit, 3);
		if (syscall(SYS_read, rel_fd, &b, 1) != 1)
			syscall(SYS_exit, 4);
		syscall(SYS_exit, 20 + idx);
	}
	if (v <= 0 || v != child_self[idx])
		return (void *)10L;
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

/* The state letter of thread @tid of @pid, from /proc/PID/task/TID/stat. */
static char thread_state(pid_t pid, pid_t tid)
{
	char path[64], comm[64], state = '?';
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	f = fopen(path, "r");
	if (!f)
		return '?';
	if (fscanf(f, "%*d (%63[^)]) %c", comm, &state) != 2)
		state = '?';
	fclose(f);
	return state;
}

/* Waits up to a second for every worker of @pid to be in state D. */
static int wait_vfork_states(pid_t pid)
{
	for (int k = 0; k < NR_VFORKS; k++) {
		for (int i = 0; i < 100 && thread_state(pid, sh->worker[k]) != 'D'; i++)
			usleep(10000);
		if (thread_state(pid, sh->worker[k]) != 'D') {
			fail("thread %d of %d is not blocked in vfork() (state %c)", sh->worker[k], pid,
			     thread_state(pid, sh->worker[k]));
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	int rel[2], rep[2], status;
	pid_t child, vchild;
	char b[NR_VFORKS] = { 1, 1 };

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
		vforker();
	}
	close(rel[0]);
	close(rep[1]);
	for (int k = 0; k < NR_VFORKS; k++)
		if (read(rep[0], &vchild, sizeof(vchild)) != sizeof(vchild)) {
			fail("a vfork() child did not report");
			return 1;
		}
	close(rep[0]);
	if (wait_vfork_states(child))
		return 1;

	test_daemon();
	test_waitsig();

	if (wait_vfork_states(child))
		return 1;
	if (write(rel[1], b, sizeof(b)) != sizeof(b)) {
		fail("write");
		return 1;
	}
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fail("the threads did not return from vfork() well (status %#x)", status);
		return 1;
	}
	pass();
	return 0;
}
