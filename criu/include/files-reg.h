/*
 * The regular files of a dump, collected with an id each and written as REG
 * entries of files.img: those it refers to without an fd (the executable, cwd
 * and root, the files behind VMAs) and those its fds hold, with their offset,
 * flags and owner. An fd's file that was unlinked is a ghost: its contents go
 * to ghost-file-ID.img and remap-fpath.img ties the two. One table per dump,
 * owned by the caller.
 */
#ifndef CRIU_NG_FILES_REG_H
#define CRIU_NG_FILES_REG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "fown.pb-c.h"

struct cr_img;

/* F_SETOWN_EX / F_SETSIG settings of an open file (fown_entry). */
struct reg_fown {
	uint32_t uid;
	uint32_t euid;
	uint32_t signum;
	uint32_t pid_type;
	uint32_t pid;
};

/* Fills @e (initialized here) from @fown. */
void reg_fown_entry(const struct reg_fown *fown, FownEntry *e);

struct reg_file {
	uint32_t id;
	uint32_t flags; /* O_* the file is to be opened with */
	char *path;
	uint64_t size;
	uint32_t mode;
	uint64_t pos;
	int mnt_id; /* -1 when not known */
	struct reg_fown fown;
	bool of_fd;	   /* the open file of an fd: never shared with a VMA's */
	uint32_t ghost_id; /* 0, or the id of the ghost-file image of an unlinked file */
	uint32_t link_id;  /* 0, or the id of the file of its link remap (--link-remap) */
	bool link_made;	   /* a link remap: the link is criu's, removed if the dump fails */
	int ghost_fd;	   /* reads the ghost's contents; -1 when not a ghost */
	struct stat ghost_st;
};

struct files_reg {
	struct reg_file *files;
	size_t nr;
	size_t cap;
	uint32_t next_id;	/* ids are given from 1 up */
	uint32_t next_ghost_id; /* so are ghost ids */
	size_t nr_links;	/* link remaps made */
	bool link_remap;	/* --link-remap: a file unlinked but linked elsewhere may get a link */
};

/* What an fd tells of its open regular file (or directory, or memory character device). */
struct reg_fd_info {
	const char *path; /* as the process sees it, " (deleted)" removed */
	uint32_t flags;	  /* file status flags, without O_CLOEXEC (a property of the fd) */
	uint64_t pos;
	int mnt_id;
	struct reg_fown fown;
	const struct stat *st;
	int ghost_fd; /* for an unlinked file, reads it (taken over, closed by the table); else -1 */
};

/*
 * Links the file of the fd @fd_link (a /proc/PID/fd/N path) of an fd whose file
 * @info->path was unlinked but is linked elsewhere, as CRIU's --link-remap does:
 * at "link_remap.ID" in the directory the file was in, a file of the table of
 * its own that remap-fpath.img names (type LINKED) for the fd's file. Records
 * the fd's file as files_reg_add_fd() does. Returns 0 or -errno (logged).
 */
__attribute__((warn_unused_result)) int files_reg_add_link_remap(struct files_reg *fr, const struct reg_fd_info *info,
								 const char *fd_link, uint32_t *id);

/* Removes the links files_reg_add_link_remap() made: the dump failed. */
void files_reg_undo_link_remaps(struct files_reg *fr);

/*
 * Gives a new id to the file of a table, so that later calls can't collide with it.
 * Returns the id (never 0).
 */
uint32_t files_reg_new_id(struct files_reg *fr);

/*
 * Records the file @path (absolute, as the process sees it) opened with @flags and
 * sets *@id; the same path and flags give the same id. @proc_link is a /proc
 * symlink to the same file (map_files/..., exe), which reaches it whatever mount
 * namespace the process is in: it is what gets stat()ed for size and mode.
 * Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int files_reg_add(struct files_reg *fr, const char *path, const char *proc_link,
						      uint32_t flags, uint32_t *id);

/*
 * Records the target of the symlink /proc/@pid/@link (exe, cwd, root) with @flags.
 * A target that was removed (a directory rmdir()ed under the process) becomes a
 * ghost, as an fd's unlinked file does (see ghost_file_check() for which can).
 */
__attribute__((warn_unused_result)) int files_reg_add_link(struct files_reg *fr, pid_t pid, const char *link,
							   uint32_t flags, uint32_t *id);

/*
 * Records the open file description behind an fd and sets *@id to its new id; with
 * a ghost_fd, as a ghost file (its contents are read when the images are written).
 * Returns 0 or -errno; the ghost_fd is closed on failure.
 */
__attribute__((warn_unused_result)) int files_reg_add_fd(struct files_reg *fr, const struct reg_fd_info *info,
							 uint32_t *id);

/* Appends one REG file_entry per file to @img (files.img). Returns 0 or -errno. */
__attribute__((warn_unused_result)) int files_reg_write_entries(const struct files_reg *fr, struct cr_img *img);

/*
 * Writes remap-fpath.img and one ghost-file-ID.img per ghost in @dirfd, nothing
 * when there is no ghost. Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int files_reg_write_ghosts(const struct files_reg *fr, int dirfd);

void files_reg_free(struct files_reg *fr);

#endif /* CRIU_NG_FILES_REG_H */
