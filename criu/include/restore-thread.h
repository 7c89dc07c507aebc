/*
 * criu restore, last step: the state of the leader thread and what the
 * process keeps outside its memory, every signal blocked so that none is
 * delivered early. Injected while the trampoline still exists: signal
 * dispositions; then, run by each thread from its list of syscalls
 * (restore-batch.h) while the threads are created: sigaltstack, thread name,
 * robust futex list, rseq registration, clear-child-tid, credentials
 * (restore-creds.c); injected again: pending signals (queued by the process
 * to itself), child subreaper, timers
 * (restore-timers.c); not the pdeath signal (tied to a parent the restore
 * doesn't bring back). Then the trampoline goes, and ptrace sets the general
 * registers (a syscall the dump interrupted is set to restart), the FPU/xsave
 * state and, last, the dumped signal mask. From outside: rlimits,
 * oom_score_adj, scheduling.
 */
#ifndef CRIU_NG_RESTORE_THREAD_H
#define CRIU_NG_RESTORE_THREAD_H

#include "restore-batch.h"
#include "restore-ctl.h"
#include "restore-image.h"

/* Signals the images record dispositions for: 1 to 64, SIGKILL and SIGSTOP left out. */
#define RESTORE_SIGMAX 64
#define RESTORE_NR_SIGACTIONS (RESTORE_SIGMAX - 2)

/*
 * The leader's part, in three steps around the other threads' creation and
 * finish (restore_thread() in restore-threads.h runs them all). Each returns 0
 * or -errno (logged).
 *
 * First every signal of the process blocked and its dispositions set.
 */
__attribute__((warn_unused_result)) int restore_thread_begin(struct restore_ctl *ctl, const struct restore_image *ri);

/* Once every thread is created: the process's pending signals, then the leader's private ones. */
__attribute__((warn_unused_result)) int restore_thread_pending(struct restore_ctl *ctl, const struct restore_image *ri);

/*
 * Last: child subreaper, timers, the trampoline unmapped, then the leader's
 * registers and signal mask. Every thread stays stopped.
 */
__attribute__((warn_unused_result)) int restore_thread_end(struct restore_ctl *ctl, const struct restore_image *ri);

/*
 * The same steps for @c, a child sharing the address space of the process of
 * @ctl (restore-sharedmm.h), run in it (@ctl names it): its dispositions if
 * @own_sighand, its pending signals, subreaper flag and timers, then its
 * registers and signal mask. The trampoline is its parent's: unmapped through
 * @c before its registers are set if @unmap (the parent can't any more).
 */
__attribute__((warn_unused_result)) int restore_sharer_end(struct restore_ctl *ctl, const struct restore_image *c,
							   bool own_sighand, bool unmap);

/*
 * The state thread @tid sets itself, added to its list of syscalls @b (run with
 * every signal blocked): sigaltstack, name, robust list, rseq,
 * clear-child-tid, its credentials, then its pdeath signal (dropped, and said
 * so, unless @parent_restored). @held, when not NULL, are the credentials the
 * thread was made with (its maker's, already restored): equal to its dumped
 * ones, they are not set again (without privileges it could not).
 * Returns 0 or -errno (logged).
 */
__attribute__((warn_unused_result)) int restore_thread_state(struct rbatch *b, pid_t tid, const CoreEntry *core,
							     bool parent_restored, const CredsEntry *held);

/* Its private pending signals, queued by the thread of @tctl itself (injected); no stop signal if @stopped. */
__attribute__((warn_unused_result)) int restore_thread_signals(struct restore_ctl *tctl, const CoreEntry *core,
							       bool stopped);

/* The thread's dumped signal mask (@default_blocked if @core has none): its very last step. */
__attribute__((warn_unused_result)) int restore_thread_sigmask(pid_t tid, const CoreEntry *core,
							       uint64_t default_blocked);

/* Sets the general and FPU registers of stopped thread @tid from @core: its last step. */
__attribute__((warn_unused_result)) int restore_thread_regs(pid_t tid, const CoreEntry *core);

/*
 * The process's rlimits, added to the leader's list @b: set by the process itself
 * while it still has criu's credentials (raising a hard limit needs
 * CAP_SYS_RESOURCE; criu setting them from outside, once the process has its
 * own credentials, is refused).
 */
void restore_rlimits(struct rbatch *b, const TaskCoreEntry *tc);

/* oom_score_adj, nice and scheduling policy, set from outside. What the kernel refuses is a warning. */
void restore_task_limits(pid_t pid, const struct restore_image *ri);

#endif /* CRIU_NG_RESTORE_THREAD_H */
