/*
 * criu restore: helpers, short-lived processes with the pid of a dead session
 * or group leader (include/pstree.h, struct pstree_helpers), as CRIU's restore
 * makes them. A session helper is forked by the parent of the processes it
 * stands for, makes the session (setsid), forks them and exits: they are
 * adopted by their parent, which is a child subreaper for the while, as they
 * were adopted when their leader died. A group helper is forked by the first
 * process of the tree in the group: it makes the group (setpgid), exits, and
 * the process joins the group and reaps it; the other processes of the group
 * join it once every process exists. pstree.img holds no helper: every one
 * follows from the sessions and groups of the dumped processes.
 */
#ifndef CRIU_NG_RESTORE_HELPERS_H
#define CRIU_NG_RESTORE_HELPERS_H

#include <stddef.h>

#include "restore-fork.h"

/*
 * Fills the session_helper, group_helper, born_sid and before_setsid of the @nr processes @procs from
 * their pstree entries, and checks that each helper's pid is free. Returns 0
 * or -errno (logged).
 */
__attribute__((warn_unused_result)) int restore_helpers_plan(struct restore_proc *procs, size_t nr);

/* How restore-fork.c forks process @k: its pid, or -errno. */
typedef pid_t (*restore_fork_fn)(const struct restore_proc *procs, size_t nr, size_t k, struct restore_sync *sync);

/*
 * In process @k once it took its session: waits to be adopted by its parent
 * if a session helper forked it, and makes its group with a group helper if it
 * has one. Returns 0 or -errno (logged).
 */
__attribute__((warn_unused_result)) int restore_helper_adopted(const struct restore_proc *procs, size_t k);

/*
 * In process @k: forks the session helpers of its children (the children that
 * have one are forked by them, not by @k), and reaps each helper. Returns 0 or
 * -errno (logged).
 */
__attribute__((warn_unused_result)) int restore_helpers_fork(const struct restore_proc *procs, size_t nr, size_t k,
							     struct restore_sync *sync, restore_fork_fn fork_proc);

#endif /* CRIU_NG_RESTORE_HELPERS_H */
