/*
 * criu restore: the threads other than the leader. The leader creates them
 * all in one run of its list of syscalls (restore-batch.h: a clone3 with
 * set_tid per thread, so each gets its dumped tid), without a ptrace stop per
 * thread; each new thread runs its own list at once (restore_thread_state:
 * sigaltstack, name, robust list, rseq, clear-child-tid, credentials) and
 * then waits on a futex, where criu seizes and interrupts it; the leader sets
 * its own state the same way. Then each thread is given its private pending
 * signals (injected, only when it has some), its registers and its signal
 * mask through ptrace. They stay stopped until criu detaches the whole
 * process.
 */
#ifndef CRIU_NG_RESTORE_THREADS_H
#define CRIU_NG_RESTORE_THREADS_H

#include "restore-ctl.h"
#include "restore-image.h"

/*
 * The process's threads and their state (restore-thread.h, the leader's part,
 * with the other threads created on the way). Returns 0 or -errno (logged);
 * every thread stays stopped, the trampoline unmapped.
 */
__attribute__((warn_unused_result)) int restore_thread(struct restore_ctl *ctl, const struct restore_image *ri);

/*
 * Creates every thread of @ri but the leader and lets each set its state, the
 * leader's too (before any signal is queued). Returns 0 or -errno (logged).
 */
__attribute__((warn_unused_result)) int restore_threads_create(struct restore_ctl *ctl, const struct restore_image *ri);

/* Their private pending signals, registers and signal masks. Returns 0 or -errno (logged). */
__attribute__((warn_unused_result)) int restore_threads_finish(struct restore_ctl *ctl, const struct restore_image *ri);

/* Detaches from every thread but the leader: they run on. Returns 0 or -errno (logged). */
__attribute__((warn_unused_result)) int restore_threads_detach(const struct restore_image *ri);

/* Kills the half-restored process and reaps the threads we trace, the leader last. */
void restore_threads_kill(const struct restore_image *ri);

#endif /* CRIU_NG_RESTORE_THREADS_H */
