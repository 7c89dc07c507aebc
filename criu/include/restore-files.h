/*
 * criu restore: the fds of the process. The images are checked with the rest
 * (ids-PID.img names fdinfo-ID.img; every fd must be a regular file, directory
 * or memory device, unlinked ones included (restore-ghost.h), or a terminal of
 * a shell job (restore-tty.h)). Criu
 * opens every file itself, above the highest dumped fd, before the fork; the
 * child inherits them and only has to dup2() each to its number.
 */
#ifndef CRIU_NG_RESTORE_FILES_H
#define CRIU_NG_RESTORE_FILES_H

#include "restore-image.h"

/* Reads ids-PID.img, fdinfo-ID.img and the ghost files; fills @ri's fdinfo and ghosts. */
__attribute__((warn_unused_result)) int restore_images_load_fds(int dirfd, struct restore_image *ri);

/* True when file @id is the file of one of the dumped fds. */
int restore_files_is_fd(const struct restore_image *ri, uint32_t id);

/* The highest dumped fd number, or -1. */
int restore_files_max_fd(const struct restore_image *ri);

struct restore_fds;

/*
 * In the child, once every fd of criu is closed but the files of @fds: puts each
 * dumped fd in place (stdio on /dev/null for images without fdinfo). Logs
 * nothing (the log is closed); returns 0 or -errno.
 */
int restore_files_install(const struct restore_image *ri, const struct restore_fds *fds);

#endif /* CRIU_NG_RESTORE_FILES_H */
