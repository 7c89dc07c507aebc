/*
 * signalfds, the SIGNALFD kind of fd (fd-kind.h): the signal mask from
 * /proc/PID/fdinfo at dump, a new signalfd with that mask at restore, made by
 * criu before the fork. The signals it reports are the process's pending
 * signals, which the restore gives back with the threads.
 */
#ifndef CRIU_NG_SIGNALFD_H
#define CRIU_NG_SIGNALFD_H

#include <stddef.h>
#include <stdint.h>

#include "fd-kind.h"

#include "fdinfo.pb-c.h"

struct signalfd_file {
	SignalfdEntry e;
	FownEntry fown;
};

struct signalfd_dump {
	struct signalfd_file *v;
	size_t nr;
	size_t cap;
};

bool signalfd_match(const struct fd_probe *p);
__attribute__((warn_unused_result)) int signalfd_dump(struct fd_dump_ctx *c, struct fd_probe *p, uint32_t *id);
__attribute__((warn_unused_result)) int signalfd_write_files(const struct files_dump *fdump, struct cr_img *img);
void signalfd_dump_free(struct files_dump *fdump);

/* Checks a SIGNALFD file_entry of @img_name. Returns 0 or -EINVAL (logged). */
__attribute__((warn_unused_result)) int signalfd_check_entry(const FileEntry *fe, const char *img_name);
/* Creates in criu every signalfd the process's fds need. Returns 0 or -errno. */
__attribute__((warn_unused_result)) int signalfd_open(const struct restore_image *ri, struct restore_fds *fds);

#endif /* CRIU_NG_SIGNALFD_H */
