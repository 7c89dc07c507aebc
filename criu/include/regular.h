/*
 * The REG and TTY rows of the fd kinds (fd-kind.h): fds on regular files,
 * directories and memory devices (files-reg.c), and on terminals (tty.c).
 */
#ifndef CRIU_NG_REGULAR_H
#define CRIU_NG_REGULAR_H

#include <stdbool.h>
#include <stdint.h>

#include "fd-kind.h"

#include "fdinfo.pb-c.h"

struct cr_img;

bool reg_match(const struct fd_probe *p);
/* Records the file of @p by its path (an unlinked one as a ghost). Returns 0 or -errno. */
__attribute__((warn_unused_result)) int reg_dump(struct fd_dump_ctx *c, struct fd_probe *p, uint32_t *id);
__attribute__((warn_unused_result)) int reg_write_ghosts(const struct files_dump *fdump, int dirfd);
/* Checks a REG file_entry of @img_name: its body and absolute path. Returns 0 or -EINVAL (logged). */
__attribute__((warn_unused_result)) int reg_check_entry(const FileEntry *fe, const char *img_name);

bool tty_match(const struct fd_probe *p);
/* Records the terminal of @p, with --shell-job only. Returns 0 or -errno. */
__attribute__((warn_unused_result)) int tty_dump(struct fd_dump_ctx *c, struct fd_probe *p, uint32_t *id);
__attribute__((warn_unused_result)) int tty_write_all(const struct files_dump *fdump, struct cr_img *img);
__attribute__((warn_unused_result)) int tty_write_images(const struct files_dump *fdump, int dirfd);
void tty_free_all(struct files_dump *fdump);

#endif /* CRIU_NG_REGULAR_H */
