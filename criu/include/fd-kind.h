/*
 * The kinds of open files criu handles, one row each in a table
 * (criu/files/kinds.c) that the generic fd code walks on both sides:
 *
 * Dump: the fd walk (files.c) looks at each fd from outside (struct fd_probe),
 * asks each kind in table order whether the fd is one of its own (match), and
 * hands the first that says yes the description to record (dump). Once every fd
 * is recorded, each kind may check what it recorded against the whole fd table
 * (finish), then writes its entries into files.img (write_files) and any
 * images of its own (write_images).
 *
 * Restore: each file_entry of files.img is checked by its kind (check_entry)
 * and, for a kind that keeps a compact form of its own, taken (take_entry),
 * then the whole process's files (check_restore), and a kind with images of its
 * own reads them (load). Before the fork, the kinds that criu makes itself
 * (sockets, pipes, anonymous inode files) create their files (open) and the
 * generic code puts each at its dumped fd number. In the restored process,
 * every fd in place, a kind may finish its files there (install).
 *
 * Adding a kind: one file holding both directions (criu/files/, criu/net/),
 * one enum value and one table row.
 */
#ifndef CRIU_NG_FD_KIND_H
#define CRIU_NG_FD_KIND_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "files-reg.h"

#include "fdinfo.pb-c.h"

struct cr_img;
struct files_dump;
struct fds_collect_args;
struct restore_fds;
struct restore_image;

/* The rows of the table, in the order the dump asks them and the restore opens them. */
enum fd_kind_id {
	FD_KIND_EVENTPOLL, /* before every other anonymous inode file and the regular files */
	FD_KIND_EVENTFD,
	FD_KIND_TIMERFD,
	FD_KIND_SIGNALFD,
	FD_KIND_INOTIFY,
	FD_KIND_PIPE, /* its state (pipes.h) holds the FIFOs' queued bytes too */
	FD_KIND_FIFO,
	FD_KIND_MEMFD,
	FD_KIND_NS,
	FD_KIND_REG,
	FD_KIND_TTY,
	FD_KIND_INETSK,
	FD_KIND_NETLINKSK, /* before the unix sockets, whose queues may carry any of the above in flight */
	FD_KIND_UNIXSK,
	FD_KIND_NR,
};

/* One fd of the dumped process as the fd walk sees it. */
struct fd_probe {
	int fd;
	char link[PATH_MAX]; /* what /proc/PID/fd/N points at */
	struct stat st;	     /* of the file (a socket's: mode and inode only) */
	uint64_t pos;
	uint32_t flags; /* of fdinfo, O_CLOEXEC included */
	int mnt_id;
	int sk_family;	      /* a socket's SO_DOMAIN, else 0 */
	int dup_fd;	      /* criu's copy of the description (pidfd_getfd), -1 if none: O_PATH, or not needed */
	struct reg_fown fown; /* owner and signal, read from the copy (zero without one) */
};

/* What a kind's dump gets besides the fd. */
struct fd_dump_ctx {
	const struct fds_collect_args *args;
	struct files_dump *fdump;
	int fdinfo_dir; /* /proc/PID/fdinfo, for kinds that read more of it */
};

/* Bits of fd_kind.flags. */
#define FD_KIND_COPY 0x1      /* dump: the kind needs criu's copy of the description (p->dup_fd) */
#define FD_KIND_SETTLE 0x2    /* restore: made by criu and settled at its fd number before the fork */
#define FD_KIND_OPEN_PATH 0x4 /* dump: an O_PATH fd of this kind is recorded too */
/*
 * restore: the tree's first process makes every file of the kind in files.img
 * (the pieces of one object held by several processes come from one call);
 * the later ones are given theirs (restore_fds.given), and the first one's
 * copies of those it does not need are closed before the fork.
 */
#define FD_KIND_TREE 0x8
/* dump: an inode of the kind has one open file description (a socket's): its inode names the file */
#define FD_KIND_ONE_FILE 0x10

struct fd_kind {
	const char *name; /* for messages: "an eventfd" */
	uint32_t type;	  /* FD_TYPES__* of its file_entry and fdinfo_entry */
	unsigned int flags;

	/* Dump. */
	bool (*match)(const struct fd_probe *p);
	/*
	 * Records the description of @p (the first fd found on it) and sets
	 * *@id. A kind that keeps p->dup_fd sets it to -1. Returns 0 or -errno,
	 * -EOPNOTSUPP (logged, naming the fd) for what it can't dump.
	 */
	int (*dump)(struct fd_dump_ctx *c, struct fd_probe *p, uint32_t *id);
	/* After the walk: checks against the whole fd table. */
	int (*finish)(struct files_dump *fdump, pid_t pid);
	/* Appends its file_entry records to files.img. */
	int (*write_files)(const struct files_dump *fdump, struct cr_img *img);
	/* Writes images of its own into @dirfd. */
	int (*write_images)(const struct files_dump *fdump, int dirfd);
	void (*dump_free)(struct files_dump *fdump);

	/* Restore. */
	/* Checks one file_entry of @img_name. Returns 0, -EINVAL (logged) or -EOPNOTSUPP. */
	int (*check_entry)(const FileEntry *fe, const char *img_name);
	/*
	 * Optional, after check_entry: keeps what the restore needs of @fe in
	 * ri->kind_state[id] and may free the parts of @fe it took (their pointers
	 * set to NULL), so that large tables don't keep decoded messages.
	 */
	int (*take_entry)(struct restore_image *ri, FileEntry *fe, const char *img_name);
	/* Checks the files of the kind against the whole process (every file and fd loaded). */
	int (*check_restore)(const struct restore_image *ri);
	/* Reads images of its own into ri->kind_state[id]. */
	int (*load)(int dirfd, struct restore_image *ri);
	void (*load_free)(struct restore_image *ri);
	/*
	 * FD_KIND_SETTLE kinds: creates in criu every file of the kind that a
	 * dumped fd needs (ri->file_fds[i] != 0), fds->fds[i] for file i.
	 * Returns 0 or -errno (logged).
	 */
	int (*open)(const struct restore_image *ri, struct restore_fds *fds);
	/* In the restored process, every fd in place. Logs nothing (the log is closed); 0 or -errno. */
	int (*install)(const struct restore_image *ri);
};

extern const struct fd_kind fd_kinds[FD_KIND_NR];

/* The kind of file_entry type @type, or NULL. */
const struct fd_kind *fd_kind_of_type(uint32_t type);

/* True for the files criu makes itself (kinds with FD_KIND_SETTLE), settled at their fd numbers (restore-fds.h). */
bool restore_fds_made_here(const FileEntry *fe);

#endif /* CRIU_NG_FD_KIND_H */
