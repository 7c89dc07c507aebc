/*
 * clone_vm_ng02: a child made with clone(CLONE_VM) alone shares its parent's
 * address space but has signal handlers, fds, name and rlimits of its own:
 * its own SIGUSR2 handler (the parent keeps the default), an fd 20 that only
 * it has (a dup of the parent's stderr), FD_CLOEXEC on its fd 1 (not on the
 * parent's), the parent's other fds closed, its own name and RLIMIT_NOFILE,
 * an interval timer of its own and a SIGUSR1 it blocked and sent itself.
 * After restore the child finds all of that its own, kcmp(2) says the two
 * share the address space and not the handlers, and each sees the other's
 * writes.
 */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/kcmp.h>

#include "tree.h"
#include "zdtmtst.h"

#define CHILD_NOFILE 200

static volatile int go, ready, usr2_in_child;
static volatile int child_fd20, child_fd1, child_name_ok, child_nofile_ok, child_done;
static volatile int child_timer_ok, child_usr1_pending;

static void on_usr2(int sig)
{
	(void)sig;
	usr2_in_child = 1;
}

static int child_fn(void *arg)
{
	struct timespec ts = { .tv_nsec = 10 * 1000 * 1000 };
	struct rlimit rl = { .rlim_cur = CHILD_NOFILE, .rlim_max = CHILD_NOFILE * 4 };
	struct sigaction sa = { .sa_handler = on_usr2 };
	char name[16] = { 0 };

	(void)arg;
	syscall(SYS_close_range, 3, ~0u, 0);
	syscall(SYS_dup3, 2, 20, O_CLOEXEC);
	syscall(SYS_fcntl, 1, F_SETFD, FD_CLOEXEC);
	syscall(SYS_prctl, PR_SET_NAME, "vm_child", 0, 0, 0);
	syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &rl, NULL);
	struct itimerval it = { .it_value = { .tv_sec = 1000 } };
	uint64_t usr1 = 1ull << (SIGUSR1 - 1), pending = 0;

	if (sigaction(SIGUSR2, &sa, NULL))
		syscall(SYS_exit, 1);
	if (syscall(SYS_setitimer, ITIMER_REAL, &it, NULL) || syscall(SYS_rt_sigprocmask, SIG_BLOCK, &usr1, NULL, 8) ||
	    syscall(SYS_kill, syscall(SYS_getpid), SIGUSR1))
		syscall(SYS_exit, 1);
	ready = 1;
	while (!go)
		syscall(SYS_nanosleep, &ts, NULL);
	syscall(SYS_kill, syscall(SYS_getpid), SIGUSR2);
	child_fd20 = (int)syscall(SYS_fcntl, 20, F_GETFD);
	child_fd1 = (int)syscall(SYS_fcntl, 1, F_GETFD);
	syscall(SYS_prctl, PR_GET_NAME, name, 0, 0, 0);
	child_name_ok = !strcmp(name, "vm_child");
	rl.rlim_cur = 0;
	syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &rl);
	child_nofile_ok = rl.rlim_cur == CHILD_NOFILE && rl.rlim_max == CHILD_NOFILE * 4;
	it.it_value.tv_sec = 0;
	syscall(SYS_getitimer, ITIMER_REAL, &it);
	child_timer_ok = it.it_value.tv_sec > 0 && it.it_value.tv_sec <= 1000;
	syscall(SYS_rt_sigpending, &pending, 8);
	child_usr1_pending = !!(pending & usr1);
	child_done = 1;
	syscall(SYS_exit, 0);
	return 0;
}

int main(int argc, char **argv)
{
	struct timespec ts = { .tv_nsec = 10 * 1000 * 1000 };
	struct sigaction old;
	struct itimerval pit;
	int status;
	pid_t pid;

	test_init(argc, argv);
	pid = tree_clone(child_fn, CLONE_VM | SIGCHLD, NULL);
	if (pid < 0)
		return 1;
	while (!ready)
		nanosleep(&ts, NULL);

	test_daemon();
	test_waitsig();

	if (syscall(SYS_kcmp, getpid(), pid, KCMP_VM, 0, 0) || !syscall(SYS_kcmp, getpid(), pid, KCMP_SIGHAND, 0, 0) ||
	    !syscall(SYS_kcmp, getpid(), pid, KCMP_FILES, 0, 0)) {
		fail("kcmp: the address space should be shared, the handlers and fd table not");
		return 1;
	}
	if (getitimer(ITIMER_REAL, &pit) || pit.it_value.tv_sec || pit.it_value.tv_usec) {
		fail("the parent has the child's interval timer");
		return 1;
	}
	if (sigaction(SIGUSR2, NULL, &old) || old.sa_handler != SIG_DFL) {
		fail("the parent has the child's SIGUSR2 handler");
		return 1;
	}
	if (fcntl(20, F_GETFD) != -1 || fcntl(1, F_GETFD) != 0) {
		fail("the parent has the child's fd 20 or its FD_CLOEXEC on fd 1");
		return 1;
	}
	go = 1;
	if (waitpid(pid, &status, __WALL) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fail("the child did not end well");
		return 1;
	}
	if (!child_done || !usr2_in_child || child_fd20 != FD_CLOEXEC || child_fd1 != FD_CLOEXEC || !child_name_ok ||
	    !child_nofile_ok || !child_timer_ok || !child_usr1_pending) {
		fail("the child lost its own state (done %d, usr2 %d, fd20 %d, fd1 %d, name %d, nofile %d, timer %d, usr1 "
		     "%d)",
		     child_done, usr2_in_child, child_fd20, child_fd1, child_name_ok, child_nofile_ok, child_timer_ok,
		     child_usr1_pending);
		return 1;
	}
	pass();
	return 0;
}
