/*
 * core-TID.img of every thread of a stopped process. Everything is read from
 * outside the process: ptrace for registers, signal mask, pending signals and
 * rseq, /proc for the rest, get_robust_list(2) and the scheduler calls for the
 * thread state. What only the task itself can tell (signal handlers,
 * sigaltstack, clear-child-tid address, securebits, child-subreaper, pdeath
 * signal, itimers and POSIX timers) comes from task-query.c, asked before.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "arch-x86.h"
#include "core.h"
#include "creds.h"
#include "image.h"
#include "signals.h"
#include "task-query.h"

#include "core.pb-c.h"

#define LOG_PREFIX "core: "
#include "log.h"

/* task_core_entry.task_state values (CRIU's; 2 is dead, 4 helper, 5 thread, 6 zombie). */
#define TASK_ALIVE 1
#define TASK_DEAD 2
#define TASK_STOPPED 3

#ifndef PTRACE_GET_RSEQ_CONFIGURATION
#define PTRACE_GET_RSEQ_CONFIGURATION 0x420f
#endif

/* What PTRACE_GET_RSEQ_CONFIGURATION fills (the kernel's struct ptrace_rseq_configuration). */
struct rseq_config {
	uint64_t rseq_abi_pointer;
	uint32_t rseq_abi_size;
	uint32_t signature;
	uint32_t flags;
	uint32_t pad;
};

/* Everything one core_entry points into. */
struct core_state {
	CoreEntry core;
	ThreadCoreEntry thread_core;
	TaskCoreEntry tc;
	TaskRlimitsEntry rlimits;
	RlimitEntry rlim[RLIM_NLIMITS];
	RlimitEntry *rlim_ptrs[RLIM_NLIMITS];
	RseqEntry rseq;
	ThreadSasEntry sas;
	SaEntry sa[TASK_QUERY_SIGMAX - 2];
	SaEntry *sa_ptrs[TASK_QUERY_SIGMAX - 2];
	TaskTimersEntry timers;
	ItimerEntry itimers[3];
	PosixTimerEntry *ptimers;
	PosixTimerEntry **ptimer_ptrs;
	struct x86_thread_state regs;
	struct creds_state creds;
	struct proc_status status;
	struct sigqueue_state sig_private;
	struct sigqueue_state sig_shared;
	char comm[64];
	char tc_comm[64];
};

static int read_comm(pid_t pid, pid_t tid, char *buf, size_t size)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", pid, tid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(buf, (int)size, f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int dump_sched(pid_t tid, ThreadCoreEntry *tc)
{
	struct sched_param param;
	int policy, nice;

	errno = 0;
	nice = getpriority(PRIO_PROCESS, (id_t)tid);
	if (nice == -1 && errno)
		return -errno;
	policy = sched_getscheduler(tid);
	if (policy < 0 || sched_getparam(tid, &param) < 0)
		return -errno;
	tc->has_sched_nice = 1, tc->sched_nice = nice;
	tc->has_sched_policy = 1, tc->sched_policy = (uint32_t)policy;
	tc->has_sched_prio = 1, tc->sched_prio = (uint32_t)param.sched_priority;
	return 0;
}

static int dump_rseq(pid_t tid, struct core_state *cs)
{
	struct rseq_config conf;

	memset(&conf, 0, sizeof(conf));
	if (ptrace(PTRACE_GET_RSEQ_CONFIGURATION, tid, (void *)sizeof(conf), &conf) < 0)
		return errno == EIO || errno == EINVAL ? 0 : -errno; /* older kernels: no rseq to save */
	if (!conf.rseq_abi_pointer)
		return 0;
	rseq_entry__init(&cs->rseq);
	cs->rseq.rseq_abi_pointer = conf.rseq_abi_pointer;
	cs->rseq.rseq_abi_size = conf.rseq_abi_size;
	cs->rseq.signature = conf.signature;
	cs->thread_core.rseq_entry = &cs->rseq;
	return 0;
}

/* What the thread told about itself: sigaltstack, pdeath signal, securebits, clear-child-tid. */
static void fill_thread_query(struct core_state *cs, const struct task_query_thread *t)
{
	ThreadCoreEntry *tc = &cs->thread_core;

	thread_sas_entry__init(&cs->sas);
	cs->sas.ss_sp = t->ss_sp;
	cs->sas.ss_size = t->ss_size;
	cs->sas.ss_flags = t->ss_flags;
	tc->sas = &cs->sas;
	tc->has_pdeath_sig = 1, tc->pdeath_sig = t->pdeath_sig;
	cs->creds.e.secbits = t->securebits;
	cs->regs.ti.clear_tid_addr = t->clear_tid;
}

/* thread_core: what every thread has of its own. */
static int dump_thread_core(pid_t pid, pid_t tid, struct core_state *cs)
{
	ThreadCoreEntry *tc = &cs->thread_core;
	uint64_t sigmask = 0;
	void *rl_head = NULL;
	size_t rl_len = 0;
	int ret;

	thread_core_entry__init(tc);
	if (syscall(SYS_get_robust_list, tid, &rl_head, &rl_len) < 0)
		return -errno;
	tc->futex_rla = (uint64_t)(uintptr_t)rl_head;
	tc->futex_rla_len = (uint32_t)rl_len;
	if (ptrace(PTRACE_GETSIGMASK, tid, (void *)sizeof(sigmask), &sigmask) < 0)
		return -errno;
	tc->has_blk_sigset = 1, tc->blk_sigset = sigmask;
	ret = dump_sched(tid, tc);
	if (!ret)
		ret = dump_rseq(tid, cs);
	if (!ret)
		ret = signals_dump_queue(tid, false, &cs->sig_private);
	if (!ret)
		tc->signals_p = &cs->sig_private.q;
	if (!ret)
		ret = read_comm(pid, tid, cs->comm, sizeof(cs->comm));
	if (ret)
		return ret;
	tc->comm = cs->comm;
	ret = proc_parse_status(pid, tid, &cs->status);
	if (ret)
		return ret;
	ret = creds_fill(&cs->creds, &cs->status);
	if (ret)
		return ret;
	tc->creds = &cs->creds.e;
	return 0;
}

static int read_personality(pid_t pid, uint32_t *pers)
{
	char path[64];
	unsigned int v;
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/proc/%d/personality", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fscanf(f, "%x", &v);
	fclose(f);
	if (n != 1)
		return -EINVAL;
	*pers = v;
	return 0;
}

/* The number in /proc/@pid/@name (decimal, possibly negative, or up to UINT32_MAX). */
static int read_proc_number(pid_t pid, const char *name, long long *val)
{
	char path[64];
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fscanf(f, "%lld", val);
	fclose(f);
	return n == 1 ? 0 : -EINVAL;
}

/*
 * From /proc/PID/limits, not prlimit(2): reading the limits of a process whose
 * uids differ from ours takes CAP_SYS_RESOURCE with the latter.
 */
static int dump_rlimits(pid_t pid, struct core_state *cs)
{
	struct rlimit64 rl[RLIM_NLIMITS];
	int ret;

	ret = proc_parse_limits(pid, rl);
	if (ret) {
		pr_err("can't read the resource limits of process %d: %s\n", pid, strerror(-ret));
		return ret;
	}
	for (int i = 0; i < RLIM_NLIMITS; i++) {
		rlimit_entry__init(&cs->rlim[i]);
		cs->rlim[i].cur = rl[i].rlim_cur;
		cs->rlim[i].max = rl[i].rlim_max;
		cs->rlim_ptrs[i] = &cs->rlim[i];
	}
	task_rlimits_entry__init(&cs->rlimits);
	cs->rlimits.n_rlimits = RLIM_NLIMITS;
	cs->rlimits.rlimits = cs->rlim_ptrs;
	cs->tc.rlimits = &cs->rlimits;
	return 0;
}

/* Dispositions in CRIU's layout: entry i is signal i + 1, SIGKILL and SIGSTOP left out. */
static void fill_sigactions(struct core_state *cs, const struct task_query *q)
{
	size_t i = 0;

	for (int sig = 1; sig <= TASK_QUERY_SIGMAX; sig++) {
		const struct task_query_sigaction *k = &q->sa[sig - 1];
		SaEntry *sa = &cs->sa[i];

		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		sa_entry__init(sa);
		sa->sigaction = k->handler, sa->flags = k->flags, sa->restorer = k->restorer, sa->mask = k->mask;
		cs->sa_ptrs[i++] = sa;
	}
	cs->tc.n_sigactions = i;
	cs->tc.sigactions = cs->sa_ptrs;
}

static void fill_itimer(ItimerEntry *e, const struct itimerval *v)
{
	itimer_entry__init(e);
	e->isec = (uint64_t)v->it_interval.tv_sec, e->iusec = (uint64_t)v->it_interval.tv_usec;
	e->vsec = (uint64_t)v->it_value.tv_sec, e->vusec = (uint64_t)v->it_value.tv_usec;
}

static int fill_timers(struct core_state *cs, const struct task_query *q)
{
	size_t n = q->nr_timers;

	task_timers_entry__init(&cs->timers);
	fill_itimer(&cs->itimers[0], &q->itimers[0]);
	fill_itimer(&cs->itimers[1], &q->itimers[1]);
	fill_itimer(&cs->itimers[2], &q->itimers[2]);
	cs->timers.real = &cs->itimers[0];
	cs->timers.virt = &cs->itimers[1];
	cs->timers.prof = &cs->itimers[2];
	cs->tc.timers = &cs->timers;
	if (!n)
		return 0;
	cs->ptimers = calloc(n, sizeof(*cs->ptimers));
	cs->ptimer_ptrs = calloc(n, sizeof(*cs->ptimer_ptrs));
	if (!cs->ptimers || !cs->ptimer_ptrs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct task_query_timer *t = &q->timers[i];
		PosixTimerEntry *e = &cs->ptimers[i];

		posix_timer_entry__init(e);
		e->it_id = (uint32_t)t->id, e->clock_id = (uint32_t)t->clock_id;
		e->si_signo = (uint32_t)t->signo, e->it_sigev_notify = (uint32_t)t->notify;
		e->sival_ptr = t->sival, e->overrun = (uint32_t)t->overrun;
		e->isec = (uint64_t)t->interval.tv_sec, e->insec = (uint64_t)t->interval.tv_nsec;
		e->vsec = (uint64_t)t->value.tv_sec, e->vnsec = (uint64_t)t->value.tv_nsec;
		if (t->notify & SIGEV_THREAD_ID)
			e->has_notify_thread_id = 1, e->notify_thread_id = t->notify_tid;
		cs->ptimer_ptrs[i] = e;
	}
	cs->timers.n_posix = n;
	cs->timers.posix = cs->ptimer_ptrs;
	return 0;
}

/* task_core: the state of the whole process, in the leader's image. */
static int dump_task_core(pid_t pid, const struct proc_stat *st, bool stopped, const struct task_query *q,
			  struct core_state *cs)
{
	TaskCoreEntry *tc = &cs->tc;
	long long val;
	int ret;

	task_core_entry__init(tc);
	tc->task_state = stopped ? TASK_STOPPED : TASK_ALIVE;
	tc->exit_code = 0;
	tc->flags = st->flags;
	tc->blk_sigset = cs->thread_core.blk_sigset;
	snprintf(cs->tc_comm, sizeof(cs->tc_comm), "%s", cs->comm);
	tc->comm = cs->tc_comm;
	ret = read_personality(pid, &tc->personality);
	if (!ret)
		ret = read_proc_number(pid, "oom_score_adj", &val);
	if (ret)
		return ret;
	tc->has_oom_score_adj = 1, tc->oom_score_adj = (int32_t)val;
	/* Without audit, the kernel has no loginuid to show. */
	if (!read_proc_number(pid, "loginuid", &val))
		tc->has_loginuid = 1, tc->loginuid = (uint32_t)val;
	ret = signals_dump_queue(pid, true, &cs->sig_shared);
	if (ret)
		return ret;
	tc->signals_s = &cs->sig_shared.q;
	ret = dump_rlimits(pid, cs);
	if (ret)
		return ret;
	fill_sigactions(cs, q);
	tc->has_child_subreaper = 1, tc->child_subreaper = q->child_subreaper;
	if (q->vfork_child)
		tc->has_vfork_child = 1, tc->vfork_child = (uint32_t)q->vfork_child;
	if (q->vfork_child && q->vfork_tid != pid)
		tc->has_vfork_tid = 1, tc->vfork_tid = (uint32_t)q->vfork_tid;
	return fill_timers(cs, q);
}

static int write_core(int dirfd, pid_t tid, const CoreEntry *core)
{
	struct cr_img *img;
	int ret, cret;

	ret = img_open(&img, dirfd, IMG_WRITE, CR_IMG_CORE, (unsigned int)tid);
	if (ret)
		return ret;
	ret = img_write_entry(img, core);
	cret = img_close(img);
	return ret ?: cret;
}

static int dump_one_thread(int dirfd, pid_t pid, const struct proc_stat *st, bool stopped, const struct task_query *q,
			   pid_t tid, struct core_state *cs)
{
	const struct task_query_thread *t = task_query_thread(q, tid);
	int ret;

	if (!t) {
		pr_err("thread %d was not asked for its state\n", tid);
		return -EINVAL;
	}

	memset(cs, 0, sizeof(*cs));
	core_entry__init(&cs->core);
	cs->core.mtype = CORE_ENTRY__MARCH__X86_64;
	ret = arch_x86_dump_thread(tid, &cs->regs);
	if (ret)
		return ret;
	cs->core.thread_info = &cs->regs.ti;
	ret = dump_thread_core(pid, tid, cs);
	if (!ret)
		fill_thread_query(cs, t);
	if (!ret && tid == pid) {
		ret = dump_task_core(pid, st, stopped, q, cs);
		cs->core.tc = &cs->tc;
	}
	if (ret) {
		pr_err("can't collect the state of thread %d: %s\n", tid, strerror(-ret));
		goto out_fini;
	}
	cs->core.thread_core = &cs->thread_core;
	ret = write_core(dirfd, tid, &cs->core);
out_fini:
	free(cs->ptimers);
	free(cs->ptimer_ptrs);
	signals_fini(&cs->sig_shared);
	signals_fini(&cs->sig_private);
	creds_fini(&cs->creds);
	proc_status_fini(&cs->status);
	return ret;
}

int core_dump_threads(int dirfd, pid_t pid, const struct proc_stat *st, bool stopped, const struct task_query *q,
		      const pid_t *tids, size_t nr)
{
	struct core_state *cs;
	int ret = 0;

	cs = malloc(sizeof(*cs));
	if (!cs)
		return -ENOMEM;
	for (size_t i = 0; !ret && i < nr; i++) {
		ret = dump_one_thread(dirfd, pid, st, stopped, q, tids[i], cs);
		if (!ret)
			pr_info("thread %d: registers, signal mask and credentials dumped\n", tids[i]);
	}
	free(cs);
	return ret;
}

int core_dump_zombie(int dirfd, pid_t pid, const struct proc_stat *st)
{
	TaskCoreEntry tc = TASK_CORE_ENTRY__INIT;
	CoreEntry core = CORE_ENTRY__INIT;
	char comm[64];
	int ret;

	ret = read_comm(pid, pid, comm, sizeof(comm));
	if (ret)
		return ret;
	core.mtype = CORE_ENTRY__MARCH__X86_64;
	tc.task_state = TASK_DEAD;
	tc.exit_code = (uint32_t)st->exit_code;
	tc.flags = st->flags;
	tc.comm = comm;
	core.tc = &tc;
	pr_info("zombie %d: exit status %#x\n", pid, st->exit_code);
	return write_core(dirfd, pid, &core);
}
