/*
 * criu dump: a process with a thread blocked in vfork() until its child
 * C, which shares its address space, execs or exits (the main thread or
 * another: the others are seized and dumped as usual). No ptrace stop reaches
 * that thread (it sleeps killable in wait_for_vfork_done()), so its registers
 * can't be read while it waits. The seize leaves it seized with its interrupt
 * pending (compel_tree.vfork_ok); the dump collects every other process, C
 * included, writes C's images, then kills C: the vfork() returns C's pid and
 * the thread reaches its interrupt stop, and the process is dumped as any
 * other, task_core_entry.vfork_child (criu-ng's field 100) naming C and, when
 * the thread is not the main one, vfork_tid (101) naming it. The
 * restore makes the vfork() again (restore-vfork.h). See Documentation/engine.md,
 * "vfork".
 */
#ifndef CRIU_NG_DUMP_VFORK_H
#define CRIU_NG_DUMP_VFORK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Whether the vfork() of thread @tid of process @pid for its child @child can
 * be dumped: @tid, any thread, must be the only one of the @nr_vforks threads
 * of the process blocked in vfork(), @child_accepted says the child was
 * accepted as sharing its address space (dump-sharedmm.h). Returns 0 or
 * -EOPNOTSUPP (logged).
 */
__attribute__((warn_unused_result)) int dump_vfork_check(pid_t pid, pid_t tid, size_t nr_vforks, pid_t child,
							 bool child_accepted);

/*
 * Kills @child, whose images are written, and waits until thread @tid, back
 * from vfork(), is in its interrupt stop. From here a failed dump can't give
 * the child back (the parent runs on as if it had been killed). Returns 0 or
 * -errno (logged).
 */
__attribute__((warn_unused_result)) int dump_vfork_end(pid_t tid, pid_t child);

#endif /* CRIU_NG_DUMP_VFORK_H */
