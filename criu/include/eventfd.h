/*
 * eventfds, the EVENTFD kind of fd: the counter and EFD_SEMAPHORE read from
 * /proc/PID/fdinfo at dump, a new eventfd with the same counter at restore
 * (made by criu before the fork and settled at its fd number, as sockets are).
 */
#ifndef CRIU_NG_EVENTFD_H
#define CRIU_NG_EVENTFD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fd-kind.h"
#include "files-reg.h"

#include "fdinfo.pb-c.h"

struct cr_img;

struct eventfd_file {
	uint32_t id;
	uint32_t flags; /* file status flags, EFD_SEMAPHORE added */
	uint64_t counter;
	struct reg_fown fown;
};

struct eventfd_dump {
	struct eventfd_file *v;
	size_t nr;
	size_t cap;
};

/* The EVENTFD row of the fd kinds (fd-kind.h). */

/* True when the fd's /proc link names an eventfd. */
bool eventfd_match(const struct fd_probe *p);

/* Records the eventfd of @p: counter and EFD_SEMAPHORE from its fdinfo. Returns 0 or -errno. */
__attribute__((warn_unused_result)) int eventfd_dump(struct fd_dump_ctx *c, struct fd_probe *p, uint32_t *id);

/* Appends one EVENTFD file_entry per eventfd to @img (files.img). */
__attribute__((warn_unused_result)) int eventfd_write_files(const struct files_dump *fdump, struct cr_img *img);

void eventfd_dump_free(struct files_dump *fdump);

/* Checks an EVENTFD file_entry of @img_name. Returns 0 or -EINVAL (logged). */
__attribute__((warn_unused_result)) int eventfd_check_entry(const FileEntry *fe, const char *img_name);

/* Creates in criu every eventfd the process's fds need, with its counter. Returns 0 or -errno. */
__attribute__((warn_unused_result)) int eventfd_open(const struct restore_image *ri, struct restore_fds *fds);

#endif /* CRIU_NG_EVENTFD_H */
