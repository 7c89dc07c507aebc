/*
 * core-TID.img, one per thread as CRIU writes them: the thread's registers
 * (thread_info), its own state (thread_core: signal mask, scheduling, robust
 * futex list, rseq, credentials, name) and, in the thread group leader's image,
 * the per-process state (task_core: state, personality, signal mask, rlimits...).
 */
#ifndef CRIU_NG_CORE_H
#define CRIU_NG_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "proc-parse.h"
#include "task-query.h"

/*
 * Writes core-TID.img in @dirfd for each of the @nr ptrace-stopped threads
 * @tids of process @pid (@stat: its /proc/PID/stat; @stopped: it was in a
 * group stop, SIGSTOP or the like, before the dump froze it; @q: what the
 * threads told of themselves, task_query_collect()). Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int core_dump_threads(int dirfd, pid_t pid, const struct proc_stat *stat,
							  bool stopped, const struct task_query *q, const pid_t *tids,
							  size_t nr);

/*
 * Writes core-@pid.img of the zombie @pid: only task_core, in state dead (CRIU's
 * TASK_DEAD) with the wait status the kernel keeps for its parent (@stat's
 * exit_code: the exit code in bits 8-15, or the killing signal in bits 0-6).
 */
__attribute__((warn_unused_result)) int core_dump_zombie(int dirfd, pid_t pid, const struct proc_stat *stat);

#endif /* CRIU_NG_CORE_H */
