/*
 * fs-PID.img: cwd, root and umask of a process.
 */
#include "fs.h"
#include "image.h"

#include "fs.pb-c.h"

int fs_dump(int dirfd, pid_t pid, uint32_t cwd_id, uint32_t root_id, unsigned int umask)
{
	FsEntry fs = FS_ENTRY__INIT;
	struct cr_img *img;
	int ret, cret;

	fs.cwd_id = cwd_id;
	fs.root_id = root_id;
	fs.has_umask = 1, fs.umask = umask;
	ret = img_open(&img, dirfd, IMG_WRITE, CR_IMG_FS, (unsigned int)pid);
	if (ret)
		return ret;
	ret = img_write_entry(img, &fs);
	cret = img_close(img);
	return ret ?: cret;
}
