/*
 * Registers of a ptrace-stopped x86-64 thread, read with PTRACE_GETREGSET.
 */
#include <cpuid.h>
#include <elf.h>
#include <errno.h>
#include <sys/ptrace.h>
#include <sys/uio.h>

#include "regs.h"

static int get_regset(pid_t tid, int type, void *buf, size_t size, size_t *got)
{
	struct iovec iov = { .iov_base = buf, .iov_len = size };

	if (ptrace(PTRACE_GETREGSET, tid, (void *)(long)type, &iov) < 0)
		return -errno;
	*got = iov.iov_len;
	return 0;
}

int compel_get_gpregs(pid_t tid, struct user_regs_struct *regs)
{
	size_t got = 0;
	int ret = get_regset(tid, NT_PRSTATUS, regs, sizeof(*regs), &got);

	if (!ret && got != sizeof(*regs))
		return -EOPNOTSUPP; /* a 32-bit thread's set is smaller */
	return ret;
}

int compel_get_fpregs(pid_t tid, struct user_fpregs_struct *fpregs)
{
	size_t got = 0;
	int ret = get_regset(tid, NT_PRFPREG, fpregs, sizeof(*fpregs), &got);

	if (!ret && got != sizeof(*fpregs))
		return -EOPNOTSUPP;
	return ret;
}

size_t compel_xstate_size(void)
{
	unsigned int eax, ebx, ecx, edx;

	if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & bit_XSAVE))
		return 0;
	if (!__get_cpuid_count(0xd, 0, &eax, &ebx, &ecx, &edx))
		return 0;
	return ebx; /* size for the features enabled in XCR0 */
}

int compel_get_xstate(pid_t tid, void *buf, size_t size, size_t *got)
{
	return get_regset(tid, NT_X86_XSTATE, buf, size, got);
}
