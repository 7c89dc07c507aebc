/*
 * Private memory a child shares copy-on-write with its parent (criu/mem/cow.c): the rule
 * that says which VMAs of a child the restore rebuilds by inheriting its parent's, shared
 * by the dump (which leaves such pages out of the child's pages image, include/mem.h) and
 * the restore (include/restore-cow.h), so that the pages the dump leaves to the parent are
 * always in an area the restore premaps and passes on.
 */
#ifndef CRIU_NG_MEM_COW_H
#define CRIU_NG_MEM_COW_H

#include <stdbool.h>
#include <stdint.h>

#include "vma.h"

#include "mm.pb-c.h"

/*
 * True when the parent's VMA @pv (NULL: none at that address) can have been inherited by
 * a fork as the child's @v, and the restore premaps it for that: both private, anonymous
 * or of the same file at the same offset, of normal pages, with the same start and end,
 * both growing down (a stack) or neither, not a memfd or a special area, and not
 * MADV_DONTFORK or MADV_WIPEONFORK in the parent. The caller checks too that both processes run the same
 * executable and that the parent has a page in @pv.
 */
bool cow_vma_inheritable(const VmaEntry *pv, const VmaEntry *v);

/* What the dump knows of a process to apply the rule. */
struct cow_dump_proc {
	const struct vma_list *vmas;
	const uint32_t *file_ids; /* per VMA: its file's id in files.img, 0 if none */
	uint32_t exe_id;
};

/*
 * Sets (*@inheritable)[i] (allocated here, one per VMA of @child, for the caller to free)
 * when the restore premaps VMA i of @child inherited from @parent's. Returns 0 or -ENOMEM.
 */
__attribute__((warn_unused_result)) int cow_dump_plan(const struct cow_dump_proc *child,
						      const struct cow_dump_proc *parent, bool **inheritable);

#endif /* CRIU_NG_MEM_COW_H */
