/*
 * criu restore: the credentials of a thread (Linux keeps them per thread), set last (the steps before
 * need criu's privileges): bounding set, securebits, supplementary groups, gids
 * and uids (capabilities kept across the switch), then the capability sets,
 * all by syscalls injected into the process itself.
 */
#ifndef CRIU_NG_RESTORE_CREDS_H
#define CRIU_NG_RESTORE_CREDS_H

#include "restore-ctl.h"
#include "restore-images.h"

#include "creds.pb-c.h"

/* Gives the thread of @ctl the credentials @creds (nothing when NULL). Returns 0 or -errno (logged). */
__attribute__((warn_unused_result)) int restore_creds(struct restore_ctl *ctl, const CredsEntry *creds);

#endif /* CRIU_NG_RESTORE_CREDS_H */
