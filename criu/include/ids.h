/*
 * ids-PID.img and inventory.img's root_ids: which kernel objects (address space, fd
 * table, fs context, signal handlers, namespaces) a process shares with criu and
 * with the other dumped processes, as ids (CRIU's "kIDs").
 */
#ifndef CRIU_NG_IDS_H
#define CRIU_NG_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core.pb-c.h"

/* Id 1 of each object kind is criu's own (root_ids); the dumped processes' ids start at 2. */
#define IDS_CRIU 1
#define IDS_FIRST_TASK 2

/* Fills @ids with criu's own ids, for inventory.img's root_ids. */
void ids_fill_root(TaskKobjIdsEntry *ids);

/*
 * Fills @ids for the @index-th process of the dump (0 for the root): its objects
 * are its own (id IDS_FIRST_TASK + @index of each kind), its namespaces criu's.
 */
void ids_fill(TaskKobjIdsEntry *ids, size_t index);

/* The net_ns_id of a tree in a network namespace of its own: the next id after criu's namespaces. */
uint32_t ids_own_net_ns_id(void);

/*
 * The id criu gives to its namespace of @kind ("net", "ipc", ... as under
 * /proc/PID/ns), or with @own_net to the network namespace of a tree that has its
 * own. Returns 0, or -ENOENT for a kind this kernel lacks or that has no such name.
 */
__attribute__((warn_unused_result)) int ids_ns_id(const char *kind, bool own_net, uint32_t *id);

/* Writes ids-@pid.img in @dirfd. Returns 0 or -errno. */
__attribute__((warn_unused_result)) int ids_dump(int dirfd, pid_t pid, const TaskKobjIdsEntry *ids);

/*
 * Checks ids-@pid.img of the root process against inventory.img's root_ids as CRIU's
 * restore does: -EINVAL if the process had criu's fd table, -EOPNOTSUPP if it lived
 * in a namespace other than criu's, but for a network namespace of its own, whose id
 * goes to *@net_ns_id (0: criu's). Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int ids_restore_check(int dirfd, pid_t pid, uint32_t *net_ns_id);

#endif /* CRIU_NG_IDS_H */
