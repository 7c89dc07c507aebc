/*
 * criu restore: creating the other threads of the process from its leader
 * (see include/restore-threads.h).
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "restore-fork.h"
#include "restore-thread.h"
#include "restore-threads.h"

#define LOG_PREFIX "restore: "
#include "log.h"

#define TRAMP_CLONE 3584 /* the clone3 arguments and the tid in the trampoline */
#define THREAD_FLAGS (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM)

/* Waits for the first stop of a thread just cloned under PTRACE_O_TRACECLONE. */
static int wait_new_thread(pid_t tid)
{
	int status;

	while (waitpid(tid, &status, __WALL) < 0)
		if (errno != EINTR) {
			pr_perror("Can't wait for the new thread %d", tid);
			return -errno;
		}
	if (!WIFSTOPPED(status)) {
		pr_err("the new thread %d didn't stop (status %#x)\n", tid, status);
		return -ECHILD;
	}
	if (ptrace(PTRACE_SETOPTIONS, tid, NULL, (void *)(long)RESTORE_PTRACE_OPTIONS) < 0) {
		pr_perror("Can't set ptrace options on thread %d", tid);
		return -errno;
	}
	return 0;
}

static int clone_thread(struct restore_ctl *ctl, pid_t tid)
{
	struct restore_clone_args args = { .flags = THREAD_FLAGS, .set_tid_size = 1 };
	uint64_t args_addr, tid_addr;
	long ret;

	ret = restore_ctl_put_data(ctl, TRAMP_CLONE + sizeof(args), &tid, sizeof(tid), &tid_addr);
	if (ret)
		return (int)ret;
	args.set_tid = tid_addr;
	ret = restore_ctl_put_data(ctl, TRAMP_CLONE, &args, sizeof(args), &args_addr);
	if (!ret)
		ret = restore_ctl_syscall(ctl, SYS_clone3, 2, args_addr, (uint64_t)sizeof(args));
	if (ret == tid)
		return wait_new_thread(tid);
	if (ret == -EEXIST)
		pr_err("tid %d is in use: can't restore the thread of process %d\n", tid, ctl->pid);
	else
		pr_err("can't create thread %d of process %d: %s\n", tid, ctl->pid,
		       ret < 0 ? strerror((int)-ret) : "clone3 gave another tid");
	return ret < 0 ? (int)ret : -EINVAL;
}

int restore_threads_create(struct restore_ctl *ctl, const struct restore_image *ri)
{
	for (size_t i = 0; i < ri->nr_threads; i++) {
		struct restore_ctl tctl = *ctl;
		int ret;

		ret = clone_thread(ctl, ri->tids[i]);
		if (ret)
			return ret;
		tctl.pid = ri->tids[i];
		tctl.inj.pid = ri->tids[i];
		ret = restore_thread_state(&tctl, ri->thread_cores[i]);
		if (!ret)
			ret = restore_thread_regs(ri->tids[i], ri->thread_cores[i]);
		if (!ret)
			ret = restore_thread_sigmask(ri->tids[i], ri->thread_cores[i], ri->core->tc->blk_sigset);
		if (ret)
			return ret;
		pr_debug("thread %d restored\n", ri->tids[i]);
	}
	return 0;
}

int restore_threads_detach(const struct restore_image *ri)
{
	for (size_t i = 0; i < ri->nr_threads; i++)
		if (ptrace(PTRACE_DETACH, ri->tids[i], NULL, NULL) < 0) {
			pr_perror("Can't detach from thread %d", ri->tids[i]);
			return -errno;
		}
	return 0;
}

void restore_threads_kill(const struct restore_image *ri)
{
	kill(ri->pid, SIGKILL);
	for (size_t i = 0; i < ri->nr_threads; i++)
		while (waitpid(ri->tids[i], NULL, __WALL) < 0 && errno == EINTR)
			;
	while (waitpid(ri->pid, NULL, __WALL) < 0 && errno == EINTR)
		;
}
