/*
 * Freeze a process tree with PTRACE_SEIZE + PTRACE_INTERRUPT, thread by thread,
 * until a pass over the tree finds nothing new; release detaches it all. Every
 * wait for a stop is a poll bounded by the caller's deadline, and a failed seize
 * leaves no thread traced that can be let go.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kcmp.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ngutil.h"
#include "seize.h"

/* waitpid(WNOHANG) polls of a thread about to stop: the first after 100 us, then twice as late, up to 10 ms. */
#define WAIT_POLL_MIN_US 100
#define WAIT_POLL_MAX_US 10000

/*
 * How long a thread may take to stop before, if it sleeps uninterruptibly in vfork(), the seize gives up
 * (a vfork() child that execs soon, as posix_spawn()'s, is waited for).
 */
#define VFORK_GRACE_MS 1000

static int64_t now_ms(void)
{
	return (int64_t)ng_now_ms();
}

/* Parent pid and state letter from /proc/PID/stat; -ESRCH when the process is gone. */
static int read_stat(pid_t pid, const char *sub, pid_t *ppid, char *state)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%sstat", pid, sub);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 && errno != ESRCH ? -errno : -ESRCH;
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the command name may hold anything, ')' included */
	if (!p || sscanf(p + 1, " %c %d", state, ppid) != 2)
		return -EINVAL;
	return 0;
}

static bool thread_is_dead(pid_t pid, pid_t tid)
{
	char sub[48], state;
	pid_t ppid;

	snprintf(sub, sizeof(sub), "task/%d/", tid);
	return read_stat(pid, sub, &ppid, &state) || state == 'Z' || state == 'X';
}

/* The state letter of thread @tid, '?' when it can't be read. */
static char thread_state(pid_t tid)
{
	pid_t ppid;
	char state;

	return read_stat(tid, "", &ppid, &state) ? '?' : state;
}

/* The Tgid line of /proc/@tid/status: the process the thread belongs to. */
static int read_tgid(pid_t tid, pid_t *tgid)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -ESRCH;
	buf[n] = '\0';
	p = strstr(buf, "\nTgid:");
	if (!p || sscanf(p + 6, "%d", tgid) != 1)
		return -EINVAL;
	return 0;
}

static void sleep_us(long us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000 };

	/* Cut short by a signal, the next poll comes sooner: harmless. */
	(void)nanosleep(&ts, NULL);
}

/*
 * The next wait status of @tid, polled without blocking until @deadline (ms of
 * CLOCK_MONOTONIC): 0, -ETIMEDOUT, or -errno. One poll is made even when the
 * deadline has passed.
 */
static int wait_status(pid_t tid, int64_t deadline, int *status)
{
	long delay_us = WAIT_POLL_MIN_US;

	for (;;) {
		pid_t r = waitpid(tid, status, __WALL | WNOHANG);

		if (r == tid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		sleep_us(delay_us);
		if (delay_us < WAIT_POLL_MAX_US)
			delay_us *= 2;
	}
}

/*
 * Waits until @deadline for the interrupt's stop, passing on signals that arrive
 * first. On failure, *@stopped tells whether @tid was left in a ptrace stop
 * (rather than running: continued with a signal, or never stopped).
 */
static int wait_for_stop(pid_t tid, int64_t deadline, bool *stopped)
{
	*stopped = false;
	for (int i = 0; i < COMPEL_MAX_SIGNALS_IN_FLIGHT; i++) {
		int status, ret;

		ret = wait_status(tid, deadline, &status);
		if (ret)
			return ret;
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return -ESRCH;
		if (!WIFSTOPPED(status))
			return -EINVAL;
		*stopped = true;
		if ((status >> 16) == PTRACE_EVENT_STOP)
			return 0;
		/* A signal-delivery stop: deliver it as it would have been; the interrupt stays pending. */
		if (ptrace(PTRACE_CONT, tid, NULL, (void *)(uintptr_t)WSTOPSIG(status)) < 0)
			return -errno;
		*stopped = false;
	}
	return -EAGAIN;
}

/*
 * Detaches @tid, seized but not in a ptrace stop: a tracee can only be detached
 * from a stop, so interrupt it again and wait (for a bounded time) for one,
 * handing back the signal of a signal-delivery stop. Returns 0, or -errno when
 * it stays traced (the kernel detaches it when criu exits).
 */
static int untrace_running(pid_t tid)
{
	int64_t deadline = now_ms() + COMPEL_UNTRACE_WAIT_MS;
	int status, ret;
	long sig;

	if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0)
		return errno == ESRCH ? 0 : -errno; /* gone */
	ret = wait_status(tid, deadline, &status);
	if (ret)
		return ret;
	if (!WIFSTOPPED(status))
		return 0; /* it exited */
	sig = (status >> 16) == 0 ? WSTOPSIG(status) : 0;
	if (ptrace(PTRACE_DETACH, tid, NULL, (void *)sig) < 0)
		return errno == ESRCH ? 0 : -errno;
	return 0;
}

/* Records thread @tid, on which the seize failed, and lets it go. */
static void seize_thread_failed(pid_t tid, bool stopped, struct compel_seize_error *err)
{
	int ret = 0;

	err->tid = tid;
	err->state = thread_state(tid);
	if (!stopped)
		ret = untrace_running(tid);
	else if (ptrace(PTRACE_DETACH, tid, NULL, NULL) < 0 && errno != ESRCH)
		ret = -errno;
	err->untrace_error = ret;
}

/* The next process of /proc opened as @dir: its pid and parent's into *@pid and *@ppid; false at the end. */
static bool next_process(DIR *dir, pid_t *pid, pid_t *ppid)
{
	struct dirent *de;
	char state;

	while ((de = readdir(dir))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		*pid = (pid_t)strtol(de->d_name, NULL, 10);
		if (!read_stat(*pid, "", ppid, &state))
			return true;
	}
	return false;
}

/*
 * The child of @tid that shares its address space without being one of its
 * threads (a vfork() child, which @tid waits for until it execs or exits), or
 * 0. Without /proc/PID/task/TID/children, any such child of its process.
 */
static pid_t vfork_child(pid_t tid)
{
	pid_t tgid, pid, ppid, found = 0;
	char path[64];
	DIR *dir;
	FILE *f;

	if (read_tgid(tid, &tgid))
		return 0;
	/* The children @tid itself made (another thread may have a vfork() child too). */
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", tgid, tid);
	f = fopen(path, "re");
	if (f) {
		while (!found && fscanf(f, "%d", &pid) == 1)
			if (syscall(SYS_kcmp, tgid, pid, KCMP_VM, 0, 0) == 0)
				found = pid;
		fclose(f);
		return found;
	}
	dir = opendir("/proc");
	if (!dir)
		return 0;
	while (!found && next_process(dir, &pid, &ppid))
		if (pid != tgid && ppid == tgid && syscall(SYS_kcmp, tgid, pid, KCMP_VM, 0, 0) == 0)
			found = pid;
	closedir(dir);
	return found;
}

/* The end of seize_thread() with @ret: on failure, the thread is recorded and let go. */
static int seize_thread_end(pid_t tid, int ret, bool stopped, struct compel_seize_error *err)
{
	if (ret && ret != -ESRCH)
		seize_thread_failed(tid, stopped, err);
	return ret;
}

/*
 * Seizes and stops @tid. A thread blocked in vfork() is left seized with its
 * interrupt pending and its child put in *@vchild when @vfork_ok, else refused.
 */
static int seize_thread(pid_t tid, int64_t deadline, struct compel_seize_error *err, bool vfork_ok, pid_t *vchild)
{
	int64_t look = now_ms() + VFORK_GRACE_MS;
	bool stopped = false;
	pid_t child;
	int ret;

	if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) < 0)
		return -errno;
	if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0)
		return seize_thread_end(tid, -errno, stopped, err);
	ret = wait_for_stop(tid, look < deadline ? look : deadline, &stopped);
	if (ret != -ETIMEDOUT || stopped)
		return seize_thread_end(tid, ret, stopped, err);
	/*
	 * A thread waiting in vfork() for its child sleeps uninterruptibly: no interrupt
	 * stops it until the child execs or exits. Said at once, rather than at the deadline.
	 */
	if (thread_state(tid) == 'D' && (child = vfork_child(tid)) > 0 && vfork_ok) {
		*vchild = child; /* it stops once its vfork() returns */
		return 0;
	}
	if (thread_state(tid) == 'D' && (child = vfork_child(tid)) > 0) {
		/* Let go if the vfork() ends soon (COMPEL_UNTRACE_WAIT_MS); else the tracer's exit does it. */
		seize_thread_failed(tid, stopped, err);
		err->vfork_child = child;
		return -EBUSY;
	}
	ret = wait_for_stop(tid, deadline, &stopped);
	return seize_thread_end(tid, ret, stopped, err);
}

/*
 * After seizing @tid, read from /proc/@pid/task: true when it still is a thread
 * of @pid, not a reused tid of an exited one.
 */
static bool thread_still_ours(pid_t pid, pid_t tid)
{
	pid_t tgid = 0;

	return !read_tgid(tid, &tgid) && tgid == pid;
}

static struct compel_task *tree_find(struct compel_tree *tree, pid_t pid)
{
	for (size_t i = 0; i < tree->nr_tasks; i++)
		if (tree->tasks[i].pid == pid)
			return &tree->tasks[i];
	return NULL;
}

static int tree_add(struct compel_tree *tree, pid_t pid, pid_t ppid)
{
	if (tree->nr_tasks == tree->cap_tasks) {
		size_t cap = tree->cap_tasks ? tree->cap_tasks * 2 : 8;
		struct compel_task *tasks = realloc(tree->tasks, cap * sizeof(*tasks));

		if (!tasks)
			return -ENOMEM;
		tree->tasks = tasks;
		tree->cap_tasks = cap;
	}
	tree->tasks[tree->nr_tasks++] = (struct compel_task){ .pid = pid, .ppid = ppid };
	return 0;
}

static bool task_has_thread(const struct compel_task *task, pid_t tid)
{
	for (size_t i = 0; i < task->nr_threads; i++)
		if (task->threads[i] == tid)
			return true;
	return false;
}

static int task_add_thread(struct compel_task *task, pid_t tid)
{
	if (task->nr_threads == task->cap_threads) {
		size_t cap = task->cap_threads ? task->cap_threads * 2 : 8;
		pid_t *threads = realloc(task->threads, cap * sizeof(*threads));

		if (!threads)
			return -ENOMEM;
		task->threads = threads;
		task->cap_threads = cap;
	}
	task->threads[task->nr_threads++] = tid;
	return 0;
}

/* Seizes the threads of @task not seized yet; sets *@changed when it finds one. */
static int seize_task_threads(struct compel_tree *tree, struct compel_task *task, int64_t deadline, bool *changed)
{
	struct dirent *de;
	char path[64];
	int ret = 0;
	DIR *dir;

	if (!task->nr_threads) {
		pid_t ppid;
		char state;

		task->stopped = !read_stat(task->pid, "", &ppid, &state) && state == 'T';
	}
	snprintf(path, sizeof(path), "/proc/%d/task", task->pid);
	dir = opendir(path);
	if (!dir)
		return errno == ENOENT ? -ESRCH : -errno;
	while (!ret && (de = readdir(dir))) {
		pid_t tid, vchild;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		tid = (pid_t)strtol(de->d_name, NULL, 10);
		if (task_has_thread(task, tid))
			continue;
		vchild = 0;
		ret = seize_thread(tid, deadline, &tree->err, tree->vfork_ok, &vchild);
		if (!ret && vchild && !task->nr_vforks++) {
			task->vfork_tid = tid;
			task->vfork_child = vchild;
		}
		if (ret == -ESRCH || (ret == -EPERM && thread_is_dead(task->pid, tid))) {
			ret = 0; /* exited, or an exited group leader waiting for its threads */
			continue;
		}
		if (!ret && !thread_still_ours(task->pid, tid)) {
			/* The thread exited and its tid went to another process: not ours to keep. */
			if (ptrace(PTRACE_DETACH, tid, NULL, NULL) < 0 && errno != ESRCH)
				ret = -errno;
			continue;
		}
		if (!ret) {
			ret = task_add_thread(task, tid);
			if (ret)
				ptrace(PTRACE_DETACH, tid, NULL, NULL);
			*changed = true;
		}
	}
	closedir(dir);
	return ret;
}

/* Adds every process whose parent is in the tree and that isn't in it yet. */
static int find_children(struct compel_tree *tree, bool *changed)
{
	pid_t pid, ppid;
	int ret = 0;
	DIR *dir;

	dir = opendir("/proc");
	if (!dir)
		return -errno;
	while (!ret && next_process(dir, &pid, &ppid)) {
		if (tree_find(tree, pid) || !tree_find(tree, ppid))
			continue;
		ret = tree_add(tree, pid, ppid);
		*changed = true;
	}
	closedir(dir);
	return ret;
}

/* One pass: seize new threads of every task, then look for new children. */
static int seize_pass(struct compel_tree *tree, int64_t deadline, bool *changed)
{
	int ret;

	for (size_t i = 0; i < tree->nr_tasks; i++) {
		struct compel_task *task = &tree->tasks[i];
		pid_t ppid;
		char state;

		if (task->zombie)
			continue;
		ret = seize_task_threads(tree, task, deadline, changed);
		if (ret == -ESRCH && i > 0 && !task->nr_threads)
			ret = 0; /* a child that exited and was reaped meanwhile */
		if (ret)
			return ret;
		if (!task->nr_threads && !read_stat(task->pid, "", &ppid, &state) && state == 'Z')
			task->zombie = true;
	}
	return find_children(tree, changed);
}

int compel_tree_seize(struct compel_tree *tree, pid_t root, unsigned int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	bool changed;
	pid_t ppid;
	char state;
	int ret;

	tree->err = (struct compel_seize_error){ .state = '?' };

	ret = read_stat(root, "", &ppid, &state);
	if (ret)
		return ret;
	if (state == 'Z' || state == 'X')
		return -ESRCH;
	ret = tree_add(tree, root, ppid);
	/* The deadline is looked at before another pass only: a tree found whole and still is never failed. */
	do {
		changed = false;
		if (!ret)
			ret = seize_pass(tree, deadline, &changed);
		if (!ret && changed && now_ms() > deadline)
			ret = -ETIMEDOUT;
	} while (!ret && changed);

	if (!ret && !tree->tasks[0].nr_threads)
		ret = -ESRCH;
	if (ret) {
		struct compel_seize_error err = tree->err;
		int rret = compel_tree_release(tree);

		tree->err = err;
		if (rret && !tree->err.untrace_error)
			tree->err.untrace_error = rret;
	}
	return ret;
}

int compel_tree_release(struct compel_tree *tree)
{
	int ret = 0;

	for (size_t i = 0; i < tree->nr_tasks; i++) {
		struct compel_task *task = &tree->tasks[i];

		for (size_t j = 0; j < task->nr_threads; j++)
			if (ptrace(PTRACE_DETACH, task->threads[j], NULL, NULL) < 0 && errno != ESRCH && !ret)
				ret = -errno;
		free(task->threads);
	}
	free(tree->tasks);
	memset(tree, 0, sizeof(*tree));
	return ret;
}

size_t compel_tree_nr_threads(const struct compel_tree *tree)
{
	size_t n = 0;

	for (size_t i = 0; i < tree->nr_tasks; i++)
		n += tree->tasks[i].nr_threads;
	return n;
}
