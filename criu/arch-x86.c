/*
 * x86-64 registers of a stopped thread into CRIU's thread_info_x86: general
 * registers from NT_PRSTATUS, FPU/SSE and the xsave components from NT_X86_XSTATE
 * (the kernel hands out the standard, uncompacted layout; CPUID leaf 0xD gives
 * each component's offset in it), or NT_PRFPREG on a CPU without xsave. A syscall
 * the stop interrupted is recorded as CRIU records it (see fixup_syscall_restart).
 */
#include <cpuid.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <asm/ldt.h>
#include <sys/ptrace.h>
#include <sys/user.h>

#include "arch-x86.h"
#include "regs.h"

#define LOG_PREFIX "x86: "
#include "log.h"

#define FXSAVE_SIZE 512
#define XSAVE_HDR_OFFSET 512 /* xstate_bv is the header's first word */

/* xsave state components (Intel SDM vol. 1, 13.1). */
enum xfeature {
	XFEATURE_YMM = 2,
	XFEATURE_BNDREGS = 3,
	XFEATURE_BNDCSR = 4,
	XFEATURE_OPMASK = 5,
	XFEATURE_ZMM_HI256 = 6,
	XFEATURE_HI16_ZMM = 7,
	XFEATURE_PKRU = 9,
};

static uint64_t xgetbv0(void)
{
	uint32_t lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

/* The kernel's internal syscall restart codes (include/linux/errno.h), left in rax of a stopped syscall. */
#define ERESTARTSYS 512
#define ERESTARTNOINTR 513
#define ERESTARTNOHAND 514
#define ERESTART_RESTARTBLOCK 516

#define SYSCALL_INSN_LEN 2 /* syscall (0f 05) */

/*
 * A thread stopped inside an interrupted syscall holds a restart code in rax,
 * which only means something to the kernel that set it. Record what the thread
 * will see, as CRIU does: the syscall about to be issued again (rax back to its
 * number, rip back on the syscall instruction), or, for a call that needs the
 * kernel's restart block (nanosleep, poll with a timeout, futex wait), -EINTR:
 * that block does not outlive the process.
 */
static void fixup_syscall_restart(pid_t tid, UserX86RegsEntry *gp)
{
	if ((int64_t)gp->orig_ax < 0)
		return; /* not in a syscall */
	switch ((int64_t)gp->ax) {
	case -ERESTARTSYS:
	case -ERESTARTNOINTR:
	case -ERESTARTNOHAND:
		gp->ax = gp->orig_ax;
		gp->ip -= SYSCALL_INSN_LEN;
		break;
	case -ERESTART_RESTARTBLOCK:
		pr_warn("thread %d is in syscall %lld, which the restored thread sees end with EINTR\n", tid,
			(long long)gp->orig_ax);
		gp->ax = (uint64_t)-EINTR;
		break;
	}
}

static void fill_gpregs(UserX86RegsEntry *gp, const struct user_regs_struct *r)
{
	user_x86_regs_entry__init(gp);
	gp->r15 = r->r15, gp->r14 = r->r14, gp->r13 = r->r13, gp->r12 = r->r12;
	gp->bp = r->rbp, gp->bx = r->rbx, gp->r11 = r->r11, gp->r10 = r->r10;
	gp->r9 = r->r9, gp->r8 = r->r8, gp->ax = r->rax, gp->cx = r->rcx;
	gp->dx = r->rdx, gp->si = r->rsi, gp->di = r->rdi, gp->orig_ax = r->orig_rax;
	gp->ip = r->rip, gp->cs = r->cs, gp->flags = r->eflags, gp->sp = r->rsp;
	gp->ss = r->ss, gp->fs_base = r->fs_base, gp->gs_base = r->gs_base;
	gp->ds = r->ds, gp->es = r->es, gp->fs = r->fs, gp->gs = r->gs;
	gp->has_mode = 1;
	gp->mode = USER_X86_REGS_MODE__NATIVE;
}

static void fill_fpregs(struct x86_thread_state *st, const struct user_fpregs_struct *f)
{
	UserX86FpregsEntry *fp = &st->fp;

	user_x86_fpregs_entry__init(fp);
	fp->cwd = f->cwd, fp->swd = f->swd, fp->twd = f->ftw, fp->fop = f->fop;
	fp->rip = f->rip, fp->rdp = f->rdp, fp->mxcsr = f->mxcsr, fp->mxcsr_mask = f->mxcr_mask;
	memcpy(st->st_space, f->st_space, sizeof(st->st_space));
	memcpy(st->xmm_space, f->xmm_space, sizeof(st->xmm_space));
	memcpy(st->padding, f->padding, sizeof(st->padding));
	fp->n_st_space = X86_ST_SPACE_N, fp->st_space = st->st_space;
	fp->n_xmm_space = X86_XMM_SPACE_N, fp->xmm_space = st->xmm_space;
	fp->n_padding = X86_PADDING_N, fp->padding = st->padding;
}

/*
 * Copies component @feature of the xsave image @buf (@got bytes) into @dst of @len
 * bytes when the kernel enabled it. Returns 1 if copied, 0 if not enabled, -EINVAL
 * if the image is too short for it.
 */
static int copy_component(const unsigned char *buf, size_t got, uint64_t xcr0, enum xfeature feature, void *dst,
			  size_t len)
{
	unsigned int size, offset, ecx, edx;

	if (!(xcr0 & (1ull << feature)))
		return 0;
	if (!__get_cpuid_count(0xd, feature, &size, &offset, &ecx, &edx) || size < len)
		return -EINVAL;
	if ((size_t)offset + len > got) {
		pr_err("xsave image of %zu bytes has no room for component %d at %u\n", got, feature, offset);
		return -EINVAL;
	}
	memcpy(dst, buf + offset, len);
	return 1;
}

#define COPY_XSAVE(feature, field, storage, count)                                                  \
	do {                                                                                        \
		int r_ = copy_component(buf, got, xcr0, feature, st->storage, sizeof(st->storage)); \
		if (r_ < 0)                                                                         \
			return r_;                                                                  \
		if (r_) {                                                                           \
			xs->n_##field = count;                                                      \
			xs->field = st->storage;                                                    \
		}                                                                                   \
	} while (0)

static int fill_xsave(struct x86_thread_state *st, const unsigned char *buf, size_t got)
{
	UserX86XsaveEntry *xs = &st->xsave;
	uint64_t xcr0 = xgetbv0();

	user_x86_xsave_entry__init(xs);
	memcpy(&xs->xstate_bv, buf + XSAVE_HDR_OFFSET, sizeof(xs->xstate_bv));
	COPY_XSAVE(XFEATURE_YMM, ymmh_space, ymmh, X86_YMMH_N);
	COPY_XSAVE(XFEATURE_BNDREGS, bndreg_state, bndreg, X86_BNDREG_N);
	COPY_XSAVE(XFEATURE_BNDCSR, bndcsr_state, bndcsr, X86_BNDCSR_N);
	COPY_XSAVE(XFEATURE_OPMASK, opmask_reg, opmask, X86_OPMASK_N);
	COPY_XSAVE(XFEATURE_ZMM_HI256, zmm_upper, zmm_upper, X86_ZMM_UPPER_N);
	COPY_XSAVE(XFEATURE_HI16_ZMM, hi16_zmm, hi16_zmm, X86_HI16_ZMM_N);
	COPY_XSAVE(XFEATURE_PKRU, pkru, pkru, X86_PKRU_N);
	st->fp.xsave = xs;
	return 0;
}

static int dump_fpu(pid_t tid, struct x86_thread_state *st)
{
	size_t size = compel_xstate_size(), got = 0;
	struct user_fpregs_struct fpregs;
	unsigned char *buf;
	int ret;

	if (!size) {
		ret = compel_get_fpregs(tid, &fpregs);
		if (ret)
			pr_err("can't read the FPU registers of thread %d: %s\n", tid, strerror(-ret));
		else
			fill_fpregs(st, &fpregs);
		return ret;
	}
	buf = calloc(1, size);
	if (!buf)
		return -ENOMEM;
	ret = compel_get_xstate(tid, buf, size, &got);
	if (ret) {
		pr_err("can't read the xsave area of thread %d: %s\n", tid, strerror(-ret));
	} else if (got < FXSAVE_SIZE + 64) {
		pr_err("xsave area of thread %d is %zu bytes, too short\n", tid, got);
		ret = -EINVAL;
	} else {
		memcpy(&fpregs, buf, sizeof(fpregs)); /* the legacy area is an fxsave image */
		fill_fpregs(st, &fpregs);
		ret = fill_xsave(st, buf, got);
	}
	free(buf);
	return ret;
}

/* The GDT TLS slots, as PTRACE_GET_THREAD_AREA shows them. */
static int dump_tls(pid_t tid, struct x86_thread_state *st)
{
	for (int i = 0; i < X86_GDT_TLS_N; i++) {
		struct user_desc d;
		UserDescT *e = &st->tls[i];

		memset(&d, 0, sizeof(d));
		if (ptrace(PTRACE_GET_THREAD_AREA, tid, (void *)(long)(X86_GDT_TLS_FIRST + i), &d) < 0) {
			pr_perror("Can't read TLS slot %d of thread %d", X86_GDT_TLS_FIRST + i, tid);
			return -errno;
		}
		user_desc_t__init(e);
		e->entry_number = d.entry_number;
		e->base_addr = d.base_addr;
		e->limit = d.limit;
		e->seg_32bit = d.seg_32bit;
		e->contents_h = (d.contents >> 1) & 1;
		e->contents_l = d.contents & 1;
		e->read_exec_only = d.read_exec_only;
		e->limit_in_pages = d.limit_in_pages;
		e->seg_not_present = d.seg_not_present;
		e->usable = d.useable;
		st->tls_ptrs[i] = e;
	}
	st->ti.n_tls = X86_GDT_TLS_N;
	st->ti.tls = st->tls_ptrs;
	return 0;
}

int arch_x86_dump_thread(pid_t tid, struct x86_thread_state *st)
{
	struct user_regs_struct regs;
	int ret;

	ret = compel_get_gpregs(tid, &regs);
	if (ret) {
		pr_err("can't read the registers of thread %d: %s\n", tid,
		       ret == -EOPNOTSUPP ? "32-bit threads are not supported" : strerror(-ret));
		return ret;
	}
	fill_gpregs(&st->gp, &regs);
	fixup_syscall_restart(tid, &st->gp);
	ret = dump_fpu(tid, st);
	if (ret)
		return ret;
	thread_info_x86__init(&st->ti);
	st->ti.gpregs = &st->gp;
	st->ti.fpregs = &st->fp;
	return dump_tls(tid, st);
}
