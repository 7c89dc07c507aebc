/*
 * criu restore: a child that shared its parent's address space (CLONE_VM) and
 * maybe its signal handlers (CLONE_SIGHAND) without being one of its threads
 * (dump-sharedmm.h). It is not forked as the other processes are: once the
 * parent's memory is rebuilt, the parent's leader makes it with a clone3 in
 * its list of syscalls (restore-threads.c), with the flags of what they
 * shared and its pid as set_tid. It starts with copies of its parent's fds, fs
 * context, session, group and credentials, then sets its own state as a
 * thread does (restore-thread.h: name, sigaltstack, robust list, rseq,
 * clear-child-tid, rlimits, credentials, pdeath signal; then its dispositions
 * unless shared, pending signals, timers, registers and signal mask).
 */
#ifndef CRIU_NG_RESTORE_SHAREDMM_H
#define CRIU_NG_RESTORE_SHAREDMM_H

#include <stddef.h>
#include <stdint.h>

#include "restore-batch.h"
#include "restore-image.h"

/*
 * Moves every process of @ris whose address space is its parent's out of the
 * tree into its parent's sharers, after checking what it copies from its
 * parent is what it had (fds, fs context, session, group, personality) and
 * that its pid is free. Returns 0 or -errno (logged, naming the images).
 */
__attribute__((warn_unused_result)) int restore_sharedmm_fold(struct restore_image *ris, size_t *nr);

/* The clone3 flags that make sharer @c of process @p. */
uint64_t restore_sharer_clone_flags(const struct restore_image *p, const struct restore_image *c);

/* True when sharer @c of process @p has signal handlers of its own. */
bool restore_sharer_own_sighand(const struct restore_image *p, const struct restore_image *c);

/* Into the list @b of sharer @c: the dup3, fcntl and close that turn its copy of @p's fds into its own. */
void restore_sharer_fds(struct rbatch *b, const struct restore_image *p, const struct restore_image *c);

#endif /* CRIU_NG_RESTORE_SHAREDMM_H */
