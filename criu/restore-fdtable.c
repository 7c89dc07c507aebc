/*
 * criu restore: fd tables shared by processes of the tree (CLONE_FILES), see
 * include/restore-fdtable.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "restore-fdtable.h"
#include "restore-mem.h"

#define LOG_PREFIX "restore: "
#include "log.h"

/* A process that shares its parent's table puts no fd of its own: the table's fds are its owner's. */
static void drop_fds(struct restore_image *ri)
{
	for (size_t i = 0; i < ri->nr_fdinfo; i++)
		img_free_entry(ri->fdinfo[i]);
	free(ri->fdinfo);
	ri->fdinfo = NULL;
	ri->nr_fdinfo = 0;
	ri->has_fdinfo = 0;
	if (ri->nr_files)
		memset(ri->file_fds, 0, ri->nr_files * sizeof(*ri->file_fds));
}

int restore_fdtable_plan(struct restore_proc *procs, struct restore_image *ris, size_t nr)
{
	for (size_t k = 0; k < nr; k++)
		procs[k].files_owner = k;
	for (size_t k = 1; k < nr; k++) {
		size_t p = procs[k].parent;

		if (restore_image_is_zombie(&ris[k]))
			continue;
		procs[k].fs_shared = !restore_image_is_zombie(&ris[p]) && ris[k].fs_id == ris[p].fs_id;
		if (procs[k].fs_shared && procs[k].session_helper) {
			pr_err("process %d shares its parent's fs context and is forked by a session helper: "
			       "not supported\n",
			       ris[k].pid);
			return -EOPNOTSUPP;
		}
		if (procs[k].fs_shared)
			pr_info("process %d shares the fs context of process %d (fs id %u)\n", ris[k].pid, ris[p].pid,
				ris[k].fs_id);
		if (!restore_image_is_zombie(&ris[p]) && ris[k].files_id == ris[p].files_id) {
			if (procs[k].session_helper) {
				pr_err("process %d shares its parent's fd table and is forked by a session helper: "
				       "not supported\n",
				       ris[k].pid);
				return -EOPNOTSUPP;
			}
			procs[k].files_owner = procs[p].files_owner;
			drop_fds(&ris[k]);
			pr_info("process %d shares the fd table of process %d (files id %u)\n", ris[k].pid,
				ris[procs[k].files_owner].pid, ris[k].files_id);
			continue;
		}
		for (size_t j = 0; j < k; j++)
			if (!restore_image_is_zombie(&ris[j]) && ris[j].files_id == ris[k].files_id) {
				pr_err("ids-%d.img: process %d shares fd table %u with process %d, not its parent's: "
				       "not supported\n",
				       ris[k].pid, ris[k].pid, ris[k].files_id, ris[j].pid);
				return -EOPNOTSUPP;
			}
	}
	return 0;
}

void restore_fdtable_floor(const struct restore_proc *procs, struct restore_fds *fds, size_t k)
{
	size_t owner = procs[k].files_owner;

	if (owner == k)
		return;
	fds[k].min_fd_floor = fds[owner].min_fd;
	fds[k].table_shared = true;
	fds[owner].table_shared = true;
}

int restore_fdtable_keep(const struct restore_proc *procs, struct restore_fds *fds, size_t nr)
{
	for (size_t k = 1; k < nr; k++) {
		struct restore_fds *owner = &fds[procs[k].files_owner];
		size_t add = 0;
		int *keep;

		if (procs[k].files_owner == k)
			continue;
		for (size_t i = 0; i < fds[k].nr; i++)
			add += fds[k].fds[i] >= 0;
		keep = realloc(owner->keep_also, (owner->nr_keep_also + add + 1) * sizeof(*keep));
		if (!keep)
			return -ENOMEM;
		owner->keep_also = keep;
		for (size_t i = 0; i < fds[k].nr; i++)
			if (fds[k].fds[i] >= 0)
				keep[owner->nr_keep_also++] = fds[k].fds[i];
	}
	return 0;
}

int restore_fdtable_close(struct restore_ctl *ctl, const struct restore_proc *procs, const struct restore_fds *fds,
			  size_t k)
{
	if (!fds[k].table_shared || procs[k].files_owner != k)
		return 0;
	return restore_mem_close_files(ctl, &fds[k]);
}
