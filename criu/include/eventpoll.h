/*
 * epoll instances, the EVENTPOLL kind of fd. At dump, /proc/PID/fdinfo of the
 * epoll fd lists every registration (target fd, events, data, target inode);
 * each target must still be the file open at that fd number (kcmp). At restore
 * criu creates the instance before the fork and the process, once all its fds
 * are in place, registers every target again under its fd number. An epoll
 * shared by processes of the tree (fork) is recorded and made once, for the
 * first process holding it, whose fds its targets must be: that process
 * registers them, the others are given the instance.
 */
#ifndef CRIU_NG_EVENTPOLL_H
#define CRIU_NG_EVENTPOLL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fd-kind.h"
#include "files-reg.h"

#include "fdinfo.pb-c.h"

struct cr_img;
struct restore_image;

struct epoll_tfd {
	uint32_t tfd;
	uint32_t events;
	uint64_t data;
	uint64_t ino;
	uint64_t pos;
};

struct epoll_file {
	uint32_t id;
	int fd;
	pid_t pid; /* the process it was found in: its targets are that process's fds */
	uint32_t flags;
	struct reg_fown fown;
	struct epoll_tfd *tfds;
	size_t nr;
};

struct epoll_dump {
	struct epoll_file *v;
	size_t nr;
	size_t cap;
};

/* The EVENTPOLL row of the fd kinds (fd-kind.h). */

/* True when the fd's /proc link names an epoll instance. */
bool epoll_match(const struct fd_probe *p);

/* Records the epoll instance of @p and every registration it has. Returns 0 or -errno. */
__attribute__((warn_unused_result)) int epoll_dump(struct fd_dump_ctx *c, struct fd_probe *p, uint32_t *id);

/*
 * After the fd walk: checks that every registration's target fd is open at
 * the dump on the same file. Returns 0 or -EOPNOTSUPP with an error naming
 * the epoll and the target.
 */
__attribute__((warn_unused_result)) int epoll_check_targets(struct files_dump *fdump, pid_t pid);

/* Appends one EVENTPOLL file_entry per instance to @img (files.img). */
__attribute__((warn_unused_result)) int epoll_write_files(const struct files_dump *fdump, struct cr_img *img);

void epoll_dump_free(struct files_dump *fdump);

/* Restore. */

/* Checks an EVENTPOLL file_entry of @img_name. Returns 0 or -EINVAL (logged). */
__attribute__((warn_unused_result)) int epoll_check_entry(const FileEntry *fe, const char *img_name);

/* Keeps, per file, whether this process makes the epoll (and registers its targets). 0 or -ENOMEM. */
__attribute__((warn_unused_result)) int epoll_load(int dirfd, struct restore_image *ri);
void epoll_load_free(struct restore_image *ri);

/*
 * Creates in criu every instance the process's fds need and no earlier process of the tree was
 * given, after checking that its targets are fds of the process (registrations: epoll_install()).
 * 0, -EINVAL (logged) or -errno.
 */
__attribute__((warn_unused_result)) int epoll_open(const struct restore_image *ri, struct restore_fds *fds);

/*
 * In the restored process, every fd in place: registers each target again
 * of the instances it made (a shared one was made by the first process).
 * Logs nothing (the log is closed); returns 0 or -errno.
 */
int epoll_install(const struct restore_image *ri);
/* The registrations of epoll file @id of the dump (0 for none, or no such epoll). */
size_t epoll_registrations(const struct files_dump *fdump, uint32_t id);
/* Whether file @i of @ri is an epoll in flight kept into the first process for its registrations. */
bool epoll_kept_in_flight(const struct restore_image *ri, size_t i);

#endif /* CRIU_NG_EVENTPOLL_H */
