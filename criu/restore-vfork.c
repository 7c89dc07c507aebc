/*
 * criu restore: a vfork() made again (see include/restore-vfork.h).
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>

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

/* Runs the clone3 in @ctl's task up to its PTRACE_EVENT_VFORK stop; checks the new pid is @child. */
static int run_vfork(struct restore_ctl *ctl, const struct restore_image *p, pid_t child)
{
	struct restore_clone_args args = { .flags = restore_sharer_clone_flags(p, p->vfork_child) | CLONE_VFORK,
					   .exit_signal = SIGCHLD,
					   .set_tid_size = 1 };
	struct user_regs_struct regs;
	unsigned long msg = 0;
	uint64_t addr;
	int status, ret;

	ret = restore_ctl_put_data(ctl, TRAMP_VFORK_TID, &child, sizeof(child), &args.set_tid);
	ret = ret ?: restore_ctl_put_data(ctl, TRAMP_VFORK_ARGS, &args, sizeof(args), &addr);
	ret = ret ?: compel_get_gpregs(ctl->pid, &regs);
	if (ret)
		return ret;
	regs.rip = ctl->inj.syscall_ip;
	regs.rax = SYS_clone3;
	regs.orig_rax = (uint64_t)-1;
	regs.rdi = addr;
	regs.rsi = sizeof(args);
	ret = compel_set_gpregs(ctl->pid, &regs);
	if (!ret &&
	    ptrace(PTRACE_SETOPTIONS, ctl->pid, NULL, (void *)(long)(RESTORE_PTRACE_OPTIONS | PTRACE_O_TRACEVFORK)))
		ret = -errno;
	if (!ret && ptrace(PTRACE_CONT, ctl->pid, NULL, NULL) < 0)
		ret = -errno;
	ret = ret ?: rb_wait_stop(ctl->pid, &status);
	if (ret)
		return ret;
	if (status >> 8 != (SIGTRAP | (PTRACE_EVENT_VFORK << 8))) {
		long rax = compel_get_gpregs(ctl->pid, &regs) ? 0 : (long)regs.rax;

		pr_err("the vfork() of thread %d for its child %d did not stop at its event (status %#x, result %ld: "
		       "%s)\n",
		       ctl->pid, child, status, rax, rax < 0 && rax > -4096 ? strerror((int)-rax) : "-");
		return rax == -EEXIST ? -EEXIST : -EIO;
	}
	if (ptrace(PTRACE_GETEVENTMSG, ctl->pid, NULL, &msg) < 0)
		return -errno;
	if ((pid_t)msg != child) {
		pr_err("the vfork() of thread %d made %lu, not %d\n", ctl->pid, msg, child);
		return -EIO;
	}
	/* The child, auto-attached to the seizing tracer: PTRACE_EVENT_STOP once it runs. */
	return rb_wait_stop(child, &status);
}

/* The child's own list (as a sharer's: restore-threads.c), run by itself. */
static int child_list(struct restore_ctl *cctl, const struct restore_image *p, const struct restore_image *c)
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
	ret = restore_thread_state(&b, c->pid, c->core, true);
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
	ret = child_list(&cctl, p, c);
	ret = ret ?: restore_sharer_end(&cctl, c, restore_sharer_own_sighand(p, c), true);
	if (ret)
		return ret;
	ctl->tramp = 0;
	restore_task_limits(c->pid, c);
	pr_info("thread %d of process %d is in vfork() again, for its child %d\n", p->vfork_tid, p->pid, c->pid);
	return 0;
}
