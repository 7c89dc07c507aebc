/*
 * clone_vm_ng01 (crfail): a child made with clone(CLONE_VM | CLONE_SIGHAND)
 * that forked a child of its own. The restore makes such a sharer with a
 * clone3 of its parent only when it has no children, so the dump must refuse
 * it (the .desc says crfail), naming both, and leave the three running: after
 * SIGTERM the sharer still shares the parent's address space and handlers
 * (kcmp), sees the parent's go and answers, and its child is still there.
 */
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/kcmp.h>

#include "tree.h"
#include "zdtmtst.h"

static volatile int go, reply;
static volatile pid_t grandchild;

/* The sharer: forks a child that waits for its end, then waits for the go and checks that child. */
static int child_fn(void *arg)
{
	struct timespec ts = { .tv_nsec = 10 * 1000 * 1000 };
	pid_t g;

	(void)arg;
	/* The launcher waits for the end of a pipe the test holds: its copies here go. */
	syscall(SYS_close_range, 3, ~0u, 0);
	syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	g = (pid_t)syscall(SYS_fork);
	if (g == 0) {
		syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		for (;;)
			syscall(SYS_pause);
	}
	grandchild = g;
	while (!go)
		syscall(SYS_nanosleep, &ts, NULL);
	reply = g > 0 && syscall(SYS_kill, g, 0) == 0 ? 42 : 1;
	syscall(SYS_kill, g, SIGKILL);
	syscall(SYS_wait4, g, NULL, 0, NULL);
	syscall(SYS_exit, 0);
	return 0;
}

int main(int argc, char **argv)
{
	struct timespec ts = { .tv_nsec = 10 * 1000 * 1000 };
	int status;
	pid_t pid;

	test_init(argc, argv);
	pid = tree_clone(child_fn, CLONE_VM | CLONE_SIGHAND | SIGCHLD, NULL);
	if (pid < 0)
		return 1;
	while (!grandchild)
		nanosleep(&ts, NULL);

	test_daemon();
	test_waitsig();

	if (syscall(SYS_kcmp, getpid(), pid, KCMP_VM, 0, 0) || syscall(SYS_kcmp, getpid(), pid, KCMP_SIGHAND, 0, 0)) {
		fail("the child no longer shares the address space and the signal handlers (kcmp)");
		return 1;
	}
	go = 1;
	if (waitpid(pid, &status, __WALL) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fail("the child did not end well");
		return 1;
	}
	if (reply != 42) {
		fail("the child's child is gone, or the child does not share the memory (%d)", reply);
		return 1;
	}
	pass();
	return 0;
}
