/* thread-gate.c: see thread-gate.h. */
#include <dirent.h>

#include "thread-gate.h"
#include "zdtmtst.h"

void thread_gate_pass(struct thread_gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->ready++;
	pthread_cond_broadcast(&g->cond);
	while (!g->stop)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

void thread_gate_wait_ready(struct thread_gate *g, int n)
{
	pthread_mutex_lock(&g->lock);
	while (g->ready < n)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

void thread_gate_release(struct thread_gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->stop = true;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

static int count_tasks(void)
{
	struct dirent *de;
	int n = 0;
	DIR *d = opendir("/proc/self/task");

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

int thread_gate_finish(struct thread_gate *g, int n)
{
	int tasks = count_tasks(), ret = 0;

	if (tasks != n + 1) {
		fail("%d threads, expected %d", tasks, n + 1);
		ret = 1;
	}
	thread_gate_release(g);
	return ret;
}
