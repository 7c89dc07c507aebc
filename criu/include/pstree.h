/*
 * pstree.img: the dumped processes with their parent, group, session and
 * threads, one pstree_entry each, parents before their children. The dump's
 * root has no dumped parent, which CRIU records as ppid 0.
 */
#ifndef CRIU_NG_PSTREE_H
#define CRIU_NG_PSTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* One dumped process. */
struct pstree_item {
	pid_t pid;
	pid_t ppid; /* 0 for the root */
	pid_t pgid;
	pid_t sid;
	const pid_t *threads; /* the leader first; for a zombie, none */
	size_t nr_threads;
};

/*
 * What the restore adds for a process whose session or group leader is gone
 * (a daemon's double fork; a group whose leader exited): a helper, a short-lived
 * process with the dead leader's pid, as CRIU's restore adds (pstree.img holds
 * only the dumped processes).
 */
struct pstree_helpers {
	/*
	 * The dead leader of its session (0: none): a helper with that pid, forked by the process's parent,
	 * makes the session with setsid(), forks the process and exits, so that the process is adopted by
	 * its parent as it was (the parent is a child subreaper while it restores).
	 */
	pid_t session_helper;
	/*
	 * The dead leader of its group (0: none): the process forks a helper with that pid that makes the
	 * group with setpgid() and exits; the process joins the group and reaps it. Only the first process
	 * of the tree in the group: the others join it.
	 */
	pid_t group_helper;
};

/*
 * Plans the helpers of the @nr processes @items (items[0] the root, parents
 * first) into @plan (@nr entries). Refuses, naming the process, a session or
 * group the restore can't rebuild: a process other than the root must lead
 * its session, share its parent's, or be in one whose leader is gone (then
 * every process of the tree adopted into it has the same parent); and lead its
 * group, inherit it, join one led by a process of the tree in its session, or
 * be in one whose leader is gone. @live (at dump time): a leader still
 * running outside the tree is refused too. Returns 0, -EOPNOTSUPP or -EINVAL.
 */
__attribute__((warn_unused_result)) int pstree_plan_helpers(const struct pstree_item *items, size_t nr, bool live,
							    struct pstree_helpers *plan);

/*
 * pstree_plan_helpers() at dump time; the root must lead its session and group
 * unless @shell_job. Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int pstree_check_sessions(const struct pstree_item *items, size_t nr,
							      bool shell_job);

/* Writes pstree.img in @dirfd with the @nr processes @items (items[0] the root). Returns 0 or -errno. */
__attribute__((warn_unused_result)) int pstree_dump(int dirfd, const struct pstree_item *items, size_t nr);

#endif /* CRIU_NG_PSTREE_H */
