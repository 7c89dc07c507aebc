/*
 * pstree.img: one pstree_entry per dumped process. The dump's root has no
 * dumped parent, which CRIU records as ppid 0.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "image.h"
#include "pstree.h"

#include "pstree.pb-c.h"

int pstree_dump(int dirfd, pid_t pid, const struct proc_stat *st, const pid_t *tids, size_t nr)
{
	PstreeEntry e = PSTREE_ENTRY__INIT;
	struct cr_img *img;
	uint32_t *threads;
	int ret, cret;

	threads = calloc(nr ? nr : 1, sizeof(*threads));
	if (!threads)
		return -ENOMEM;
	for (size_t i = 0; i < nr; i++)
		threads[i] = (uint32_t)tids[i];
	e.pid = (uint32_t)pid;
	e.ppid = 0;
	e.pgid = (uint32_t)st->pgid;
	e.sid = (uint32_t)st->sid;
	e.n_threads = nr;
	e.threads = threads;

	ret = img_open(&img, dirfd, IMG_WRITE, CR_IMG_PSTREE);
	if (ret)
		goto out_free;
	ret = img_write_entry(img, &e);
	cret = img_close(img);
	ret = ret ?: cret;
out_free:
	free(threads);
	return ret;
}
