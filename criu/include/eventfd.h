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

/* True when an fd's /proc link names an eventfd. */
bool eventfd_is_link(const char *link);

/* Records eventfd @fd of @pid (flags and owner from the fd walk) with id @id. Returns 0 or -errno. */
__attribute__((warn_unused_result)) int eventfd_add(struct eventfd_dump *d, pid_t pid, int fd, uint32_t flags,
						    const struct reg_fown *fown, uint32_t id);

/* Appends one EVENTFD file_entry per eventfd to @img (files.img). */
__attribute__((warn_unused_result)) int eventfd_write_files(const struct eventfd_dump *d, struct cr_img *img);

void eventfd_dump_free(struct eventfd_dump *d);

/* Checks an EVENTFD file_entry of @img_name. Returns 0 or -EINVAL (logged). */
__attribute__((warn_unused_result)) int eventfd_check_entry(const FileEntry *fe, const char *img_name);

/* Creates the eventfd of @fe in criu. Returns its fd (O_CLOEXEC) or -errno. */
__attribute__((warn_unused_result)) int eventfd_open(const FileEntry *fe);

#endif /* CRIU_NG_EVENTFD_H */
