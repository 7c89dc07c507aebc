/*
 * criu restore: fd tables shared by processes of the tree, as clone(CLONE_FILES)
 * without CLONE_VM leaves them. As in CRIU's images, a process that shares its
 * parent's table has its parent's files_id in ids-PID.img and the table's fds
 * are in one fdinfo image; a table is shared down the tree only (a process and
 * its parent, and so on), as CRIU restores it. The first process of the table
 * (its owner) is restored as any process; each other one is forked by its
 * parent with CLONE_FILES before the owner puts its fds in place, and puts
 * none itself. The files criu opens for a sharer (its cwd, root, executable,
 * mapped files) lie above every dumped fd of the table; the owner keeps them
 * open until every process of the table has its memory, then closes them all.
 */
#ifndef CRIU_NG_RESTORE_FDTABLE_H
#define CRIU_NG_RESTORE_FDTABLE_H

#include <stddef.h>

#include "restore-ctl.h"
#include "restore-fork.h"
#include "restore-images.h"

/*
 * Sets files_owner of the @nr processes @procs (images @ris) from their files
 * ids, and drops the fdinfo entries of each process that shares its parent's
 * table. A table shared otherwise is refused. Returns 0 or -EOPNOTSUPP (logged).
 */
__attribute__((warn_unused_result)) int restore_fdtable_plan(struct restore_proc *procs, struct restore_image *ris,
							     size_t nr);

/* Before restore_fds_open() of process @k: its files go above its owner's dumped fds (@fds per process). */
void restore_fdtable_floor(const struct restore_proc *procs, struct restore_fds *fds, size_t k);

/* Once every process's files are open: each owner keeps the files of the processes sharing its table. */
__attribute__((warn_unused_result)) int restore_fdtable_keep(const struct restore_proc *procs, struct restore_fds *fds,
							     size_t nr);

/* In owner @k (under @ctl) once every process has its memory: closes the files criu opened for the table. */
__attribute__((warn_unused_result)) int restore_fdtable_close(struct restore_ctl *ctl, const struct restore_proc *procs,
							      const struct restore_fds *fds, size_t k);

#endif /* CRIU_NG_RESTORE_FDTABLE_H */
