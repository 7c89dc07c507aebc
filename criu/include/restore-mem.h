/*
 * criu restore, step three: the address space. In the stopped process, through
 * injected syscalls: drop criu's rseq registration, map a trampoline page where
 * no dumped VMA lies, unmap everything of criu but the kernel's vdso/vvar,
 * move those to their dumped addresses, map every dumped VMA (anonymous or its
 * file at its offset), write the dumped pages through /proc/PID/mem, apply the
 * madvise state, set the mm fields with PR_SET_MM_MAP and close the files the
 * mappings needed.
 */
#ifndef CRIU_NG_RESTORE_MEM_H
#define CRIU_NG_RESTORE_MEM_H

#include "restore-ctl.h"
#include "restore-fds.h"
#include "restore-image.h"

/*
 * The middle of the largest free place of at least @size bytes (and a page
 * either side) between @nr busy ranges (start, end pairs in @busy), in the
 * part of the address space the restore uses. Returns 0 or -ENOMEM (logged).
 */
__attribute__((warn_unused_result)) int restore_mem_gap(const uint64_t *busy, size_t nr, uint64_t size,
							size_t page_size, uint64_t *addr);

/* Returns 0 or -errno (logged). The trampoline stays mapped (ctl->tramp) for the last steps. */
__attribute__((warn_unused_result)) int restore_mem(struct restore_ctl *ctl, const struct restore_image *ri,
						    const struct restore_fds *fds, int dirfd);

/*
 * Closes in the process every fd criu opened for it (they lie at fds->min_fd or
 * above, where no dumped fd does: one injected close_range). Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int restore_mem_close_files(struct restore_ctl *ctl, const struct restore_fds *fds);

#endif /* CRIU_NG_RESTORE_MEM_H */
