/*
 * The table of CRIU image kinds criu-ng knows: file name pattern, magic numbers
 * and protobuf entry type. Every image name used by the tool comes from here.
 */
#ifndef CRIU_NG_IMAGE_DESC_H
#define CRIU_NG_IMAGE_DESC_H

#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

enum cr_img_type {
	CR_IMG_INVENTORY,
	CR_IMG_STATS_DUMP,
	CR_IMG_STATS_RESTORE,
	CR_IMG_PSTREE,
	CR_IMG_CORE,	/* core-PID.img */
	CR_IMG_IDS,	/* ids-PID.img */
	CR_IMG_MM,	/* mm-PID.img */
	CR_IMG_PAGEMAP, /* pagemap-ID.img: a pagemap_head entry, then pagemap_entry ones */
	CR_IMG_PAGES,	/* pages-ID.img: raw page contents, no header */
	CR_IMG_FDINFO,	/* fdinfo-ID.img */
	CR_IMG_FILES,
	CR_IMG_REG_FILES,     /* reg-files.img of older CRIU versions (read only) */
	CR_IMG_FS,	      /* fs-PID.img */
	CR_IMG_CREDS,	      /* creds-PID.img of older CRIU versions (read only) */
	CR_IMG_TCP_STREAM,    /* tcp-stream-INODE.img, the inode in hex */
	CR_IMG_INETSK,	      /* inetsk.img of older CRIU versions (read only) */
	CR_IMG_REMAP_FPATH,   /* remap-fpath.img: files reached through another (ghost files) */
	CR_IMG_GHOST_FILE,    /* ghost-file-ID.img, the id in hex: an unlinked file and its contents */
	CR_IMG_TTY_INFO,      /* tty-info.img: the terminals the open tty files refer to */
	CR_IMG_TTY_DATA,      /* tty-data.img: the bytes queued on the ends of pty pairs */
	CR_IMG_FILE_LOCKS,    /* filelocks.img: the file locks of every dumped process */
	CR_IMG_SK_QUEUES,     /* sk-queues.img: queued data of unix sockets, each entry followed by its bytes */
	CR_IMG_SHMEM_PAGEMAP, /* pagemap-shmem-SHMID.img (unsigned long long): shared anonymous memory */
	CR_IMG_PIPES_DATA,    /* pipes-data.img: the bytes queued in pipes */
	CR_IMG_FIFO_DATA,     /* fifo-data.img: the bytes queued in FIFOs */
	CR_IMG_MEMFD_INODE,   /* memfd.img: the memfds of the open files and mappings */
	CR_IMG_NETDEV,	      /* netdev-NSID.img: the links of a network namespace */
	CR_IMG_NETNS,	      /* netns-NSID.img: the namespace's own entry */
	CR_IMG_IFADDR,	      /* ifaddr-NSID.img: raw, "ip addr save" output */
	CR_IMG_ROUTE,	      /* route-NSID.img: raw, "ip -4 route save" output */
	CR_IMG_ROUTE6,	      /* route6-NSID.img: raw, "ip -6 route save" output */
	CR_IMG_NFTABLES,      /* nftables-NSID.img: raw, "nft list ruleset" output */
	CR_IMG_MAX,
};

struct cr_img_desc {
	/* printf pattern of the file name, taking the arguments given to img_open(). */
	const char *name_fmt;
	/* IMG_COMMON_MAGIC, IMG_SERVICE_MAGIC, or 0 when the image has no such first word. */
	uint32_t first_magic;
	/* The image's own magic; RAW_IMAGE_MAGIC for raw images, which have no header. */
	uint32_t magic;
	/* Type of the entries; NULL for raw images. */
	const ProtobufCMessageDescriptor *entry;
};

/* NULL for an out-of-range @type. */
const struct cr_img_desc *cr_img_desc_get(enum cr_img_type type);

#endif /* CRIU_NG_IMAGE_DESC_H */
