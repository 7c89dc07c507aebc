/*
 * criu restore: unlinked files the process held open ("ghost" files). For each
 * entry of remap-fpath.img (type GHOST), ghost-file-ID.img holds the file's
 * attributes and contents, read and checked with the other images; an entry
 * of type LINKED (--link-remap) names instead a link the dump made to a file
 * still linked elsewhere, which is linked at the old path in the same way. Before the
 * fork, criu recreates the file at its old path (or beside it, when that name
 * is taken again), fills it, sets its mode, owner and times, opens it as the
 * process had it (restore-fork.c), and unlinks it: the process inherits fds on
 * an unlinked file with the same contents.
 */
#ifndef CRIU_NG_RESTORE_GHOST_H
#define CRIU_NG_RESTORE_GHOST_H

#include <stdint.h>

#include "restore-image.h"

#include "ghost-file.pb-c.h"

/* A stretch of a ghost's data: @len bytes at @off in the file, at @at in restore_ghost.data. */
struct restore_ghost_chunk {
	uint64_t off, len, at;
};

struct restore_ghost {
	uint32_t file_id; /* the id in files.img it stands for */
	uint32_t ghost_id;
	uint32_t link_id;   /* a link remap (--link-remap): the file of files.img linked to it; gf is NULL */
	GhostFileEntry *gf; /* gf->size is the file's size (set from the data when a dense image has none) */
	void *data;	    /* the chunks' bytes, one after the other */
	struct restore_ghost_chunk *chunks; /* by offset, apart: what is not in one is a hole */
	size_t nr_chunks;
};

/* Reads remap-fpath.img (if any) and the ghost files it names into ri->ghosts. */
__attribute__((warn_unused_result)) int restore_ghosts_load(int dirfd, struct restore_image *ri);
void restore_ghosts_free(struct restore_image *ri);

/* The ghost standing for file @id, or NULL. */
const struct restore_ghost *restore_ghost_find(const struct restore_image *ri, uint32_t id);

/* The recreated files, linked until restore_ghosts_remove(): one path per ghost, shared by same inodes. */
struct restore_ghost_files {
	char **paths;
	size_t nr;
};

/*
 * Recreates every ghost of @ri at its old path (or beside it): one file per
 * dumped inode, so fds that shared a file share it again. Returns 0 or -errno
 * (logged); restore_ghosts_remove() in every case.
 */
__attribute__((warn_unused_result)) int restore_ghosts_create(const struct restore_image *ri,
							      struct restore_ghost_files *files);

/* Where the ghost standing for file @id was recreated, or NULL if @id is no ghost. */
const char *restore_ghost_path(const struct restore_image *ri, const struct restore_ghost_files *files, uint32_t id);

/*
 * Where the ghost of the dumped inode @ino on device @dev (as stat gives it) was
 * recreated, or NULL: an inotify watch on an unlinked file is put on it, as CRIU does.
 */
const char *restore_ghost_path_of_inode(const struct restore_image *ri, const struct restore_ghost_files *files,
					uint32_t dev, uint64_t ino);

/* Unlinks the recreated files (the fds opened on them stay) and frees @files. */
void restore_ghosts_remove(struct restore_ghost_files *files);

/* Removes the links the dump made for link remaps: once the restore succeeded, as CRIU does. */
void restore_ghosts_drop_links(const struct restore_image *ri);

#endif /* CRIU_NG_RESTORE_GHOST_H */
