/*
 * Open namespace files (/proc/PID/ns/KIND), the NS kind of fd (fd-kind.h). A
 * process may hold one on a namespace it lives in, as a program that opens
 * /proc/self/ns/net to come back to it later does. The dump records which of the
 * tree's namespaces it names (by the ids of ids-PID.img); the restore opens
 * /proc/self/ns/KIND in criu, which is then in the namespaces the tree is
 * restored in, and settles it at its fd number. A namespace the process does not
 * live in (another one's, or a namespace kept alive only by the fd) is refused.
 */
#ifndef CRIU_NG_NSFILE_H
#define CRIU_NG_NSFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "fd-kind.h"

#include "fdinfo.pb-c.h"

struct nsfile_dump {
	NsFileEntry *v;
	size_t nr;
	size_t cap;
};

/* True when the fd's /proc link names a namespace ("net:[4026531840]"). */
bool nsfile_match(const struct fd_probe *p);

/* Records the namespace file of @p, or refuses one of a namespace the process does not live in. */
__attribute__((warn_unused_result)) int nsfile_dump(struct fd_dump_ctx *c, struct fd_probe *p, uint32_t *id);

/* Appends one NS file_entry per namespace file to @img (files.img). */
__attribute__((warn_unused_result)) int nsfile_write_files(const struct files_dump *fdump, struct cr_img *img);

void nsfile_dump_free(struct files_dump *fdump);

/* Checks an NS file_entry of @img_name: a known kind and one of the ids a restored tree can have. */
__attribute__((warn_unused_result)) int nsfile_check_entry(const FileEntry *fe, const char *img_name);

/* Opens in criu every namespace file the process's fds need. Returns 0 or -errno. */
__attribute__((warn_unused_result)) int nsfile_open(const struct restore_image *ri, struct restore_fds *fds);

#endif /* CRIU_NG_NSFILE_H */
