/*
 * x86-64 thread state in CRIU's thread_info_x86 form: general registers (with
 * fs_base/gs_base, the TLS of 64-bit code), the legacy FPU/SSE area, the xsave
 * components CRIU records (AVX, MPX, AVX-512, PKRU) and the GDT TLS slots that
 * 32-bit code uses, read with ptrace.
 */
#ifndef CRIU_NG_ARCH_X86_H
#define CRIU_NG_ARCH_X86_H

#include <stdint.h>
#include <sys/types.h>

#include "core-x86.pb-c.h"

/* Lengths of the repeated fields, in their element type, as CRIU's format has them. */
#define X86_ST_SPACE_N 32
#define X86_XMM_SPACE_N 64
#define X86_PADDING_N 24
#define X86_YMMH_N 64
#define X86_BNDREG_N 8
#define X86_BNDCSR_N 2
#define X86_OPMASK_N 8
#define X86_ZMM_UPPER_N 64
#define X86_HI16_ZMM_N 128
#define X86_PKRU_N 2

/* The GDT TLS slots (set_thread_area) of x86-64: entries 12 to 14. */
#define X86_GDT_TLS_FIRST 12
#define X86_GDT_TLS_N 3

/* A thread_info_x86 and the storage its fields point into. */
struct x86_thread_state {
	ThreadInfoX86 ti;
	UserX86RegsEntry gp;
	UserX86FpregsEntry fp;
	UserX86XsaveEntry xsave;
	uint32_t st_space[X86_ST_SPACE_N];
	uint32_t xmm_space[X86_XMM_SPACE_N];
	uint32_t padding[X86_PADDING_N];
	uint32_t ymmh[X86_YMMH_N];
	uint64_t bndreg[X86_BNDREG_N];
	uint64_t bndcsr[X86_BNDCSR_N];
	uint64_t opmask[X86_OPMASK_N];
	uint64_t zmm_upper[X86_ZMM_UPPER_N];
	uint64_t hi16_zmm[X86_HI16_ZMM_N];
	uint32_t pkru[X86_PKRU_N];
	UserDescT tls[X86_GDT_TLS_N];
	UserDescT *tls_ptrs[X86_GDT_TLS_N];
};

/*
 * Reads the registers of ptrace-stopped thread @tid into @st (any contents);
 * st->ti is then ready to be put in a core_entry. Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int arch_x86_dump_thread(pid_t tid, struct x86_thread_state *st);

#endif /* CRIU_NG_ARCH_X86_H */
