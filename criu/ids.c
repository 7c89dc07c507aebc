/*
 * ids-PID.img. With a single process nothing is shared, so the ids are simply
 * distinct; kcmp(2) will tell sharing apart once trees are dumped.
 */
#include "ids.h"
#include "image.h"

enum {
	ID_VM = 1,
	ID_FILES,
	ID_FS,
	ID_SIGHAND,
};

void ids_fill_single(TaskKobjIdsEntry *ids)
{
	task_kobj_ids_entry__init(ids);
	ids->vm_id = ID_VM;
	ids->files_id = ID_FILES;
	ids->fs_id = ID_FS;
	ids->sighand_id = ID_SIGHAND;
}

int ids_dump(int dirfd, pid_t pid, const TaskKobjIdsEntry *ids)
{
	struct cr_img *img;
	int ret, cret;

	ret = img_open(&img, dirfd, IMG_WRITE, CR_IMG_IDS, (unsigned int)pid);
	if (ret)
		return ret;
	ret = img_write_entry(img, ids);
	cret = img_close(img);
	return ret ?: cret;
}
