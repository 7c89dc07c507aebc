/*
 * System calls injected into a ptrace-stopped x86-64 task through a `syscall`
 * instruction of its own, and the setters of its registers and signal mask.
 */
#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "inject.h"
#include "regs.h"

#define SYSCALL_STOP (SIGTRAP | 0x80) /* what PTRACE_O_TRACESYSGOOD makes syscall stops report */

int compel_is_syscall_insn(pid_t pid, uint64_t ip)
{
	long word;

	errno = 0;
	word = ptrace(PTRACE_PEEKTEXT, pid, (void *)(uintptr_t)ip, NULL);
	if (word == -1 && errno)
		return 0;
	return (word & 0xffff) == 0x050f;
}

/*
 * Resumes the task to its next syscall stop. A ptrace event stop on the way
 * (PTRACE_EVENT_CLONE of an injected clone3 with PTRACE_O_TRACECLONE) is passed
 * over; a signal stop instead is -EINTR.
 */
static int run_to_syscall_stop(struct compel_injector *inj)
{
	int status;

	if (ptrace(PTRACE_SYSCALL, inj->pid, NULL, NULL) < 0)
		return -errno;
	for (;;) {
		if (waitpid(inj->pid, &status, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return -ESRCH;
		if (WIFSTOPPED(status) && WSTOPSIG(status) == SYSCALL_STOP)
			return 0;
		if (WIFSTOPPED(status) && WSTOPSIG(status) == SIGTRAP && (status >> 16)) {
			if (ptrace(PTRACE_SYSCALL, inj->pid, NULL, NULL) < 0)
				return -errno;
			continue;
		}
		if (WIFSTOPPED(status)) {
			struct user_regs_struct regs;

			inj->stop_signal = WSTOPSIG(status);
			inj->stop_ip = compel_get_gpregs(inj->pid, &regs) ? 0 : regs.rip;
			return -EINTR;
		}
	}
}

int compel_inject_syscall(struct compel_injector *inj, long nr, const uint64_t *args, unsigned int nr_args,
			  long *result)
{
	uint64_t a[6] = { 0 };
	struct user_regs_struct regs;
	int ret;

	if (nr_args > 6)
		return -EINVAL;
	for (unsigned int i = 0; i < nr_args; i++)
		a[i] = args[i];
	ret = compel_get_gpregs(inj->pid, &regs);
	if (ret)
		return ret;
	regs.rip = inj->syscall_ip;
	regs.rax = (uint64_t)nr;
	regs.orig_rax = (uint64_t)-1; /* not in a syscall: nothing to restart at this stop */
	regs.rdi = a[0], regs.rsi = a[1], regs.rdx = a[2];
	regs.r10 = a[3], regs.r8 = a[4], regs.r9 = a[5];
	ret = compel_set_gpregs(inj->pid, &regs);
	if (ret)
		return ret;
	ret = run_to_syscall_stop(inj); /* entry */
	if (!ret)
		ret = run_to_syscall_stop(inj); /* exit */
	if (ret)
		return ret;
	ret = compel_get_gpregs(inj->pid, &regs);
	if (ret)
		return ret;
	*result = (long)regs.rax;
	return 0;
}

static int set_regset(pid_t tid, int type, const void *buf, size_t size)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = size };

	return ptrace(PTRACE_SETREGSET, tid, (void *)(long)type, &iov) < 0 ? -errno : 0;
}

int compel_set_gpregs(pid_t tid, const struct user_regs_struct *regs)
{
	return set_regset(tid, NT_PRSTATUS, regs, sizeof(*regs));
}

int compel_set_fpregs(pid_t tid, const struct user_fpregs_struct *fpregs)
{
	return set_regset(tid, NT_PRFPREG, fpregs, sizeof(*fpregs));
}

int compel_set_xstate(pid_t tid, const void *buf, size_t size)
{
	return set_regset(tid, NT_X86_XSTATE, buf, size);
}

int compel_set_sigmask(pid_t tid, uint64_t mask)
{
	return ptrace(PTRACE_SETSIGMASK, tid, (void *)sizeof(mask), &mask) < 0 ? -errno : 0;
}
