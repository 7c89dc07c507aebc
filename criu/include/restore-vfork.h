/*
 * criu restore: a process one of whose threads was blocked in vfork() until its
 * child, sharing its address space, execs or exits (dump-vfork.h). Once every
 * other step of the process is done, that thread (the main one or another:
 * p->vfork_tid, created and seized with the others) runs an injected
 * clone3(CLONE_VM | CLONE_VFORK, set_tid = the child) with
 * PTRACE_O_TRACEVFORK: it stops in PTRACE_EVENT_VFORK inside kernel_clone(),
 * after the child is made (auto-attached, stopped) and before
 * wait_for_vfork_done(). There its registers, xsave area and signal mask are
 * set to the dumped ones; when it goes on, the kernel's syscall exit writes
 * the clone3 result (the child's pid) into rax, which is what the dumped
 * vfork() had returned, and it waits for the child as it did. The child sets
 * itself up as a sharer does (restore-sharedmm.h), unmaps the trampoline
 * (the same address space) and is detached before its parent.
 */
#ifndef CRIU_NG_RESTORE_VFORK_H
#define CRIU_NG_RESTORE_VFORK_H

#include "restore-ctl.h"
#include "restore-image.h"

/*
 * The vfork() of thread p->vfork_tid of process @p (@ctl is its leader's) for
 * p->vfork_child, in place of the end of restore_thread_end(). Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int restore_vfork(struct restore_ctl *ctl, const struct restore_image *p);

#endif /* CRIU_NG_RESTORE_VFORK_H */
