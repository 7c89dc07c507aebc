/*
 * criu restore, last step: the state of the (single) thread and what the
 * process keeps outside its memory. Injected while the trampoline still
 * exists, every signal blocked so that none is delivered early: signal
 * dispositions, sigaltstack, thread name, robust futex list, rseq
 * registration, clear-child-tid, pending signals (queued by the process to
 * itself), credentials (restore-creds.c), child subreaper, timers
 * (restore-timers.c); not the pdeath signal (tied to a parent the restore
 * doesn't bring back). Then the trampoline goes, and ptrace sets the general
 * registers (a syscall the dump interrupted is set to restart), the FPU/xsave
 * state and, last, the dumped signal mask. From outside: rlimits,
 * oom_score_adj, scheduling.
 */
#ifndef CRIU_NG_RESTORE_THREAD_H
#define CRIU_NG_RESTORE_THREAD_H

#include "restore-ctl.h"
#include "restore-images.h"

/* Signals the images record dispositions for: 1 to 64, SIGKILL and SIGSTOP left out. */
#define RESTORE_SIGMAX 64
#define RESTORE_NR_SIGACTIONS (RESTORE_SIGMAX - 2)

/*
 * The leader's part, the other threads created on the way (restore-threads.c).
 * Returns 0 or -errno (logged); every thread stays stopped, the trampoline unmapped.
 */
__attribute__((warn_unused_result)) int restore_thread(struct restore_ctl *ctl, const struct restore_image *ri);

/*
 * The state one thread sets itself, injected into the thread of @tctl with
 * every signal blocked: sigaltstack, name, robust list, rseq, clear-child-tid, its
 * private pending signals, its credentials.
 */
__attribute__((warn_unused_result)) int restore_thread_state(struct restore_ctl *tctl, const CoreEntry *core);

/* The thread's dumped signal mask (@default_blocked if @core has none): its very last step. */
__attribute__((warn_unused_result)) int restore_thread_sigmask(pid_t tid, const CoreEntry *core,
							       uint64_t default_blocked);

/* Sets the general and FPU registers of stopped thread @tid from @core: its last step. */
__attribute__((warn_unused_result)) int restore_thread_regs(pid_t tid, const CoreEntry *core);

/* rlimits, oom_score_adj, nice and scheduling policy, set from outside. What the kernel refuses is a warning. */
void restore_task_limits(pid_t pid, const struct restore_image *ri);

#endif /* CRIU_NG_RESTORE_THREAD_H */
