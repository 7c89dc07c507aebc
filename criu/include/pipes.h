/*
 * Pipes and FIFOs, the PIPE and FIFO kinds of fd, in CRIU's format: one
 * file_entry per open end (pipe_entry: the pipe's inode as pipe_id, the file
 * status flags; fifo_entry: the same plus a REG entry holding the FIFO's path
 * and open flags), and the bytes queued in each pipe once, in pipes-data.img
 * or fifo-data.img (a pipe_data_entry with the pipe's size, then the bytes).
 *
 * Dump: the queued bytes are copied without being consumed, tee(2) from a read
 * end (criu's copy of the fd, or a read end opened through /proc when the
 * process holds only the write end) into a scratch pipe as large as the pipe.
 *
 * Restore: criu makes each pipe once, sets its size and refills it, and gives
 * every dumped end its side of it (a second description of one side, or an
 * O_RDWR one, is opened again through /proc/self/fd); a FIFO is opened by its
 * path while criu holds it open O_RDWR, so neither side waits for the other.
 * Both are then settled at their fd numbers like sockets (FD_KIND_SETTLE).
 * Every pipe and FIFO of the tree is made for its first process, which gives
 * the later ones the ends they hold (FD_KIND_TREE).
 */
#ifndef CRIU_NG_PIPES_H
#define CRIU_NG_PIPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fd-kind.h"
#include "files-reg.h"

#include "fdinfo.pb-c.h"

struct cr_img;

/* One open end of a pipe or a FIFO. */
struct pipe_file {
	uint32_t id;
	uint32_t pipe_id; /* the pipe's inode */
	uint32_t flags;	  /* file status flags, without O_CLOEXEC */
	uint32_t regf_id; /* a FIFO's REG entry (its path), 0 for a pipe */
	struct reg_fown fown;
};

/* The bytes queued in one pipe or FIFO, copied at dump. */
struct pipe_data {
	uint32_t pipe_id;
	dev_t dev; /* with the full inode: two FIFOs whose pipe_ids collide are refused */
	ino_t ino;
	bool fifo;
	uint32_t size; /* F_GETPIPE_SZ */
	uint32_t bytes;
	void *buf;
};

struct pipe_dump {
	struct pipe_file *files; /* every end, pipes and FIFOs (regf_id != 0) */
	size_t nr, cap;
	struct pipe_data *data;
	size_t nr_data, cap_data;
};

/* The PIPE and FIFO rows of the fd kinds (fd-kind.h). */

bool pipe_match(const struct fd_probe *p);
bool fifo_match(const struct fd_probe *p);

/* Records the end of @p and, the first time its pipe is seen, the bytes queued in it. 0 or -errno. */
__attribute__((warn_unused_result)) int pipe_dump(struct fd_dump_ctx *c, struct fd_probe *p, uint32_t *id);
/* The same for a FIFO, whose path and flags go to a REG entry. */
__attribute__((warn_unused_result)) int fifo_dump(struct fd_dump_ctx *c, struct fd_probe *p, uint32_t *id);

/* Append the PIPE (FIFO) file_entry records to @img (files.img). */
__attribute__((warn_unused_result)) int pipe_write_files(const struct files_dump *fdump, struct cr_img *img);
__attribute__((warn_unused_result)) int fifo_write_files(const struct files_dump *fdump, struct cr_img *img);

/* Writes pipes-data.img and fifo-data.img in @dirfd (each only when there is such a pipe). */
__attribute__((warn_unused_result)) int pipe_write_images(const struct files_dump *fdump, int dirfd);

void pipe_dump_free(struct files_dump *fdump);

/* Restore. */

/* Check a PIPE (FIFO) file_entry of @img_name. 0 or -EINVAL (logged). */
__attribute__((warn_unused_result)) int pipe_check_entry(const FileEntry *fe, const char *img_name);
__attribute__((warn_unused_result)) int fifo_check_entry(const FileEntry *fe, const char *img_name);

/* Checks that every FIFO's path is a REG entry of @ri. 0 or -EINVAL (logged). */
__attribute__((warn_unused_result)) int fifo_check_restore(const struct restore_image *ri);

/* Reads pipes-data.img and fifo-data.img (either may be missing) into ri->kind_state[FD_KIND_PIPE]. */
__attribute__((warn_unused_result)) int pipe_load(int dirfd, struct restore_image *ri);
void pipe_load_free(struct restore_image *ri);

/*
 * For the tree's first process (restore_fds.given NULL): makes in criu every pipe (FIFO) end of
 * files.img, each pipe refilled once; nothing for a later process. 0 or -errno (logged).
 */
__attribute__((warn_unused_result)) int pipe_open(const struct restore_image *ri, struct restore_fds *fds);
__attribute__((warn_unused_result)) int fifo_open(const struct restore_image *ri, struct restore_fds *fds);

#endif /* CRIU_NG_PIPES_H */
