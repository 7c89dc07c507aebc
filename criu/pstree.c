/*
 * pstree.img: one pstree_entry per dumped process (see include/pstree.h), and
 * the check that the sessions and groups it records can be rebuilt.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "image.h"
#include "pstree.h"

#include "pstree.pb-c.h"

#define LOG_PREFIX "pstree: "
#include "log.h"

static const struct pstree_item *find_item(const struct pstree_item *items, size_t nr, pid_t pid)
{
	for (size_t i = 0; i < nr; i++)
		if (items[i].pid == pid)
			return &items[i];
	return NULL;
}

/* A group of the tree @it can join: led by a process of the tree in its session. */
static bool tree_group(const struct pstree_item *items, size_t nr, const struct pstree_item *it)
{
	const struct pstree_item *leader = find_item(items, nr, it->pgid);

	return leader && leader->pgid == leader->pid && leader->sid == it->sid;
}

static int check_child(const struct pstree_item *items, size_t nr, const struct pstree_item *it)
{
	const struct pstree_item *parent = find_item(items, nr, it->ppid);

	if (!parent) {
		pr_err("process %d: its parent %d is not in the dump\n", it->pid, it->ppid);
		return -EINVAL;
	}
	if (it->sid != it->pid && it->sid != parent->sid) {
		pr_err("process %d is in session %d, neither its own nor its parent's (%d): not supported yet\n",
		       it->pid, it->sid, parent->sid);
		return -EOPNOTSUPP;
	}
	if (it->pgid != it->pid && it->pgid != parent->pgid && !tree_group(items, nr, it)) {
		pr_err("process %d is in process group %d, whose leader is not a process of the tree in its session: "
		       "not supported yet\n",
		       it->pid, it->pgid);
		return -EOPNOTSUPP;
	}
	return 0;
}

int pstree_check_sessions(const struct pstree_item *items, size_t nr, bool shell_job)
{
	int ret = 0;

	if (!nr)
		return -EINVAL;
	if (!shell_job && (items[0].sid != items[0].pid || items[0].pgid != items[0].pid)) {
		pr_err("process %d is in session %d and process group %d, not both its own: they can't be recorded; "
		       "dump it with --shell-job (-j) to restore it into the session and group of criu restore\n",
		       items[0].pid, items[0].sid, items[0].pgid);
		return -EOPNOTSUPP;
	}
	for (size_t i = 1; !ret && i < nr; i++)
		ret = check_child(items, nr, &items[i]);
	return ret;
}

static int write_item(struct cr_img *img, const struct pstree_item *it)
{
	PstreeEntry e = PSTREE_ENTRY__INIT;
	uint32_t *threads;
	int ret;

	threads = calloc(it->nr_threads ? it->nr_threads : 1, sizeof(*threads));
	if (!threads)
		return -ENOMEM;
	for (size_t i = 0; i < it->nr_threads; i++)
		threads[i] = (uint32_t)it->threads[i];
	e.pid = (uint32_t)it->pid;
	e.ppid = (uint32_t)it->ppid;
	e.pgid = (uint32_t)it->pgid;
	e.sid = (uint32_t)it->sid;
	e.n_threads = it->nr_threads;
	e.threads = threads;
	ret = img_write_entry(img, &e);
	free(threads);
	return ret;
}

int pstree_dump(int dirfd, const struct pstree_item *items, size_t nr)
{
	struct cr_img *img;
	int ret, cret;

	ret = img_open(&img, dirfd, IMG_WRITE, CR_IMG_PSTREE);
	if (ret)
		return ret;
	for (size_t i = 0; !ret && i < nr; i++)
		ret = write_item(img, &items[i]);
	cret = img_close(img);
	return ret ?: cret;
}
