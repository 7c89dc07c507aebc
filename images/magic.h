/*
 * CRIU image magic numbers. Every image starts with a 32-bit "first" magic that
 * says what kind of image it is (IMG_COMMON_MAGIC for the per-dump images,
 * IMG_SERVICE_MAGIC for the service ones such as stats), followed by the image's
 * own magic. inventory.img has only its own magic; raw images (pages-ID.img) have
 * no header at all. All values are stored little-endian.
 */
#ifndef CRIU_NG_IMAGES_MAGIC_H
#define CRIU_NG_IMAGES_MAGIC_H

/* Image set version written in the inventory (CRIU's "images v1.1"). */
#define CRTOOLS_IMAGES_V1_1		2

#define IMG_COMMON_MAGIC		0x54564319
#define IMG_SERVICE_MAGIC		0x55105940
#define RAW_IMAGE_MAGIC			0x0

/* Per-dump images. */
#define INVENTORY_MAGIC			0x58313116
#define PSTREE_MAGIC			0x50273030
#define CORE_MAGIC			0x55053847
#define IDS_MAGIC			0x54432030
#define MM_MAGIC			0x57492820
#define VMAS_MAGIC			0x54123737
#define PAGEMAP_MAGIC			0x56084025
#define FDINFO_MAGIC			0x56213732
#define FILES_MAGIC			0x56303138
#define REG_FILES_MAGIC			0x50363636
#define FS_MAGIC			0x51403912
#define CREDS_MAGIC			0x54023547
#define SIGACT_MAGIC			0x55344201
#define ITIMERS_MAGIC			0x57464056
#define POSIX_TIMERS_MAGIC		0x52603957
#define RLIMIT_MAGIC			0x57113925
#define SIGNAL_MAGIC			0x59255647
#define GHOST_FILE_MAGIC		0x52583605
#define REMAP_FPATH_MAGIC		0x59133954
#define TTY_FILES_MAGIC			0x59433025
#define TTY_INFO_MAGIC			0x59453036
#define TTY_DATA_MAGIC			0x59413026
#define FILE_LOCKS_MAGIC		0x54323616
#define PIPES_MAGIC			0x56513555
#define PIPES_DATA_MAGIC		0x56453709
#define FIFO_DATA_MAGIC			0x59333054
#define INETSK_MAGIC			0x56443851
#define UNIXSK_MAGIC			0x54373943
#define SK_QUEUES_MAGIC			0x56264026
#define TCP_STREAM_MAGIC		0x51465506
#define EVENTFD_FILE_MAGIC		0x44523722
#define EVENTPOLL_FILE_MAGIC		0x45023858
#define EVENTPOLL_TFD_MAGIC		0x44433746
#define TIMERFD_MAGIC			0x50493712
#define MEMFD_INODE_MAGIC		0x48453499
#define NETDEV_MAGIC			0x57373951
#define NETNS_MAGIC			0x55933752
#define MNTS_MAGIC			0x55563928
#define UTSNS_MAGIC			0x54473203
#define SECCOMP_MAGIC			0x64413049 /* read by crit only */
#define TIMENS_MAGIC			0x43114433 /* read by crit only */

/* Service images. */
#define STATS_MAGIC			0x57093306
#define IRMAP_CACHE_MAGIC		0x57004059

#endif /* CRIU_NG_IMAGES_MAGIC_H */
