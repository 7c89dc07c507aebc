/*
 * Reading the registers of a ptrace-stopped x86-64 thread with PTRACE_GETREGSET:
 * general registers (NT_PRSTATUS), the legacy FPU/SSE area (NT_PRFPREG) and the
 * full xsave area (NT_X86_XSTATE, AVX and AVX-512 included).
 */
#ifndef CRIU_NG_COMPEL_REGS_H
#define CRIU_NG_COMPEL_REGS_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/user.h>

/* Fails with -EOPNOTSUPP for a 32-bit (compat) thread. */
__attribute__((warn_unused_result)) int compel_get_gpregs(pid_t tid, struct user_regs_struct *regs);
__attribute__((warn_unused_result)) int compel_get_fpregs(pid_t tid, struct user_fpregs_struct *fpregs);

/*
 * Size in bytes of the xsave area of this CPU with the features the kernel
 * enabled (CPUID leaf 0xD); 0 when the CPU has no xsave.
 */
size_t compel_xstate_size(void);

/*
 * Reads the xsave area into @buf of @size bytes (at least compel_xstate_size());
 * *@got says how many bytes the kernel filled.
 */
__attribute__((warn_unused_result)) int compel_get_xstate(pid_t tid, void *buf, size_t size, size_t *got);

#endif /* CRIU_NG_COMPEL_REGS_H */
