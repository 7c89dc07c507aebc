/*
 * criu restore: bring a process tree back from its images. The engine is not
 * written yet: this reads and checks the inventory, then fails, saying so.
 */
#include <errno.h>

#include "cr-restore.h"
#include "image.h"
#include "magic.h"

#include "inventory.pb-c.h"

#define LOG_PREFIX "restore: "
#include "log.h"

static int check_inventory(int imgdir_fd)
{
	InventoryEntry *inv;
	struct cr_img *img;
	void *msg;
	int ret;

	ret = img_open(&img, imgdir_fd, IMG_READ, CR_IMG_INVENTORY);
	if (ret)
		return ret;
	ret = img_read_one(img, &msg);
	img_close(img);
	if (ret)
		return ret;

	inv = msg;
	if (inv->img_version != CRTOOLS_IMAGES_V1_1) {
		pr_err("images version %u is not supported (expected %u)\n", inv->img_version,
		       CRTOOLS_IMAGES_V1_1);
		ret = -EINVAL;
	}
	img_free_entry(inv);
	return ret;
}

int cr_restore_tasks(const struct criu_ctx *ctx)
{
	int ret;

	pr_info("Restoring processes\n");
	ret = check_inventory(ctx->imgdir_fd);
	if (ret)
		return ret;
	pr_err("not implemented yet\n");
	return -ENOSYS;
}
