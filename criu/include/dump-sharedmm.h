/*
 * criu dump: a child sharing its parent's address space (CLONE_VM), and maybe
 * its signal handlers (CLONE_SIGHAND), without being one of its threads. Its
 * memory is its parent's: ids-PID.img gives it the parent's vm_id (and
 * sighand_id), mm-PID.img holds no VMA and names no executable, and it has no
 * pagemap. The restore makes it again with a clone3 run by its parent
 * (restore-sharedmm.h). See Documentation/engine.md, "Shared address spaces".
 */
#ifndef CRIU_NG_DUMP_SHAREDMM_H
#define CRIU_NG_DUMP_SHAREDMM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "fd-table.h"
#include "mm.h"
#include "proc-parse.h"

/*
 * Whether process @c may share the @what (address space, signal handlers) of
 * process @p: @p must be its parent and the first process of the tree holding
 * it (@not_first_childs says it is not), @c a leaf with one thread, not stopped.
 * Returns 0 or -EOPNOTSUPP (logged, naming both).
 */
__attribute__((warn_unused_result)) int sharedmm_accept(pid_t c, pid_t p, const char *what, bool not_first_childs,
							size_t nr_tids, bool has_children, bool stopped);

/*
 * What the restore copies from the parent @p into its sharer @c and does not
 * set again: the session and process group (from @cstat and @pstat), the fds
 * (@cfds against @pfds, unless they share one table: @pfds NULL), the fs
 * context (cwd, root, umask from /proc, unless shared: @fs_shared). Checked
 * before a vfork()ed child is killed. Returns 0 or -EOPNOTSUPP (logged).
 */
__attribute__((warn_unused_result)) int sharedmm_check(pid_t c, pid_t p, const struct proc_stat *cstat,
						       const struct proc_stat *pstat, const struct fd_table *cfds,
						       const struct fd_table *pfds, bool fs_shared);

/* mm-PID.img of a sharer: the fields of @args without a VMA or an executable (see above). */
__attribute__((warn_unused_result)) int sharedmm_dump_mm(int dirfd, const struct mm_dump_args *args);

#endif /* CRIU_NG_DUMP_SHAREDMM_H */
