/*
 * everything00: one multi-threaded process holding every kind of state the
 * engine handles at once. Per thread: general and AVX registers held in a
 * raw futex wait, TLS, signal mask, a pending signal, sigaltstack, rseq,
 * robust list, clear-child-tid, name. Memory: private/shared anonymous,
 * private file mapping with dirty pages, shared file mapping, heap, stack,
 * growsdown, guard pages, mprotect'ed range, MADV_DONTFORK/WIPEONFORK,
 * untouched pages. Process: signal handlers, itimer, POSIX timer, rlimits,
 * umask, cwd, comm, personality. Files: a regular file at an offset, an
 * unlinked open file, /dev/null, /dev/zero, /dev/urandom. Every item is
 * checked after test_waitsig(); the first difference is named in fail().
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/rseq.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "zdtmtst.h"

#if !defined(__x86_64__)
#error "everything00 is written for x86_64"
#endif

#define NR_WORKERS 4
#define PAGE 4096ul
#define NR_GPR 4
#define NR_YMM 16
#define ALTSTACK_BYTES 16384
#define STACK_BYTES 4096
#define SIG_PENDING SIGUSR2
#define SIG_RSEQ (SIGRTMIN + 10)
#define SIG_TIMER (SIGRTMIN + 1)
#define TEST_PERSONALITY (PER_LINUX | ADDR_NO_RANDOMIZE | UNAME26)
#define TEST_UMASK 0027
#define TEST_COMM "everything00"
#define FILE_OFFSET 1234
#define UNLINKED_OFFSET 777
#define TIMER_SECS 3000
#define SA_KERNEL_RESTORER 0x04000000

static char *filename = "everything00.test";
TEST_OPTION(filename, TEST_OPT_STRING, "prefix of the files and directory to create", false);

static __thread uint64_t tls_value;

/* ---------- per-thread state ---------- */

struct regs {
	uint64_t gpr[NR_GPR];
	uint8_t ymm[NR_YMM * 32];
};

struct worker {
	pthread_t thread;
	int idx;
	atomic_int tid;
	atomic_int *stop;
	uint8_t *altstack;
	int bad;
};

/* Loads r12-r15 and ymm0-15, waits on *stop with raw futex calls, stores them back. */
static void regs_hold(const struct regs *in, struct regs *out, atomic_int *stop)
{
	asm volatile("mov 0(%[in]), %%r12\n\t"
		     "mov 8(%[in]), %%r13\n\t"
		     "mov 16(%[in]), %%r14\n\t"
		     "mov 24(%[in]), %%r15\n\t"
		     ".irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n\t"
		     "vmovdqu (32+\\r*32)(%[in]), %%ymm\\r\n\t"
		     ".endr\n\t"
		     "1: cmpl $0, (%[stop])\n\t"
		     "jne 2f\n\t"
		     "mov %[nr], %%eax\n\t"
		     "mov %[stop], %%rdi\n\t"
		     "mov %[op], %%esi\n\t"
		     "xor %%edx, %%edx\n\t"
		     "xor %%r10d, %%r10d\n\t"
		     "syscall\n\t"
		     "jmp 1b\n\t"
		     "2: mov %%r12, 0(%[out])\n\t"
		     "mov %%r13, 8(%[out])\n\t"
		     "mov %%r14, 16(%[out])\n\t"
		     "mov %%r15, 24(%[out])\n\t"
		     ".irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n\t"
		     "vmovdqu %%ymm\\r, (32+\\r*32)(%[out])\n\t"
		     ".endr\n\t"
		     "vzeroupper\n\t"
		     :
		     : [in] "r"(in), [out] "r"(out), [stop] "r"(stop), [nr] "i"(SYS_futex), [op] "i"(FUTEX_WAIT_PRIVATE)
		     : "rax", "rdi", "rsi", "rdx", "r10", "rcx", "r11", "r12", "r13", "r14", "r15", "memory", "xmm0",
		       "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
		       "xmm12", "xmm13", "xmm14", "xmm15");
}

static void worker_mask(int idx, sigset_t *mask)
{
	sigfillset(mask);
	sigdelset(mask, SIGRTMIN + 2 + idx); /* a mask of its own */
	sigdelset(mask, SIG_RSEQ);
}

struct thread_snap {
	pid_t tid;
	sigset_t mask;
	void *robust_head;
	size_t robust_len;
	int *tid_address;
	char name[16];
	uint32_t stack_crc;
};

static int thread_snap_take(struct thread_snap *s)
{
	memset(s, 0, sizeof(*s));
	s->tid = gettid();
	if (pthread_sigmask(SIG_BLOCK, NULL, &s->mask) ||
	    syscall(SYS_get_robust_list, 0, &s->robust_head, &s->robust_len) ||
	    prctl(PR_GET_TID_ADDRESS, &s->tid_address) || prctl(PR_GET_NAME, s->name))
		return -errno;
	return 0;
}

static bool sigset_equal(const sigset_t *a, const sigset_t *b)
{
	for (int sig = 1; sig <= SIGRTMAX; sig++)
		if (sigismember(a, sig) != sigismember(b, sig))
			return false;
	return true;
}

static struct rseq *rseq_area(void)
{
	return (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
}

/* The kernel rewrites cpu_id of a registered area on the way back from a signal. */
static int rseq_check(void)
{
	volatile struct rseq *rs = rseq_area();
	uint32_t cpu;

	if (__rseq_size == 0)
		return 0;
	rs->cpu_id = 0xdead0000u;
	if (raise(SIG_RSEQ))
		return -1;
	cpu = rs->cpu_id;
	return cpu == 0xdead0000u || (long)cpu >= sysconf(_SC_NPROCESSORS_CONF) ? -1 : 0;
}

static int worker_check_signals(struct worker *w)
{
	const struct timespec zero = { 0, 0 };
	sigset_t pend;
	siginfo_t si;
	stack_t ss;

	if (sigaltstack(NULL, &ss) || ss.ss_sp != w->altstack || ss.ss_size != ALTSTACK_BYTES || ss.ss_flags) {
		fail("thread %d: sigaltstack is %p+%zu, expected %p+%d", w->idx, ss.ss_sp, ss.ss_size,
		     (void *)w->altstack, ALTSTACK_BYTES);
		return -1;
	}
	sigemptyset(&pend);
	sigaddset(&pend, SIG_PENDING);
	if (sigtimedwait(&pend, &si, &zero) != SIG_PENDING || si.si_pid != getpid()) {
		fail("thread %d: its pending signal is gone", w->idx);
		return -1;
	}
	if (rseq_check()) {
		fail("thread %d: rseq area no longer registered", w->idx);
		return -1;
	}
	return 0;
}

static int worker_check(struct worker *w, const struct thread_snap *before, const struct regs *want,
			const struct regs *got, const uint8_t *stack)
{
	struct thread_snap now;

	if (thread_snap_take(&now)) {
		fail("thread %d: can't read its state", w->idx);
		return -1;
	}
	if (memcmp(want->gpr, got->gpr, sizeof(want->gpr))) {
		fail("thread %d: general registers r12-r15 changed", w->idx);
		return -1;
	}
	if (memcmp(want->ymm, got->ymm, sizeof(want->ymm))) {
		fail("thread %d: ymm registers changed", w->idx);
		return -1;
	}
	if (now.tid != before->tid || tls_value != 0x7e570000ull + (uint64_t)w->idx) {
		fail("thread %d: tid %d or TLS %#llx changed", w->idx, now.tid, (unsigned long long)tls_value);
		return -1;
	}
	if (!sigset_equal(&now.mask, &before->mask)) {
		fail("thread %d: signal mask changed", w->idx);
		return -1;
	}
	if (now.robust_head != before->robust_head || now.robust_len != before->robust_len ||
	    now.tid_address != before->tid_address) {
		fail("thread %d: robust list %p or clear-child-tid %p changed", w->idx, now.robust_head,
		     (void *)now.tid_address);
		return -1;
	}
	if (strcmp(now.name, before->name)) {
		fail("thread %d: name is %s, expected %s", w->idx, now.name, before->name);
		return -1;
	}
	if (datachk(stack, STACK_BYTES, before->stack_crc)) {
		fail("thread %d: stack data changed", w->idx);
		return -1;
	}
	return worker_check_signals(w);
}

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	struct regs want, got;
	struct thread_snap before;
	uint8_t stack[STACK_BYTES];
	char name[16];
	sigset_t mask;

	tls_value = 0x7e570000ull + (uint64_t)w->idx;
	snprintf(name, sizeof(name), "every-w%d", w->idx);
	worker_mask(w->idx, &mask);
	if (sigaltstack(&(stack_t){ .ss_sp = w->altstack, .ss_size = ALTSTACK_BYTES }, NULL) ||
	    pthread_sigmask(SIG_SETMASK, &mask, NULL) || prctl(PR_SET_NAME, name)) {
		fail("thread %d: setup", w->idx);
		w->bad = 1;
		return NULL;
	}
	datagen_seed(&want, sizeof(want), 0x5eed00 + w->idx);
	if (thread_snap_take(&before)) {
		fail("thread %d: can't read its state", w->idx);
		w->bad = 1;
		return NULL;
	}
	datagen(stack, sizeof(stack), &before.stack_crc);
	atomic_store(&w->tid, gettid());
	memset(&got, 0, sizeof(got));
	regs_hold(&want, &got, w->stop);
	if (worker_check(w, &before, &want, &got, stack))
		w->bad = 1;
	return NULL;
}

/* True once thread tid sleeps in futex(), as /proc/self/task/TID/syscall shows. */
static bool in_futex(pid_t tid)
{
	char path[64], buf[32] = "";
	long nr = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f) || sscanf(buf, "%ld", &nr) != 1)
		nr = -1;
	fclose(f);
	return nr == SYS_futex;
}

static void nop_handler(int sig)
{
	(void)sig;
}

static int workers_start(struct worker *workers, atomic_int *stop)
{
	const struct timespec tick = { 0, 1000000 };
	struct sigaction sa = { .sa_handler = nop_handler };

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIG_RSEQ, &sa, NULL)) {
		fail("sigaction(SIG_RSEQ)");
		return -1;
	}
	for (int i = 0; i < NR_WORKERS; i++) {
		workers[i] = (struct worker){ .idx = i, .stop = stop };
		workers[i].altstack = malloc(ALTSTACK_BYTES);
		if (!workers[i].altstack || pthread_create(&workers[i].thread, NULL, worker_fn, &workers[i])) {
			fail("can't start thread %d", i);
			return -1;
		}
	}
	for (int i = 0; i < NR_WORKERS; i++) {
		for (int tries = 0; !atomic_load(&workers[i].tid) || !in_futex(atomic_load(&workers[i].tid));) {
			if (workers[i].bad || ++tries > 10000) {
				fail("thread %d never went to sleep", i);
				return -1;
			}
			nanosleep(&tick, NULL);
		}
		if (pthread_kill(workers[i].thread, SIG_PENDING)) {
			fail("pthread_kill");
			return -1;
		}
	}
	return 0;
}

static int workers_stop(struct worker *workers, atomic_int *stop)
{
	int bad = 0;

	atomic_store(stop, 1);
	if (syscall(SYS_futex, stop, FUTEX_WAKE_PRIVATE, NR_WORKERS, NULL, NULL, 0) < 0) {
		fail("futex wake");
		return -1;
	}
	for (int i = 0; i < NR_WORKERS; i++) {
		if (pthread_join(workers[i].thread, NULL)) {
			fail("pthread_join %d", i);
			return -1;
		}
		bad |= workers[i].bad;
	}
	return bad ? -1 : 0;
}

/* ---------- memory ---------- */

struct area {
	const char *name;
	uint8_t *addr;
	size_t len;
	uint32_t crc;
	const char *perms;  /* expected perms, NULL: not checked */
	const char *vmflag; /* expected VmFlags entry, NULL: none */
};

enum {
	A_PRIV,
	A_SHARED,
	A_FILE_PRIV,
	A_FILE_SHARED,
	A_HEAP,
	A_GROWSDOWN,
	A_RDONLY,
	A_DONTFORK,
	A_WIPEONFORK,
	A_GUARDED,
	NR_AREAS
};

struct mem {
	struct area a[NR_AREAS];
	uint8_t *guard;		  /* PROT_NONE page after A_GUARDED */
	uint8_t *untouched;	  /* 8 pages never touched */
	uint8_t file_page0[PAGE]; /* the clean page of the private file mapping */
	int shared_fd;
};

static int file_create(const char *suffix, size_t len, uint32_t seed, int *fdp)
{
	char path[256];
	uint8_t *buf = malloc(len);
	int fd;

	snprintf(path, sizeof(path), "%s.%s", filename, suffix);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (!buf || fd < 0) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	datagen_seed(buf, len, seed);
	if (pwrite(fd, buf, len, 0) != (ssize_t)len) {
		free(buf);
		close(fd);
		return -1;
	}
	free(buf);
	*fdp = fd;
	return 0;
}

static uint8_t *map(size_t len, int prot, int flags, int fd)
{
	void *p = mmap(NULL, len, prot, flags | (fd < 0 ? MAP_ANONYMOUS : 0), fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void area_set(struct area *a, const char *name, uint8_t *addr, size_t len, const char *perms, const char *vmflag)
{
	*a = (struct area){ .name = name, .addr = addr, .len = len, .perms = perms, .vmflag = vmflag };
}

static int mem_map_files(struct mem *m)
{
	const int rw = PROT_READ | PROT_WRITE;
	int fd;

	if (file_create("priv", 2 * PAGE, 0xf11e, &fd))
		return -1;
	area_set(&m->a[A_FILE_PRIV], "private file mapping", map(2 * PAGE, rw, MAP_PRIVATE, fd), 2 * PAGE, "rw-p",
		 NULL);
	if (!m->a[A_FILE_PRIV].addr || pread(fd, m->file_page0, PAGE, 0) != PAGE)
		return -1;
	close(fd);
	/* dirty only the second page: the first stays the file's */
	datagen_seed(m->a[A_FILE_PRIV].addr + PAGE, PAGE, 0xd1e7);
	if (file_create("shared", 2 * PAGE, 0x54a2, &m->shared_fd))
		return -1;
	area_set(&m->a[A_FILE_SHARED], "shared file mapping", map(2 * PAGE, rw, MAP_SHARED, m->shared_fd), 2 * PAGE,
		 "rw-s", NULL);
	return m->a[A_FILE_SHARED].addr ? 0 : -1;
}

static int mem_setup(struct mem *m)
{
	const int rw = PROT_READ | PROT_WRITE;
	struct area *a = m->a;

	memset(m, 0, sizeof(*m));
	area_set(&a[A_PRIV], "private anonymous", map(16 * PAGE, rw, MAP_PRIVATE, -1), 16 * PAGE, "rw-p", NULL);
	area_set(&a[A_SHARED], "shared anonymous", map(4 * PAGE, rw, MAP_SHARED, -1), 4 * PAGE, "rw-s", NULL);
	area_set(&a[A_HEAP], "heap", malloc(3 * PAGE + 100), 3 * PAGE + 100, NULL, NULL);
	area_set(&a[A_GROWSDOWN], "growsdown", map(4 * PAGE, rw, MAP_PRIVATE | MAP_GROWSDOWN, -1), 4 * PAGE, "rw-p",
		 "gd");
	area_set(&a[A_RDONLY], "mprotect'ed", map(3 * PAGE, rw, MAP_PRIVATE, -1), 3 * PAGE, "r--p", NULL);
	area_set(&a[A_DONTFORK], "MADV_DONTFORK", map(2 * PAGE, rw, MAP_PRIVATE, -1), 2 * PAGE, "rw-p", "dc");
	area_set(&a[A_WIPEONFORK], "MADV_WIPEONFORK", map(2 * PAGE, rw, MAP_PRIVATE, -1), 2 * PAGE, "rw-p", "wf");
	/* two data pages, a guard page, a data page */
	area_set(&a[A_GUARDED], "guarded", map(4 * PAGE, rw, MAP_PRIVATE, -1), 2 * PAGE, "rw-p", NULL);
	m->untouched = map(8 * PAGE, PROT_READ | PROT_EXEC, MAP_PRIVATE, -1);
	if (!m->untouched || mem_map_files(m))
		return -1;
	for (int i = 0; i < NR_AREAS; i++) {
		if (!a[i].addr)
			return -1;
		if (i != A_FILE_PRIV) /* its pages are set by mem_map_files() */
			datagen(a[i].addr, a[i].len, &a[i].crc);
	}
	m->guard = a[A_GUARDED].addr + 2 * PAGE;
	datagen_seed(m->guard + PAGE, PAGE, 0x9a7d);
	if (mprotect(m->guard, PAGE, PROT_NONE) || mprotect(a[A_RDONLY].addr, a[A_RDONLY].len, PROT_READ) ||
	    madvise(a[A_DONTFORK].addr, a[A_DONTFORK].len, MADV_DONTFORK) ||
	    madvise(a[A_WIPEONFORK].addr, a[A_WIPEONFORK].len, MADV_WIPEONFORK))
		return -1;
	/* the private file mapping's crc covers the dirty page only */
	a[A_FILE_PRIV].crc = data_crc32(a[A_FILE_PRIV].addr + PAGE, PAGE);
	return 0;
}

static int mem_check_area(const struct area *a)
{
	struct test_vma vma;

	if (a->perms || a->vmflag) {
		if (test_vma_find(a->addr, &vma)) {
			fail("%s: nothing mapped at %p", a->name, (void *)a->addr);
			return -1;
		}
		if (a->perms && strcmp(vma.perms, a->perms)) {
			fail("%s: perms %s, expected %s", a->name, vma.perms, a->perms);
			return -1;
		}
		if (a->vmflag && !test_vma_has_flag(&vma, a->vmflag)) {
			fail("%s: VmFlags \"%s\" lack %s", a->name, vma.flags, a->vmflag);
			return -1;
		}
	}
	return 0;
}

static int mem_check(const struct mem *m)
{
	unsigned char vec[8];
	uint8_t page[PAGE], buf[PAGE];
	struct test_vma vma;

	/* first, before anything reads them: the untouched pages are still not there */
	if (mincore(m->untouched, 8 * PAGE, vec)) {
		fail("mincore");
		return -1;
	}
	for (int i = 0; i < 8; i++) {
		if (vec[i] & 1) {
			fail("untouched page %d is resident", i);
			return -1;
		}
	}
	for (int i = 0; i < NR_AREAS; i++) {
		const struct area *a = &m->a[i];
		bool bad;

		if (i == A_FILE_PRIV)
			bad = data_crc32(a->addr + PAGE, PAGE) != a->crc;
		else
			bad = datachk(a->addr, a->len, a->crc) != 0;
		if (bad) {
			fail("%s: data changed", a->name);
			return -1;
		}
		if (mem_check_area(a))
			return -1;
	}
	if (memcmp(m->a[A_FILE_PRIV].addr, m->file_page0, PAGE)) {
		fail("private file mapping: clean page differs from the file");
		return -1;
	}
	if (pread(m->shared_fd, buf, PAGE, PAGE) != PAGE || memcmp(buf, m->a[A_FILE_SHARED].addr + PAGE, PAGE)) {
		fail("shared file mapping: differs from the file");
		return -1;
	}
	if (test_vma_find(m->guard, &vma) || strcmp(vma.perms, "---p")) {
		fail("guard page: not PROT_NONE any more");
		return -1;
	}
	datagen_seed(page, PAGE, 0x9a7d);
	if (memcmp(m->guard + PAGE, page, PAGE)) {
		fail("page after the guard page: data changed");
		return -1;
	}
	for (size_t i = 0; i < 8 * PAGE; i++) {
		if (m->untouched[i]) {
			fail("untouched pages: not zero");
			return -1;
		}
	}
	return 0;
}

/* ---------- process ---------- */

struct handler_desc {
	int sig;
	int flags;
	int mask_sig;
};

static const struct handler_desc handlers[] = {
	{ SIGUSR1, SA_SIGINFO | SA_RESTART | SA_ONSTACK, SIGQUIT },
	{ SIGHUP, SA_NODEFER | SA_RESETHAND, SIGINT },
	{ SIGPIPE, SA_NOCLDSTOP, 0 },
};

static void info_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
}

struct proc_state {
	struct rlimit nofile, core;
	struct itimerval itv;
	struct itimerspec its;
	timer_t timer;
	char cwd[512];
};

static int proc_setup(struct proc_state *p)
{
	struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIG_TIMER };
	const struct itimerspec its = { { 100, 5000 }, { TIMER_SECS, 0 } };
	const struct itimerval itv = { { 200, 7000 }, { TIMER_SECS, 0 } };
	char dir[256];

	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++) {
		struct sigaction sa = { .sa_flags = handlers[i].flags };

		if (handlers[i].flags & SA_SIGINFO)
			sa.sa_sigaction = info_handler;
		else
			sa.sa_handler = nop_handler;
		sigemptyset(&sa.sa_mask);
		if (handlers[i].mask_sig)
			sigaddset(&sa.sa_mask, handlers[i].mask_sig);
		if (sigaction(handlers[i].sig, &sa, NULL))
			return -1;
	}
	sev.sigev_value.sival_int = 0x7173;
	if (timer_create(CLOCK_MONOTONIC, &sev, &p->timer) || timer_settime(p->timer, 0, &its, NULL) ||
	    setitimer(ITIMER_REAL, &itv, NULL))
		return -1;
	if (getrlimit(RLIMIT_NOFILE, &p->nofile) || getrlimit(RLIMIT_CORE, &p->core))
		return -1;
	p->nofile.rlim_cur = 1234 < p->nofile.rlim_max ? 1234 : p->nofile.rlim_max;
	p->core.rlim_cur = 0;
	if (setrlimit(RLIMIT_NOFILE, &p->nofile) || setrlimit(RLIMIT_CORE, &p->core))
		return -1;
	umask(TEST_UMASK);
	snprintf(dir, sizeof(dir), "%s.d", filename);
	if ((mkdir(dir, 0700) && errno != EEXIST) || chdir(dir) || !getcwd(p->cwd, sizeof(p->cwd)))
		return -1;
	if (prctl(PR_SET_NAME, TEST_COMM) || personality(TEST_PERSONALITY) < 0)
		return -1;
	return 0;
}

static int handlers_check(void)
{
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++) {
		const struct handler_desc *h = &handlers[i];
		void *want = h->flags & SA_SIGINFO ? (void *)info_handler : (void *)nop_handler;
		struct sigaction sa;

		if (sigaction(h->sig, NULL, &sa)) {
			fail("sigaction(%d)", h->sig);
			return -1;
		}
		if ((void *)sa.sa_handler != want || (sa.sa_flags & ~SA_KERNEL_RESTORER) != h->flags ||
		    (h->mask_sig && !sigismember(&sa.sa_mask, h->mask_sig))) {
			fail("handler of signal %d: %p flags %#x, expected %p flags %#x", h->sig, (void *)sa.sa_handler,
			     sa.sa_flags, want, h->flags);
			return -1;
		}
	}
	return 0;
}

static int timers_check(const struct proc_state *p)
{
	struct itimerspec its;
	struct itimerval itv;

	if (timer_gettime(p->timer, &its) || its.it_interval.tv_sec != 100 || its.it_interval.tv_nsec != 5000 ||
	    its.it_value.tv_sec > TIMER_SECS || its.it_value.tv_sec < TIMER_SECS - 120) {
		fail("POSIX timer: %lds left, interval %ld.%09lds", (long)its.it_value.tv_sec,
		     (long)its.it_interval.tv_sec, its.it_interval.tv_nsec);
		return -1;
	}
	if (getitimer(ITIMER_REAL, &itv) || itv.it_interval.tv_sec != 200 || itv.it_interval.tv_usec != 7000 ||
	    itv.it_value.tv_sec > TIMER_SECS || itv.it_value.tv_sec < TIMER_SECS - 120) {
		fail("itimer: %lds left, interval %ld.%06lds", (long)itv.it_value.tv_sec, (long)itv.it_interval.tv_sec,
		     (long)itv.it_interval.tv_usec);
		return -1;
	}
	return 0;
}

static int proc_check(const struct proc_state *p)
{
	struct rlimit nofile, core;
	char cwd[512], comm[16] = "";
	mode_t mask;

	if (handlers_check() || timers_check(p))
		return -1;
	if (getrlimit(RLIMIT_NOFILE, &nofile) || getrlimit(RLIMIT_CORE, &core) ||
	    nofile.rlim_cur != p->nofile.rlim_cur || nofile.rlim_max != p->nofile.rlim_max ||
	    core.rlim_cur != p->core.rlim_cur || core.rlim_max != p->core.rlim_max) {
		fail("rlimits: nofile %llu/%llu core %llu/%llu", (unsigned long long)nofile.rlim_cur,
		     (unsigned long long)nofile.rlim_max, (unsigned long long)core.rlim_cur,
		     (unsigned long long)core.rlim_max);
		return -1;
	}
	mask = umask(TEST_UMASK);
	if (mask != TEST_UMASK) {
		fail("umask is %#o", mask);
		return -1;
	}
	if (!getcwd(cwd, sizeof(cwd)) || strcmp(cwd, p->cwd)) {
		fail("cwd is %s, expected %s", cwd, p->cwd);
		return -1;
	}
	if (prctl(PR_GET_NAME, comm) || strcmp(comm, TEST_COMM)) {
		fail("comm is %s", comm);
		return -1;
	}
	if (personality(0xffffffff) != TEST_PERSONALITY) {
		fail("personality is %#x", personality(0xffffffff));
		return -1;
	}
	return 0;
}

/* ---------- files ---------- */

enum {
	F_REGULAR,
	F_UNLINKED,
	F_NULL,
	F_ZERO,
	F_URANDOM,
	NR_FILES
};

struct file_desc {
	const char *name;
	int fd;
	int flags;
	off_t offset;
	dev_t rdev;   /* character devices */
	uint32_t crc; /* regular files: their contents */
};

static int file_regular(struct file_desc *f, const char *suffix, off_t offset, bool unlinked)
{
	char path[256];
	uint8_t buf[2 * PAGE];

	snprintf(path, sizeof(path), "../%s.%s", filename, suffix);
	f->fd = open(path, f->flags | O_CREAT | O_TRUNC, 0600);
	if (f->fd < 0)
		return -1;
	datagen(buf, sizeof(buf), &f->crc);
	if (write(f->fd, buf, sizeof(buf)) != sizeof(buf) || lseek(f->fd, offset, SEEK_SET) != offset)
		return -1;
	f->offset = offset;
	return unlinked ? unlink(path) : 0;
}

static int files_setup(struct file_desc *f)
{
	f[F_REGULAR] = (struct file_desc){ "regular file", -1, O_RDWR, 0, 0, 0 };
	f[F_UNLINKED] = (struct file_desc){ "unlinked file", -1, O_RDWR, 0, 0, 0 };
	f[F_NULL] = (struct file_desc){ "/dev/null", -1, O_WRONLY, 0, makedev(1, 3), 0 };
	f[F_ZERO] = (struct file_desc){ "/dev/zero", -1, O_RDONLY, 0, makedev(1, 5), 0 };
	f[F_URANDOM] = (struct file_desc){ "/dev/urandom", -1, O_RDONLY, 0, makedev(1, 9), 0 };
	if (file_regular(&f[F_REGULAR], "file", FILE_OFFSET, false) ||
	    file_regular(&f[F_UNLINKED], "unlinked", UNLINKED_OFFSET, true))
		return -1;
	for (int i = F_NULL; i < NR_FILES; i++) {
		f[i].fd = open(f[i].name, f[i].flags);
		if (f[i].fd < 0)
			return -1;
	}
	return 0;
}

static int file_check(const struct file_desc *f)
{
	uint8_t buf[2 * PAGE];
	struct stat st;
	int flags;

	flags = fcntl(f->fd, F_GETFL);
	if (flags < 0 || fstat(f->fd, &st)) {
		fail("%s: fd %d is gone", f->name, f->fd);
		return -1;
	}
	if ((flags & O_ACCMODE) != (f->flags & O_ACCMODE) || lseek(f->fd, 0, SEEK_CUR) != f->offset) {
		fail("%s: flags %#x offset %lld, expected %#x and %lld", f->name, flags,
		     (long long)lseek(f->fd, 0, SEEK_CUR), f->flags, (long long)f->offset);
		return -1;
	}
	if (f->rdev) {
		if (!S_ISCHR(st.st_mode) || st.st_rdev != f->rdev) {
			fail("%s: not the device %u:%u", f->name, major(f->rdev), minor(f->rdev));
			return -1;
		}
		return 0;
	}
	if (st.st_nlink != (f->name[0] == 'u' ? 0u : 1u) || st.st_size != sizeof(buf) ||
	    pread(f->fd, buf, sizeof(buf), 0) != sizeof(buf) || datachk(buf, sizeof(buf), f->crc)) {
		fail("%s: %lu links, %lld bytes or contents changed", f->name, (unsigned long)st.st_nlink,
		     (long long)st.st_size);
		return -1;
	}
	return 0;
}

static int files_check(const struct file_desc *f)
{
	uint8_t buf[64];

	for (int i = 0; i < NR_FILES; i++)
		if (file_check(&f[i]))
			return -1;
	if (write(f[F_NULL].fd, buf, 1) != 1 || read(f[F_ZERO].fd, buf, sizeof(buf)) != sizeof(buf) || buf[0] ||
	    read(f[F_URANDOM].fd, buf, sizeof(buf)) != sizeof(buf)) {
		fail("character devices: I/O no longer works");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct worker workers[NR_WORKERS];
	struct file_desc files[NR_FILES];
	struct proc_state proc;
	static struct mem mem;
	atomic_int stop = 0;
	uint8_t stack[STACK_BYTES];
	uint32_t stack_crc;
	int ret = 0;

	test_init(argc, argv);
	__builtin_cpu_init();
	if (!__builtin_cpu_supports("avx"))
		test_skip("this CPU has no AVX");
	if (mem_setup(&mem)) {
		fail("memory setup");
		return 1;
	}
	if (proc_setup(&proc)) {
		fail("process setup");
		return 1;
	}
	if (files_setup(files)) {
		fail("file setup");
		return 1;
	}
	datagen(stack, sizeof(stack), &stack_crc);
	if (workers_start(workers, &stop))
		return 1;

	test_daemon();
	test_waitsig();

	if (datachk(stack, sizeof(stack), stack_crc)) {
		fail("main thread stack data changed");
		ret = 1;
	}
	if (!ret && (mem_check(&mem) || proc_check(&proc) || files_check(files)))
		ret = 1;
	if (workers_stop(workers, &stop))
		ret = 1;
	if (!ret)
		pass();
	return ret;
}
