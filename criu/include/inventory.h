/* inventory.img: the first image of a dump, saying which image layout follows. */
#ifndef CRIU_NG_INVENTORY_H
#define CRIU_NG_INVENTORY_H

#include "options.h"

#include "core.pb-c.h"

/* Writes inventory.img in @dirfd. Returns 0 or -errno. */
__attribute__((warn_unused_result)) int inventory_dump(int dirfd, const struct criu_opts *opts,
						       TaskKobjIdsEntry *root_ids);

#endif /* CRIU_NG_INVENTORY_H */
