/*
 * ids-PID.img: which kernel objects (address space, fd table, fs context,
 * signal handlers) a process shares with the other dumped processes, as ids.
 */
#ifndef CRIU_NG_IDS_H
#define CRIU_NG_IDS_H

#include <stddef.h>
#include <sys/types.h>

#include "core.pb-c.h"

/*
 * Fills @ids for the @index-th process of the dump (0 for the root): every
 * object is its own, so each gets an id no other process has.
 */
void ids_fill(TaskKobjIdsEntry *ids, size_t index);

/* Writes ids-@pid.img in @dirfd. Returns 0 or -errno. */
__attribute__((warn_unused_result)) int ids_dump(int dirfd, pid_t pid, const TaskKobjIdsEntry *ids);

#endif /* CRIU_NG_IDS_H */
