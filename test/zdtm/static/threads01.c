/*
 * threads01: many threads (64), each with state of its own that the restore
 * sets from the thread itself: a name, an alternate signal stack, a robust
 * list head, credentials that differ from the main thread's for some (uids,
 * gids, fsuid, supplementary groups, set with raw syscalls so that they are
 * per-thread), and signals pending on the thread alone for others, among them
 * a SIGCONT (a stop signal anywhere in the process would flush it). The
 * threads sleep on a condition variable while the main thread waits for
 * SIGTERM; then each checks its state and the main thread collects the
 * verdicts.
 */
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "thread-gate.h"
#include "zdtmtst.h"

#define NR_WORKERS 63
#define ALTSTACK_BYTES 16384

struct worker {
	struct thread_gate *gate;
	pthread_t thread;
	int idx;
	void *altstack;
	struct robust_list_head robust;
	int bad; /* number of things that changed */
};

/* Every third thread runs with credentials of its own. */
static bool has_creds(int idx)
{
	return idx % 3 == 1;
}

/* Every fourth thread has SIGUSR2 and SIGCONT (both blocked) pending on it alone. */
static bool has_pending(int idx)
{
	return idx % 4 == 2;
}

static uid_t worker_uid(int idx)
{
	return (uid_t)(20000 + idx);
}

static void worker_name(int idx, char *name, size_t len)
{
	snprintf(name, len, "thr01-w%d", idx);
}

static int worker_set_creds(struct worker *w)
{
	gid_t groups[2] = { (gid_t)(30000 + w->idx), (gid_t)(30100 + w->idx) };
	uid_t uid = worker_uid(w->idx);

	/* Raw syscalls: glibc's wrappers would change every thread. Root keeps the saved ids. */
	if (syscall(SYS_setgroups, 2, groups) || syscall(SYS_setresgid, uid, uid, 0) ||
	    syscall(SYS_setresuid, uid, uid, 0))
		return -1;
	syscall(SYS_setfsuid, 0); /* the saved uid, so allowed: an fsuid other than the euid */
	return (uid_t)syscall(SYS_setfsuid, -1) == 0 ? 0 : -1;
}

static void worker_check_creds(struct worker *w)
{
	uid_t r, e, s, uid = worker_uid(w->idx);
	gid_t gr, ge, gs, groups[4];
	int n;

	if (syscall(SYS_getresuid, &r, &e, &s) || syscall(SYS_getresgid, &gr, &ge, &gs)) {
		fail("thread %d: getres*id", w->idx);
		w->bad++;
		return;
	}
	if (!has_creds(w->idx)) {
		if (r || e || s || gr || ge || gs) {
			fail("thread %d: ids %u/%u/%u %u/%u/%u, expected root's", w->idx, r, e, s, gr, ge, gs);
			w->bad++;
		}
		return;
	}
	if (r != uid || e != uid || s != 0 || gr != uid || ge != uid || gs != 0) {
		fail("thread %d: ids %u/%u/%u %u/%u/%u, expected %u/%u/0", w->idx, r, e, s, gr, ge, gs, uid, uid);
		w->bad++;
	}
	if ((uid_t)syscall(SYS_setfsuid, -1) != 0) {
		fail("thread %d: fsuid changed", w->idx);
		w->bad++;
	}
	n = (int)syscall(SYS_getgroups, 4, groups);
	if (n != 2 || groups[0] != (gid_t)(30000 + w->idx) || groups[1] != (gid_t)(30100 + w->idx)) {
		fail("thread %d: %d supplementary groups, not its two", w->idx, n);
		w->bad++;
	}
}

static void worker_check_signals(struct worker *w)
{
	const struct timespec zero = { 0, 0 };
	sigset_t set;
	siginfo_t si;

	if (!has_pending(w->idx))
		return;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	if (sigtimedwait(&set, &si, &zero) != SIGUSR2) {
		fail("thread %d: its pending SIGUSR2 is gone", w->idx);
		w->bad++;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGCONT);
	if (sigtimedwait(&set, &si, &zero) != SIGCONT) {
		fail("thread %d: its pending SIGCONT is gone", w->idx);
		w->bad++;
	}
}

static void worker_check(struct worker *w, pid_t tid)
{
	struct robust_list_head *head;
	char name[16], want[16];
	size_t len;
	stack_t ss;

	if (gettid() != tid) {
		fail("thread %d: tid changed from %d to %d", w->idx, tid, gettid());
		w->bad++;
	}
	worker_name(w->idx, want, sizeof(want));
	if (prctl(PR_GET_NAME, name) || strcmp(name, want)) {
		fail("thread %d: name is %s, expected %s", w->idx, name, want);
		w->bad++;
	}
	if (sigaltstack(NULL, &ss) || ss.ss_sp != w->altstack || ss.ss_size != ALTSTACK_BYTES || ss.ss_flags) {
		fail("thread %d: alternate stack is %p+%zu", w->idx, ss.ss_sp, ss.ss_size);
		w->bad++;
	}
	if (syscall(SYS_get_robust_list, 0, &head, &len) || head != &w->robust || len != sizeof(w->robust)) {
		fail("thread %d: robust list is %p", w->idx, (void *)head);
		w->bad++;
	}
	worker_check_creds(w);
	worker_check_signals(w);
}

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	pid_t tid = gettid();
	char name[16];
	sigset_t mask;

	worker_name(w->idx, name, sizeof(name));
	w->robust.list.next = &w->robust.list;
	if (prctl(PR_SET_NAME, name) ||
	    sigaltstack(&(stack_t){ .ss_sp = w->altstack, .ss_size = ALTSTACK_BYTES }, NULL) ||
	    syscall(SYS_set_robust_list, &w->robust, sizeof(w->robust))) {
		fail("thread %d: setting its state", w->idx);
		w->bad++;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM); /* SIGTERM is the main thread's */
	sigaddset(&mask, SIGUSR2);
	sigaddset(&mask, SIGCONT);
	if (pthread_sigmask(SIG_SETMASK, &mask, NULL) || (has_creds(w->idx) && worker_set_creds(w))) {
		fail("thread %d: mask or credentials", w->idx);
		w->bad++;
	}

	thread_gate_pass(w->gate);

	worker_check(w, tid);
	return NULL;
}

int main(int argc, char **argv)
{
	static struct worker workers[NR_WORKERS];
	struct thread_gate gate = THREAD_GATE_INIT;
	int ret;

	test_init(argc, argv);
	for (int i = 0; i < NR_WORKERS; i++) {
		workers[i] = (struct worker){ .gate = &gate, .idx = i };
		workers[i].altstack = malloc(ALTSTACK_BYTES);
		if (!workers[i].altstack || pthread_create(&workers[i].thread, NULL, worker_fn, &workers[i])) {
			fail("starting thread %d", i);
			return 1;
		}
	}
	thread_gate_wait_ready(&gate, NR_WORKERS);
	for (int i = 0; i < NR_WORKERS; i++)
		if (has_pending(i) &&
		    (pthread_kill(workers[i].thread, SIGUSR2) || pthread_kill(workers[i].thread, SIGCONT))) {
			fail("pthread_kill");
			return 1;
		}

	test_daemon();
	test_waitsig();

	ret = thread_gate_finish(&gate, NR_WORKERS);
	for (int i = 0; i < NR_WORKERS; i++) {
		if (pthread_join(workers[i].thread, NULL)) {
			fail("pthread_join");
			ret = 1;
		} else if (workers[i].bad)
			ret = 1;
	}
	if (!ret)
		pass();
	return ret;
}
