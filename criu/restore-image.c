/*
 * criu restore: lookups in the decoded images of one process (see
 * include/restore-image.h).
 */
#include "restore-image.h"
#include "vma.h"

bool restore_image_is_zombie(const struct restore_image *ri)
{
	return ri->core && ri->core->tc && ri->core->tc->task_state == RESTORE_TASK_DEAD;
}

ssize_t restore_images_file_idx(const struct restore_image *ri, uint32_t id)
{
	size_t lo = 0, hi = ri->nr_files;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ri->files[mid]->id == id)
			return (ssize_t)mid;
		if (ri->files[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

const RegFileEntry *restore_images_file(const struct restore_image *ri, uint32_t id)
{
	ssize_t i = restore_images_file_idx(ri, id);

	if (i < 0)
		return NULL;
	return ri->files[i]->type == FD_TYPES__REG ? ri->files[i]->reg : NULL;
}

const VmaEntry *restore_images_vma_at(const MmEntry *mm, uint64_t addr)
{
	size_t lo = 0, hi = mm->n_vmas;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr < mm->vmas[mid]->start)
			hi = mid;
		else if (addr >= mm->vmas[mid]->end)
			lo = mid + 1;
		else
			return mm->vmas[mid];
	}
	return NULL;
}

int restore_vma_is_special(const VmaEntry *vma)
{
	return !!(vma->status & (VMA_AREA_VDSO | VMA_AREA_VVAR | VMA_AREA_VSYSCALL));
}

bool restore_image_maps_file(const struct restore_image *ri, uint32_t id)
{
	for (size_t i = 0; i < ri->mm->n_vmas; i++)
		if ((ri->mm->vmas[i]->status & (VMA_FILE_PRIVATE | VMA_FILE_SHARED)) && ri->mm->vmas[i]->shmid == id)
			return true;
	return false;
}
