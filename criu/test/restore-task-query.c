/*
 * What the dump asks the task by injection comes back with criu restore, end
 * to end (no image patched by hand): a child whose main thread sleeps in
 * pthread_join on a second thread, with a periodic ITIMER_REAL (SIGALRM) and a
 * periodic POSIX timer (SIGRTMIN+5 with a cookie in its sigval) counted by
 * handlers, and a SIGUSR2 handler that must run on the alternate stack of the
 * thread it interrupts. It is dumped (and killed), restored with -d, and sent
 * SIGUSR2: the second thread then checks that both timers still fire and
 * ends, after checking that the process is still a child subreaper with
 * SECBIT_KEEP_CAPS set; pthread_join in the main thread only returns if the
 * kernel clears and wakes the thread's tid (clear_child_tid restored).
 * Exit 0 pass, 1 fail, 77 skip.
 * timeout: 120
 */
#include <linux/securebits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#include "restore-test.h"

#define ALTSTACK_SIZE (64 << 10)
#define COOKIE 0x7e57
#define SIG_TIMER (SIGRTMIN + 5)

/* Child exit codes. */
#define CHILD_NOT_ON_ALTSTACK 30
#define CHILD_NO_ALARM 31
#define CHILD_NO_TIMER 32
#define CHILD_BAD_COOKIE 33
#define CHILD_JOIN 34
#define CHILD_PRCTL 35

static char altstacks[2][ALTSTACK_SIZE] __attribute__((aligned(16)));
static volatile sig_atomic_t go, not_on_stack, alarms, ticks, bad_cookie;

static void on_usr2(int sig)
{
	stack_t ss;

	(void)sig;
	if (sigaltstack(NULL, &ss) || !(ss.ss_flags & SS_ONSTACK))
		not_on_stack = 1;
	go = 1;
}

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static void on_timer(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (si->si_value.sival_int != COOKIE)
		bad_cookie = 1;
	ticks++;
}

static int set_altstack(int i)
{
	stack_t ss = { .ss_sp = altstacks[i], .ss_size = ALTSTACK_SIZE };

	return sigaltstack(&ss, NULL);
}

static bool subreaper_set(void)
{
	int v = 0;

	return !prctl(PR_GET_CHILD_SUBREAPER, &v) && v == 1;
}

/* After SIGUSR2: both timers must fire again within 300 ms, subreaper and securebits as set. */
static void *thread_main(void *arg)
{
	(void)arg;
	if (set_altstack(1))
		return (void *)(intptr_t)RCHILD_SETUP;
	while (!go)
		usleep(1000);
	alarms = ticks = 0;
	for (int i = 0; i < 300 && (!alarms || !ticks); i++)
		usleep(1000);
	if (not_on_stack)
		return (void *)(intptr_t)CHILD_NOT_ON_ALTSTACK;
	if (!subreaper_set() || prctl(PR_GET_SECUREBITS) != SECBIT_KEEP_CAPS)
		return (void *)(intptr_t)CHILD_PRCTL;
	if (!alarms)
		return (void *)(intptr_t)CHILD_NO_ALARM;
	if (!ticks)
		return (void *)(intptr_t)CHILD_NO_TIMER;
	return (void *)(intptr_t)(bad_cookie ? CHILD_BAD_COOKIE : 0);
}

static int setup_signals(void)
{
	struct sigaction usr2 = { .sa_handler = on_usr2, .sa_flags = SA_ONSTACK | SA_RESTART };
	struct sigaction alrm = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
	struct sigaction tmr = { .sa_sigaction = on_timer, .sa_flags = SA_SIGINFO | SA_RESTART };

	sigemptyset(&usr2.sa_mask);
	sigemptyset(&alrm.sa_mask);
	sigemptyset(&tmr.sa_mask);
	return set_altstack(0) || sigaction(SIGUSR2, &usr2, NULL) || sigaction(SIGALRM, &alrm, NULL) ||
	       sigaction(SIG_TIMER, &tmr, NULL);
}

static int setup_timers(void)
{
	struct itimerval it = { { 0, 10000 }, { 0, 10000 } };
	struct itimerspec ts = { { 0, 10000000 }, { 0, 10000000 } };
	struct sigevent sev;
	timer_t id;

	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIG_TIMER;
	sev.sigev_value.sival_int = COOKIE;
	if (timer_create(CLOCK_MONOTONIC, &sev, &id) || timer_settime(id, 0, &ts, NULL))
		return -1;
	return setitimer(ITIMER_REAL, &it, NULL);
}

static void __attribute__((noreturn)) child_main(int ready_fd)
{
	int null_fd = open("/dev/null", O_RDWR);
	pthread_t th;
	void *res;

	if (setsid() < 0 || null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0 || dup2(null_fd, 2) < 0)
		_exit(RCHILD_SETUP);
	for (int fd = 3; fd < 1024; fd++)
		if (fd != ready_fd)
			close(fd);
	if (setup_signals() || setup_timers() || prctl(PR_SET_CHILD_SUBREAPER, 1) ||
	    prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS) || pthread_create(&th, NULL, thread_main, NULL))
		_exit(RCHILD_SETUP);
	while (!alarms || !ticks)
		usleep(1000);
	if (write(ready_fd, "R", 1) != 1)
		_exit(RCHILD_SETUP);
	close(ready_fd);
	if (pthread_join(th, &res))
		_exit(CHILD_JOIN);
	_exit((int)(intptr_t)res);
}

static int start_child(pid_t *pid)
{
	int ready[2];
	char c;
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
	n = read(ready[0], &c, 1);
	close(ready[0]);
	return n == 1 ? 0 : -EIO;
}

int main(void)
{
	char tmp[256], img[PATH_MAX], pidstr[32];
	const char *dump[] = { "dump", "-t", pidstr, "-D", img, "-o", "dump.log", "-v4", NULL };
	const char *restore[] = { "restore", "-D", img, "-d", "-o", "restore.log", "-v4", NULL };
	int failures = 0, status;
	pid_t pid = 0;

	if (geteuid() != 0) {
		printf("SKIP: needs root\n");
		return TEST_SKIP;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) || test_mkdtemp(tmp, sizeof(tmp), "restore-task-query"))
		return TEST_FAIL;
	snprintf(img, sizeof(img), "%s/img", tmp);
	if (mkdir(img, 0700) || start_child(&pid)) {
		fprintf(stderr, "can't start the child\n");
		failures++;
		goto out;
	}
	snprintf(pidstr, sizeof(pidstr), "%d", pid);
	if (rtest_dump(tmp, dump, pid, &failures))
		goto out;
	if (rtest_restore(tmp, restore, &failures))
		goto out;
	usleep(50000);
	expect(&failures, kill(pid, SIGUSR2) == 0, "can't signal the restored child: %m");
	status = rchild_wait(pid, 5000);
	expect(&failures, status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "the restored child ended with status %#x (-1: still running, pthread_join never returned; exit %d: "
	       "handler not on the alternate stack, %d: no "
	       "SIGALRM, %d: no POSIX timer signal, %d: bad sigval, %d: subreaper or securebits lost; killed by "
	       "SIGALRM/SIGUSR2: no handler)",
	       status, CHILD_NOT_ON_ALTSTACK, CHILD_NO_ALARM, CHILD_NO_TIMER, CHILD_BAD_COOKIE, CHILD_PRCTL);
	if (status < 0)
		rchild_kill(pid);
out:
	if (failures) {
		rtest_print_log(img, "dump.log");
		rtest_print_log(img, "restore.log");
	}
	test_rm_rf(tmp);
	printf("%s\n", failures ? "FAIL" : "PASS");
	return failures ? TEST_FAIL : TEST_PASS;
}
