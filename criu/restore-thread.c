/*
 * criu restore: registers, signal mask, pending signals, rseq, robust list and
 * limits of the restored process (see include/restore-thread.h).
 */
#include <cpuid.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <unistd.h>

#include "regs.h"
#include "restore-creds.h"
#include "restore-thread.h"
#include "restore-vfork.h"
#include "restore-timers.h"

#define LOG_PREFIX "restore: "
#include "log.h"

#define TRAMP_SIGINFO 1024   /* where a siginfo to queue is put in the trampoline */
#define TRAMP_SIGACTION 1536 /* where a sigaction or a stack_t is put */

/* The kernel's struct sigaction for rt_sigaction(2) on x86-64. */
struct kernel_sigaction {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};

/* Kernel-internal errors a syscall interrupted by the dump's stop may hold in rax. */
#define ERESTARTSYS 512
#define ERESTARTNOINTR 513
#define ERESTARTNOHAND 514
#define ERESTART_RESTARTBLOCK 516

#define XSAVE_HDR_OFFSET 512
#define FXSAVE_SIZE 512

/* Queues the signals of @q to the process itself: only it may send a siginfo with si_code >= 0. */
static bool is_stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/*
 * Queues the pending signals @q. A stop signal pending in a stopped process (it
 * was sent the signal again) is left out: the process is restored stopped, and
 * the SIGCONT that ends its stop would discard it; queued, it would stop the
 * process in the middle of the restore.
 */
static int queue_signals(struct restore_ctl *ctl, const SignalQueueEntry *q, int shared, bool stopped)
{
	for (size_t i = 0; q && i < q->n_signals; i++) {
		const ProtobufCBinaryData *si = &q->signals[i]->siginfo;
		siginfo_t info;
		uint64_t addr;
		long ret;

		if (si->len != sizeof(info)) {
			pr_err("a pending signal of %zu bytes, not a siginfo\n", si->len);
			return -EINVAL;
		}
		memcpy(&info, si->data, sizeof(info));
		if (stopped && is_stop_signal(info.si_signo)) {
			pr_info("process %d is stopped: its pending stop signal %d is left out\n", ctl->tgid,
				info.si_signo);
			continue;
		}
		ret = restore_ctl_put_data(ctl, TRAMP_SIGINFO, &info, sizeof(info), &addr);
		if (ret)
			return (int)ret;
		if (shared)
			ret = restore_ctl_syscall(ctl, SYS_rt_sigqueueinfo, 3, (uint64_t)ctl->tgid,
						  (uint64_t)info.si_signo, addr);
		else
			ret = restore_ctl_syscall(ctl, SYS_rt_tgsigqueueinfo, 4, (uint64_t)ctl->tgid,
						  (uint64_t)ctl->pid, (uint64_t)info.si_signo, addr);
		if (ret < 0) {
			pr_err("can't queue signal %d in process %d: %s\n", info.si_signo, ctl->pid,
			       strerror((int)-ret));
			return (int)ret;
		}
	}
	return 0;
}

/*
 * The dispositions: entry i of the image is signal i + 1, SIGKILL and SIGSTOP left out (CRIU's layout).
 * The default ones are set too if @all (a process that copied its parent's handlers).
 */
static int restore_sigactions(struct restore_ctl *ctl, const TaskCoreEntry *tc, bool all)
{
	size_t i = 0;

	for (int sig = 1; sig <= RESTORE_SIGMAX && i < tc->n_sigactions; sig++) {
		const SaEntry *sa = tc->sigactions[i];
		struct kernel_sigaction ksa;
		uint64_t addr;
		long ret;

		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		i++;
		if (!all && sa->sigaction == (uint64_t)(uintptr_t)SIG_DFL && !sa->flags && !sa->mask)
			continue; /* the child reset every signal to this already */
		ksa.handler = sa->sigaction, ksa.flags = sa->flags, ksa.restorer = sa->restorer, ksa.mask = sa->mask;
		ret = restore_ctl_put_data(ctl, TRAMP_SIGACTION, &ksa, sizeof(ksa), &addr);
		if (!ret)
			ret = restore_ctl_syscall(ctl, SYS_rt_sigaction, 4, (uint64_t)sig, addr, (uint64_t)0,
						  (uint64_t)sizeof(ksa.mask));
		if (ret < 0) {
			pr_err("can't set the action of signal %d in process %d: %s\n", sig, ctl->pid,
			       strerror((int)-ret));
			return (int)ret;
		}
	}
	return 0;
}

static void restore_sigaltstack(struct rbatch *b, const ThreadSasEntry *sas)
{
	stack_t ss;

	if (!sas || (sas->ss_flags & SS_DISABLE))
		return;
	ss.ss_sp = (void *)(uintptr_t)sas->ss_sp;
	ss.ss_size = (size_t)sas->ss_size;
	ss.ss_flags = (int)(sas->ss_flags & ~(uint32_t)SS_ONSTACK);
	rbatch_add(b, "sigaltstack", RB_CHECK, SYS_sigaltstack, 2, rbatch_data(b, &ss, sizeof(ss)), (uint64_t)0);
}

/*
 * The pdeath signal is tied to the parent. The root's parent is criu now,
 * whose exit (at once with -d) would send the signal: it is left unset, and
 * said so. A process whose parent is restored too gets it back. Set last (a
 * change of credentials clears it), and always: until then every restored
 * process has SIGKILL, so that it dies with criu or its parent.
 */
static void add_pdeath_sig(struct rbatch *b, pid_t tid, const ThreadCoreEntry *tc, bool parent_restored)
{
	uint64_t sig = tc->has_pdeath_sig ? tc->pdeath_sig : 0;

	if (sig && !parent_restored) {
		pr_warn("thread %d had pdeath signal %llu: not restored, its parent is not restored\n", tid,
			(unsigned long long)sig);
		sig = 0;
	}
	rbatch_add(b, "PR_SET_PDEATHSIG", RB_CHECK, SYS_prctl, 2, (uint64_t)PR_SET_PDEATHSIG, sig);
}

/* The thread's own name (PR_SET_NAME): the kernel lets only the thread itself set it. */
static void set_thread_name(struct rbatch *b, const ThreadCoreEntry *tc)
{
	char name[16] = "";

	if (!tc->comm)
		return;
	strncpy(name, tc->comm, sizeof(name) - 1);
	rbatch_add(b, "PR_SET_NAME", RB_CHECK, SYS_prctl, 2, (uint64_t)PR_SET_NAME, rbatch_data(b, name, sizeof(name)));
}

static int set_child_subreaper(struct restore_ctl *ctl, const TaskCoreEntry *tc)
{
	long ret;

	if (!tc->has_child_subreaper || !tc->child_subreaper)
		return 0;
	ret = restore_ctl_syscall(ctl, SYS_prctl, 2, (uint64_t)PR_SET_CHILD_SUBREAPER, (uint64_t)1);
	if (ret < 0) {
		pr_err("can't make process %d a child subreaper: %s\n", ctl->pid, strerror((int)-ret));
		return (int)ret;
	}
	return 0;
}

static void fill_gpregs(struct user_regs_struct *r, const UserX86RegsEntry *gp)
{
	memset(r, 0, sizeof(*r));
	r->r15 = gp->r15, r->r14 = gp->r14, r->r13 = gp->r13, r->r12 = gp->r12;
	r->rbp = gp->bp, r->rbx = gp->bx, r->r11 = gp->r11, r->r10 = gp->r10;
	r->r9 = gp->r9, r->r8 = gp->r8, r->rax = gp->ax, r->rcx = gp->cx;
	r->rdx = gp->dx, r->rsi = gp->si, r->rdi = gp->di, r->orig_rax = gp->orig_ax;
	r->rip = gp->ip, r->cs = gp->cs, r->eflags = gp->flags, r->rsp = gp->sp;
	r->ss = gp->ss, r->fs_base = gp->fs_base, r->gs_base = gp->gs_base;
	r->ds = gp->ds, r->es = gp->es, r->fs = gp->fs, r->gs = gp->gs;

	/* A syscall the dump's stop interrupted runs again, as the kernel would have made it. */
	if ((int64_t)r->orig_rax >= 0) {
		switch ((int64_t)r->rax) {
		case -ERESTARTSYS:
		case -ERESTARTNOINTR:
		case -ERESTARTNOHAND:
			r->rax = r->orig_rax;
			r->rip -= 2;
			break;
		case -ERESTART_RESTARTBLOCK:
			/* The restart block is gone with the old process: the call ends with EINTR. */
			r->rax = (uint64_t)-EINTR;
			break;
		}
	}
	r->orig_rax = (uint64_t)-1;
}

static void fill_legacy_fpu(struct user_fpregs_struct *f, const UserX86FpregsEntry *fp)
{
	f->cwd = (uint16_t)fp->cwd, f->swd = (uint16_t)fp->swd, f->ftw = (uint16_t)fp->twd;
	f->fop = (uint16_t)fp->fop, f->rip = fp->rip, f->rdp = fp->rdp;
	f->mxcsr = fp->mxcsr, f->mxcr_mask = fp->mxcsr_mask;
	memcpy(f->st_space, fp->st_space, sizeof(f->st_space));
	memcpy(f->xmm_space, fp->xmm_space, sizeof(f->xmm_space));
}

static uint64_t xgetbv0(void)
{
	uint32_t lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

/* Copies @len bytes of component @feature into the standard-format xsave image @buf of @size bytes. */
static int put_component(unsigned char *buf, size_t size, unsigned int feature, const void *src, size_t len)
{
	unsigned int csize, offset, ecx, edx;

	if (!len)
		return 0;
	if (!__get_cpuid_count(0xd, feature, &csize, &offset, &ecx, &edx) || csize < len || offset + len > size) {
		pr_err("xsave component %u of %zu bytes doesn't fit this CPU's layout\n", feature, len);
		return -EINVAL;
	}
	memcpy(buf + offset, src, len);
	return 0;
}

static int fill_xsave(unsigned char *buf, size_t size, const UserX86XsaveEntry *xs)
{
	uint64_t bv = xs->xstate_bv & xgetbv0();
	int ret;

	ret = put_component(buf, size, 2, xs->ymmh_space, xs->n_ymmh_space * sizeof(uint32_t));
	if (!ret)
		ret = put_component(buf, size, 3, xs->bndreg_state, xs->n_bndreg_state * sizeof(uint64_t));
	if (!ret)
		ret = put_component(buf, size, 4, xs->bndcsr_state, xs->n_bndcsr_state * sizeof(uint64_t));
	if (!ret)
		ret = put_component(buf, size, 5, xs->opmask_reg, xs->n_opmask_reg * sizeof(uint64_t));
	if (!ret)
		ret = put_component(buf, size, 6, xs->zmm_upper, xs->n_zmm_upper * sizeof(uint64_t));
	if (!ret)
		ret = put_component(buf, size, 7, xs->hi16_zmm, xs->n_hi16_zmm * sizeof(uint64_t));
	if (!ret)
		ret = put_component(buf, size, 9, xs->pkru, xs->n_pkru * sizeof(uint32_t));
	if (!ret)
		memcpy(buf + XSAVE_HDR_OFFSET, &bv, sizeof(bv));
	return ret;
}

/* The process's current xsave image is the template: same CPU, same kernel, valid header. */
static int restore_fpu(pid_t pid, const UserX86FpregsEntry *fp)
{
	size_t size = compel_xstate_size(), got = 0;
	struct user_fpregs_struct f;
	unsigned char *buf;
	int ret;

	if (!size) {
		ret = compel_get_fpregs(pid, &f);
		if (!ret) {
			fill_legacy_fpu(&f, fp);
			ret = compel_set_fpregs(pid, &f);
		}
		return ret;
	}
	buf = calloc(1, size);
	if (!buf)
		return -ENOMEM;
	ret = compel_get_xstate(pid, buf, size, &got);
	if (!ret && got < FXSAVE_SIZE + 64)
		ret = -EINVAL;
	if (!ret) {
		memcpy(&f, buf, sizeof(f));
		fill_legacy_fpu(&f, fp);
		memcpy(buf, &f, sizeof(f));
		if (fp->xsave)
			ret = fill_xsave(buf, got, fp->xsave);
	}
	if (!ret)
		ret = compel_set_xstate(pid, buf, got);
	free(buf);
	return ret;
}

int restore_thread_regs(pid_t tid, const CoreEntry *core)
{
	const ThreadInfoX86 *ti = core->thread_info;
	struct user_regs_struct regs;
	int ret;

	fill_gpregs(&regs, ti->gpregs);
	ret = compel_set_gpregs(tid, &regs);
	if (ret) {
		pr_err("can't set the registers of thread %d: %s\n", tid, strerror(-ret));
		return ret;
	}
	ret = restore_fpu(tid, ti->fpregs);
	if (ret)
		pr_err("can't set the FPU state of thread %d: %s\n", tid, strerror(-ret));
	return ret;
}

int restore_thread_sigmask(pid_t tid, const CoreEntry *core, uint64_t default_blocked)
{
	const ThreadCoreEntry *tc = core->thread_core;
	int ret = compel_set_sigmask(tid, tc->has_blk_sigset ? tc->blk_sigset : default_blocked);

	if (ret)
		pr_err("can't set the signal mask of thread %d: %s\n", tid, strerror(-ret));
	return ret;
}

/* Every signal blocked while syscalls are injected: none may be delivered before the restore is over. */
static int block_all_signals(pid_t tid)
{
	int ret = compel_set_sigmask(tid, ~0ULL);

	if (ret)
		pr_err("can't block the signals of thread %d: %s\n", tid, strerror(-ret));
	return ret;
}

/* 1 when credentials @a and @b are the same (packed alike), 0 if not, or -errno. */
static int creds_equal(const CredsEntry *a, const CredsEntry *b)
{
	size_t la = protobuf_c_message_get_packed_size(&a->base), lb = protobuf_c_message_get_packed_size(&b->base);
	uint8_t *pa, *pb;
	int ret;

	if (la != lb)
		return 0;
	pa = malloc(la ?: 1);
	pb = malloc(lb ?: 1);
	ret = pa && pb ? 0 : -ENOMEM;
	if (!ret) {
		protobuf_c_message_pack(&a->base, pa);
		protobuf_c_message_pack(&b->base, pb);
		ret = !memcmp(pa, pb, la);
	}
	free(pa);
	free(pb);
	return ret;
}

int restore_thread_state(struct rbatch *b, pid_t tid, const CoreEntry *core, bool parent_restored,
			 const CredsEntry *held)
{
	const ThreadCoreEntry *tc = core->thread_core;
	uint64_t clear_tid = core->thread_info->clear_tid_addr;
	const RseqEntry *r = tc->rseq_entry;
	int ret;

	restore_sigaltstack(b, tc->sas);
	set_thread_name(b, tc);
	if (tc->futex_rla)
		rbatch_add(b, "set_robust_list", RB_CHECK, SYS_set_robust_list, 2, tc->futex_rla,
			   (uint64_t)tc->futex_rla_len);
	if (r && r->rseq_abi_pointer)
		rbatch_add(b, "rseq registration", RB_CHECK, SYS_rseq, 4, r->rseq_abi_pointer,
			   (uint64_t)r->rseq_abi_size, (uint64_t)0, (uint64_t)r->signature);
	if (clear_tid)
		rbatch_add(b, "set_tid_address", RB_CHECK, SYS_set_tid_address, 1, clear_tid);
	/* Credentials after the steps that need criu's privileges; the pdeath signal after them. */
	ret = held ? creds_equal(held, tc->creds) : 0;
	if (ret > 0)
		pr_info("thread %d keeps the credentials it was made with, its dumped ones\n", tid);
	else if (!ret)
		ret = restore_creds(b, tid, tc->creds);
	ret = ret < 0 ? ret : 0;
	if (!ret)
		add_pdeath_sig(b, tid, tc, parent_restored);
	return ret;
}

int restore_thread_signals(struct restore_ctl *tctl, const CoreEntry *core, bool stopped)
{
	return queue_signals(tctl, core->thread_core->signals_p, 0, stopped);
}

int restore_thread_begin(struct restore_ctl *ctl, const struct restore_image *ri)
{
	/* First: no signal may be delivered while syscalls are injected (the threads inherit the mask). */
	int ret = block_all_signals(ctl->pid);

	return ret ?: restore_sigactions(ctl, ri->core->tc, false);
}

int restore_thread_pending(struct restore_ctl *ctl, const struct restore_image *ri)
{
	bool stopped = ri->core->tc->task_state == RESTORE_TASK_STOPPED;
	int ret = queue_signals(ctl, ri->core->tc->signals_s, 1, stopped);

	return ret ?: restore_thread_signals(ctl, ri->core, stopped);
}

/* Unmaps the trampoline of @ctl through the task it names (it may be another task of the same address space). */
static int unmap_trampoline(struct restore_ctl *ctl)
{
	long sret = restore_ctl_syscall(ctl, SYS_munmap, 2, ctl->tramp, (uint64_t)ctl->page_size);

	if (sret < 0) {
		pr_err("can't unmap the trampoline of process %d: %s\n", ctl->pid, strerror((int)-sret));
		return (int)sret;
	}
	ctl->tramp = 0;
	return 0;
}

int restore_sharer_end(struct restore_ctl *ctl, const struct restore_image *c, bool own_sighand, bool unmap)
{
	int ret = own_sighand ? restore_sigactions(ctl, c->core->tc, true) : 0;

	ret = ret ?: restore_thread_pending(ctl, c);
	ret = ret ?: set_child_subreaper(ctl, c->core->tc);
	ret = ret ?: restore_timers(ctl, c->core->tc->timers);
	if (!ret && unmap)
		ret = unmap_trampoline(ctl);
	ret = ret ?: restore_thread_regs(c->pid, c->core);
	return ret ?: restore_thread_sigmask(c->pid, c->core, c->core->tc->blk_sigset);
}

int restore_thread_end(struct restore_ctl *ctl, const struct restore_image *ri)
{
	int ret;

	ret = set_child_subreaper(ctl, ri->core->tc);
	if (!ret)
		ret = restore_timers(ctl, ri->core->tc->timers); /* last: a timer may fire from now on */
	if (ret)
		return ret;
	if (ri->vfork_child) {
		/* The vfork() again, by its thread: its child unmaps the trampoline. */
		ret = restore_vfork(ctl, ri);
		if (ret || ri->vfork_tid == ri->pid)
			return ret;
	} else {
		ret = unmap_trampoline(ctl);
	}
	ret = ret ?: restore_thread_regs(ctl->pid, ri->core);
	return ret ?: restore_thread_sigmask(ctl->pid, ri->core, ri->core->tc->blk_sigset);
}

/* What a failed prlimit64 record is called in errors (the list keeps the pointer). */
static const char *const rlimit_what[RLIM_NLIMITS] = {
	"prlimit64 (RLIMIT_CPU)",      "prlimit64 (RLIMIT_FSIZE)",  "prlimit64 (RLIMIT_DATA)",
	"prlimit64 (RLIMIT_STACK)",    "prlimit64 (RLIMIT_CORE)",   "prlimit64 (RLIMIT_RSS)",
	"prlimit64 (RLIMIT_NPROC)",    "prlimit64 (RLIMIT_NOFILE)", "prlimit64 (RLIMIT_MEMLOCK)",
	"prlimit64 (RLIMIT_AS)",       "prlimit64 (RLIMIT_LOCKS)",  "prlimit64 (RLIMIT_SIGPENDING)",
	"prlimit64 (RLIMIT_MSGQUEUE)", "prlimit64 (RLIMIT_NICE)",   "prlimit64 (RLIMIT_RTPRIO)",
	"prlimit64 (RLIMIT_RTTIME)",
};

void restore_rlimits(struct rbatch *b, const TaskCoreEntry *tc)
{
	for (size_t i = 0; tc->rlimits && i < tc->rlimits->n_rlimits && i < RLIM_NLIMITS; i++) {
		const RlimitEntry *e = tc->rlimits->rlimits[i];
		struct rlimit64 rl = { .rlim_cur = e->cur, .rlim_max = e->max };
		uint64_t addr = rbatch_data(b, &rl, sizeof(rl));

		rbatch_add(b, rlimit_what[i], RB_CHECK, SYS_prlimit64, 4, (uint64_t)0, (uint64_t)i, addr, (uint64_t)0);
	}
}

void restore_task_limits(pid_t pid, const struct restore_image *ri)
{
	const TaskCoreEntry *tc = ri->core->tc;
	const ThreadCoreEntry *th = ri->core->thread_core;
	char path[64];
	FILE *f;

	if (tc->has_oom_score_adj) {
		snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", pid);
		f = fopen(path, "we");
		if (!f)
			pr_warn("can't open %s: %m\n", path);
		else if ((fprintf(f, "%d", tc->oom_score_adj) < 0) | (fclose(f) != 0))
			pr_warn("can't set oom_score_adj of process %d to %d\n", pid, tc->oom_score_adj);
	}
	if (th->has_sched_policy && th->sched_policy != SCHED_OTHER) {
		struct sched_param sp = { .sched_priority = (int)th->sched_prio };

		if (sched_setscheduler(pid, (int)th->sched_policy, &sp) < 0)
			pr_warn("can't set scheduling policy %u of process %d: %m\n", th->sched_policy, pid);
	}
	if (th->has_sched_nice && setpriority(PRIO_PROCESS, (id_t)pid, th->sched_nice) < 0)
		pr_warn("can't set nice %d of process %d: %m\n", th->sched_nice, pid);
}
