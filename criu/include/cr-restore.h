/* criu restore: bring a checkpointed process tree back from the images directory. */
#ifndef CRIU_NG_CR_RESTORE_H
#define CRIU_NG_CR_RESTORE_H

#include "crtools.h"

/* Returns 0 or -errno, after logging why. */
int cr_restore_tasks(const struct criu_ctx *ctx);

#endif /* CRIU_NG_CR_RESTORE_H */
