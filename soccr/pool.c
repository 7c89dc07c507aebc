// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * pool.c: the worker threads of a context. They live as long as the context
 * and sleep between batches; a batch runs one function on every worker, the
 * calling thread included as worker 0, and returns when all are done. The
 * threads block every signal: a signal meant for the caller's process never
 * runs a handler in them.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>

#include "internal.h"

struct pool_thread {
	struct soccr_pool *pool;
	unsigned int index;
	pthread_t tid;
};

struct soccr_pool {
	pthread_mutex_t lock;
	pthread_cond_t wake; /* a new batch, or stop */
	pthread_cond_t done; /* the last worker finished */
	unsigned long batch; /* counts batches: a change means work */
	unsigned int busy;   /* workers still running the current batch */
	bool stop;
	soccr_work_fn fn;
	void *arg;
	unsigned int nr_threads; /* besides the caller */
	struct pool_thread threads[];
};

static void *pool_thread_main(void *data)
{
	struct pool_thread *t = data;
	struct soccr_pool *pool = t->pool;
	unsigned long seen = 0;

	pthread_mutex_lock(&pool->lock);
	for (;;) {
		while (!pool->stop && pool->batch == seen)
			pthread_cond_wait(&pool->wake, &pool->lock);
		if (pool->stop)
			break;
		seen = pool->batch;
		pthread_mutex_unlock(&pool->lock);

		pool->fn(pool->arg, t->index);

		pthread_mutex_lock(&pool->lock);
		if (--pool->busy == 0)
			pthread_cond_signal(&pool->done);
	}
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

static void pool_stop(struct soccr_pool *pool, unsigned int started)
{
	pthread_mutex_lock(&pool->lock);
	pool->stop = true;
	pthread_cond_broadcast(&pool->wake);
	pthread_mutex_unlock(&pool->lock);
	for (unsigned int i = 0; i < started; i++)
		pthread_join(pool->threads[i].tid, NULL);
}

int soccr_pool_create(unsigned int nr_workers, struct soccr_pool **poolp)
{
	unsigned int nr_threads = nr_workers > 1 ? nr_workers - 1 : 0;
	struct soccr_pool *pool;
	pthread_attr_t attr;
	sigset_t all;
	unsigned int i = 0;
	int ret, attr_ret;

	pool = calloc(1, sizeof(*pool) + nr_threads * sizeof(pool->threads[0]));
	if (!pool)
		return -ENOMEM;
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->wake, NULL);
	pthread_cond_init(&pool->done, NULL);
	pool->nr_threads = nr_threads;
	/* every signal blocked from the threads' first instruction on (glibc keeps its own two) */
	ret = pthread_attr_init(&attr);
	if (ret)
		goto out_stop_threads;
	ret = sigfillset(&all) ? EINVAL : pthread_attr_setsigmask_np(&attr, &all);
	for (; !ret && i < nr_threads; i++) {
		pool->threads[i].pool = pool;
		pool->threads[i].index = i + 1;
		ret = pthread_create(&pool->threads[i].tid, &attr, pool_thread_main, &pool->threads[i]);
		if (ret)
			break;
	}
	/* it holds the mask: destroyed whatever happened */
	attr_ret = pthread_attr_destroy(&attr);
	ret = ret ?: attr_ret;
	if (ret)
		goto out_stop_threads;
	*poolp = pool;
	return 0;

out_stop_threads:
	pool_stop(pool, i);
	pthread_cond_destroy(&pool->done);
	pthread_cond_destroy(&pool->wake);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
	return -ret;
}

void soccr_pool_destroy(struct soccr_pool *pool)
{
	if (!pool)
		return;
	pool_stop(pool, pool->nr_threads);
	pthread_cond_destroy(&pool->done);
	pthread_cond_destroy(&pool->wake);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
}

void soccr_pool_run(struct soccr_pool *pool, soccr_work_fn fn, void *arg)
{
	if (!pool->nr_threads) {
		fn(arg, 0);
		return;
	}
	pthread_mutex_lock(&pool->lock);
	pool->fn = fn;
	pool->arg = arg;
	pool->busy = pool->nr_threads;
	pool->batch++;
	pthread_cond_broadcast(&pool->wake);
	pthread_mutex_unlock(&pool->lock);

	fn(arg, 0);

	pthread_mutex_lock(&pool->lock);
	while (pool->busy)
		pthread_cond_wait(&pool->done, &pool->lock);
	pthread_mutex_unlock(&pool->lock);
}
