/*
 * criu restore: a child sharing its parent's address space (see
 * include/restore-sharedmm.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <string.h>

#include "restore-fork.h"
#include "restore-sharedmm.h"

#define LOG_PREFIX "restore: "
#include "log.h"

uint64_t restore_sharer_clone_flags(const struct restore_image *p, const struct restore_image *c)
{
	uint64_t flags = CLONE_VM;

	if (c->sighand_id == p->sighand_id)
		flags |= CLONE_SIGHAND;
	if (c->files_id == p->files_id)
		flags |= CLONE_FILES;
	if (c->fs_id == p->fs_id)
		flags |= CLONE_FS;
	return flags;
}

bool restore_sharer_own_sighand(const struct restore_image *p, const struct restore_image *c)
{
	return c->sighand_id != p->sighand_id;
}

/* The path of file @id, or "" when it names no regular file. */
static const char *file_name(const struct restore_image *ri, uint32_t id)
{
	const RegFileEntry *r = restore_images_file(ri, id);

	return r && r->name ? r->name : "";
}

/* The fd of @ri numbered @fd, or NULL. */
static const FdinfoEntry *fd_at(const struct restore_image *ri, uint32_t fd)
{
	for (size_t i = 0; i < ri->nr_fdinfo; i++)
		if (ri->fdinfo[i]->fd == fd)
			return ri->fdinfo[i];
	return NULL;
}

/* An fd of @ri on file @id, or NULL. */
static const FdinfoEntry *fd_of(const struct restore_image *ri, uint32_t id)
{
	for (size_t i = 0; i < ri->nr_fdinfo; i++)
		if (ri->fdinfo[i]->id == id)
			return ri->fdinfo[i];
	return NULL;
}

/*
 * The fds @c copies from @p become its own by a few syscalls of its list
 * (restore_sharer_fds()): each of its fds must be on a file @p holds, at a
 * number @p has free or holds that file at. NULL when so (or one table).
 */
static const char *differs_files(const struct restore_image *p, const struct restore_image *c)
{
	if (c->files_id == p->files_id)
		return NULL;
	if (c->has_fdinfo != p->has_fdinfo)
		return "its fds";
	for (size_t i = 0; i < c->nr_fdinfo; i++) {
		const FdinfoEntry *a = c->fdinfo[i], *same = fd_at(p, a->fd);

		if (same ? same->id != a->id : !fd_of(p, a->id))
			return "fds that its parent does not hold";
	}
	return NULL;
}

void restore_sharer_fds(struct rbatch *b, const struct restore_image *p, const struct restore_image *c)
{
	if (c->files_id == p->files_id)
		return;
	for (size_t i = 0; i < c->nr_fdinfo; i++) {
		const FdinfoEntry *a = c->fdinfo[i], *same = fd_at(p, a->fd);

		if (!same)
			rbatch_add(b, "dup3", RB_CHECK, SYS_dup3, 3, (uint64_t)fd_of(p, a->id)->fd, (uint64_t)a->fd,
				   (uint64_t)(a->flags & FD_CLOEXEC ? O_CLOEXEC : 0));
		else if (same->flags != a->flags)
			rbatch_add(b, "fcntl(F_SETFD)", RB_CHECK, SYS_fcntl, 3, (uint64_t)a->fd, (uint64_t)F_SETFD,
				   (uint64_t)a->flags);
	}
	for (size_t i = 0; i < p->nr_fdinfo; i++)
		if (!fd_at(c, p->fdinfo[i]->fd))
			rbatch_add(b, "close", RB_CHECK, SYS_close, 1, (uint64_t)p->fdinfo[i]->fd);
}

/* What of @c, made by a clone3 of its parent @p, would not be its own; NULL when nothing. */
static const char *differs(const struct restore_image *ris, size_t nr, const struct restore_image *p,
			   const struct restore_image *c)
{
	const TaskCoreEntry *pc = p->core->tc, *cc = c->core->tc;

	for (size_t m = 0; m < nr; m++)
		if (ris[m].pstree->ppid == (uint32_t)c->pid)
			return "children";
	if (c->nr_threads)
		return "threads";
	if (cc->task_state != RESTORE_TASK_ALIVE)
		return "its task state (stopped)";
	if (c->pstree->sid != p->pstree->sid || c->pstree->pgid != p->pstree->pgid)
		return "its session or process group";
	if (cc->personality != pc->personality)
		return "its personality";
	if (c->nr_locks)
		return "file locks";
	if (c->fs_id != p->fs_id &&
	    (c->fs->umask != p->fs->umask || strcmp(file_name(c, c->fs->cwd_id), file_name(p, p->fs->cwd_id)) ||
	     strcmp(file_name(c, c->fs->root_id), file_name(p, p->fs->root_id))))
		return "its cwd, root or umask";
	return differs_files(p, c);
}

/* Sharer @k of @ris, which a thread of its parent @p waited for in vfork(): moved to p->vfork_child. */
static int fold_vfork_child(struct restore_image *ris, size_t *nr, size_t k, struct restore_image *p)
{
	const TaskCoreEntry *tc = p->core->tc;
	struct restore_image *c = &ris[k];
	size_t i = 0;

	p->vfork_tid = tc->has_vfork_tid ? (pid_t)tc->vfork_tid : p->pid;
	while (i < p->nr_threads && p->tids[i] != p->vfork_tid)
		i++;
	if (p->vfork_tid != p->pid && i == p->nr_threads) {
		pr_err("core-%d.img: thread %u was in vfork() for process %d, and it is not a thread of the process\n",
		       p->pid, tc->vfork_tid, c->pid);
		return -EINVAL;
	}
	p->vfork_child = malloc(sizeof(*p->vfork_child));
	if (!p->vfork_child)
		return -ENOMEM;
	*p->vfork_child = *c;
	pr_info("thread %d of process %d was in vfork() for its child %d: made again by a vfork\n", p->vfork_tid,
		p->pid, c->pid);
	memmove(c, c + 1, (*nr - k - 1) * sizeof(*c));
	(*nr)--;
	return 0;
}

/* Checks sharer @k of @ris and moves it into its parent's sharers (or its vfork_child). */
static int fold_one(struct restore_image *ris, size_t *nr, size_t k)
{
	struct restore_image *c = &ris[k], *p = NULL, *sharers;
	const char *what;
	int ret;

	for (size_t i = 0; i < k; i++)
		if (ris[i].pid == (pid_t)c->pstree->ppid)
			p = &ris[i];
	if (!p || p->mm_elsewhere || restore_image_is_zombie(p) || p->vm_id != c->vm_id) {
		pr_err("ids-%d.img: process %d shares the address space (vm_id %u) of a process that is not its "
		       "parent, or whose own is another's: not supported yet\n",
		       c->pid, c->pid, c->vm_id);
		return -EOPNOTSUPP;
	}
	what = differs(ris, *nr, p, c);
	if (what) {
		pr_err("process %d shares the address space of its parent %d but has %s of its own: not supported "
		       "yet\n",
		       c->pid, p->pid, what);
		return -EOPNOTSUPP;
	}
	ret = restore_check_pid_free(c->pid);
	if (ret)
		return ret;
	if (p->core->tc->has_vfork_child && p->core->tc->vfork_child == (uint32_t)c->pid)
		return fold_vfork_child(ris, nr, k, p);
	sharers = realloc(p->sharers, (p->nr_sharers + 1) * sizeof(*sharers));
	if (!sharers)
		return -ENOMEM;
	p->sharers = sharers;
	p->sharers[p->nr_sharers++] = *c;
	pr_info("process %d shares the address space of its parent %d: made by its clone3 (flags %#llx)\n", c->pid,
		p->pid, (unsigned long long)restore_sharer_clone_flags(p, c));
	memmove(c, c + 1, (*nr - k - 1) * sizeof(*c));
	(*nr)--;
	return 0;
}

int restore_sharedmm_fold(struct restore_image *ris, size_t *nr)
{
	int ret = 0;

	for (size_t k = *nr; !ret && k-- > 1;)
		if (ris[k].mm_elsewhere)
			ret = fold_one(ris, nr, k);
	for (size_t k = 0; !ret && k < *nr; k++) {
		const TaskCoreEntry *tc = restore_image_is_zombie(&ris[k]) ? NULL : ris[k].core->tc;

		if (tc && tc->has_vfork_child && !ris[k].vfork_child) {
			pr_err("core-%d.img: a thread was in vfork() for process %u, which is not its child "
			       "sharing its address space in the images\n",
			       ris[k].pid, tc->vfork_child);
			ret = -EINVAL;
		}
	}
	return ret;
}
