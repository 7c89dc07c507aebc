/*
 * inventory.img: image version 1.1, one fdinfo image per files id, criu's own
 * ids (ids.c), no LSM labels recorded, and how the dump treated the network.
 */
#include "image.h"
#include "inventory.h"
#include "magic.h"

#include "inventory.pb-c.h"

int inventory_dump(int dirfd, const struct criu_opts *opts, TaskKobjIdsEntry *root_ids)
{
	InventoryEntry inv = INVENTORY_ENTRY__INIT;
	struct cr_img *img;
	int ret, cret;

	inv.img_version = CRTOOLS_IMAGES_V1_1;
	inv.has_fdinfo_per_id = 1, inv.fdinfo_per_id = 1;
	inv.root_ids = root_ids;
	inv.has_ns_per_id = 1, inv.ns_per_id = 1;
	/* No LSM profile is recorded: CRIU's restore takes NO_LSM whatever its host runs. */
	inv.has_lsmtype = 1, inv.lsmtype = LSMTYPE__NO_LSM;
	inv.has_network_lock_method = 1, inv.network_lock_method = opts->network_lock;
	if (opts->tcp_close)
		inv.has_tcp_close = 1, inv.tcp_close = 1;

	ret = img_open(&img, dirfd, IMG_WRITE, CR_IMG_INVENTORY);
	if (ret)
		return ret;
	ret = img_write_entry(img, &inv);
	cret = img_close(img);
	return ret ?: cret;
}
