/*
 * criu dump: a thread blocked in vfork() (see include/dump-vfork.h).
 */
#include <errno.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include "dump-vfork.h"

#define LOG_PREFIX "dump: "
#include "log.h"

int dump_vfork_check(pid_t pid, pid_t tid, size_t nr_vforks, pid_t child, bool child_accepted)
{
	const char *why = NULL;

	if (nr_vforks != 1)
		why = "another thread of the process is blocked in vfork() too";
	else if (!child_accepted)
		why = "the child is not one whose address space the restore can share";
	if (why) {
		pr_err("thread %d of process %d is blocked in vfork() until its child %d execs or exits, and %s: not "
		       "supported yet\n",
		       tid, pid, child, why);
		return -EOPNOTSUPP;
	}
	return 0;
}

int dump_vfork_end(pid_t tid, pid_t child)
{
	int status;

	pr_info("killing the vfork() child %d so that thread %d returns from vfork() and stops\n", child, tid);
	if (kill(child, SIGKILL) < 0) {
		pr_perror("Can't kill the vfork() child %d", child);
		return -errno;
	}
	/*
	 * Its exit releases the address space (mm_release(): complete_vfork_done()).
	 * The jobctl trap the interrupt left pending comes before any signal.
	 */
	for (;;) {
		if (waitpid(tid, &status, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			pr_perror("Can't wait for thread %d to return from vfork()", tid);
			return -errno;
		}
		if (WIFSTOPPED(status) && (status >> 16) == PTRACE_EVENT_STOP)
			return 0;
		pr_err("thread %d did not reach its interrupt stop after its vfork() (status %#x)\n", tid, status);
		return -EIO;
	}
}
