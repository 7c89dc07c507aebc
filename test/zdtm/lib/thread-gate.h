/*
 * thread-gate.h: worker threads of a test that set up their state, report
 * ready, sleep through the checkpoint and check their state when released.
 */
#ifndef ZDTM_THREAD_GATE_H
#define ZDTM_THREAD_GATE_H

#include <pthread.h>
#include <stdbool.h>

struct thread_gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int ready;
	bool stop;
};

#define THREAD_GATE_INIT                                                      \
	{                                                                     \
		PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false \
	}

/* In a worker: reports it ready, then sleeps until thread_gate_release(). */
void thread_gate_pass(struct thread_gate *g);
/* In the main thread: waits until @n workers are ready. */
void thread_gate_wait_ready(struct thread_gate *g, int n);
/* Wakes every worker. */
void thread_gate_release(struct thread_gate *g);

/* After the checkpoint: 1 (reported) unless the process has @n workers and its main thread; then releases them. */
int thread_gate_finish(struct thread_gate *g, int n);

#endif /* ZDTM_THREAD_GATE_H */
