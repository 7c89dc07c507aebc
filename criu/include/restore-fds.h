/*
 * criu restore: the files criu opens or makes for a process before it is
 * forked (struct restore_fds: one fd per entry of files.img that the process
 * needs, above its highest dumped fd), and what the kinds of files and the
 * steps of the restore ask of it. restore_fds_open() in restore-fork.h fills
 * it.
 */
#ifndef CRIU_NG_RESTORE_FDS_H
#define CRIU_NG_RESTORE_FDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "restore-image.h"
#include "sk-tcp.h"

struct sk_rebuild;

/*
 * The files the restore uses (executable, cwd, root, mapped files, the files of
 * the fds, sockets included), opened by criu at min_fd or above, where no
 * dumped fd lies. The caller zeroes it and may load @tcp (sk_tcp_load) first.
 */
struct restore_fds {
	int *fds; /* per entry of restore_image.files: an fd, or -1 if not needed */
	size_t nr;
	int min_fd;
	uint8_t *close_after; /* per fdinfo entry: the child closes the source once it is in place */
	bool tcp_close;	      /* --tcp-close: TCP connections come back closed */
	/*
	 * The TCP connections are rebuilt by a thread beside the memory restore: the child shares criu's
	 * fd table until sk_rebuild_finish() gives it its own (see net/sk-rebuild.c).
	 */
	bool shared;
	struct sk_rebuild *rebuild;
	bool ext_unix_sk; /* --ext-unix-sk: unix sockets may connect to sockets outside */
	/*
	 * Per file, or NULL: criu's fd of a description an earlier process of the tree holds too
	 * (-1 for none). A file criu makes itself is then not made again: it gets a duplicate.
	 */
	const int *given;
	/* An fd table shared by processes of the tree (restore-fdtable.h): */
	bool table_shared; /* criu closes the files it opened once every process of the table has its memory */
	int min_fd_floor;  /* the table's lowest fd for the files criu opens: above every dumped fd of it */
	int *keep_also;	   /* the files criu opened for the other processes of the table: kept until then */
	size_t nr_keep_also;
	/* The recreated unlinked files, while the kinds open theirs (a FIFO's path may be one). */
	const struct restore_ghost_files *ghosts;
	struct sk_tcp_restore tcp;
	uint64_t sockets_us;
};

/*
 * The lowest dumped fd of every file of @ri (-1 for none) in *@firstp and that
 * fd's FD_CLOEXEC in *@flagsp, both arrays the caller frees. Returns 0 or -ENOMEM.
 */
__attribute__((warn_unused_result)) int restore_fds_targets(const struct restore_image *ri, int **firstp,
							    uint32_t **flagsp);

/*
 * For a kind's open (fd-kind.h): makes every file of type @type that a dumped
 * fd needs with @make (a new fd, O_CLOEXEC, or -errno), into @fds. Returns 0 or
 * the first error.
 */
__attribute__((warn_unused_result)) int restore_fds_make_each(const struct restore_image *ri, struct restore_fds *fds,
							      uint32_t type, int (*make)(const FileEntry *fe));

/* The fd of file @id, or -1. */
int restore_fds_get(const struct restore_fds *fds, const struct restore_image *ri, uint32_t id);

/* Whether process @ri needs file @i of its files: an fd or a mapping's. */
bool restore_fds_needed(const struct restore_image *ri, size_t i);

/*
 * Whether file @i is in flight in a unix socket's queue and made for this process: the tree's first
 * (restore_fds.given NULL), which refills every queue (sk-unix.c).
 */
bool restore_fds_in_flight(const struct restore_image *ri, const struct restore_fds *fds, size_t i);

/* Whether a kind makes file @i for this process: an fd holds it, or it is in flight (above). */
bool restore_fds_wanted(const struct restore_image *ri, const struct restore_fds *fds, size_t i);

#endif /* CRIU_NG_RESTORE_FDS_H */
