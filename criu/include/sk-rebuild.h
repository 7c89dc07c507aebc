/*
 * criu restore: the TCP connections rebuilt by a thread of criu while criu's
 * main thread rebuilds the process's address space, so that the restore takes
 * about the longer of the two rather than their sum.
 *
 * The process is forked sharing criu's fd table (CLONE_FILES): the sockets the
 * thread makes land in its table as they are made. Their fd numbers are kept
 * free for them beforehand (a placeholder at each), so nothing criu opens
 * meanwhile takes one. Once both are done, the process gets a table of its own
 * (an unshare(CLONE_FILES) run in it), its other fds are put at their numbers
 * and everything else is closed there, with a few injected syscalls.
 */
#ifndef CRIU_NG_SK_REBUILD_H
#define CRIU_NG_SK_REBUILD_H

#include <stdbool.h>
#include <stdint.h>

#include "restore-ctl.h"
#include "restore-fds.h"

/*
 * Whether the connections of @ri can be rebuilt beside the memory restore:
 * there are some, and every epoll registration targets a file criu makes (a
 * socket, an epoll, an eventfd), which the thread can register in criu's own
 * table. CRIU_NG_RESTORE_SERIAL=1 in the environment says no (the benchmark's
 * baseline).
 */
bool sk_rebuild_possible(const struct restore_image *ri, const struct restore_fds *fds);

/*
 * Before the fork, with every other file of @fds open and settled: keeps the
 * connections' fd numbers with placeholders. Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int sk_rebuild_prepare(const struct restore_image *ri, struct restore_fds *fds);

/* After the fork: starts the thread (the batch restore, the fds, the epoll registrations). Returns 0 or -errno. */
__attribute__((warn_unused_result)) int sk_rebuild_start(const struct restore_image *ri, struct restore_fds *fds);

/*
 * After the memory restore, in the stopped process driven by @ctl: waits for
 * the thread, then gives the process its own fd table holding exactly its
 * dumped fds. *@wait_us is how long the wait for the thread took. Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int sk_rebuild_finish(struct restore_ctl *ctl, const struct restore_image *ri,
							  struct restore_fds *fds, uint64_t *wait_us);

/* Waits for the thread if it runs and frees what the rebuild holds (from restore_fds_close()). */
void sk_rebuild_free(struct restore_fds *fds);

#endif /* CRIU_NG_SK_REBUILD_H */
