/*
 * comm00: the task's name (PR_SET_NAME, /proc/PID/comm) survives, for the
 * main thread and for a second thread with a name of its own.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "zdtmtst.h"

#define MAIN_NAME "zdtm-comm00"
#define THREAD_NAME "zdtm-comm-thr"

struct comm_ctx {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool named, stop;
	bool ok;
};

static void *thread_fn(void *arg)
{
	struct comm_ctx *ctx = arg;
	char name[16] = "";

	if (prctl(PR_SET_NAME, THREAD_NAME))
		fail("prctl(PR_SET_NAME) in the thread");
	pthread_mutex_lock(&ctx->lock);
	ctx->named = true;
	pthread_cond_broadcast(&ctx->cond);
	while (!ctx->stop)
		pthread_cond_wait(&ctx->cond, &ctx->lock);
	pthread_mutex_unlock(&ctx->lock);
	if (prctl(PR_GET_NAME, name) || strcmp(name, THREAD_NAME))
		fail("the thread is named '%s', expected '%s'", name, THREAD_NAME);
	else
		ctx->ok = true;
	return NULL;
}

int main(int argc, char **argv)
{
	struct comm_ctx ctx = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false, false };
	char name[16] = "", proc[64] = "";
	pthread_t thread;
	FILE *f;
	int ret = 0;

	test_init(argc, argv);
	if (prctl(PR_SET_NAME, MAIN_NAME)) {
		fail("prctl(PR_SET_NAME)");
		return 1;
	}
	if (pthread_create(&thread, NULL, thread_fn, &ctx)) {
		fail("pthread_create");
		return 1;
	}
	pthread_mutex_lock(&ctx.lock);
	while (!ctx.named)
		pthread_cond_wait(&ctx.cond, &ctx.lock);
	pthread_mutex_unlock(&ctx.lock);

	test_daemon();
	test_waitsig();

	if (prctl(PR_GET_NAME, name) || strcmp(name, MAIN_NAME)) {
		fail("the process is named '%s', expected '%s'", name, MAIN_NAME);
		ret = 1;
	}
	f = fopen("/proc/self/comm", "r");
	if (!f || !fgets(proc, sizeof(proc), f) || strcmp(proc, MAIN_NAME "\n")) {
		fail("/proc/self/comm says '%s'", proc);
		ret = 1;
	}
	if (f)
		fclose(f);
	pthread_mutex_lock(&ctx.lock);
	ctx.stop = true;
	pthread_cond_broadcast(&ctx.cond);
	pthread_mutex_unlock(&ctx.lock);
	if (pthread_join(thread, NULL) || !ctx.ok)
		ret = 1;
	if (!ret)
		pass();
	return ret;
}
