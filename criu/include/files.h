/*
 * The open file descriptors of a process: enumerated from /proc/PID/fd and
 * /proc/PID/fdinfo, the open file descriptions shared by several fds found with
 * kcmp(KCMP_FILE), each description handed to the code of its kind (regular
 * files and memory devices: files-reg.c, terminals: tty.c), the others refused.
 * Written as fdinfo-FILES_ID.img (one fdinfo_entry per fd) and files.img (one
 * file_entry per description, plus the files no fd holds).
 */
#ifndef CRIU_NG_FILES_H
#define CRIU_NG_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "eventfd.h"
#include "eventpoll.h"
#include "file-locks.h"
#include "fd-table.h"
#include "files-reg.h"
#include "inotify.h"
#include "memfd.h"
#include "nsfile.h"
#include "signalfd.h"
#include "pipes.h"
#include "sk-inet.h"
#include "sk-netlink.h"
#include "sk-unix.h"
#include "timerfd.h"
#include "tty.h"

/*
 * A file found in flight in a unix socket's queue (SCM_RIGHTS), criu's copy of
 * it kept for the whole dump: an fd of the tree found later on the same open
 * file description takes its id (kcmp against the copy), so that the restore
 * makes one description for both.
 */
struct in_flight_file {
	dev_t dev;
	ino_t ino;
	bool socket;   /* a socket's inode names its description */
	bool dumping;  /* its own queue is being read: met again, it is in a cycle */
	uint32_t type; /* FD_TYPES__* */
	uint32_t id;
	int fd; /* criu's copy */
};

struct in_flight_table {
	struct in_flight_file *v;
	size_t nr, cap;
	unsigned int depth; /* sockets in flight whose queues are being read, one in another */
	pid_t root;	    /* the tree's first process, which makes the files in flight on restore */
	char outer[128];    /* the socket of the tree the outermost of them is in flight in, for messages */
};

/*
 * The files of one dump: each kind's table (fd-kind.h; regular files also hold
 * the files no fd holds) and the fds on them.
 */
struct files_dump {
	struct files_reg reg;
	struct tty_table ttys;
	struct inet_sk_dump inet;
	struct epoll_dump epoll;
	struct eventfd_dump eventfd;
	struct timerfd_dump timerfd;
	struct signalfd_dump signalfd;
	struct inotify_dump inotify;
	struct memfd_dump memfd;
	struct nsfile_dump nsfile;
	struct unix_sk_dump usk;
	struct netlink_sk_dump nlsk;
	struct pipe_dump pipes;
	struct fd_table fds;
	struct file_locks locks;
	struct in_flight_table in_flight;
};

/* The fd table of a process of the tree collected before. */
struct fd_table_ref {
	pid_t pid;
	const struct fd_table *fds;
};

struct fds_collect_args {
	pid_t pid;
	bool shell_job;	 /* --shell-job: terminals may be recorded */
	bool file_locks; /* --file-locks: file locks may be recorded */
	struct inet_sk_policy sockets;
	bool ext_unix_sk; /* --ext-unix-sk: a datagram socket may send to a bound one outside */
	/* Open files shared with these (kcmp) take their id: one open file description in files.img. */
	const struct fd_table_ref *others;
	size_t nr_others;
};

/*
 * Records every fd of the (frozen) process in @fdump->fds, its description in
 * @fdump->reg or @fdump->ttys. An fd of a kind not supported yet fails the whole
 * collection with -EOPNOTSUPP and an error naming the fd and its kind.
 */
__attribute__((warn_unused_result)) int files_collect_fds(struct files_dump *fdump,
							  const struct fds_collect_args *args);

/*
 * Writes fdinfo-@files_id.img, files.img (regular files, then terminals), and the
 * ghost files, remap-fpath.img and tty-info.img when there are any, in @dirfd.
 * Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int files_dump_write(const struct files_dump *fdump, int dirfd, uint32_t files_id);

/* Writes fdinfo-@files_id.img with the fds of table @t: a process of a tree other than the one above. */
__attribute__((warn_unused_result)) int files_write_fdinfo(const struct fd_table *t, int dirfd, uint32_t files_id);

/* Frees the fds of @t, a table taken out of a files_dump (a tree keeps one per process). */
void files_fd_table_free(struct fd_table *t);

void files_dump_free(struct files_dump *fdump);

/*
 * The inode of the file at fd @fd in @fd_table (a struct fd_table, by ascending fd), 0 if none;
 * its kind (FD_TYPES__*) in *@type.
 */
uint64_t files_fd_ino(void *fd_table, int fd, uint32_t *type);

struct fd_dump_ctx;
struct fd_probe;

/*
 * Records the file criu's @fd names, received from a unix socket's queue
 * (SCM_RIGHTS), in files.img: *@type and *@id. A description an fd of the tree
 * holds too (or one in flight twice) keeps one id. Every kind the fd walk
 * dumps but terminals; a unix socket in flight whose queue holds, in turn, a
 * socket being read (a cycle) and anything else is refused naming @holder (the
 * socket and the process). Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int files_dump_in_flight(const struct fd_dump_ctx *c, int fd, const char *holder,
							     uint32_t *type, uint32_t *id);

/* Refuses the fd of @p, naming it and its kind. Returns -EOPNOTSUPP. */
int files_refuse(const struct fd_dump_ctx *c, const struct fd_probe *p);

#endif /* CRIU_NG_FILES_H */
