/*
 * ids-PID.img. Nothing is shared between the dumped processes yet (a shared
 * fd table, fs or signal handlers is refused), so every process gets ids of its
 * own: the Nth process of the tree 4N + 1 to 4N + 4.
 */
#include "ids.h"
#include "image.h"

enum {
	ID_VM = 1,
	ID_FILES,
	ID_FS,
	ID_SIGHAND,
};

void ids_fill(TaskKobjIdsEntry *ids, size_t index)
{
	uint32_t base = (uint32_t)index * 4;

	task_kobj_ids_entry__init(ids);
	ids->vm_id = base + ID_VM;
	ids->files_id = base + ID_FILES;
	ids->fs_id = base + ID_FS;
	ids->sighand_id = base + ID_SIGHAND;
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
