/*
 * criu restore: creating the other threads of the process from its leader
 * (see include/restore-threads.h).
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/futex.h>

#include "restore-batch.h"
#include "restore-creds.h"
#include "restore-fork.h"
#include "restore-sharedmm.h"
#include "restore-thread.h"
#include "restore-threads.h"

#define LOG_PREFIX "restore: "
#include "log.h"

#define THREAD_FLAGS (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM)

/* The tasks the leader clones: its threads, then its children sharing its address space (restore-sharedmm.h). */
static size_t nr_clones(const struct restore_image *ri)
{
	return ri->nr_threads + ri->nr_sharers;
}

static pid_t clone_tid(const struct restore_image *ri, size_t i)
{
	return i < ri->nr_threads ? ri->tids[i] : ri->sharers[i - ri->nr_threads].pid;
}

/* The leader's clone3 of thread @tid (or sharer: @flags, @exit_signal), whose list is at @child_list. */
static void add_clone(struct rbatch *b, pid_t tid, uint64_t child_list, uint64_t flags, uint64_t exit_signal)
{
	struct restore_clone_args args = { .flags = flags, .exit_signal = exit_signal, .set_tid_size = 1 };

	args.set_tid = rbatch_data(b, &tid, sizeof(tid));
	rbatch_add(b, "clone3", RB_CHECK | RB_CLONE, SYS_clone3, 3, rbatch_data(b, &args, sizeof(args)),
		   (uint64_t)sizeof(args), child_list);
}

/*
 * The tail of a thread's list, where it goes even when a step failed: its word
 * @done set (FUTEX_WAKE_OP wakes the leader waiting on it), then a wait that
 * does not end, in which criu interrupts it.
 */
static uint64_t add_thread_tail(struct rbatch *b)
{
	const uint32_t zero = 0;
	uint64_t done = rbatch_data(b, &zero, sizeof(zero)), never = rbatch_data(b, &zero, sizeof(zero));

	rbatch_tail(b);
	rbatch_add(b, "FUTEX_WAKE_OP", 0, SYS_futex, 6, done, (uint64_t)(FUTEX_WAKE_OP | FUTEX_PRIVATE_FLAG),
		   (uint64_t)1, (uint64_t)0, done, (uint64_t)FUTEX_OP(FUTEX_OP_SET, 1, FUTEX_OP_CMP_EQ, 0));
	rbatch_add(b, "FUTEX_WAIT", RB_REPEAT, SYS_futex, 4, never, (uint64_t)(FUTEX_WAIT | FUTEX_PRIVATE_FLAG),
		   (uint64_t)0, (uint64_t)0);
	return done;
}

/* The clone3 results read back: thread i must have its dumped tid. */
static int check_clones(const struct restore_ctl *ctl, const struct rbatch *leader, const struct restore_image *ri)
{
	for (size_t i = 0; i < nr_clones(ri); i++) {
		int64_t ret = leader->recs[i].ret;

		if (ret == clone_tid(ri, i))
			continue;
		if (ret == -EEXIST)
			pr_err("tid %d is in use: can't restore the thread of process %d\n", clone_tid(ri, i),
			       ctl->pid);
		else
			pr_err("can't create thread %d of process %d: %s\n", clone_tid(ri, i), ctl->pid,
			       ret < 0 && ret > -4096 ? strerror((int)-ret) : "clone3 gave another tid");
		return ret < 0 && ret > -4096 ? (int)ret : -EINVAL;
	}
	return 0;
}

/*
 * Builds and writes every list: each thread's, and the leader's: a clone3 per
 * thread, its own state, then a wait for each thread's word.
 */
static int write_lists(struct restore_ctl *ctl, const struct rb_scratch *s, const struct restore_image *ri,
		       struct rbatch *lists)
{
	struct rbatch *leader = &lists[nr_clones(ri)];
	uint64_t *done;
	int ret = 0;

	done = calloc(nr_clones(ri) + 1, sizeof(*done));
	if (!done)
		return -ENOMEM;
	rb_scratch_leader(s, leader);
	for (size_t i = 0; i < ri->nr_threads && !ret; i++) {
		rb_scratch_thread(s, i, &lists[i]);
		add_clone(leader, ri->tids[i], lists[i].base, THREAD_FLAGS, 0);
		ret = restore_thread_state(&lists[i], ri->tids[i], ri->thread_cores[i], ctl->parent_restored, NULL);
		done[i] = add_thread_tail(&lists[i]);
		if (!ret)
			ret = rbatch_end(ctl, &lists[i]);
	}
	/* A sharer sets its own rlimits (its signal_struct is its own), then its state as a thread does. */
	for (size_t i = ri->nr_threads; i < nr_clones(ri) && !ret; i++) {
		const struct restore_image *c = &ri->sharers[i - ri->nr_threads];

		rb_scratch_thread(s, i, &lists[i]);
		add_clone(leader, c->pid, lists[i].base, restore_sharer_clone_flags(ri, c), SIGCHLD);
		restore_sharer_fds(&lists[i], ri, c);
		restore_rlimits(&lists[i], c->core->tc);
		ret = restore_thread_state(&lists[i], c->pid, c->core, true, NULL);
		done[i] = add_thread_tail(&lists[i]);
		if (!ret)
			ret = rbatch_end(ctl, &lists[i]);
	}
	if (!ret) {
		restore_rlimits(leader, ri->core->tc); /* before the leader gives its privileges up */
		ret = restore_thread_state(leader, ctl->pid, ri->core, ctl->parent_restored, NULL);
	}
	for (size_t i = 0; i < nr_clones(ri) && !ret; i++)
		rbatch_add(leader, "FUTEX_WAIT", 0, SYS_futex, 4, done[i], (uint64_t)(FUTEX_WAIT | FUTEX_PRIVATE_FLAG),
			   (uint64_t)0, (uint64_t)0);
	if (!ret)
		restore_dumpable(leader, ri->mm); /* once every thread has its credentials */
	if (!ret)
		ret = rbatch_end(ctl, leader);
	if (!ret)
		ret = rb_scratch_write(ctl, s);
	free(done);
	return ret;
}

/* After the run: every clone3 gave its tid, every list ran to its end. */
static int check_lists(struct restore_ctl *ctl, const struct restore_image *ri, struct rbatch *lists)
{
	struct rbatch *leader = &lists[nr_clones(ri)];
	int ret = rbatch_check(ctl, leader, ctl->pid);
	int clones = check_clones(ctl, leader, ri); /* names the thread that could not be made */

	if (!ret)
		ret = clones;
	for (size_t i = 0; i < nr_clones(ri) && !ret; i++)
		ret = rbatch_check(ctl, &lists[i], clone_tid(ri, i));
	return ret;
}

int restore_threads_create(struct restore_ctl *ctl, const struct restore_image *ri)
{
	size_t nr = nr_clones(ri);
	struct rb_scratch s;
	struct rbatch *lists;
	pid_t *tids;
	int ret;

	lists = calloc(nr + 1, sizeof(*lists));
	tids = calloc(nr + 1, sizeof(*tids));
	if (!lists || !tids) {
		ret = -ENOMEM;
		goto out_free;
	}
	for (size_t i = 0; i < nr; i++)
		tids[i] = clone_tid(ri, i);
	ret = rb_scratch_map(ctl, &s, nr);
	if (ret)
		goto out_free;
	ret = write_lists(ctl, &s, ri, lists);
	if (!ret)
		ret = rb_run(ctl, &s, &lists[nr]);
	if (!ret)
		ret = check_lists(ctl, ri, lists);
	if (!ret)
		ret = rb_seize(tids, nr);
	if (!ret)
		ret = rb_scratch_unmap(ctl, &s);
	if (!ret)
		pr_debug("%zu threads created and set up\n", ri->nr_threads);
	rb_scratch_free(&s);
out_free:
	for (size_t i = 0; lists && i <= nr; i++)
		rbatch_fini(&lists[i]);
	free(lists);
	free(tids);
	return ret;
}

int restore_threads_finish(struct restore_ctl *ctl, const struct restore_image *ri)
{
	for (size_t i = 0; i < ri->nr_threads; i++) {
		struct restore_ctl tctl = *ctl;
		int ret;

		tctl.pid = ri->tids[i];
		tctl.inj.pid = ri->tids[i];
		ret = restore_thread_signals(&tctl, ri->thread_cores[i],
					     ri->core->tc->task_state == RESTORE_TASK_STOPPED);
		if (ri->vfork_child && ri->tids[i] == ri->vfork_tid) {
			if (ret)
				return ret;
			continue; /* its registers and mask are set inside its vfork() (restore-vfork.h) */
		}
		if (!ret)
			ret = restore_thread_regs(ri->tids[i], ri->thread_cores[i]);
		if (!ret)
			ret = restore_thread_sigmask(ri->tids[i], ri->thread_cores[i], ri->core->tc->blk_sigset);
		if (ret)
			return ret;
	}
	for (size_t i = 0; i < ri->nr_sharers; i++) {
		const struct restore_image *c = &ri->sharers[i];
		struct restore_ctl tctl = *ctl;
		int ret;

		tctl.pid = tctl.tgid = tctl.inj.pid = c->pid;
		ret = restore_sharer_end(&tctl, c, restore_sharer_own_sighand(ri, c), false);
		if (ret)
			return ret;
		restore_task_limits(c->pid, c);
	}
	return 0;
}

int restore_thread(struct restore_ctl *ctl, const struct restore_image *ri)
{
	int ret = restore_thread_begin(ctl, ri);

	/* Every thread created, and each one's state and the leader's set, before any signal is queued. */
	if (!ret)
		ret = restore_threads_create(ctl, ri);
	if (!ret)
		ret = restore_thread_pending(ctl, ri);
	if (!ret)
		ret = restore_threads_finish(ctl, ri);
	return ret ?: restore_thread_end(ctl, ri);
}

int restore_threads_detach(const struct restore_image *ri)
{
	/* A vfork() child first, then the thread whose vfork() then waits for it (restore-vfork.h). */
	if (ri->vfork_child && ptrace(PTRACE_DETACH, ri->vfork_child->pid, NULL, NULL) < 0) {
		pr_perror("Can't detach from process %d", ri->vfork_child->pid);
		return -errno;
	}
	if (ri->vfork_child && ri->vfork_tid != ri->pid && ptrace(PTRACE_DETACH, ri->vfork_tid, NULL, NULL) < 0) {
		pr_perror("Can't detach from thread %d", ri->vfork_tid);
		return -errno;
	}
	for (size_t i = 0; i < ri->nr_threads; i++)
		if ((!ri->vfork_child || ri->tids[i] != ri->vfork_tid) &&
		    ptrace(PTRACE_DETACH, ri->tids[i], NULL, NULL) < 0) {
			pr_perror("Can't detach from thread %d", ri->tids[i]);
			return -errno;
		}
	for (size_t i = 0; i < ri->nr_sharers; i++)
		if (ptrace(PTRACE_DETACH, ri->sharers[i].pid, NULL, NULL) < 0) {
			pr_perror("Can't detach from process %d", ri->sharers[i].pid);
			return -errno;
		}
	return 0;
}

void restore_threads_kill(const struct restore_image *ri)
{
	kill(ri->pid, SIGKILL);
	for (size_t i = 0; i < ri->nr_sharers; i++) {
		kill(ri->sharers[i].pid, SIGKILL);
		while (waitpid(ri->sharers[i].pid, NULL, __WALL) < 0 && errno == EINTR)
			;
	}
	for (size_t i = 0; i < ri->nr_threads; i++)
		while (waitpid(ri->tids[i], NULL, __WALL) < 0 && errno == EINTR)
			;
	while (waitpid(ri->pid, NULL, __WALL) < 0 && errno == EINTR)
		;
}
