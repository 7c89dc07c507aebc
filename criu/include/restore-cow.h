/*
 * criu restore: private anonymous memory that a parent and its child shared
 * copy-on-write when they were dumped comes back shared (criu/mem/cow.c).
 *
 * A private VMA of a child (anonymous, or of a file at the same offset) is
 * inheritable when its parent had one with the same start and end, of the same
 * kind (a stack in both or in neither), not MADV_DONTFORK or MADV_WIPEONFORK in the
 * parent, with a dumped page, and both ran the same executable (CRIU's rule;
 * cow_vma_inheritable() in include/mem-cow.h, which the dump applies too). Before the fork, criu reserves one window of the
 * address space that no dumped VMA of the tree and no mapping of criu's
 * overlaps, and gives each chain of inheritable VMAs a place in it. The
 * process that has the first VMA of a chain maps it there and fills it from
 * its pages image before it forks its children; a child inherits it (the
 * pages are shared by the kernel), writes only the pages whose contents
 * differ from what it inherited, drops the ones it had not, and passes it on
 * to its own children; the pages its pagemap leaves to its parent (cow_parent
 * runs, include/mem.h) it keeps as inherited. In the ptrace phase each VMA is moved to its dumped
 * address with mremap (restore_mem()), never mapped or written again.
 */
#ifndef CRIU_NG_RESTORE_COW_H
#define CRIU_NG_RESTORE_COW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "restore-ctl.h"
#include "restore-fds.h"
#include "restore-image.h"

struct restore_proc;

/* A VMA premapped before the fork. */
struct restore_cow_area {
	const VmaEntry *vma; /* of this process */
	uint64_t scratch;    /* where it lies until restore_cow_move() */
	bool inherited;	     /* from its parent (else this process maps and fills it) */
};

/* The premapped VMAs of one process, sorted by scratch address. */
struct restore_cow {
	struct restore_cow_area *areas;
	size_t nr;
	int dirfd; /* the images directory */
};

/* The whole tree's plan, and criu's reservation of the window until the root is forked. */
struct restore_cow_tree {
	struct restore_cow *procs; /* per process, parallel to the restore_proc array */
	size_t nr;
	void *window;
	size_t window_size;
};

/*
 * Finds the inheritable VMAs of the tree @procs (@nr of them, parents first),
 * places them and reserves the window in criu; sets procs[k].cow for every
 * process that premaps a VMA. Nothing for a lone process. Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int restore_cow_plan(struct restore_proc *procs, size_t nr, int dirfd,
							 struct restore_cow_tree *tree);

/* Drops criu's own reservation of the window (once the root, which inherits it, is forked). */
void restore_cow_release(struct restore_cow_tree *tree);
void restore_cow_free(struct restore_cow_tree *tree);

/*
 * In the process of @ri, before it forks its children: maps the VMAs it is
 * the first of a chain of and fills them from its pages image; in the ones it
 * inherited writes only the pages that differ and drops those it had not.
 * Returns 0 or -errno (logged).
 */
__attribute__((warn_unused_result)) int
restore_cow_premap(const struct restore_cow *cow, const struct restore_image *ri, const struct restore_fds *fds);

/* The premapped area of @vma, or NULL (also for a NULL @cow). */
const struct restore_cow_area *restore_cow_find(const struct restore_cow *cow, const VmaEntry *vma);

/*
 * In the stopped process: unmaps @start-@end of criu's address space but the
 * premapped areas in it (injected munmap). Returns 0 or -errno (logged).
 */
__attribute__((warn_unused_result)) int restore_cow_unmap(struct restore_ctl *ctl, const struct restore_cow *cow,
							  uint64_t start, uint64_t end);

/* In the stopped process: moves every premapped area to its dumped place, with its protection. */
__attribute__((warn_unused_result)) int restore_cow_move(struct restore_ctl *ctl, const struct restore_cow *cow);

#endif /* CRIU_NG_RESTORE_COW_H */
