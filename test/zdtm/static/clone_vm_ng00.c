/*
 * clone_vm_ng00: a child made with clone(CLONE_VM | CLONE_SIGHAND) but not
 * CLONE_THREAD shares its parent's address space and signal handlers while
 * being a process of its own, with a copy of its parent's fd table that it
 * trimmed. CRIU's dump refuses such a pair; criu-ng restores it (its parent
 * makes it again with a clone3): after restore the child is still the
 * parent's child with its pid, kcmp(2) says both share the address space and
 * the handlers, a SIGUSR1 handler the parent installs runs in the child, what
 * the parent writes (go) the child sees and what the child writes the parent
 * reads, and the child has only the fds it had kept.
 */
#include <fcntl.h>
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

static volatile int go, usr1_in_child, reply, fd3_in_child = -1;
static volatile pid_t child_pid;

static void on_usr1(int sig)
{
	(void)sig;
	usr1_in_child = syscall(SYS_getpid) == child_pid;
}

/* The child: waits for the parent's go, raises SIGUSR1 in itself and answers. */
static int child_fn(void *arg)
{
	struct timespec ts = { .tv_nsec = 10 * 1000 * 1000 };

	(void)arg;
	/*
	 * Its own copy of the fd table: the launcher's fds go (test_forked() would
	 * clear the parent's copies of the library's state, in the shared memory).
	 */
	syscall(SYS_close_range, 3, ~0u, 0);
	/* Gone with its parent, whatever happens to the test. */
	syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	while (!go)
		syscall(SYS_nanosleep, &ts, NULL);
	syscall(SYS_kill, syscall(SYS_getpid), SIGUSR1);
	fd3_in_child = (int)syscall(SYS_fcntl, 3, F_GETFD);
	reply = 42;
	syscall(SYS_exit, 0);
	return 0;
}

int main(int argc, char **argv)
{
	int status;
	pid_t pid;

	test_init(argc, argv);
	pid = tree_clone(child_fn, CLONE_VM | CLONE_SIGHAND | SIGCHLD, NULL);
	if (pid < 0)
		return 1;
	child_pid = pid;

	test_daemon();
	test_waitsig();

	if (kill(pid, 0)) {
		fail("the child is gone");
		return 1;
	}
	if (syscall(SYS_kcmp, getpid(), pid, KCMP_VM, 0, 0) || syscall(SYS_kcmp, getpid(), pid, KCMP_SIGHAND, 0, 0)) {
		fail("the child no longer shares the address space and the signal handlers (kcmp)");
		return 1;
	}
	if (syscall(SYS_kcmp, getpid(), pid, KCMP_FILES, 0, 0) == 0) {
		fail("the child shares the parent's fd table");
		return 1;
	}
	if (signal(SIGUSR1, on_usr1) == SIG_ERR) {
		fail("signal");
		return 1;
	}
	go = 1;
	if (waitpid(pid, &status, __WALL) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fail("the child did not end well");
		return 1;
	}
	if (fd3_in_child != -1) {
		fail("the child has an fd 3, which it had closed");
		return 1;
	}
	if (!usr1_in_child || reply != 42) {
		fail("the child no longer shares the address space or the handlers (%d, %d)", usr1_in_child, reply);
		return 1;
	}
	pass();
	return 0;
}
