/* criu dump: checkpoint a process tree into the images directory. */
#ifndef CRIU_NG_CR_DUMP_H
#define CRIU_NG_CR_DUMP_H

#include "crtools.h"

/* Returns 0 or -errno, after logging why. */
int cr_dump_tasks(const struct criu_ctx *ctx);

#endif /* CRIU_NG_CR_DUMP_H */
