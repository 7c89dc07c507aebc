/*
 * compel's tree freezer and register readers on real processes: a tree with a
 * multi-threaded root, a running grandchild and a zombie is seized completely
 * and stays still; each spinning thread's rax and xmm0 read back as the values
 * it loaded; release lets everything run on. Also: a stopped process, a process
 * that creates threads without pause, a process that can't stop before the
 * timeout (stuck in vfork) and a pid that doesn't exist.
 * Exit 0 pass, 1 fail, 77 skip.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "ngutil.h"
#include "regs.h"
#include "seize.h"

#define NR_SPINNERS 3
#define RAX_MAGIC 0x5eed000000ull

struct shared {
	atomic_int ready;
	pid_t grandchild;
	pid_t zombie;
	pid_t tids[NR_SPINNERS];
	uint64_t counters[NR_SPINNERS];
	unsigned char patterns[NR_SPINNERS][16];
};

struct spinner_arg {
	struct shared *sh;
	int idx;
};

static int failures;

#define check(cond, fmt, ...)                                                                        \
	do {                                                                                         \
		if (!(cond)) {                                                                       \
			fprintf(stderr, "FAIL %s:%d: " fmt "\n", __FILE__, __LINE__, ##__VA_ARGS__); \
			failures++;                                                                  \
		}                                                                                    \
	} while (0)

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Loads rax and xmm0 with known values, then counts forever without touching them. */
static void *spinner(void *p)
{
	struct spinner_arg *arg = p;
	uint64_t magic = RAX_MAGIC + arg->idx;

	arg->sh->tids[arg->idx] = gettid();
	asm volatile("movq %0, %%rax\n\t"
		     "movdqu (%1), %%xmm0\n\t"
		     "1: lock incq (%2)\n\t"
		     "jmp 1b\n\t"
		     :
		     : "r"(magic), "r"(arg->sh->patterns[arg->idx]), "r"(&arg->sh->counters[arg->idx])
		     : "rax", "xmm0", "memory");
	return NULL;
}

static void victim_main(struct shared *sh)
{
	static struct spinner_arg args[NR_SPINNERS];
	pthread_t th;
	pid_t pid;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	sh->grandchild = pid;
	pid = fork();
	if (pid == 0)
		_exit(0); /* stays a zombie: nobody waits for it */
	sh->zombie = pid;
	for (int i = 0; i < NR_SPINNERS; i++) {
		args[i] = (struct spinner_arg){ sh, i };
		if (pthread_create(&th, NULL, spinner, &args[i]))
			_exit(2);
	}
	while (!sh->tids[NR_SPINNERS - 1] || !sh->counters[NR_SPINNERS - 1])
		sleep_ms(1);
	atomic_store(&sh->ready, 1);
	for (;;)
		pause();
}

static bool counters_move(struct shared *sh)
{
	uint64_t before[NR_SPINNERS];
	bool moved = true;

	memcpy(before, sh->counters, sizeof(before));
	sleep_ms(50);
	for (int i = 0; i < NR_SPINNERS; i++)
		moved &= sh->counters[i] != before[i];
	return moved;
}

static const struct compel_task *find_task(const struct compel_tree *tree, pid_t pid)
{
	for (size_t i = 0; i < tree->nr_tasks; i++)
		if (tree->tasks[i].pid == pid)
			return &tree->tasks[i];
	return NULL;
}

static void check_registers(struct shared *sh)
{
	size_t xsize = compel_xstate_size(), got = 0;
	unsigned char *xbuf = calloc(1, xsize ? xsize : 1);

	for (int i = 0; i < NR_SPINNERS; i++) {
		struct user_regs_struct regs;
		struct user_fpregs_struct fp;
		int ret;

		ret = compel_get_gpregs(sh->tids[i], &regs);
		check(!ret && regs.rax == RAX_MAGIC + i, "thread %d: gpregs %d, rax %llx", i, ret, regs.rax);
		ret = compel_get_fpregs(sh->tids[i], &fp);
		check(!ret && !memcmp(fp.xmm_space, sh->patterns[i], 16), "thread %d: fpregs %d, xmm0 differs", i, ret);
		if (!xsize || !xbuf)
			continue;
		ret = compel_get_xstate(sh->tids[i], xbuf, xsize, &got);
		/* xmm0 sits at byte 160 of the legacy area that starts every xsave image. */
		check(!ret && got >= 576 && !memcmp(xbuf + 160, sh->patterns[i], 16),
		      "thread %d: xstate %d, %zu bytes, xmm0 differs", i, ret, got);
	}
	free(xbuf);
}

static void test_tree(void)
{
	struct shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct compel_tree tree = {};
	const struct compel_task *t;
	pid_t victim;
	int ret;

	if (sh == MAP_FAILED) {
		check(0, "mmap: %m");
		return;
	}
	for (int i = 0; i < NR_SPINNERS; i++)
		for (int j = 0; j < 16; j++)
			sh->patterns[i][j] = (unsigned char)(0x40 + 16 * i + j);
	victim = fork();
	if (victim == 0)
		victim_main(sh);
	while (!atomic_load(&sh->ready))
		sleep_ms(1);
	check(counters_move(sh), "spinners don't run before the seize");

	ret = compel_tree_seize(&tree, victim, 5000);
	check(!ret, "seize: %d", ret);
	if (ret)
		goto out_kill;
	check(tree.nr_tasks == 3, "%zu tasks in the tree, expected 3", tree.nr_tasks);
	t = find_task(&tree, victim);
	check(t && t->nr_threads == 1 + NR_SPINNERS, "root has %zu threads", t ? t->nr_threads : 0);
	t = find_task(&tree, sh->grandchild);
	check(t && t->nr_threads == 1 && t->ppid == victim, "running grandchild not seized");
	t = find_task(&tree, sh->zombie);
	check(t && t->zombie && !t->nr_threads, "zombie child not recorded as such");
	check(!counters_move(sh), "spinners still run after the seize");

	check_registers(sh);

	ret = compel_tree_release(&tree);
	check(!ret, "release: %d", ret);
	check(counters_move(sh), "spinners don't run after the release");
out_kill:
	kill(victim, SIGKILL);
	waitpid(victim, NULL, 0);
	munmap(sh, sizeof(*sh));
}

static char proc_state(pid_t pid)
{
	char path[64], buf[256], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return '?';
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	return p ? p[2] : '?';
}

/* A stopped process is seized without waiting for it to run, and stays stopped. */
static void test_stopped(void)
{
	struct compel_tree tree = {};
	pid_t pid = fork();
	int ret;

	if (pid == 0) {
		for (;;)
			pause();
	}
	kill(pid, SIGSTOP);
	for (int i = 0; i < 1000 && proc_state(pid) != 'T'; i++)
		sleep_ms(1);
	ret = compel_tree_seize(&tree, pid, 2000);
	check(!ret && tree.nr_tasks == 1 && tree.tasks[0].nr_threads == 1, "stopped process: seize %d", ret);
	if (!ret)
		check(!compel_tree_release(&tree), "stopped process: release");
	sleep_ms(20);
	check(proc_state(pid) == 'T', "stopped process runs after release: state %c", proc_state(pid));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void *short_lived(void *arg)
{
	return arg;
}

/* Threads come and go without pause: the seize still converges and holds every live thread. */
static void test_thread_churn(void)
{
	struct compel_tree tree = {};
	char path[64];
	pid_t pid;
	int ret;

	pid = fork();
	if (pid == 0) {
		for (;;) {
			pthread_t th;

			if (!pthread_create(&th, NULL, short_lived, NULL))
				pthread_join(th, NULL);
		}
	}
	sleep_ms(50);
	ret = compel_tree_seize(&tree, pid, 5000);
	check(!ret, "thread churn: seize %d", ret);
	if (!ret) {
		size_t live = 0;
		DIR *dir;
		struct dirent *de;

		snprintf(path, sizeof(path), "/proc/%d/task", pid);
		dir = opendir(path);
		while (dir && (de = readdir(dir)))
			live += de->d_name[0] != '.';
		if (dir)
			closedir(dir);
		check(live == compel_tree_nr_threads(&tree), "thread churn: %zu live threads, %zu seized", live,
		      compel_tree_nr_threads(&tree));
		check(!compel_tree_release(&tree), "thread churn: release");
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* TracerPid of @pid from /proc/PID/status, -1 if it can't be read. */
static int tracer_pid(pid_t pid)
{
	char path[64], line[256];
	int tracer = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "TracerPid: %d", &tracer) == 1)
			break;
	fclose(f);
	return tracer;
}

/*
 * A process that waits, in state D, for a child that sleeps @child_ms then exits: made with vfork()
 * (@share_vm, the child shares its memory) or clone(CLONE_VFORK) without CLONE_VM. Its pid.
 */
static pid_t start_vfork_parent(bool share_vm, long child_ms)
{
	pid_t pid = fork();

	if (pid == 0) {
		for (;;) {
			pid_t c = share_vm ? vfork() :
					     (pid_t)syscall(SYS_clone, CLONE_VFORK | SIGCHLD, NULL, NULL, NULL, 0);

			if (c == 0) {
				struct timespec ts = { .tv_sec = child_ms / 1000,
						       .tv_nsec = child_ms % 1000 * 1000000L };

				nanosleep(&ts, NULL);
				_exit(0);
			}
			pause();
		}
	}
	for (int i = 0; i < 1000 && proc_state(pid) != 'D'; i++)
		sleep_ms(1);
	check(proc_state(pid) == 'D', "vfork parent in state %c, not D", proc_state(pid));
	return pid;
}

/* After a failed seize of @pid: detached at once, and running untraced once its child exited. */
static void check_let_go(const struct compel_tree *tree, pid_t pid)
{
	check(!tree->err.untrace_error, "the thread could not be detached: %d", tree->err.untrace_error);
	check(tracer_pid(pid) == 0, "after the failed seize, process %d is traced by %d", pid, tracer_pid(pid));
	for (int i = 0; i < 2000 && proc_state(pid) != 'S'; i++)
		sleep_ms(1);
	check(proc_state(pid) == 'S' && tracer_pid(pid) == 0, "process %d in state %c, traced by %d after its vfork",
	      pid, proc_state(pid), tracer_pid(pid));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/*
 * --timeout bounds the freeze: a process stuck in clone(CLONE_VFORK) without
 * CLONE_VM (state D, deaf to PTRACE_INTERRUPT until its child exits, but no
 * vfork() sharing its memory: see test_vfork()) fails the seize with -ETIMEDOUT
 * once the deadline is past, naming the thread and its state, not when the
 * child exits; once it can stop, it is detached, not left traced.
 */
static void test_timeout(void)
{
	struct compel_tree tree = {};
	pid_t pid = start_vfork_parent(false, 900);
	int64_t start = (int64_t)ng_now_ms(), elapsed;
	int ret;

	ret = compel_tree_seize(&tree, pid, 200);
	elapsed = (int64_t)ng_now_ms() - start;
	check(ret == -ETIMEDOUT, "seize of a process in vfork: %d, not -ETIMEDOUT", ret);
	check(tree.err.tid == pid && tree.err.state == 'D', "timeout names thread %d in state %c", tree.err.tid,
	      tree.err.state);
	check(elapsed < 200 + COMPEL_UNTRACE_WAIT_MS, "seize with a 200 ms timeout took %lld ms", (long long)elapsed);
	check_let_go(&tree, pid);
}

/*
 * A process stuck in vfork() for more than a second (state D, deaf to
 * PTRACE_INTERRUPT until its child, which shares its memory, exits) fails the
 * seize with -EBUSY then, well before the 10 s deadline and not when the child
 * exits, naming the thread, its state and the child; once it can stop (the
 * child exits at 2.5 s), it is detached, not left traced.
 */
static void test_vfork(void)
{
	struct compel_tree tree = {};
	pid_t pid = start_vfork_parent(true, 2500);
	int64_t start = (int64_t)ng_now_ms(), elapsed;
	int ret;

	ret = compel_tree_seize(&tree, pid, 10000);
	elapsed = (int64_t)ng_now_ms() - start;
	check(ret == -EBUSY, "seize of a process in vfork: %d, not -EBUSY", ret);
	check(tree.err.tid == pid && tree.err.state == 'D' && tree.err.vfork_child > 0 && tree.err.vfork_child != pid,
	      "the failure names thread %d in state %c, child %d", tree.err.tid, tree.err.state, tree.err.vfork_child);
	check(elapsed >= 900 && elapsed < 1500 + COMPEL_UNTRACE_WAIT_MS, "seize of a process in vfork took %lld ms",
	      (long long)elapsed);
	check_let_go(&tree, pid);
}

static void test_missing(void)
{
	struct compel_tree tree = {};
	int ret = compel_tree_seize(&tree, 0x7ffffff0, 1000);

	check(ret == -ESRCH, "seize of a missing pid: %d", ret);
}

static bool can_ptrace(void)
{
	pid_t pid = fork();
	bool ok;

	if (pid == 0) {
		for (;;)
			pause();
	}
	ok = ptrace(PTRACE_SEIZE, pid, NULL, NULL) == 0;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return ok;
}

int main(void)
{
	alarm(120);
	if (!can_ptrace()) {
		fprintf(stderr, "SKIP: ptrace not permitted here\n");
		return 77;
	}
	test_tree();
	test_stopped();
	test_thread_churn();
	test_timeout();
	test_vfork();
	test_missing();
	if (failures) {
		fprintf(stderr, "seize: %d failures\n", failures);
		return 1;
	}
	printf("seize: all passed\n");
	return 0;
}
