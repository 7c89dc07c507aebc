/*
 * criu dump: a process whose main thread is blocked in vfork() until its child
 * C, which shares its address space, execs or exits. No ptrace stop reaches
 * that thread (it sleeps killable in wait_for_vfork_done()), so its registers
 * can't be read while it waits. The seize leaves it seized with its interrupt
 * pending (compel_tree.vfork_ok); the dump collects every other process, C
 * included, writes C's images, then kills C: the vfork() returns C's pid and
 * the thread reaches its interrupt stop, and the process is dumped as any
 * other, task_core_entry.vfork_child (criu-ng's field 100) naming C. The
 * restore makes the vfork() again (restore-vfork.h). See Documentation/engine.md,
 * "vfork".
 */
#ifndef CRIU_NG_DUMP_VFORK_H
#define CRIU_NG_DUMP_VFORK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Whether the vfork() of thread @tid of process @pid (@nr_tids threads) for
 * its child @child can be dumped: @tid must be the main thread of a process
 * with one thread, @child_accepted says the child was accepted as sharing
 * its address space (dump-sharedmm.h). Returns 0 or -EOPNOTSUPP (logged).
 */
__attribute__((warn_unused_result)) int dump_vfork_check(pid_t pid, pid_t tid, size_t nr_tids, pid_t child,
							 bool child_accepted);

/*
 * Kills @child, whose images are written, and waits until thread @tid, back
 * from vfork(), is in its interrupt stop. From here a failed dump can't give
 * the child back (the parent runs on as if it had been killed). Returns 0 or
 * -errno (logged).
 */
__attribute__((warn_unused_result)) int dump_vfork_end(pid_t tid, pid_t child);

#endif /* CRIU_NG_DUMP_VFORK_H */
