/*
 * criu restore: a vfork() made again (see include/restore-vfork.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "inject.h"
#include "regs.h"
#include "restore-batch.h"
#include "restore-fork.h"
#include "restore-sharedmm.h"
#include "restore-thread.h"
#include "restore-vfork.h"

#define LOG_PREFIX "restore: "
#include "log.h"

#define TRAMP_VFORK_TID 3072  /* the set_tid array of the clone3 */
#define TRAMP_VFORK_ARGS 3136 /* its struct clone_args */
#define VFORK_LIST_ROOM 64    /* threads' worth of records for the child's list (its fd changes) */

/*
 * Runs the clone3 whose arguments are at @addr in @ctl's task until the task
 * stops: its wait *@status, and in *@result 0 at the vfork event, or the
 * clone3's result when it ended without one.
 */
static int vfork_issue(struct restore_ctl *ctl, uint64_t addr, int *status, long *result)
{
	struct user_regs_struct regs;
	int ret = compel_get_gpregs(ctl->pid, &regs);

	if (ret)
		return ret;
	regs.rip = ctl->inj.syscall_ip;
	regs.rax = SYS_clone3;
	regs.orig_rax = (uint64_t)-1;
	regs.rdi = addr;
	regs.rsi = sizeof(struct restore_clone_args);
	ret = compel_set_gpregs(ctl->pid, &regs);
	if (!ret && ptrace(PTRACE_CONT, ctl->pid, NULL, NULL) < 0)
		ret = -errno;
	ret = ret ?: rb_wait_stop(ctl->pid, status);
	if (ret)
		return ret;
	*result = 0;
	if (*status >> 8 != (SIGTRAP | (PTRACE_EVENT_VFORK << 8)))
		*result = compel_get_gpregs(ctl->pid, &regs) ? -EIO : (long)regs.rax;
	return 0;
}

/*
 * Makes @pid the next pid of criu's pid namespace: ns_last_pid, written under
 * its flock, which *@lockfd holds until closed.
 */
static int last_pid_lock(pid_t pid, int *lockfd)
{
	char buf[16];
	int fd, len;

	fd = open("/proc/sys/kernel/ns_last_pid", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("Can't open /proc/sys/kernel/ns_last_pid");
		return -errno;
	}
	len = snprintf(buf, sizeof(buf), "%d", pid - 1);
	if (flock(fd, LOCK_EX) < 0 || write(fd, buf, (size_t)len) != len) {
		pr_perror("Can't set ns_last_pid to %d", pid - 1);
		close(fd);
		return -EIO;
	}
	*lockfd = fd;
	return 0;
}

/*
 * Runs the clone3 in @ctl's task up to its PTRACE_EVENT_VFORK stop; checks the
 * new pid is @child. The thread's credentials are already the dumped ones: when
 * they can't choose the pid (set_tid needs CAP_CHECKPOINT_RESTORE), criu makes
 * @child the next pid through ns_last_pid and the clone3 goes without set_tid.
 */
static int run_vfork(struct restore_ctl *ctl, const struct restore_image *p, pid_t child)
{
	struct restore_clone_args args = { .flags = restore_sharer_clone_flags(p, p->vfork_child) | CLONE_VFORK,
					   .exit_signal = SIGCHLD,
					   .set_tid_size = 1 };
	unsigned long msg = 0;
	int status, ret, lock = -1;
	uint64_t addr;
	long result;

	ret = restore_ctl_put_data(ctl, TRAMP_VFORK_TID, &child, sizeof(child), &args.set_tid);
	ret = ret ?: restore_ctl_put_data(ctl, TRAMP_VFORK_ARGS, &args, sizeof(args), &addr);
	if (!ret &&
	    ptrace(PTRACE_SETOPTIONS, ctl->pid, NULL, (void *)(long)(RESTORE_PTRACE_OPTIONS | PTRACE_O_TRACEVFORK)))
		ret = -errno;
	ret = ret ?: vfork_issue(ctl, addr, &status, &result);
	if (!ret && result == -EPERM) {
		pr_info("thread %d can't choose its child's pid: %d through ns_last_pid\n", ctl->pid, child);
		args.set_tid = 0;
		args.set_tid_size = 0;
		ret = restore_ctl_put_data(ctl, TRAMP_VFORK_ARGS, &args, sizeof(args), &addr);
		ret = ret ?: last_pid_lock(child, &lock);
		ret = ret ?: vfork_issue(ctl, addr, &status, &result);
		if (lock >= 0)
			close(lock);
	}
	if (ret)
		return ret;
	if (result) {
		pr_err("the vfork() of thread %d for its child %d did not stop at its event (status %#x, result %ld: "
		       "%s)\n",
		       ctl->pid, child, status, result, result < 0 && result > -4096 ? strerror((int)-result) : "-");
		return result == -EEXIST ? -EEXIST : -EIO;
	}
	if (ptrace(PTRACE_GETEVENTMSG, ctl->pid, NULL, &msg) < 0)
		return -errno;
	if ((pid_t)msg != child) {
		pr_err("the vfork() of thread %d made %lu, not %d%s\n", ctl->pid, msg, child,
		       args.set_tid_size ? "" : " (another process took the pid meanwhile)");
		return -EIO;
	}
	/* The child, auto-attached to the seizing tracer: PTRACE_EVENT_STOP once it runs. */
	return rb_wait_stop(child, &status);
}

/*
 * The child's own list (as a sharer's: restore-threads.c), run by itself. It
 * was made with @held, its parent thread's restored credentials.
 */
static int child_list(struct restore_ctl *cctl, const struct restore_image *p, const struct restore_image *c,
		      const CredsEntry *held)
{
	struct rb_scratch s;
	struct rbatch b;
	int ret;

	ret = rb_scratch_map(cctl, &s, VFORK_LIST_ROOM);
	if (ret)
		return ret;
	rb_scratch_leader(&s, &b);
	restore_sharer_fds(&b, p, c);
	restore_rlimits(&b, c->core->tc);
	ret = restore_thread_state(&b, c->pid, c->core, true, held);
	ret = ret ?: rbatch_end(cctl, &b);
	ret = ret ?: rb_scratch_write(cctl, &s);
	ret = ret ?: rb_run(cctl, &s, &b);
	ret = ret ?: rbatch_check(cctl, &b, c->pid);
	ret = ret ?: rb_scratch_unmap(cctl, &s);
	rb_scratch_free(&s);
	rbatch_fini(&b);
	return ret;
}

/* The core of thread @tid of @p. */
static const CoreEntry *thread_core(const struct restore_image *p, pid_t tid)
{
	for (size_t i = 0; i < p->nr_threads; i++)
		if (p->tids[i] == tid)
			return p->thread_cores[i];
	return p->core;
}

int restore_vfork(struct restore_ctl *ctl, const struct restore_image *p)
{
	const struct restore_image *c = p->vfork_child;
	const CoreEntry *core = thread_core(p, p->vfork_tid);
	struct restore_ctl tctl = *ctl, cctl;
	int ret;

	/* Its thread runs the clone3 (seized by this criu thread, with the process's other threads). */
	tctl.pid = tctl.inj.pid = p->vfork_tid;
	ret = run_vfork(&tctl, p, c->pid);
	/* Its dumped state, set inside its vfork(): the syscall's exit writes the child's pid into rax. */
	ret = ret ?: restore_thread_regs(tctl.pid, core);
	ret = ret ?: restore_thread_sigmask(tctl.pid, core, p->core->tc->blk_sigset);
	if (ret)
		return ret;
	cctl = *ctl;
	cctl.pid = cctl.tgid = cctl.inj.pid = c->pid;
	ret = child_list(&cctl, p, c, core->thread_core->creds);
	ret = ret ?: restore_sharer_end(&cctl, c, restore_sharer_own_sighand(p, c), true);
	if (ret)
		return ret;
	ctl->tramp = 0;
	restore_task_limits(c->pid, c);
	pr_info("thread %d of process %d is in vfork() again, for its child %d\n", p->vfork_tid, p->pid, c->pid);
	return 0;
}
