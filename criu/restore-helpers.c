/*
 * criu restore: the helpers that stand in for a dead session or group leader
 * while the tree is forked (see include/restore-helpers.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pstree.h"
#include "restore-helpers.h"

#define LOG_PREFIX "restore: "
#include "log.h"

/* How long a process forked by a session helper waits to be adopted by its parent. */
#define ADOPT_TIMEOUT_MS 10000

int restore_helpers_plan(struct restore_proc *procs, size_t nr)
{
	struct pstree_item *items = calloc(nr ? nr : 1, sizeof(*items));
	struct pstree_helpers *plan = calloc(nr ? nr : 1, sizeof(*plan));
	int ret;

	if (!items || !plan) {
		ret = -ENOMEM;
		goto out_free;
	}
	for (size_t k = 0; k < nr; k++) {
		const struct restore_image *ri = procs[k].ri;

		items[k] = (struct pstree_item){
			.pid = ri->pid,
			.ppid = (pid_t)ri->pstree->ppid,
			.pgid = (pid_t)ri->pstree->pgid,
			.sid = (pid_t)ri->pstree->sid,
			.threads = ri->tids,
			.nr_threads = ri->nr_threads,
		};
	}
	ret = pstree_plan_helpers(items, nr, false, plan);
	for (size_t k = 0; !ret && k < nr; k++) {
		procs[k].session_helper = plan[k].session_helper;
		procs[k].group_helper = plan[k].group_helper;
		procs[k].born_sid = plan[k].born_sid;
		procs[k].before_setsid = k && pstree_born_before_setsid(items, plan, k);
		if (plan[k].born_sid)
			pr_info("process %d: born in session %d, forks its children of that session, then setsid()\n",
				items[k].pid, plan[k].born_sid);
		if (plan[k].session_helper)
			pr_info("process %d: forked by a helper %d standing in for its session's dead leader\n",
				items[k].pid, plan[k].session_helper);
		if (plan[k].group_helper)
			pr_info("process %d: makes its group with a helper %d standing in for its dead leader\n",
				items[k].pid, plan[k].group_helper);
		/* One session helper for several processes: its pid checked once is enough, twice is harmless. */
		if (plan[k].session_helper)
			ret = restore_check_pid_free(plan[k].session_helper);
		if (!ret && plan[k].group_helper)
			ret = restore_check_pid_free(plan[k].group_helper);
	}
out_free:
	free(plan);
	free(items);
	return ret;
}

/* clone3 with set_tid @pid, as a child that dies with its parent; returns 0 in the child, as fork(). */
static pid_t clone_helper(pid_t pid)
{
	pid_t tid = pid;
	struct restore_clone_args args = {
		.exit_signal = SIGCHLD,
		.set_tid = (uint64_t)(uintptr_t)&tid,
		.set_tid_size = 1,
	};
	long ret = syscall(SYS_clone3, &args, sizeof(args));

	if (ret < 0) {
		pr_perror("Can't create the helper %d (clone3 with set_tid)", pid);
		return -errno;
	}
	if (ret == 0 && prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0))
		_exit(1);
	return (pid_t)ret;
}

/* Reaps helper @pid (a child of ours), which must have exited with code 0. */
static int reap_helper(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			pr_perror("Can't wait for the helper %d", pid);
			return -errno;
		}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		pr_err("the helper %d failed (status %#x)\n", pid, status);
		return -ECHILD;
	}
	return 0;
}

/* In the process: a helper with the dead leader's pid @pgid makes the group; the process joins it. */
static int make_group(pid_t self, pid_t pgid)
{
	siginfo_t si = { 0 };
	pid_t pid = clone_helper(pgid);
	int ret = 0;

	if (pid < 0)
		return pid;
	if (pid == 0)
		_exit(setpgid(0, 0) ? 1 : 0);
	/* Exited but not reaped, it is still in the group: the group lives until we are in it. */
	while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) < 0)
		if (errno != EINTR) {
			pr_perror("Can't wait for the helper %d", pid);
			return -errno;
		}
	if (si.si_code != CLD_EXITED || si.si_status)
		pr_err("the helper %d could not make process group %d\n", pid, pgid);
	else if (setpgid(0, pgid) < 0) {
		pr_perror("Can't move process %d into process group %d", self, pgid);
		ret = -errno;
	}
	return reap_helper(pid) ?: ret;
}

/* Waits until process @self, forked by a session helper, is adopted by @parent (the helper exited). */
static int wait_adopted(pid_t self, pid_t parent)
{
	struct timespec step = { .tv_nsec = 1000 * 1000 };

	for (int waited = 0; getppid() != parent; waited++) {
		if (waited >= ADOPT_TIMEOUT_MS) {
			pr_err("process %d was not adopted by its parent %d (its parent is %d)\n", self, parent,
			       getppid());
			return -ECHILD;
		}
		nanosleep(&step, NULL);
	}
	/* As every process until the restore sets the dumped one: it dies with its parent. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) || getppid() != parent)
		return -ECHILD;
	return 0;
}

int restore_helper_adopted(const struct restore_proc *procs, size_t k)
{
	pid_t self = procs[k].ri->pid;
	int ret = 0;

	if (procs[k].session_helper)
		ret = wait_adopted(self, procs[procs[k].parent].ri->pid);
	if (!ret && procs[k].group_helper)
		ret = make_group(self, procs[k].group_helper);
	return ret;
}

/* In the session helper @sid: the session, then the children of process @k that belong to it; then it exits. */
static void __attribute__((noreturn))
session_helper_main(const struct restore_proc *procs, size_t nr, size_t k, pid_t sid, struct restore_sync *sync,
		    restore_fork_fn fork_proc)
{
	if (setsid() < 0) {
		pr_perror("Can't make the helper %d a session leader", sid);
		_exit(1);
	}
	for (size_t c = k + 1; c < nr; c++)
		if (procs[c].parent == k && procs[c].session_helper == sid && fork_proc(procs, nr, c, sync) < 0)
			_exit(1);
	_exit(0);
}

/* True when an earlier child of @k than @c has the same session helper. */
static bool helper_forked(const struct restore_proc *procs, size_t k, size_t c)
{
	for (size_t e = k + 1; e < c; e++)
		if (procs[e].parent == k && procs[e].session_helper == procs[c].session_helper)
			return true;
	return false;
}

int restore_helpers_fork(const struct restore_proc *procs, size_t nr, size_t k, struct restore_sync *sync,
			 restore_fork_fn fork_proc)
{
	const TaskCoreEntry *tc = procs[k].ri->core->tc;
	bool any = false;
	int ret = 0;

	for (size_t c = k + 1; c < nr; c++)
		any = any || (procs[c].parent == k && procs[c].session_helper);
	if (!any)
		return 0;
	/* The helper's children come to us when it exits, as they came to the dumped process. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
		pr_perror("Can't make process %d a child subreaper", procs[k].ri->pid);
		return -errno;
	}
	for (size_t c = k + 1; !ret && c < nr; c++) {
		pid_t pid;

		if (procs[c].parent != k || !procs[c].session_helper || helper_forked(procs, k, c))
			continue;
		pid = clone_helper(procs[c].session_helper);
		if (pid == 0)
			session_helper_main(procs, nr, k, procs[c].session_helper, sync, fork_proc);
		ret = pid < 0 ? pid : reap_helper(pid);
	}
	/* The dumped flag is set again later (restore-thread.c) only when it was set. */
	if (!ret && !(tc->has_child_subreaper && tc->child_subreaper) &&
	    prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) < 0) {
		pr_perror("Can't clear the child subreaper flag of process %d", procs[k].ri->pid);
		ret = -errno;
	}
	return ret;
}
