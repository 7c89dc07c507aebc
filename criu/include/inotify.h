/*
 * inotify instances, the INOTIFY kind of fd (fd-kind.h). At dump,
 * /proc/PID/fdinfo lists each watch: its descriptor, event mask, the watched
 * inode, its filesystem and a file handle; criu checks that each handle opens
 * (so the restore can too). At restore criu creates the instance before the
 * fork and adds each watch again through the file its handle opens, under
 * its dumped watch descriptor (the kernel hands them out in turn: a watch
 * that gets a lower number is removed and added again until it gets its own).
 * Events queued and not read at dump time are not kept, as with CRIU.
 */
#ifndef CRIU_NG_INOTIFY_H
#define CRIU_NG_INOTIFY_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "fd-kind.h"

#include "fdinfo.pb-c.h"
#include "fsnotify.pb-c.h"

struct inotify_watch {
	uint32_t wd, mask, ignored_mask, s_dev;
	uint64_t ino;
	uint32_t fh_bytes, fh_type;
	uint64_t fh[16]; /* the handle's bytes, little-endian words */
	bool unlinked;	 /* the watched inode has no link: only a ghost of it can be watched again */
	dev_t st_dev;	 /* its device as stat gives it, to find that ghost */
};

struct inotify_file {
	uint32_t id;
	uint32_t flags;
	struct reg_fown fown;
	struct inotify_watch *w;
	size_t nr;
};

struct inotify_dump {
	struct inotify_file *v;
	size_t nr;
	size_t cap;
};

bool inotify_match(const struct fd_probe *p);
__attribute__((warn_unused_result)) int inotify_dump(struct fd_dump_ctx *c, struct fd_probe *p, uint32_t *id);
__attribute__((warn_unused_result)) int inotify_write_files(const struct files_dump *fdump, struct cr_img *img);
void inotify_dump_free(struct files_dump *fdump);

/* Checks an INOTIFY file_entry of @img_name. Returns 0 or -EINVAL (logged). */
__attribute__((warn_unused_result)) int inotify_check_entry(const FileEntry *fe, const char *img_name);
/* Creates in criu every inotify instance the process's fds need, with its watches. Returns 0 or -errno. */
__attribute__((warn_unused_result)) int inotify_open(const struct restore_image *ri, struct restore_fds *fds);

#endif /* CRIU_NG_INOTIFY_H */
