/*
 * Making a ptrace-stopped task run system calls of our choosing, one at a
 * time: point its registers at a `syscall` instruction somewhere in its
 * address space, let it run to the syscall-exit stop (PTRACE_SYSCALL twice),
 * read the result from rax. Also setting its registers and signal mask back.
 *
 * The tracer must have set PTRACE_O_TRACESYSGOOD on the task. An injection
 * clobbers the task's registers: the caller sets the final ones afterwards.
 * Everything is in the struct compel_injector the caller owns.
 */
#ifndef CRIU_NG_COMPEL_INJECT_H
#define CRIU_NG_COMPEL_INJECT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

struct compel_injector {
	pid_t pid;
	/* Address of a `syscall` instruction (0f 05) in the task. */
	uint64_t syscall_ip;
	/* After a failed injection (-EINTR): the signal that stopped the task, and where. */
	int stop_signal;
	uint64_t stop_ip;
};

/* Length of the x86-64 `syscall` instruction. */
#define COMPEL_SYSCALL_INSN_LEN 2

/*
 * True when the two bytes at @ip in the stopped task @pid are a `syscall`
 * instruction (read with PTRACE_PEEKTEXT).
 */
int compel_is_syscall_insn(pid_t pid, uint64_t ip);

/*
 * Runs system call @nr with @nr_args (up to 6) arguments @args in the task and
 * sets *@result to what it returned (a -errno value when it failed). Returns 0,
 * or -errno when the injection itself failed: -ESRCH the task died, -EINTR it
 * stopped on a signal instead (see stop_signal and stop_ip), or a ptrace error.
 */
__attribute__((warn_unused_result)) int compel_inject_syscall(struct compel_injector *inj, long nr,
							      const uint64_t *args, unsigned int nr_args, long *result);

/* Setting the state of a ptrace-stopped thread with PTRACE_SETREGSET and PTRACE_SETSIGMASK. */
__attribute__((warn_unused_result)) int compel_set_gpregs(pid_t tid, const struct user_regs_struct *regs);
__attribute__((warn_unused_result)) int compel_set_fpregs(pid_t tid, const struct user_fpregs_struct *fpregs);
__attribute__((warn_unused_result)) int compel_set_xstate(pid_t tid, const void *buf, size_t size);
__attribute__((warn_unused_result)) int compel_set_sigmask(pid_t tid, uint64_t mask);

#endif /* CRIU_NG_COMPEL_INJECT_H */
