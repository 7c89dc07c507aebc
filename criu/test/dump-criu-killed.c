/*
 * criu dump killed halfway: SIGKILL sent to criu, or to criu's whole process
 * group, at many points of a dump must leave the process as it was. The victim
 * is a child with four threads and a region of patterned memory (1 GiB for the
 * big one): a thread spinning on a counter, a thread checking that a syscall
 * keeps every register it must keep (values in rbx, rdx, rsi, rdi, r8-r10,
 * r12-r15 around getppid), a thread in FUTEX_WAIT that must never see EINTR,
 * and the main thread in pause() with SIGUSR1 and SIGTERM handlers; each thread
 * has a signal mask of its own. The two busy threads rest 1 ms after each
 * burst (the machine is shared), so they are caught both running and asleep.
 *
 * The small victim (64 MiB) is dumped once in full with --leave-running (it
 * must run on intact; the log's timestamps are shown), then criu is killed 0
 * to 40 ms (then 50, 70 and 100 ms) after it starts, by pid and by process
 * group in turn. The big one is dumped without --leave-running, so a dump that
 * went on after criu's death would kill it: criu is killed 2 to 8 ms after it
 * starts, then 0 to 6 ms after the log says the process is frozen (while
 * syscalls run inside its threads), and 10 and 40 ms after it says the
 * injected syscalls are done (while the memory is copied). Last, criu gets
 * SIGTERM, then SIGINT, 1 ms after the freeze: it must hand them on to the
 * dump, wait for it to give up and exit 1 itself, leaving nothing behind.
 *
 * After each kill the test (a child subreaper, so it inherits anything criu
 * left) waits for every process criu left behind to end, then checks that the
 * victim is alive, not traced (TracerPid 0), no thread stopped, every thread's
 * SigBlk as before the dump, and asks it (SIGUSR1) to check itself: the
 * counters advance, no register changed across a syscall, no futex wait
 * failed. A broken victim is replaced by a new one and counted. At the end
 * SIGTERM must run the handler of each victim, which wakes the futex thread,
 * checks its whole memory against the checksum of its pattern and exits 0.
 *
 * CRIU_TEST_KILL_BIG_MIB sets the size of the big victim (default 1024).
 * timeout: 180
 */
#include <linux/futex.h>
#include <stdatomic.h>

#include "dump-test.h"

#define SMALL_MIB 64
#define BIG_MIB 1024
#define NR_THREADS 4
#define WORKER_WAIT_MS 10000
#define MARKER_WAIT_MS 5000
#define ANSWER_WAIT_MS 3000
#define SPIN_BURST 50000 /* increments between two rests of the spinning thread */
#define REGS_BURST 2000	 /* syscalls between two rests of the register thread */

/* Exit codes of a victim at SIGTERM, or-ed: what it found wrong with itself. */
#define BAD_SPIN 0x01
#define BAD_REGS 0x02
#define BAD_FUTEX 0x04
#define BAD_WAKE 0x08
#define BAD_MEMORY 0x10

/* Written to the FIFO by SIGUSR1: all is well, or not. */
#define ANSWER_OK 'O'
#define ANSWER_BAD 'F'

/* In the victim: set up before its threads and handlers start, then only its counters change. */
struct victim_state {
	const uint64_t *mem;
	size_t words;
	uint64_t sum; /* of the pattern, computed when it was written */
	const char *fifo;
	_Atomic uint64_t spins;
	_Atomic uint64_t reg_rounds;
	_Atomic uint64_t reg_bad;
	_Atomic uint32_t wake; /* the futex word */
	_Atomic uint64_t futex_bad;
	_Atomic int futex_done;
	_Atomic int started;
};

/* The victim's signal handlers reach its state through this: set once, before they are installed. */
static struct victim_state *victim;

static uint64_t pattern_word(size_t i)
{
	uint64_t x = (uint64_t)i * 0x9e3779b97f4a7c15ull;

	return x ^ (x >> 29) ^ 0x5eed5eed5eed5eedull;
}

static uint64_t pattern_sum(const uint64_t *mem, size_t words)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < words; i++)
		sum += mem[i] ^ (uint64_t)i;
	return sum;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Blocks @a and @b (and SIGTERM, SIGUSR1: they are the main thread's) in the calling thread. */
static void block_own(int a, int b)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, a);
	sigaddset(&set, b);
	if (pthread_sigmask(SIG_SETMASK, &set, NULL))
		_exit(2);
	atomic_fetch_add(&victim->started, 1);
}

static void *spin_thread(void *arg)
{
	(void)arg;
	block_own(SIGHUP, SIGRTMIN + 1);
	for (;;) {
		for (int i = 0; i < SPIN_BURST; i++)
			atomic_fetch_add_explicit(&victim->spins, 1, memory_order_relaxed);
		sleep_ms(1);
	}
	return NULL;
}

/*
 * One getppid(2) with known values in every register the kernel keeps across a
 * syscall; returns the bits of them that changed.
 */
static uint64_t regs_round(void)
{
	uint64_t bad = SYS_getppid;

	__asm__ volatile("movabs $0x0101010101010101, %%rbx\n\t"
			 "movabs $0x0202020202020202, %%rdx\n\t"
			 "movabs $0x0303030303030303, %%rsi\n\t"
			 "movabs $0x0404040404040404, %%rdi\n\t"
			 "movabs $0x0808080808080808, %%r8\n\t"
			 "movabs $0x0909090909090909, %%r9\n\t"
			 "movabs $0x0a0a0a0a0a0a0a0a, %%r10\n\t"
			 "movabs $0x0c0c0c0c0c0c0c0c, %%r12\n\t"
			 "movabs $0x0d0d0d0d0d0d0d0d, %%r13\n\t"
			 "movabs $0x0e0e0e0e0e0e0e0e, %%r14\n\t"
			 "movabs $0x0f0f0f0f0f0f0f0f, %%r15\n\t"
			 "syscall\n\t"
			 "movabs $0x0101010101010101, %%rcx\n\t"
			 "xor %%rcx, %%rbx\n\t"
			 "movabs $0x0202020202020202, %%rcx\n\t"
			 "xor %%rcx, %%rdx\n\t"
			 "or %%rdx, %%rbx\n\t"
			 "movabs $0x0303030303030303, %%rcx\n\t"
			 "xor %%rcx, %%rsi\n\t"
			 "or %%rsi, %%rbx\n\t"
			 "movabs $0x0404040404040404, %%rcx\n\t"
			 "xor %%rcx, %%rdi\n\t"
			 "or %%rdi, %%rbx\n\t"
			 "movabs $0x0808080808080808, %%rcx\n\t"
			 "xor %%rcx, %%r8\n\t"
			 "or %%r8, %%rbx\n\t"
			 "movabs $0x0909090909090909, %%rcx\n\t"
			 "xor %%rcx, %%r9\n\t"
			 "or %%r9, %%rbx\n\t"
			 "movabs $0x0a0a0a0a0a0a0a0a, %%rcx\n\t"
			 "xor %%rcx, %%r10\n\t"
			 "or %%r10, %%rbx\n\t"
			 "movabs $0x0c0c0c0c0c0c0c0c, %%rcx\n\t"
			 "xor %%rcx, %%r12\n\t"
			 "or %%r12, %%rbx\n\t"
			 "movabs $0x0d0d0d0d0d0d0d0d, %%rcx\n\t"
			 "xor %%rcx, %%r13\n\t"
			 "or %%r13, %%rbx\n\t"
			 "movabs $0x0e0e0e0e0e0e0e0e, %%rcx\n\t"
			 "xor %%rcx, %%r14\n\t"
			 "or %%r14, %%rbx\n\t"
			 "movabs $0x0f0f0f0f0f0f0f0f, %%rcx\n\t"
			 "xor %%rcx, %%r15\n\t"
			 "or %%r15, %%rbx\n\t"
			 "mov %%rbx, %%rax\n\t"
			 : "+a"(bad)
			 :
			 : "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
			   "memory");
	return bad;
}

static void *regs_thread(void *arg)
{
	(void)arg;
	block_own(SIGINT, SIGRTMIN + 2);
	for (;;) {
		for (int i = 0; i < REGS_BURST; i++) {
			if (regs_round())
				atomic_fetch_add(&victim->reg_bad, 1);
			atomic_fetch_add_explicit(&victim->reg_rounds, 1, memory_order_relaxed);
		}
		sleep_ms(1);
	}
	return NULL;
}

/* Waits on the futex word until it is set; any failure but EAGAIN (EINTR included) is counted. */
static void *futex_thread(void *arg)
{
	(void)arg;
	block_own(SIGQUIT, SIGRTMIN + 3);
	while (!atomic_load(&victim->wake)) {
		long r = syscall(SYS_futex, (uint32_t *)&victim->wake, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);

		if (r < 0 && errno != EAGAIN)
			atomic_fetch_add(&victim->futex_bad, 1);
	}
	atomic_store(&victim->futex_done, 1);
	for (;;)
		pause();
	return NULL;
}

/* Both counters advance (within 2 s) and nothing went wrong yet: 0, else BAD_* bits. */
static int victim_check_threads(void)
{
	uint64_t spins = atomic_load(&victim->spins), rounds = atomic_load(&victim->reg_rounds);
	int bad = BAD_SPIN | BAD_REGS;

	for (int i = 0; i < 200 && (bad & (BAD_SPIN | BAD_REGS)); i++) {
		sleep_ms(10);
		if (atomic_load(&victim->spins) != spins)
			bad &= ~BAD_SPIN;
		if (atomic_load(&victim->reg_rounds) != rounds)
			bad &= ~BAD_REGS;
	}
	if (atomic_load(&victim->reg_bad))
		bad |= BAD_REGS;
	if (atomic_load(&victim->futex_bad))
		bad |= BAD_FUTEX;
	return bad;
}

static void victim_on_usr1(int sig)
{
	(void)sig;
	if (dump_child_answer(victim->fifo, victim_check_threads() ? ANSWER_BAD : ANSWER_OK))
		_exit(3);
}

/* The last check: threads, the futex thread woken (no EINTR on its way), the whole memory. */
static void victim_on_term(int sig)
{
	int bad = victim_check_threads();

	(void)sig;
	atomic_store(&victim->wake, 1);
	syscall(SYS_futex, (uint32_t *)&victim->wake, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	for (int i = 0; i < 200 && !atomic_load(&victim->futex_done); i++)
		sleep_ms(10);
	if (!atomic_load(&victim->futex_done))
		bad |= BAD_WAKE;
	if (atomic_load(&victim->futex_bad))
		bad |= BAD_FUTEX;
	if (pattern_sum(victim->mem, victim->words) != victim->sum)
		bad |= BAD_MEMORY;
	_exit(bad);
}

static void __attribute__((noreturn)) victim_main(int ready_fd, const char *fifo, size_t mib)
{
	void *(*threads[NR_THREADS - 1])(void *) = { spin_thread, regs_thread, futex_thread };
	struct sigaction sa = { .sa_flags = SA_RESTART };
	static struct victim_state vs;
	uint64_t *mem;
	sigset_t set;

	dump_child_quiet_stdio(ready_fd);
	vs.words = mib * (1024 * 1024 / sizeof(uint64_t));
	mem = mmap(NULL, mib << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		_exit(2);
	/* Fewer faults, faster to fill (the dump still sees 4 KiB pages); EINVAL: no THP here. */
	if (madvise(mem, mib << 20, MADV_HUGEPAGE) && errno != EINVAL)
		_exit(2);
	for (size_t i = 0; i < vs.words; i++)
		mem[i] = pattern_word(i);
	vs.mem = mem;
	vs.sum = pattern_sum(mem, vs.words);
	vs.fifo = fifo;
	victim = &vs;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGRTMIN);
	if (sigprocmask(SIG_SETMASK, &set, NULL))
		_exit(2);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = victim_on_usr1;
	if (sigaction(SIGUSR1, &sa, NULL))
		_exit(2);
	sa.sa_handler = victim_on_term;
	if (sigaction(SIGTERM, &sa, NULL))
		_exit(2);
	for (int i = 0; i < NR_THREADS - 1; i++) {
		pthread_t th;

		if (pthread_create(&th, NULL, threads[i], NULL))
			_exit(2);
	}
	while (atomic_load(&vs.started) < NR_THREADS - 1)
		sleep_ms(1);
	if (write(ready_fd, "R", 1) != 1)
		_exit(2);
	close(ready_fd);
	for (;;)
		pause();
}

/* One victim, seen from the test. */
struct victim {
	pid_t pid;
	size_t mib;
	int fifo_fd; /* our end of the FIFO the victim answers on, read-write so it never sees an end */
	char fifo[PATH_MAX];
	pid_t tids[NR_THREADS];
	char sigblk[NR_THREADS][20]; /* each thread's SigBlk before any dump */
};

/* The value of @field ("SigBlk:") in /proc/@pid/task/@tid/status, into @buf; false if unreadable. */
static bool thread_status_field(pid_t pid, pid_t tid, const char *field, char *buf, size_t size)
{
	char path[64], *text, *p;
	bool ok = false;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	text = test_read_file(path);
	p = text ? strstr(text, field) : NULL;
	if (p) {
		p += strlen(field);
		p += strspn(p, " \t");
		snprintf(buf, size, "%.*s", (int)strcspn(p, "\n"), p);
		ok = true;
	}
	free(text);
	return ok;
}

/* The victim's threads, in /proc order, into v->tids: true when there are NR_THREADS. */
static bool victim_tids(struct victim *v)
{
	char path[64];
	struct dirent *de;
	size_t n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", v->pid);
	dir = opendir(path);
	if (!dir)
		return false;
	while ((de = readdir(dir))) {
		pid_t tid = atoi(de->d_name);

		if (tid > 0 && n < NR_THREADS)
			v->tids[n] = tid;
		if (tid > 0)
			n++;
	}
	closedir(dir);
	return n == NR_THREADS;
}

static int victim_start(struct victim *v, const char *tmp)
{
	int ready[2];
	char c;

	snprintf(v->fifo, sizeof(v->fifo), "%s/answer-%zu", tmp, v->mib);
	unlink(v->fifo);
	if (mkfifo(v->fifo, 0600) || (v->fifo_fd = open(v->fifo, O_RDWR | O_CLOEXEC)) < 0)
		return -errno;
	if (pipe2(ready, O_CLOEXEC))
		return -errno;
	v->pid = fork();
	if (v->pid < 0)
		return -errno;
	if (v->pid == 0) {
		close(ready[0]);
		victim_main(ready[1], v->fifo, v->mib);
	}
	close(ready[1]);
	/* 'R', then the end of file: the victim holds no pipe a dump would refuse. */
	if (read(ready[0], &c, 1) != 1 || read(ready[0], &c, 1) != 0) {
		close(ready[0]);
		return -EIO;
	}
	close(ready[0]);
	if (!victim_tids(v))
		return -EIO;
	for (int i = 0; i < NR_THREADS; i++)
		if (!thread_status_field(v->pid, v->tids[i], "SigBlk:", v->sigblk[i], sizeof(v->sigblk[i])))
			return -EIO;
	return 0;
}

static void victim_kill(struct victim *v)
{
	if (v->pid > 0) {
		kill(v->pid, SIGKILL);
		waitpid(v->pid, NULL, 0);
	}
	v->pid = 0;
	if (v->fifo_fd >= 0)
		close(v->fifo_fd);
	v->fifo_fd = -1;
	unlink(v->fifo);
}

/* Asks the victim to check itself (SIGUSR1): 0 when it answers that all is well. */
static int victim_ask(struct victim *v)
{
	struct pollfd pfd = { .fd = v->fifo_fd, .events = POLLIN };
	char answer;

	if (kill(v->pid, SIGUSR1))
		return -errno;
	if (poll(&pfd, 1, ANSWER_WAIT_MS) != 1)
		return -ETIMEDOUT;
	if (read(v->fifo_fd, &answer, 1) != 1)
		return -EIO;
	return answer == ANSWER_OK ? 0 : -EINVAL;
}

/* Everything a dump must leave as it was; prints what is not. Returns true when all is. */
static bool victim_intact(struct victim *v, const char *what)
{
	bool ok = true;
	int status, ret;

	if (waitpid(v->pid, &status, WNOHANG) == v->pid) {
		fprintf(stderr, "%s: the victim died (status %#x)\n", what, status);
		v->pid = 0;
		return false;
	}
	for (int i = 0; i < NR_THREADS; i++) {
		char tracer[20], sigblk[20], state = dump_thread_state(v->pid, v->tids[i]);

		if (!thread_status_field(v->pid, v->tids[i], "TracerPid:", tracer, sizeof(tracer)) ||
		    !thread_status_field(v->pid, v->tids[i], "SigBlk:", sigblk, sizeof(sigblk))) {
			fprintf(stderr, "%s: thread %d of the victim is gone\n", what, v->tids[i]);
			return false;
		}
		if (strcmp(tracer, "0")) {
			fprintf(stderr, "%s: thread %d is traced by %s\n", what, v->tids[i], tracer);
			ok = false;
		}
		if (strcmp(sigblk, v->sigblk[i])) {
			fprintf(stderr, "%s: thread %d has SigBlk %s, %s before\n", what, v->tids[i], sigblk,
				v->sigblk[i]);
			ok = false;
		}
		/* Stopped, traced, dead: not running on (a D or an I may be passing). */
		if (strchr("tTZX?", state)) {
			fprintf(stderr, "%s: thread %d is in state %c\n", what, v->tids[i], state);
			ok = false;
		}
	}
	if (!ok)
		return false;
	ret = victim_ask(v);
	if (ret)
		fprintf(stderr, "%s: the victim %s\n", what,
			ret == -ETIMEDOUT ? "did not answer SIGUSR1" : "found itself broken");
	return !ret;
}

/* SIGTERM: the victim's handler must run, find everything right and exit 0. */
static bool victim_finish(struct victim *v, const char *what)
{
	int status = -1;

	if (kill(v->pid, SIGTERM))
		return false;
	for (int i = 0; i < 1000; i++) {
		if (waitpid(v->pid, &status, WNOHANG) == v->pid) {
			v->pid = 0;
			break;
		}
		sleep_ms(10);
	}
	if (v->pid) {
		fprintf(stderr, "%s: the victim did not end on SIGTERM\n", what);
		return false;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "%s: the victim ended with status %#x\n", what, status);
		return false;
	}
	return true;
}

/* Where to kill criu: so long after it starts, or after the log shows @marker; delay -1: never. */
struct kill_point {
	const char *marker; /* NULL: from the start */
	long delay_us;
	bool group;	    /* kill criu's whole process group, not only criu */
	bool leave_running; /* --leave-running */
	int sig;	    /* SIGTERM or SIGINT to ask criu to stop, 0 for SIGKILL */
};

struct totals {
	int kills;
	int completed; /* criu ended before the kill came */
	int leftovers; /* processes criu left behind, waited for */
	int broken;
};

/* One dump of @v, killed at @kp. */
static void kill_once(struct victim *v, const char *tmp, const struct kill_point *kp, struct totals *t, int *failures)
{
	static const char *const timeline[] = { "Dumping processes", "frozen with", "asked by injection",
						"pages dumped", "Dumping finished" };
	static const char *const leave_running[] = { "--leave-running", NULL };
	const char *how = kp->group ? "kill group" : "kill criu";
	char dir[PATH_MAX], log[PATH_MAX + 16], what[160];
	int status = 0, left;
	pid_t criu;

	if (kp->sig)
		how = strsignal(kp->sig);
	snprintf(what, sizeof(what), "%zu MiB, %s %ld us after %s%s", v->mib, how, kp->delay_us,
		 kp->marker ? kp->marker : "the start", kp->leave_running ? ", -R" : "");
	if (kp->delay_us < 0)
		snprintf(what, sizeof(what), "%zu MiB, whole dump%s", v->mib, kp->leave_running ? ", -R" : "");
	snprintf(dir, sizeof(dir), "%s/images", tmp);
	snprintf(log, sizeof(log), "%s/dump.log", dir);
	test_rm_rf(dir);
	if (mkdir(dir, 0700)) {
		expect(failures, 0, "%s: can't make %s", what, dir);
		return;
	}
	criu = dump_start_criu(tmp, dir, v->pid, kp->leave_running ? leave_running : NULL);
	if (criu < 0) {
		expect(failures, 0, "%s: can't start criu", what);
		return;
	}
	if (kp->delay_us >= 0) {
		if (kp->marker && !dump_wait_marker(log, kp->marker, MARKER_WAIT_MS))
			fprintf(stderr, "%s: the log never showed the marker\n", what);
		if (kp->delay_us)
			dump_sleep_us(kp->delay_us);
		kill(kp->group ? -criu : criu, kp->sig ?: SIGKILL);
		t->kills++;
	}
	waitpid(criu, &status, 0);
	if (WIFEXITED(status) && kp->delay_us >= 0 && !kp->sig)
		t->completed++;
	left = dump_reap_leftovers(&v->pid, 1, WORKER_WAIT_MS);
	expect(failures, left >= 0, "%s: criu left a process that did not end", what);
	if (kp->sig) {
		expect(failures, WIFEXITED(status) && WEXITSTATUS(status) == 1, "%s: criu ended with status %#x", what,
		       status);
		expect(failures, left == 0, "%s: criu exited before the dump gave up", what);
	}
	if (left > 0)
		t->leftovers += left;
	if (kp->delay_us < 0) {
		char *text = test_read_file(log);

		expect(failures, WIFEXITED(status) && !WEXITSTATUS(status), "%s: criu ended with status %#x", what,
		       status);
		fprintf(stderr, "%s, the log's timeline:\n", what);
		dump_show_timeline(text, timeline, sizeof(timeline) / sizeof(timeline[0]));
		free(text);
	}
	if (!victim_intact(v, what)) {
		char *text = test_read_file(log);

		expect(failures, 0, "%s: the victim was not left as it was", what);
		fprintf(stderr, "--- %s ---\n%s---\n", log, text ?: "(no log)\n");
		free(text);
		t->broken++;
		victim_kill(v);
		if (victim_start(v, tmp))
			expect(failures, 0, "%s: can't start a new victim", what);
	}
}

/* Starts @v, kills criu at each of @kps while it dumps @v, and has @v check itself at the end. */
static void run_victim(struct victim *v, const char *tmp, const struct kill_point *kps, size_t nr, struct totals *t,
		       int *failures)
{
	int64_t start = dump_now_us();
	int ret = victim_start(v, tmp);

	if (ret) {
		expect(failures, 0, "can't start the %zu MiB victim: %s", v->mib, strerror(-ret));
		victim_kill(v);
		return;
	}
	fprintf(stderr, "%zu MiB victim %d ready in %lld ms\n", v->mib, v->pid,
		(long long)(dump_now_us() - start) / 1000);
	for (size_t i = 0; i < nr && v->pid; i++)
		kill_once(v, tmp, &kps[i], t, failures);
	if (v->pid)
		expect(failures, victim_finish(v, "last check"), "the %zu MiB victim failed its last check", v->mib);
	victim_kill(v);
}

int main(void)
{
	struct victim small = { .mib = SMALL_MIB, .fifo_fd = -1 }, big = { .mib = BIG_MIB, .fifo_fd = -1 };
	const char *env = getenv("CRIU_TEST_KILL_BIG_MIB");
	const char *frozen = "frozen with", *asked = "asked by injection";
	struct kill_point kps[64];
	struct totals t = { 0 };
	int64_t start = dump_now_us();
	int failures = 0;
	char tmp[256];
	size_t n = 0;

	if (env && atoi(env) > 0)
		big.mib = (size_t)atoi(env);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) || test_mkdtemp(tmp, sizeof(tmp), "dump-criu-killed")) {
		perror("setup");
		return TEST_FAIL;
	}

	kps[n++] = (struct kill_point){ .delay_us = -1, .leave_running = true };
	for (long ms = 0; ms <= 100; ms += ms < 40 ? 1 : ms < 50 ? 10 : ms < 70 ? 20 : 30)
		kps[n++] = (struct kill_point){ .delay_us = ms * 1000, .group = ms % 2, .leave_running = true };
	run_victim(&small, tmp, kps, n, &t, &failures);

	n = 0;
	for (long ms = 2; ms <= 8; ms++)
		kps[n++] = (struct kill_point){ .delay_us = ms * 1000, .group = ms == 5 };
	for (long us = 0; us <= 6000; us += 500)
		kps[n++] = (struct kill_point){ .marker = frozen, .delay_us = us, .group = us % 1000 };
	kps[n++] = (struct kill_point){ .marker = asked, .delay_us = 10000 };
	kps[n++] = (struct kill_point){ .marker = asked, .delay_us = 40000, .group = true };
	kps[n++] = (struct kill_point){ .marker = frozen, .delay_us = 1000, .sig = SIGTERM };
	kps[n++] = (struct kill_point){ .marker = frozen, .delay_us = 1000, .sig = SIGINT };
	run_victim(&big, tmp, kps, n, &t, &failures);

	fprintf(stderr,
		"%d kills: %d after criu had ended, %d processes left by criu waited for, %d broke the victim\n",
		t.kills, t.completed, t.leftovers, t.broken);
	fprintf(stderr, "took %lld ms\n", (long long)(dump_now_us() - start) / 1000);
	if (!failures)
		test_rm_rf(tmp);
	else
		fprintf(stderr, "files kept in %s\n", tmp);
	fprintf(stderr, "dump-criu-killed: %s\n", failures ? "FAILED" : "all passed");
	return failures ? TEST_FAIL : TEST_PASS;
}
