/*
 * All CRIU image names, magics and entry types known to criu-ng, in one table.
 */
#include <stddef.h>

#include "image-desc.h"
#include "magic.h"

#include "core.pb-c.h"
#include "creds.pb-c.h"
#include "fdinfo.pb-c.h"
#include "file-lock.pb-c.h"
#include "fs.pb-c.h"
#include "ghost-file.pb-c.h"
#include "inventory.pb-c.h"
#include "memfd.pb-c.h"
#include "netdev.pb-c.h"
#include "mm.pb-c.h"
#include "pagemap.pb-c.h"
#include "pipe-data.pb-c.h"
#include "pstree.pb-c.h"
#include "regfile.pb-c.h"
#include "remap-file-path.pb-c.h"
#include "sk-inet.pb-c.h"
#include "sk-packet.pb-c.h"
#include "stats.pb-c.h"
#include "tcp-stream.pb-c.h"
#include "tty.pb-c.h"

#define DESC(type, fmt, first, mag, pb) [type] = { .name_fmt = fmt, .first_magic = first, .magic = mag, .entry = pb }

static const struct cr_img_desc cr_img_descs[CR_IMG_MAX] = {
	DESC(CR_IMG_INVENTORY, "inventory.img", 0, INVENTORY_MAGIC, &inventory_entry__descriptor),
	/* CRIU names the stats images without the .img suffix (zdtm looks for "stats-dump"). */
	DESC(CR_IMG_STATS_DUMP, "stats-dump", IMG_SERVICE_MAGIC, STATS_MAGIC, &stats_entry__descriptor),
	DESC(CR_IMG_STATS_RESTORE, "stats-restore", IMG_SERVICE_MAGIC, STATS_MAGIC, &stats_entry__descriptor),
	DESC(CR_IMG_PSTREE, "pstree.img", IMG_COMMON_MAGIC, PSTREE_MAGIC, &pstree_entry__descriptor),
	DESC(CR_IMG_CORE, "core-%u.img", IMG_COMMON_MAGIC, CORE_MAGIC, &core_entry__descriptor),
	DESC(CR_IMG_IDS, "ids-%u.img", IMG_COMMON_MAGIC, IDS_MAGIC, &task_kobj_ids_entry__descriptor),
	DESC(CR_IMG_MM, "mm-%u.img", IMG_COMMON_MAGIC, MM_MAGIC, &mm_entry__descriptor),
	DESC(CR_IMG_PAGEMAP, "pagemap-%u.img", IMG_COMMON_MAGIC, PAGEMAP_MAGIC, &pagemap_entry__descriptor),
	DESC(CR_IMG_PAGES, "pages-%u.img", 0, RAW_IMAGE_MAGIC, NULL),
	DESC(CR_IMG_FDINFO, "fdinfo-%u.img", IMG_COMMON_MAGIC, FDINFO_MAGIC, &fdinfo_entry__descriptor),
	DESC(CR_IMG_FILES, "files.img", IMG_COMMON_MAGIC, FILES_MAGIC, &file_entry__descriptor),
	DESC(CR_IMG_REG_FILES, "reg-files.img", IMG_COMMON_MAGIC, REG_FILES_MAGIC, &reg_file_entry__descriptor),
	DESC(CR_IMG_FS, "fs-%u.img", IMG_COMMON_MAGIC, FS_MAGIC, &fs_entry__descriptor),
	DESC(CR_IMG_CREDS, "creds-%u.img", IMG_COMMON_MAGIC, CREDS_MAGIC, &creds_entry__descriptor),
	DESC(CR_IMG_TCP_STREAM, "tcp-stream-%x.img", IMG_COMMON_MAGIC, TCP_STREAM_MAGIC, &tcp_stream_entry__descriptor),
	DESC(CR_IMG_INETSK, "inetsk.img", IMG_COMMON_MAGIC, INETSK_MAGIC, &inet_sk_entry__descriptor),
	DESC(CR_IMG_REMAP_FPATH, "remap-fpath.img", IMG_COMMON_MAGIC, REMAP_FPATH_MAGIC,
	     &remap_file_path_entry__descriptor),
	DESC(CR_IMG_GHOST_FILE, "ghost-file-%x.img", IMG_COMMON_MAGIC, GHOST_FILE_MAGIC, &ghost_file_entry__descriptor),
	/* CRIU's shmem pagemap magic is the pagemap one: the same head and entries. */
	DESC(CR_IMG_SHMEM_PAGEMAP, "pagemap-shmem-%llu.img", IMG_COMMON_MAGIC, PAGEMAP_MAGIC,
	     &pagemap_entry__descriptor),
	DESC(CR_IMG_SK_QUEUES, "sk-queues.img", IMG_COMMON_MAGIC, SK_QUEUES_MAGIC, &sk_packet_entry__descriptor),
	DESC(CR_IMG_PIPES_DATA, "pipes-data.img", IMG_COMMON_MAGIC, PIPES_DATA_MAGIC, &pipe_data_entry__descriptor),
	DESC(CR_IMG_FIFO_DATA, "fifo-data.img", IMG_COMMON_MAGIC, FIFO_DATA_MAGIC, &pipe_data_entry__descriptor),
	DESC(CR_IMG_TTY_INFO, "tty-info.img", IMG_COMMON_MAGIC, TTY_INFO_MAGIC, &tty_info_entry__descriptor),
	DESC(CR_IMG_TTY_DATA, "tty-data.img", IMG_COMMON_MAGIC, TTY_DATA_MAGIC, &tty_data_entry__descriptor),
	DESC(CR_IMG_FILE_LOCKS, "filelocks.img", IMG_COMMON_MAGIC, FILE_LOCKS_MAGIC, &file_lock_entry__descriptor),
	DESC(CR_IMG_MEMFD_INODE, "memfd.img", IMG_COMMON_MAGIC, MEMFD_INODE_MAGIC, &memfd_inode_entry__descriptor),
	DESC(CR_IMG_NETDEV, "netdev-%u.img", IMG_COMMON_MAGIC, NETDEV_MAGIC, &net_device_entry__descriptor),
	DESC(CR_IMG_NETNS, "netns-%u.img", IMG_COMMON_MAGIC, NETNS_MAGIC, &netns_entry__descriptor),
	/* What iproute2's "save" commands write, as CRIU keeps it: no header of CRIU's. */
	DESC(CR_IMG_IFADDR, "ifaddr-%u.img", 0, RAW_IMAGE_MAGIC, NULL),
	DESC(CR_IMG_ROUTE, "route-%u.img", 0, RAW_IMAGE_MAGIC, NULL),
	DESC(CR_IMG_ROUTE6, "route6-%u.img", 0, RAW_IMAGE_MAGIC, NULL),
	DESC(CR_IMG_NFTABLES, "nftables-%u.img", 0, RAW_IMAGE_MAGIC, NULL),
};

const struct cr_img_desc *cr_img_desc_get(enum cr_img_type type)
{
	if ((unsigned int)type >= CR_IMG_MAX || !cr_img_descs[type].name_fmt)
		return NULL;
	return &cr_img_descs[type];
}
