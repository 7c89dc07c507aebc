/*
 * vfork_pending_ng: a child blocked in vfork(): its own child neither execs
 * nor exits, so the child sleeps uninterruptibly, sharing its memory with it.
 * No ptrace stop can freeze it: CRIU refuses the dump, and so does criu-ng
 * with --leave-running (the .desc says killdump); without it criu-ng's dump
 * kills the vfork() child last and the restore makes the vfork() again
 * (vfork_ng00 checks more). Then the root ends the vfork() child, the child
 * returns from vfork(), reaps it and exits 0.
 */
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tree.h"
#include "zdtmtst.h"

int main(int argc, char **argv)
{
	int p[2], status;
	pid_t child, vchild = 0;

	test_init(argc, argv);
	if (pipe(p)) {
		fail("pipe");
		return 1;
	}
	child = tree_fork();
	if (child < 0)
		return 1;
	if (child == 0) {
		pid_t v;

		close(p[0]);
		v = vfork();
		if (v == 0) {
			/* Shares the parent's memory and stack: raw syscalls only. */
			pid_t self = (pid_t)syscall(SYS_getpid);

			if (syscall(SYS_write, p[1], &self, sizeof(self)) != sizeof(self))
				syscall(SYS_exit, 1);
			for (;;)
				syscall(SYS_pause);
		}
		/* Back from vfork() once the root killed the vfork() child: reap it, or init inherits a zombie. */
		_exit(v < 0 || waitpid(v, NULL, 0) != v ? 2 : 0);
	}
	close(p[1]);
	if (read(p[0], &vchild, sizeof(vchild)) != sizeof(vchild)) {
		fail("the vfork() child did not report");
		return 1;
	}
	close(p[0]);

	test_daemon();
	test_waitsig();

	if (kill(vchild, SIGKILL) || waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fail("the child did not return from vfork() and exit well");
		return 1;
	}
	pass();
	return 0;
}
