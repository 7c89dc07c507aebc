/*
 * criu dump records what only the task can tell (task-query.c, by injected
 * syscalls): a child with a SIGUSR1 handler, an alternate signal stack per
 * thread, pdeath signal, securebits, child subreaper, a moved brk, the three
 * itimers and two POSIX timers (one aimed at its second thread) is dumped with
 * --leave-running while both its threads sleep in FUTEX_WAIT. The images must
 * hold what the child reported (read with our image reader; crit must
 * decode core-PID.img too), and the child must run on untouched: both futex
 * waits restarted (woken later, never EINTR), and every setting as before.
 * Exit 0 pass, 1 fail, 77 skip.
 * timeout: 120
 */
#include <linux/futex.h>
#include <linux/securebits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#include "image.h"
#include "restore-test.h"

#include "core.pb-c.h"
#include "mm.pb-c.h"

#define ALTSTACK_SIZE (64 << 10)
#define CRIT_BIN CRIT_PATH /* crit/crit of this tree (criu/Makefile) */
#define PYTHON_BIN "/usr/bin/python3"
#define COOKIE 0x5151
#define SIG_TIMER_PROC (SIGRTMIN + 3)
#define SIG_TIMER_THR (SIGRTMIN + 4)

/* Child exit codes after the dump. */
#define CHILD_FUTEX_EINTR 20
#define CHILD_CHANGED 21

struct kernel_sigaction {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};

/* What the child reads of itself before the dump; again after, it must be the same. */
struct child_state {
	struct kernel_sigaction usr1;
	stack_t ss[2];
	uint64_t clear_tid[2];
	pid_t tid2;
	int pdeath;
	int secbits;
	int subreaper;
	uint64_t brk;
	struct itimerval it[3];
	int timer_id[2];
	struct itimerspec ts[2];
};

static char altstacks[2][ALTSTACK_SIZE] __attribute__((aligned(16)));
static volatile int *futex_word; /* shared with the test */
static volatile int thread_err;
static int thread_ready;
static struct child_state thread_view;

static void on_usr1(int sig)
{
	(void)sig;
}

static int futex_sleep(void)
{
	while (*futex_word == 0) {
		long r = syscall(SYS_futex, futex_word, FUTEX_WAIT, 0, NULL, NULL, 0);

		if (r < 0 && errno != EAGAIN)
			return -1; /* EINTR, or a kernel restart code leaking out */
	}
	return 0;
}

/* The thread's own part of the state: its alternate stack and clear-child-tid address. */
static void read_thread_part(struct child_state *s, int i)
{
	void *addr = NULL;

	sigaltstack(NULL, &s->ss[i]);
	prctl(PR_GET_TID_ADDRESS, &addr);
	s->clear_tid[i] = (uint64_t)(uintptr_t)addr;
}

static void read_state(struct child_state *s)
{
	syscall(SYS_rt_sigaction, SIGUSR1, NULL, &s->usr1, sizeof(s->usr1.mask));
	read_thread_part(s, 0);
	prctl(PR_GET_PDEATHSIG, &s->pdeath);
	s->secbits = prctl(PR_GET_SECUREBITS);
	prctl(PR_GET_CHILD_SUBREAPER, &s->subreaper);
	s->brk = (uint64_t)syscall(SYS_brk, 0);
	for (int i = 0; i < 3; i++)
		getitimer(i, &s->it[i]);
	for (int i = 0; i < 2; i++)
		syscall(SYS_timer_gettime, s->timer_id[i], &s->ts[i]);
}

static void *thread_main(void *arg)
{
	stack_t ss = { .ss_sp = altstacks[1], .ss_size = ALTSTACK_SIZE };

	(void)arg;
	thread_view.tid2 = (pid_t)syscall(SYS_gettid);
	if (sigaltstack(&ss, NULL))
		thread_err = 1;
	read_thread_part(&thread_view, 1);
	__atomic_store_n(&thread_ready, 1, __ATOMIC_RELEASE);
	if (futex_sleep())
		thread_err = CHILD_FUTEX_EINTR;
	read_thread_part(&thread_view, 1);
	return NULL;
}

static bool same_state(const struct child_state *a, const struct child_state *b)
{
	if (memcmp(&a->usr1, &b->usr1, sizeof(a->usr1)) || memcmp(&a->ss[0], &b->ss[0], sizeof(a->ss[0])) ||
	    a->clear_tid[0] != b->clear_tid[0] || a->pdeath != b->pdeath || a->secbits != b->secbits ||
	    a->subreaper != b->subreaper || a->brk != b->brk)
		return false;
	for (int i = 0; i < 3; i++)
		if (memcmp(&a->it[i].it_interval, &b->it[i].it_interval, sizeof(struct timeval)) ||
		    !b->it[i].it_value.tv_sec)
			return false;
	for (int i = 0; i < 2; i++)
		if (a->ts[i].it_interval.tv_sec != b->ts[i].it_interval.tv_sec || !b->ts[i].it_value.tv_sec)
			return false;
	return true;
}

static int make_timer(int sig, int notify, pid_t tid, int *id)
{
	struct sigevent sev;

	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = notify;
	sev.sigev_signo = sig;
	sev.sigev_value.sival_int = COOKIE + sig;
	sev._sigev_un._tid = tid;
	return (int)syscall(SYS_timer_create, CLOCK_MONOTONIC, &sev, id);
}

static int setup(struct child_state *s, pthread_t *th)
{
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_ONSTACK | SA_RESTART };
	stack_t ss = { .ss_sp = altstacks[0], .ss_size = ALTSTACK_SIZE };
	struct itimerval it = { { 700, 5000 }, { 900, 0 } };
	struct itimerspec ts = { { 600, 0 }, { 800, 0 } };

	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	if (sigaction(SIGUSR1, &sa, NULL) || sigaltstack(&ss, NULL) || prctl(PR_SET_PDEATHSIG, SIGHUP) ||
	    prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS) || prctl(PR_SET_CHILD_SUBREAPER, 1) || !sbrk(12345))
		return -1;
	for (int i = 0; i < 3; i++)
		if (setitimer(i, &it, NULL))
			return -1;
	if (pthread_create(th, NULL, thread_main, NULL))
		return -1;
	while (!__atomic_load_n(&thread_ready, __ATOMIC_ACQUIRE))
		usleep(1000);
	if (make_timer(SIG_TIMER_PROC, SIGEV_SIGNAL, 0, &s->timer_id[0]) ||
	    make_timer(SIG_TIMER_THR, SIGEV_SIGNAL | SIGEV_THREAD_ID, thread_view.tid2, &s->timer_id[1]))
		return -1;
	for (int i = 0; i < 2; i++)
		if (syscall(SYS_timer_settime, s->timer_id[i], 0, &ts, NULL))
			return -1;
	return 0;
}

static void __attribute__((noreturn)) child_main(int ready_fd)
{
	struct child_state before, after;
	int null_fd = open("/dev/null", O_RDWR);
	pthread_t th;

	memset(&before, 0, sizeof(before));
	if (setsid() < 0 || null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0 || dup2(null_fd, 2) < 0)
		_exit(RCHILD_SETUP);
	for (int fd = 3; fd < 1024; fd++)
		if (fd != ready_fd)
			close(fd);
	if (setup(&before, &th) || thread_err)
		_exit(RCHILD_SETUP);
	read_state(&before);
	before.tid2 = thread_view.tid2;
	before.ss[1] = thread_view.ss[1];
	before.clear_tid[1] = thread_view.clear_tid[1];
	if (write(ready_fd, &before, sizeof(before)) != sizeof(before))
		_exit(RCHILD_SETUP);
	close(ready_fd);
	if (futex_sleep())
		_exit(CHILD_FUTEX_EINTR);
	pthread_join(th, NULL);
	if (thread_err)
		_exit(thread_err);
	memcpy(&after, &before, sizeof(after));
	read_state(&after);
	after.ss[1] = thread_view.ss[1];
	_exit(same_state(&before, &after) && !memcmp(&before.ss[1], &after.ss[1], sizeof(stack_t)) ? 0 : CHILD_CHANGED);
}

static int start_child(pid_t *pid, struct child_state *st)
{
	int ready[2];
	ssize_t n;

	if (pipe2(ready, O_CLOEXEC))
		return -errno;
	*pid = fork();
	if (*pid < 0)
		return -errno;
	if (*pid == 0) {
		close(ready[0]);
		child_main(ready[1]);
	}
	close(ready[1]);
	n = read(ready[0], st, sizeof(*st));
	close(ready[0]);
	return n == sizeof(*st) ? 0 : -EIO;
}

static int read_image(const char *img, int type, pid_t id, void **msg)
{
	struct cr_img *in;
	int dirfd, ret;

	dirfd = open(img, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	ret = img_open(&in, dirfd, IMG_READ, type, (unsigned int)id);
	if (!ret) {
		ret = img_read_one(in, msg);
		img_close(in);
	}
	close(dirfd);
	return ret;
}

/* Entry of @sig in CRIU's list of dispositions: SIGKILL and SIGSTOP have none. */
static int sa_index(int sig)
{
	return sig - 1 - (sig > SIGKILL) - (sig > SIGSTOP);
}

static void check_itimer(int *failures, const char *name, const ItimerEntry *e, const struct itimerval *v)
{
	expect(failures, e, "no %s itimer", name);
	if (!e)
		return;
	expect(failures, e->isec == (uint64_t)v->it_interval.tv_sec && e->iusec == (uint64_t)v->it_interval.tv_usec,
	       "%s itimer interval %llu.%06llu", name, (unsigned long long)e->isec, (unsigned long long)e->iusec);
	expect(failures,
	       e->vsec * 1000000 + e->vusec <= (uint64_t)v->it_value.tv_sec * 1000000 + v->it_value.tv_usec &&
		       e->vsec > 0,
	       "%s itimer value %llu.%06llu, was %ld.%06ld before", name, (unsigned long long)e->vsec,
	       (unsigned long long)e->vusec, (long)v->it_value.tv_sec, (long)v->it_value.tv_usec);
}

static void check_timer(int *failures, const PosixTimerEntry *e, int id, int sig, int notify, pid_t tid)
{
	expect(failures, e->it_id == (uint32_t)id, "timer id %u, expected %d", e->it_id, id);
	expect(failures, e->si_signo == (uint32_t)sig, "timer %d signal %u, expected %d", id, e->si_signo, sig);
	expect(failures, e->it_sigev_notify == (uint32_t)notify, "timer %d notify %u", id, e->it_sigev_notify);
	expect(failures, e->sival_ptr == (uint64_t)(COOKIE + sig), "timer %d sival %#llx", id,
	       (unsigned long long)e->sival_ptr);
	expect(failures, e->isec == 600 && e->insec == 0 && e->vsec > 0 && e->vsec <= 800,
	       "timer %d interval %llu value %llu", id, (unsigned long long)e->isec, (unsigned long long)e->vsec);
	expect(failures, !tid || (e->has_notify_thread_id && e->notify_thread_id == tid),
	       "timer %d notify thread %d, expected %d", id, e->notify_thread_id, tid);
}

static void check_leader(int *failures, const CoreEntry *c, const struct child_state *st)
{
	const TaskCoreEntry *tc = c->tc;
	const SaEntry *sa;

	expect(failures, tc->n_sigactions == 62, "%zu dispositions, expected 62", tc->n_sigactions);
	if (tc->n_sigactions == 62) {
		sa = tc->sigactions[sa_index(SIGUSR1)];
		expect(failures,
		       sa->sigaction == st->usr1.handler && sa->flags == st->usr1.flags &&
			       sa->restorer == st->usr1.restorer && sa->mask == st->usr1.mask,
		       "SIGUSR1 disposition %#llx/%#llx/%#llx/%#llx", (unsigned long long)sa->sigaction,
		       (unsigned long long)sa->flags, (unsigned long long)sa->restorer, (unsigned long long)sa->mask);
		sa = tc->sigactions[sa_index(SIGUSR2)];
		expect(failures, sa->sigaction == 0 && sa->flags == 0, "SIGUSR2 is not SIG_DFL in the image");
	}
	expect(failures, tc->has_child_subreaper && tc->child_subreaper, "child_subreaper not recorded");
	expect(failures, c->thread_core->has_pdeath_sig && c->thread_core->pdeath_sig == SIGHUP, "pdeath_sig %u",
	       c->thread_core->pdeath_sig);
	expect(failures, c->thread_core->creds && c->thread_core->creds->secbits == (uint32_t)st->secbits,
	       "securebits not recorded");
	expect(failures, tc->timers, "no timers in the image");
	if (!tc->timers)
		return;
	check_itimer(failures, "real", tc->timers->real, &st->it[0]);
	check_itimer(failures, "virt", tc->timers->virt, &st->it[1]);
	check_itimer(failures, "prof", tc->timers->prof, &st->it[2]);
	expect(failures, tc->timers->n_posix == 2, "%zu POSIX timers, expected 2", tc->timers->n_posix);
	if (tc->timers->n_posix != 2)
		return;
	check_timer(failures, tc->timers->posix[0], st->timer_id[0], SIG_TIMER_PROC, SIGEV_SIGNAL, 0);
	check_timer(failures, tc->timers->posix[1], st->timer_id[1], SIG_TIMER_THR, SIGEV_SIGNAL | SIGEV_THREAD_ID,
		    st->tid2);
}

static void check_thread(int *failures, const CoreEntry *c, const struct child_state *st, int i)
{
	const ThreadSasEntry *sas = c->thread_core->sas;

	expect(failures,
	       sas && sas->ss_sp == (uint64_t)(uintptr_t)st->ss[i].ss_sp && sas->ss_size == st->ss[i].ss_size &&
		       sas->ss_flags == (uint32_t)st->ss[i].ss_flags,
	       "thread %d: sigaltstack not recorded", i);
	expect(failures, c->thread_info->clear_tid_addr == st->clear_tid[i],
	       "thread %d: clear_tid_addr %#llx, expected %#llx", i, (unsigned long long)c->thread_info->clear_tid_addr,
	       (unsigned long long)st->clear_tid[i]);
}

static void check_images(int *failures, const char *img, pid_t pid, const struct child_state *st)
{
	CoreEntry *core = NULL, *core2 = NULL;
	MmEntry *mm = NULL;

	expect(failures, read_image(img, CR_IMG_CORE, pid, (void **)&core) == 0, "can't read core-%d.img", pid);
	expect(failures, read_image(img, CR_IMG_CORE, st->tid2, (void **)&core2) == 0, "can't read core-%d.img",
	       st->tid2);
	expect(failures, read_image(img, CR_IMG_MM, pid, (void **)&mm) == 0, "can't read mm-%d.img", pid);
	if (core) {
		check_leader(failures, core, st);
		check_thread(failures, core, st, 0);
		img_free_entry(core);
	}
	if (core2) {
		check_thread(failures, core2, st, 1);
		img_free_entry(core2);
	}
	if (mm) {
		expect(failures, mm->mm_brk == st->brk, "mm_brk %#llx, expected %#llx", (unsigned long long)mm->mm_brk,
		       (unsigned long long)st->brk);
		img_free_entry(mm);
	}
}

static void check_crit(int *failures, const char *tmp, const char *img, pid_t pid)
{
	char path[PATH_MAX];
	char *argv[] = { PYTHON_BIN, CRIT_BIN, "decode", "-i", path, NULL };
	struct run_result r;

	if ((size_t)snprintf(path, sizeof(path), "%s/core-%d.img", img, pid) >= sizeof(path) ||
	    access(CRIT_BIN, R_OK)) {
		fprintf(stderr, "crit is not installed: CRIU's decoding not checked\n");
		return;
	}
	if (test_run(&r, tmp, NULL, argv, NULL)) {
		(*failures)++;
		return;
	}
	expect(failures, r.exit_code == 0 && strstr(r.out, "\"sigactions\"") && strstr(r.out, "\"posix\""),
	       "crit can't decode core-%d.img: %s", pid, r.err);
	test_run_free(&r);
}

int main(void)
{
	char tmp[256], img[PATH_MAX], pidstr[32];
	const char *dump[] = { "dump", "-t", pidstr, "-D", img, "-o", "dump.log", "-v4", "--leave-running", NULL };
	struct child_state st;
	struct run_result r;
	int failures = 0, status;
	pid_t pid = 0;

	if (geteuid() != 0) {
		printf("SKIP: needs root\n");
		return TEST_SKIP;
	}
	futex_word = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (futex_word == MAP_FAILED || test_mkdtemp(tmp, sizeof(tmp), "dump-task-query"))
		return TEST_FAIL;
	snprintf(img, sizeof(img), "%s/img", tmp);
	if (mkdir(img, 0700) || start_child(&pid, &st)) {
		fprintf(stderr, "can't start the child\n");
		failures++;
		goto out;
	}
	usleep(20000); /* both threads asleep in FUTEX_WAIT */
	snprintf(pidstr, sizeof(pidstr), "%d", pid);
	if (rcriu_run(&r, tmp, dump) || r.exit_code != 0) {
		fprintf(stderr, "criu dump failed\n");
		failures++;
	} else {
		test_run_free(&r);
		check_images(&failures, img, pid, &st);
		check_crit(&failures, tmp, img, pid);
	}
	usleep(20000);
	*futex_word = 1;
	syscall(SYS_futex, futex_word, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
	status = rchild_wait(pid, 5000);
	expect(&failures, status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "the child ended with status %#x after the dump (exit %d: futex wait interrupted, %d: state changed)",
	       status, CHILD_FUTEX_EINTR, CHILD_CHANGED);
	if (status < 0)
		rchild_kill(pid);
out:
	if (failures)
		rtest_print_log(img, "dump.log");
	test_rm_rf(tmp);
	printf("%s\n", failures ? "FAIL" : "PASS");
	return failures ? TEST_FAIL : TEST_PASS;
}
