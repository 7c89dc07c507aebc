/*
 * criu dump: what only the task itself can tell, asked by syscalls injected
 * into the frozen threads with compel: signal dispositions (rt_sigaction),
 * sigaltstack, clear-child-tid address, pdeath signal, securebits,
 * child-subreaper, dumpable flag, brk, itimers and the values of POSIX timers (their ids,
 * signals and notification come from /proc/PID/timers).
 *
 * Each thread is injected with every signal blocked, its registers and mask
 * saved before and set back after; it is then put back into the same
 * PTRACE_EVENT_STOP it was in (PTRACE_INTERRUPT again), so a syscall it was
 * blocked in restarts exactly as it would have. A scratch page is mapped in
 * the process for the results and unmapped at the end. The dump can be given
 * up (dump-guard.h) before each syscall: everything is then set back just the
 * same.
 */
#ifndef CRIU_NG_TASK_QUERY_H
#define CRIU_NG_TASK_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>

struct dump_guard;

/* Signals 1 to 64: dispositions are recorded for all but SIGKILL and SIGSTOP. */
#define TASK_QUERY_SIGMAX 64

/* The kernel's struct sigaction for rt_sigaction(2) on x86-64. */
struct task_query_sigaction {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};

/* What each thread has of its own. */
struct task_query_thread {
	pid_t tid;
	uint64_t clear_tid;
	uint64_t ss_sp;
	uint64_t ss_size;
	uint32_t ss_flags;
	uint32_t pdeath_sig;
	uint32_t securebits;
};

/* One POSIX timer: /proc/PID/timers and timer_gettime/timer_getoverrun. */
struct task_query_timer {
	int32_t id;
	int32_t clock_id;
	int32_t signo;
	int32_t notify; /* SIGEV_*, SIGEV_THREAD_ID included */
	int32_t notify_tid;
	uint64_t sival;
	int32_t overrun;
	struct timespec interval;
	struct timespec value;
};

struct task_query {
	struct task_query_sigaction sa[TASK_QUERY_SIGMAX]; /* sa[sig - 1] */
	uint64_t brk;
	bool child_subreaper;
	/* Set by the dump, not asked: thread vfork_tid was in vfork() until this child (dump-vfork.h), or 0. */
	pid_t vfork_child;
	pid_t vfork_tid;
	int dumpable; /* PR_GET_DUMPABLE (0, 1 or 2; the kernel clears it when credentials change), -1 unknown */
	struct itimerval itimers[3]; /* ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF */
	struct task_query_timer *timers;
	size_t nr_timers;
	struct task_query_thread *threads; /* in the order of the tids given */
	size_t nr_threads;
};

/*
 * Asks the ptrace-stopped (PTRACE_EVENT_STOP) threads @tids of process @pid
 * (@tids[0] is @pid) into @q, zeroed here. Every thread is left in the stop it
 * was in, registers and signal mask unchanged, also when @guard (NULL: never)
 * gives the dump up halfway (-ECANCELED). Returns 0 or -errno (logged);
 * task_query_fini() frees what @q holds in any case.
 */
__attribute__((warn_unused_result)) int task_query_collect(pid_t pid, const pid_t *tids, size_t nr,
							   const struct dump_guard *guard, struct task_query *q);
void task_query_fini(struct task_query *q);

/* The entry of thread @tid in @q, NULL if there is none. */
const struct task_query_thread *task_query_thread(const struct task_query *q, pid_t tid);

#endif /* CRIU_NG_TASK_QUERY_H */
