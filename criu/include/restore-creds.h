/*
 * criu restore: the credentials of a thread (Linux keeps them per thread), set last (the steps before
 * need criu's privileges): bounding set, securebits, supplementary groups, gids
 * and uids (every capability kept across the switch), then the capability sets,
 * all by syscalls the thread runs itself from its list (restore-batch.h).
 */
#ifndef CRIU_NG_RESTORE_CREDS_H
#define CRIU_NG_RESTORE_CREDS_H

#include "restore-batch.h"
#include "restore-image.h"

#include "creds.pb-c.h"
#include "mm.pb-c.h"

/*
 * Adds to @b, the list of thread @tid, the syscalls that give it the credentials
 * @creds (nothing when NULL). Returns 0 or -errno (logged).
 */
__attribute__((warn_unused_result)) int restore_creds(struct rbatch *b, pid_t tid, const CredsEntry *creds);

/*
 * Adds to @b, the leader's list, the setting of the process's dumpable flag as
 * @mm recorded it. The kernel clears the flag whenever a thread's uids or gids
 * change (and /proc/PID then belongs to root), so this comes after every
 * thread of the process has its credentials.
 */
void restore_dumpable(struct rbatch *b, const MmEntry *mm);

#endif /* CRIU_NG_RESTORE_CREDS_H */
