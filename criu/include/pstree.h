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
	/*
	 * The session it was born in (0: none), led by one of its ancestors, which it left with setsid() after
	 * forking children that stay in it (a child's session that is neither its own nor its parent's, with
	 * its leader in the tree, as CRIU's born_sid): it is forked into that session, forks those children
	 * (each child whose own session, or session of birth, is that one), calls setsid(), then forks the others.
	 */
	pid_t born_sid;
};

/*
 * Plans the helpers of the @nr processes @items (items[0] the root, parents
 * first) into @plan (@nr entries). Refuses, naming the process, a session or
 * group the restore can't rebuild: a process other than the root must lead
 * its session, share its parent's, be in one whose leader is gone (then
 * every process of the tree adopted into it has the same parent), or be in one
 * led by an ancestor whose descendants on the way lead sessions of their own,
 * each born in one session only (born_sid); and lead its
 * group, inherit it, join one led by a process of the tree in its session, or
 * be in one whose leader is gone. @live (at dump time): a leader still
 * running outside the tree is refused too. Returns 0, -EOPNOTSUPP or -EINVAL.
 */
__attribute__((warn_unused_result)) int pstree_plan_helpers(const struct pstree_item *items, size_t nr, bool live,
							    struct pstree_helpers *plan);

/*
 * True when process @i of @items (planned in @plan) is forked by its parent before the parent leaves its
 * session of birth (plan born_sid) with setsid(): it is born in that session, and stays in it or leaves it too.
 */
bool pstree_born_before_setsid(const struct pstree_item *items, const struct pstree_helpers *plan, size_t i);

/*
 * pstree_plan_helpers() at dump time; the root must lead its session and group
 * unless @shell_job. Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int pstree_check_sessions(const struct pstree_item *items, size_t nr,
							      bool shell_job);

/* Writes pstree.img in @dirfd with the @nr processes @items (items[0] the root). Returns 0 or -errno. */
__attribute__((warn_unused_result)) int pstree_dump(int dirfd, const struct pstree_item *items, size_t nr);

#endif /* CRIU_NG_PSTREE_H */
