/*
 * The fds of one dumped process as the fd walk (files.h) records them: by fd
 * number, each with the id of its open file description in files.img, and
 * indexed by file so that descriptions shared by several fds are found
 * quickly. The kinds that look at the whole table (file locks, epoll targets)
 * read it.
 */
#ifndef CRIU_NG_FD_TABLE_H
#define CRIU_NG_FD_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct fd_entry {
	int fd;
	uint32_t fd_flags; /* FD_CLOEXEC or 0 */
	uint32_t id;	   /* of its description in files.img */
	uint32_t type;	   /* FD_TYPES__* */
	dev_t dev;	   /* of the file, to find shared descriptions quickly */
	ino_t ino;
};

struct fd_table {
	struct fd_entry *fds; /* by ascending fd number */
	size_t nr;
	/* The fds by file (dev, inode): heads of chains through next[], to find shared descriptions. */
	uint32_t *heads; /* index + 1, 0 for none */
	uint32_t *next;
	size_t mask;
};

#endif /* CRIU_NG_FD_TABLE_H */
