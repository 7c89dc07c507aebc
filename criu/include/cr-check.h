/*
 * criu check: probes of the kernel and system features criu-ng relies on, one
 * table entry per feature name (CRIU's names where CRIU has the feature).
 */
#ifndef CRIU_NG_CR_CHECK_H
#define CRIU_NG_CR_CHECK_H

#include "crtools.h"

/*
 * Without --feature: runs every probe, prints "Looks good." or what is missing.
 * With --feature NAME (repeatable; "list" prints the names): checks just those.
 * Returns 0 when everything asked for is supported, -EOPNOTSUPP when something
 * is missing, -EINVAL for an unknown feature name.
 */
int cr_check(const struct criu_ctx *ctx);

/* Runs the probe of feature @name: 0 if supported, -ENOENT for an unknown name, else -errno. */
int cr_check_feature(const char *name);

#endif /* CRIU_NG_CR_CHECK_H */
