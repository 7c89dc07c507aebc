/*
 * criu restore: the threads other than the leader. Each is created by the
 * leader itself (an injected clone3 with set_tid: the thread gets its dumped
 * tid), traced from birth (PTRACE_O_TRACECLONE), then set up like the leader
 * (restore_thread_state: sigaltstack, name, robust list, rseq, private signals,
 * credentials) and given its registers and signal mask. They stay stopped
 * until criu detaches the whole process.
 */
#ifndef CRIU_NG_RESTORE_THREADS_H
#define CRIU_NG_RESTORE_THREADS_H

#include "restore-ctl.h"
#include "restore-images.h"

/* Creates and sets up every thread of @ri but the leader. Returns 0 or -errno (logged). */
__attribute__((warn_unused_result)) int restore_threads_create(struct restore_ctl *ctl,
							       const struct restore_image *ri);

/* Detaches from every thread but the leader: they run on. Returns 0 or -errno (logged). */
__attribute__((warn_unused_result)) int restore_threads_detach(const struct restore_image *ri);

/* Kills the half-restored process and reaps the threads we trace, the leader last. */
void restore_threads_kill(const struct restore_image *ri);

#endif /* CRIU_NG_RESTORE_THREADS_H */
