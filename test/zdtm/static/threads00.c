/*
 * threads00: several threads, each with a state of its own: its tid, a
 * thread-local value, a signal mask, an alternate signal stack, data on its
 * stack, and for some a signal pending on the thread alone. The threads sleep
 * on a condition variable while the main thread waits for SIGTERM; then they
 * check their state and the main thread collects the verdicts.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "thread-gate.h"
#include "zdtmtst.h"

#define NR_WORKERS 8
#define STACK_BYTES 4096

static __thread uint64_t tls_value;

struct worker {
	struct thread_gate *gate;
	pthread_t thread;
	int idx;
	void *altstack;
	size_t altstack_size;
	int bad; /* number of things that changed */
};

/* Threads with SIGUSR2 blocked get one sent to them alone. */
static bool has_pending(int idx)
{
	return idx & 2;
}

static void worker_mask(int idx, sigset_t *mask)
{
	sigemptyset(mask);
	sigaddset(mask, SIGTERM); /* SIGTERM is the main thread's */
	sigaddset(mask, SIGRTMIN + idx);
	if (idx & 1)
		sigaddset(mask, SIGUSR1);
	if (has_pending(idx))
		sigaddset(mask, SIGUSR2);
}

static bool sigset_equal(const sigset_t *a, const sigset_t *b)
{
	for (int sig = 1; sig < SIGRTMAX; sig++)
		if (sigismember(a, sig) != sigismember(b, sig))
			return false;
	return true;
}

static void worker_check_signals(struct worker *w)
{
	const struct timespec zero = { 0, 0 };
	sigset_t usr2;
	siginfo_t si;
	stack_t ss;

	if (sigaltstack(NULL, &ss) || ss.ss_sp != w->altstack || ss.ss_size != w->altstack_size || ss.ss_flags) {
		fail("thread %d: alternate stack is %p+%zu, expected %p+%zu", w->idx, ss.ss_sp, ss.ss_size, w->altstack,
		     w->altstack_size);
		w->bad++;
	}
	if (!has_pending(w->idx))
		return;
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	if (sigtimedwait(&usr2, &si, &zero) != SIGUSR2 || si.si_pid != getpid()) {
		fail("thread %d: its pending SIGUSR2 is gone", w->idx);
		w->bad++;
	}
}

static void worker_check(struct worker *w, pid_t tid, const sigset_t *mask, const uint8_t *stack, uint32_t crc)
{
	sigset_t now;

	if (gettid() != tid) {
		fail("thread %d: tid changed from %d to %d", w->idx, tid, gettid());
		w->bad++;
	}
	if (tls_value != 0x7e570000ull + (uint64_t)w->idx) {
		fail("thread %d: thread-local value is %#llx", w->idx, (unsigned long long)tls_value);
		w->bad++;
	}
	if (pthread_sigmask(SIG_BLOCK, NULL, &now) || !sigset_equal(&now, mask)) {
		fail("thread %d: signal mask changed", w->idx);
		w->bad++;
	}
	if (datachk(stack, STACK_BYTES, crc)) {
		fail("thread %d: stack data changed", w->idx);
		w->bad++;
	}
	worker_check_signals(w);
}

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	uint8_t stack[STACK_BYTES];
	sigset_t mask;
	uint32_t crc;
	pid_t tid = gettid();

	tls_value = 0x7e570000ull + (uint64_t)w->idx;
	if (sigaltstack(&(stack_t){ .ss_sp = w->altstack, .ss_size = w->altstack_size }, NULL)) {
		fail("thread %d: sigaltstack", w->idx);
		w->bad++;
	}
	datagen(stack, sizeof(stack), &crc);
	worker_mask(w->idx, &mask);
	if (pthread_sigmask(SIG_SETMASK, &mask, NULL)) {
		fail("thread %d: pthread_sigmask", w->idx);
		w->bad++;
	}

	thread_gate_pass(w->gate);

	worker_check(w, tid, &mask, stack, crc);
	return NULL;
}

int main(int argc, char **argv)
{
	struct thread_gate gate = THREAD_GATE_INIT;
	struct worker workers[NR_WORKERS];
	int ret;

	test_init(argc, argv);
	for (int i = 0; i < NR_WORKERS; i++) {
		workers[i] = (struct worker){ .gate = &gate, .idx = i, .altstack_size = 16384 + i * 4096 };
		workers[i].altstack = malloc(workers[i].altstack_size);
		if (!workers[i].altstack) {
			fail("malloc");
			return 1;
		}
		if (pthread_create(&workers[i].thread, NULL, worker_fn, &workers[i])) {
			fail("pthread_create");
			return 1;
		}
	}
	thread_gate_wait_ready(&gate, NR_WORKERS);
	for (int i = 0; i < NR_WORKERS; i++) {
		if (has_pending(i) && pthread_kill(workers[i].thread, SIGUSR2)) {
			fail("pthread_kill");
			return 1;
		}
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
