/*
 * criu dump: asking the frozen threads what only they can tell, with syscalls
 * injected by compel (see include/task-query.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dump-guard.h"
#include "inject.h"
#include "regs.h"
#include "task-query.h"

#define LOG_PREFIX "task-query: "
#include "log.h"

#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif

#define SCRATCH_SIZE 4096
/* Layout of the scratch page. */
#define OFF_SA 0	   /* TASK_QUERY_SIGMAX sigactions of 32 bytes */
#define OFF_ITIMER 2048	   /* 3 struct itimerval */
#define OFF_SUBREAPER 2144 /* int */
#define OFF_SAS 2176	   /* stack_t */
#define OFF_TID_ADDR 2208  /* the clear-child-tid pointer */
#define OFF_PDEATH 2216	   /* int */
#define OFF_TIMERS 2560	   /* struct itimerspec per POSIX timer of a batch */
#define TIMER_BATCH ((SCRATCH_SIZE - OFF_TIMERS) / sizeof(struct itimerspec))

/* One process being asked: where its syscalls run and where their results land. */
struct query_ctx {
	pid_t pid;
	const struct dump_guard *guard;
	int mem_fd;	     /* /proc/PID/mem */
	uint64_t syscall_ip; /* a `syscall` instruction in the process */
	uint64_t scratch;    /* the scratch page, 0 while there is none */
	unsigned char page[SCRATCH_SIZE];
};

/* One thread while it is being asked: what to set back. */
struct query_thread {
	struct compel_injector inj;
	const struct dump_guard *guard; /* looked at before each syscall; NULL once undoing */
	struct user_regs_struct regs;
	uint64_t sigmask;
	bool moved;	   /* it left its stop: it must be put back into one */
	int deferred_stop; /* a stop signal it dequeued while asked: delivered when it is put back */
};

/*
 * True when the thread is in a stop trap (a group stop reported to the seizer),
 * not a signal-delivery stop: its siginfo says PTRACE_EVENT_STOP.
 */
static bool is_group_stop(pid_t tid)
{
	siginfo_t si;

	if (ptrace(PTRACE_GETSIGINFO, tid, NULL, &si) < 0)
		return errno == EINVAL;
	return (si.si_code >> 8) == PTRACE_EVENT_STOP;
}

/* SIGSTOP, SIGTSTP, SIGTTIN and SIGTTOU: a stopped task may have one more queued. */
static bool is_stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/*
 * True when the injection was cut by something that is no reason to give up,
 * and may be run again: the thread's group stop, reported again at its first
 * resume, or a stop signal it dequeued (a stopped task sent SIGSTOP again);
 * the latter is kept for restop(), which delivers it when the thread is put
 * back into its stop (it only stops the task again; a SIGCONT would have
 * discarded it anyway).
 */
static bool injection_cut_harmlessly(struct query_thread *qt)
{
	int sig = qt->inj.stop_signal;

	if (is_group_stop(qt->inj.pid)) {
		qt->inj.stop_signal = 0;
		return true;
	}
	if (!is_stop_signal(sig) || (qt->deferred_stop && qt->deferred_stop != sig))
		return false;
	pr_debug("thread %d dequeued signal %d while asked: delivered when it is put back\n", qt->inj.pid, sig);
	qt->deferred_stop = sig;
	qt->inj.stop_signal = 0;
	return true;
}

/*
 * Runs syscall @nr with @nargs of the arguments @a0..@a4 (the sixth is 0) in the
 * thread; *@res is its result. Returns 0, or -errno when the injection failed or
 * the syscall did (logged), -ECANCELED when the dump is given up before it.
 */
static int call_ok(struct query_thread *qt, long *res, long nr, unsigned int nargs, uint64_t a0, uint64_t a1,
		   uint64_t a2, uint64_t a3, uint64_t a4)
{
	const uint64_t args[6] = { a0, a1, a2, a3, a4, 0 };
	int ret;

	ret = dump_guard_check(qt->guard);
	if (ret)
		return ret;
	qt->moved = true;
	ret = compel_inject_syscall(&qt->inj, nr, args, nargs, res);
	for (int i = 0; i < 4 && ret == -EINTR && injection_cut_harmlessly(qt); i++)
		ret = compel_inject_syscall(&qt->inj, nr, args, nargs, res);
	if (ret == -EINTR)
		pr_err("thread %d stopped on signal %d while running syscall %ld\n", qt->inj.pid, qt->inj.stop_signal,
		       nr);
	else if (ret)
		pr_err("can't run syscall %ld in thread %d: %s\n", nr, qt->inj.pid, strerror(-ret));
	if (!ret && *res < 0 && *res > -4096) {
		pr_err("syscall %ld in thread %d failed: %s\n", nr, qt->inj.pid, strerror((int)-*res));
		return (int)*res;
	}
	return ret;
}

static int read_scratch(struct query_ctx *ctx, size_t off, size_t len)
{
	ssize_t n = pread(ctx->mem_fd, ctx->page + off, len, (off_t)(ctx->scratch + off));

	if (n == (ssize_t)len)
		return 0;
	pr_err("can't read the scratch page of process %d: %s\n", ctx->pid, n < 0 ? strerror(errno) : "short read");
	return n < 0 ? -errno : -EIO;
}

/* Looks for the bytes 0f 05 (`syscall`) in [@start, @end) of the process. */
static int scan_for_syscall(struct query_ctx *ctx, uint64_t start, uint64_t end)
{
	unsigned char buf[4096 + 1];

	for (uint64_t at = start; at < end; at += sizeof(buf) - 1) {
		size_t len = end - at < sizeof(buf) ? (size_t)(end - at) : sizeof(buf);
		ssize_t n = pread(ctx->mem_fd, buf, len, (off_t)at);

		if (n < 2)
			return -ENOENT;
		for (ssize_t i = 0; i + 1 < n; i++)
			if (buf[i] == 0x0f && buf[i + 1] == 0x05) {
				ctx->syscall_ip = at + (uint64_t)i;
				return 0;
			}
	}
	return -ENOENT;
}

/* A `syscall` instruction: the one the leader stopped after, else one in [vdso], else in any executable VMA. */
static int find_syscall_ip(struct query_ctx *ctx, const struct user_regs_struct *regs)
{
	char path[64], line[512];
	int ret = -ENOENT;
	FILE *f;

	if ((int64_t)regs->orig_rax >= 0 && compel_is_syscall_insn(ctx->pid, regs->rip - COMPEL_SYSCALL_INSN_LEN)) {
		ctx->syscall_ip = regs->rip - COMPEL_SYSCALL_INSN_LEN;
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/%d/maps", ctx->pid);
	for (int pass = 0; ret && pass < 2; pass++) {
		f = fopen(path, "re");
		if (!f) {
			pr_perror("Can't open %s", path);
			return -errno;
		}
		while (ret && fgets(line, sizeof(line), f)) {
			unsigned long long start, end;
			char perms[8];

			if (sscanf(line, "%llx-%llx %7s", &start, &end, perms) != 3 || perms[2] != 'x')
				continue;
			if (pass == 0 && !strstr(line, "[vdso]"))
				continue;
			if (strstr(line, "[vsyscall]"))
				continue;
			ret = scan_for_syscall(ctx, start, end);
		}
		fclose(f);
	}
	if (ret)
		pr_err("no syscall instruction found in process %d\n", ctx->pid);
	return ret;
}

/* Saves the state of thread @tid and blocks every signal, so that none is delivered meanwhile. */
static int thread_enter(struct query_ctx *ctx, pid_t tid, struct query_thread *qt)
{
	uint64_t all = ~0ULL;
	int ret;

	memset(qt, 0, sizeof(*qt));
	qt->guard = ctx->guard;
	qt->inj.pid = tid;
	qt->inj.syscall_ip = ctx->syscall_ip;
	ret = compel_get_gpregs(tid, &qt->regs);
	if (ret) {
		pr_err("can't read the registers of thread %d: %s\n", tid, strerror(-ret));
		return ret;
	}
	if (ptrace(PTRACE_GETSIGMASK, tid, (void *)sizeof(qt->sigmask), &qt->sigmask) < 0) {
		pr_perror("Can't read the signal mask of thread %d", tid);
		return -errno;
	}
	/* compel tells syscall stops from SIGTRAP by this; the seize set no option. */
	if (ptrace(PTRACE_SETOPTIONS, tid, NULL, (void *)(long)PTRACE_O_TRACESYSGOOD) < 0) {
		pr_perror("Can't set the ptrace options of thread %d", tid);
		return -errno;
	}
	ret = compel_set_sigmask(tid, all);
	if (ret)
		pr_err("can't block the signals of thread %d: %s\n", tid, strerror(-ret));
	return ret;
}

/* Resumes the thread, which has a stop trap pending, until it reports PTRACE_EVENT_STOP. */
static int wait_event_stop(pid_t tid, int sig)
{
	int status;

	if (ptrace(PTRACE_CONT, tid, NULL, (void *)(long)sig) < 0)
		return -errno;
	for (;;) {
		if (waitpid(tid, &status, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return -ESRCH;
		if (WIFSTOPPED(status) && (status >> 16) == PTRACE_EVENT_STOP)
			return 0;
		/* Another stop on the way (a signal that was on its way in): pass it on. */
		sig = WIFSTOPPED(status) && !(status >> 16) && WSTOPSIG(status) != (SIGTRAP | 0x80) ? WSTOPSIG(status) :
												      0;
		if (ptrace(PTRACE_CONT, tid, NULL, (void *)(long)sig) < 0)
			return -errno;
	}
}

/* Puts the thread, which ran for the injections, back into a PTRACE_EVENT_STOP. */
static int restop(struct query_thread *qt)
{
	pid_t tid = qt->inj.pid;
	int sig = 0, ret;

	if (qt->inj.stop_signal && qt->inj.stop_signal != SIGTRAP)
		sig = qt->inj.stop_signal; /* stopped in a signal-delivery stop: the signal goes on */
	else if (qt->deferred_stop)
		sig = qt->deferred_stop;
	if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0) {
		pr_perror("Can't interrupt thread %d", tid);
		return -errno;
	}
	ret = wait_event_stop(tid, sig);
	if (ret)
		pr_err("thread %d did not stop again: %s\n", tid, strerror(-ret));
	return ret;
}

/*
 * Sets the registers and signal mask of the thread back and, if it ran, puts
 * it back into a PTRACE_EVENT_STOP: on the way there the kernel handles the
 * registers as at the original stop (an interrupted syscall's -ERESTART* code
 * restarts it when the thread resumes).
 */
static int thread_leave(struct query_thread *qt)
{
	pid_t tid = qt->inj.pid;
	int ret, mret;

	/* Each one even when the other fails: a thread left with every signal blocked is deaf. */
	ret = compel_set_gpregs(tid, &qt->regs);
	if (ret)
		pr_err("can't set the registers of thread %d back: %s\n", tid, strerror(-ret));
	mret = compel_set_sigmask(tid, qt->sigmask);
	if (mret)
		pr_err("can't set the signal mask of thread %d back: %s\n", tid, strerror(-mret));
	if (ret || mret)
		return ret ?: mret;
	if (qt->moved) {
		ret = restop(qt);
		if (ret)
			return ret;
	}
	if (ptrace(PTRACE_SETOPTIONS, tid, NULL, NULL) < 0) {
		pr_perror("Can't clear the ptrace options of thread %d", tid);
		return -errno;
	}
	return 0;
}

static int query_thread(struct query_ctx *ctx, struct query_thread *qt, struct task_query_thread *t)
{
	long res;
	int ret;

	ret = call_ok(qt, &res, SYS_sigaltstack, 2, 0, ctx->scratch + OFF_SAS, 0, 0, 0);
	if (!ret)
		ret = call_ok(qt, &res, SYS_prctl, 2, PR_GET_TID_ADDRESS, ctx->scratch + OFF_TID_ADDR, 0, 0, 0);
	if (!ret)
		ret = call_ok(qt, &res, SYS_prctl, 2, PR_GET_PDEATHSIG, ctx->scratch + OFF_PDEATH, 0, 0, 0);
	if (!ret)
		ret = call_ok(qt, &res, SYS_prctl, 1, PR_GET_SECUREBITS, 0, 0, 0, 0);
	if (ret)
		return ret;
	t->securebits = (uint32_t)res;
	ret = read_scratch(ctx, OFF_SAS, OFF_PDEATH + sizeof(int) - OFF_SAS);
	if (!ret) {
		stack_t ss;
		int pdeath;

		memcpy(&ss, ctx->page + OFF_SAS, sizeof(ss));
		memcpy(&t->clear_tid, ctx->page + OFF_TID_ADDR, sizeof(t->clear_tid));
		memcpy(&pdeath, ctx->page + OFF_PDEATH, sizeof(pdeath));
		t->ss_sp = (uint64_t)(uintptr_t)ss.ss_sp;
		t->ss_size = ss.ss_size;
		t->ss_flags = (uint32_t)ss.ss_flags;
		t->pdeath_sig = (uint32_t)pdeath;
	}
	return ret;
}

/* Dispositions, child subreaper, dumpable flag, brk and itimers: the process's own. */
static int query_process(struct query_ctx *ctx, struct query_thread *qt, struct task_query *q)
{
	long res;
	int ret = 0;

	for (int sig = 1; !ret && sig <= TASK_QUERY_SIGMAX; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			ret = call_ok(qt, &res, SYS_rt_sigaction, 4, (uint64_t)sig, 0,
				      ctx->scratch + OFF_SA + (uint64_t)(sig - 1) * sizeof(q->sa[0]), sizeof(uint64_t),
				      0);
	for (int which = 0; !ret && which < 3; which++)
		ret = call_ok(qt, &res, SYS_getitimer, 2, (uint64_t)which,
			      ctx->scratch + OFF_ITIMER + (uint64_t)which * sizeof(struct itimerval), 0, 0, 0);
	if (!ret)
		ret = call_ok(qt, &res, SYS_prctl, 2, PR_GET_CHILD_SUBREAPER, ctx->scratch + OFF_SUBREAPER, 0, 0, 0);
	if (!ret)
		ret = call_ok(qt, &res, SYS_prctl, 1, PR_GET_DUMPABLE, 0, 0, 0, 0);
	if (ret)
		return ret;
	q->dumpable = (int)res;
	ret = call_ok(qt, &res, SYS_brk, 1, 0, 0, 0, 0, 0);
	if (ret)
		return ret;
	q->brk = (uint64_t)res;
	ret = read_scratch(ctx, 0, OFF_SUBREAPER + sizeof(int));
	if (!ret) {
		int subreaper;

		memcpy(q->sa, ctx->page + OFF_SA, sizeof(q->sa));
		memcpy(q->itimers, ctx->page + OFF_ITIMER, sizeof(q->itimers));
		memcpy(&subreaper, ctx->page + OFF_SUBREAPER, sizeof(subreaper));
		q->child_subreaper = subreaper != 0;
	}
	return ret;
}

static int add_timer(struct task_query *q, int32_t id)
{
	struct task_query_timer *t = realloc(q->timers, (q->nr_timers + 1) * sizeof(*t));

	if (!t)
		return -ENOMEM;
	q->timers = t;
	t += q->nr_timers++;
	memset(t, 0, sizeof(*t));
	t->id = id;
	return 0;
}

/* "notify: signal/pid.N", "notify: none/tid.N"... */
static int parse_notify(const char *val, struct task_query_timer *t)
{
	char how[16], whom[8];
	int id;

	if (sscanf(val, "%15[a-z]/%7[a-z].%d", how, whom, &id) != 3)
		return -EINVAL;
	if (!strcmp(how, "signal"))
		t->notify = SIGEV_SIGNAL;
	else if (!strcmp(how, "none"))
		t->notify = SIGEV_NONE;
	else if (!strcmp(how, "thread"))
		t->notify = SIGEV_THREAD;
	else
		return -EINVAL;
	if (!strcmp(whom, "tid")) {
		t->notify |= SIGEV_THREAD_ID;
		t->notify_tid = id;
	}
	return 0;
}

static int parse_timer_line(struct task_query *q, const char *line)
{
	struct task_query_timer *t = q->nr_timers ? &q->timers[q->nr_timers - 1] : NULL;
	unsigned long long sival;
	int v;

	if (sscanf(line, "ID: %d", &v) == 1)
		return add_timer(q, v);
	if (!t)
		return -EINVAL;
	if (sscanf(line, "signal: %d/%llx", &v, &sival) == 2) {
		t->signo = v, t->sival = sival;
		return 0;
	}
	if (!strncmp(line, "notify: ", 8))
		return parse_notify(line + 8, t);
	if (sscanf(line, "ClockID: %d", &v) == 1) {
		t->clock_id = v;
		return 0;
	}
	return 0; /* a line of a newer kernel */
}

static int timer_cmp(const void *a, const void *b)
{
	const struct task_query_timer *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

/* The POSIX timers /proc/PID/timers lists (newest first), in the order of their ids. */
static int parse_timers(pid_t pid, struct task_query *q)
{
	char path[64], line[256];
	int ret = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/timers", pid);
	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return 0; /* a kernel without CONFIG_CHECKPOINT_RESTORE: no timers to see */
		pr_perror("Can't open %s", path);
		return -errno;
	}
	while (!ret && fgets(line, sizeof(line), f))
		ret = parse_timer_line(q, line);
	fclose(f);
	if (ret)
		pr_err("can't parse %s: %s\n", path, strerror(-ret));
	else if (q->nr_timers > 1)
		qsort(q->timers, q->nr_timers, sizeof(*q->timers), timer_cmp);
	return ret;
}

/* timer_gettime and timer_getoverrun of every timer, a batch per read of the scratch page. */
static int query_timers(struct query_ctx *ctx, struct query_thread *qt, struct task_query *q)
{
	for (size_t first = 0; first < q->nr_timers; first += TIMER_BATCH) {
		size_t n = q->nr_timers - first < TIMER_BATCH ? q->nr_timers - first : TIMER_BATCH;
		long res;
		int ret;

		for (size_t i = 0; i < n; i++) {
			struct task_query_timer *t = &q->timers[first + i];

			ret = call_ok(qt, &res, SYS_timer_gettime, 2, (uint64_t)t->id,
				      ctx->scratch + OFF_TIMERS + i * sizeof(struct itimerspec), 0, 0, 0);
			if (!ret)
				ret = call_ok(qt, &res, SYS_timer_getoverrun, 1, (uint64_t)t->id, 0, 0, 0, 0);
			if (ret)
				return ret;
			t->overrun = (int32_t)res;
		}
		ret = read_scratch(ctx, OFF_TIMERS, n * sizeof(struct itimerspec));
		if (ret)
			return ret;
		for (size_t i = 0; i < n; i++) {
			struct itimerspec its;

			memcpy(&its, ctx->page + OFF_TIMERS + i * sizeof(its), sizeof(its));
			q->timers[first + i].interval = its.it_interval;
			q->timers[first + i].value = its.it_value;
		}
	}
	return 0;
}

/* Every other thread, entered and left one at a time while the leader holds the scratch page. */
static int query_threads(struct query_ctx *ctx, const pid_t *tids, struct task_query *q)
{
	for (size_t i = 1; i < q->nr_threads; i++) {
		struct query_thread qt;
		int ret, lret;

		q->threads[i].tid = tids[i];
		ret = thread_enter(ctx, tids[i], &qt);
		if (ret)
			return ret;
		ret = query_thread(ctx, &qt, &q->threads[i]);
		lret = thread_leave(&qt);
		if (ret || lret)
			return ret ?: lret;
	}
	return 0;
}

/* With the leader entered: maps the scratch page, asks everything, unmaps it. */
static int query_all(struct query_ctx *ctx, struct query_thread *lead, const pid_t *tids, struct task_query *q)
{
	long res;
	int ret, uret;

	ret = call_ok(lead, &res, SYS_mmap, 6, 0, SCRATCH_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		      (uint64_t)-1);
	if (ret)
		return ret;
	ctx->scratch = (uint64_t)res;
	q->threads[0].tid = tids[0];
	ret = query_process(ctx, lead, q);
	if (!ret)
		ret = query_thread(ctx, lead, &q->threads[0]);
	if (!ret)
		ret = query_timers(ctx, lead, q);
	if (!ret)
		ret = query_threads(ctx, tids, q);
	lead->guard = NULL; /* undoing: never given up */
	uret = call_ok(lead, &res, SYS_munmap, 2, ctx->scratch, SCRATCH_SIZE, 0, 0, 0);
	return ret ?: uret;
}

int task_query_collect(pid_t pid, const pid_t *tids, size_t nr, const struct dump_guard *guard, struct task_query *q)
{
	struct query_thread lead;
	struct query_ctx *ctx;
	char path[64];
	int ret, lret;

	memset(q, 0, sizeof(*q));
	q->dumpable = -1;
	if (!nr || tids[0] != pid)
		return -EINVAL;
	q->threads = calloc(nr, sizeof(*q->threads));
	ctx = calloc(1, sizeof(*ctx));
	if (!q->threads || !ctx) {
		free(ctx);
		return -ENOMEM;
	}
	q->nr_threads = nr;
	ctx->pid = pid;
	ctx->guard = guard;
	ret = parse_timers(pid, q);
	if (ret)
		goto out_free;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	ctx->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (ctx->mem_fd < 0) {
		ret = -errno;
		pr_perror("Can't open %s", path);
		goto out_free;
	}
	ret = compel_get_gpregs(pid, &lead.regs);
	if (!ret)
		ret = find_syscall_ip(ctx, &lead.regs);
	if (!ret)
		ret = thread_enter(ctx, pid, &lead);
	if (ret)
		goto out_close;
	ret = query_all(ctx, &lead, tids, q);
	lret = thread_leave(&lead);
	ret = ret ?: lret;
	if (!ret)
		pr_info("process %d: %zu thread(s), %zu POSIX timer(s) asked by injection\n", pid, nr, q->nr_timers);
out_close:
	close(ctx->mem_fd);
out_free:
	free(ctx);
	return ret;
}

void task_query_fini(struct task_query *q)
{
	free(q->timers);
	free(q->threads);
	memset(q, 0, sizeof(*q));
}

const struct task_query_thread *task_query_thread(const struct task_query *q, pid_t tid)
{
	for (size_t i = 0; i < q->nr_threads; i++)
		if (q->threads[i].tid == tid)
			return &q->threads[i];
	return NULL;
}
