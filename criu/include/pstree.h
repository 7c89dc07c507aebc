/* pstree.img: the dumped processes with their parent, group, session and threads. */
#ifndef CRIU_NG_PSTREE_H
#define CRIU_NG_PSTREE_H

#include <stddef.h>
#include <sys/types.h>

#include "proc-parse.h"

/*
 * Writes pstree.img in @dirfd for the single process @pid (the root of the dump,
 * so its parent is recorded as 0) with its @nr threads @tids. Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int pstree_dump(int dirfd, pid_t pid, const struct proc_stat *stat,
						    const pid_t *tids, size_t nr);

#endif /* CRIU_NG_PSTREE_H */
