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
 * Refuses (naming the process) a session or process group the restore can't
 * rebuild: a process other than the root must lead its session or share its
 * parent's, and lead its group, share its parent's, or join one led by a
 * process of the tree in its session. The root must lead both unless
 * @shell_job. Returns 0 or -EOPNOTSUPP.
 */
__attribute__((warn_unused_result)) int pstree_check_sessions(const struct pstree_item *items, size_t nr,
							      bool shell_job);

/* Writes pstree.img in @dirfd with the @nr processes @items (items[0] the root). Returns 0 or -errno. */
__attribute__((warn_unused_result)) int pstree_dump(int dirfd, const struct pstree_item *items, size_t nr);

#endif /* CRIU_NG_PSTREE_H */
