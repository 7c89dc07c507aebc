/*
 * criu dump: checkpoint one process and its threads. The order of things:
 * freeze it with compel (PTRACE_SEIZE + INTERRUPT on every thread), collect and
 * write every image, then kill it or, with --leave-running, let it go. Any
 * failure lets it go untouched: a failed dump never costs the process its life.
 * A tree with children is refused for now.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core.h"
#include "cr-dump.h"
#include "files.h"
#include "fs.h"
#include "ids.h"
#include "inventory.h"
#include "mem.h"
#include "mm.h"
#include "proc-parse.h"
#include "pstree.h"
#include "shmem.h"
#include "seize.h"
#include "stats.h"
#include "vma.h"

#define LOG_PREFIX "dump: "
#include "log.h"

#define PAGES_ID 1 /* pages-1.img; the shared memory objects take the ids after it */

/* Everything collected about the process being dumped. */
struct dump_task {
	pid_t pid;
	const pid_t *tids;
	size_t nr_tids;
	struct proc_stat stat;
	struct proc_status status;
	struct vma_list vmas;
	struct files_dump files;
	uint32_t *vma_file_ids;
	uint32_t exe_id;
	uint32_t cwd_id;
	uint32_t root_id;
	bool stopped; /* in a group stop before the dump froze it */
	bool shell_job;
};

/* Refuses the VMAs this dump can't record faithfully yet. */
static int check_vmas(const struct dump_task *dt)
{
	for (size_t i = 0; i < dt->vmas.nr; i++) {
		const struct vma_area *vma = &dt->vmas.vmas[i];
		const char *what = NULL;

		if (vma->status & VMA_UNSUPP)
			what = "a mapping of an unsupported kind";
		else if (vma->status & VMA_AREA_SYSVIPC)
			what = "System V shared memory";
		else if (vma->status & VMA_AREA_AIORING)
			what = "an AIO ring";
		else if (vma->deleted && (vma->status & (VMA_FILE_PRIVATE | VMA_FILE_SHARED)))
			what = "a mapping of a deleted file";
		if (what) {
			pr_err("VMA %#llx-%#llx (%s) of process %d is %s: not supported yet\n",
			       (unsigned long long)vma->start, (unsigned long long)vma->end, vma->path ?: "anonymous",
			       dt->pid, what);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

/* Ids in files.img for the executable, cwd, root and every file behind a VMA. */
static int collect_files(struct dump_task *dt)
{
	int ret;

	ret = files_reg_add_link(&dt->files.reg, dt->pid, "exe", O_RDONLY, &dt->exe_id);
	if (!ret)
		ret = files_reg_add_link(&dt->files.reg, dt->pid, "cwd", O_RDONLY | O_DIRECTORY, &dt->cwd_id);
	if (!ret)
		ret = files_reg_add_link(&dt->files.reg, dt->pid, "root", O_RDONLY | O_DIRECTORY, &dt->root_id);
	if (ret)
		return ret;
	dt->vma_file_ids = calloc(dt->vmas.nr ? dt->vmas.nr : 1, sizeof(*dt->vma_file_ids));
	if (!dt->vma_file_ids)
		return -ENOMEM;
	for (size_t i = 0; !ret && i < dt->vmas.nr; i++) {
		const struct vma_area *vma = &dt->vmas.vmas[i];
		uint32_t flags = O_RDONLY;
		char link[96];

		if (!(vma->status & (VMA_FILE_PRIVATE | VMA_FILE_SHARED)))
			continue;
		if ((vma->status & VMA_FILE_SHARED) && (vma->prot & PROT_WRITE))
			flags = O_RDWR;
		snprintf(link, sizeof(link), "/proc/%d/map_files/%llx-%llx", dt->pid, (unsigned long long)vma->start,
			 (unsigned long long)vma->end);
		ret = files_reg_add(&dt->files.reg, vma->path, link, flags, &dt->vma_file_ids[i]);
	}
	return ret;
}

/* The open fds: every one recorded, or the dump refused naming the first that can't be. */
static int collect_fds(struct dump_task *dt)
{
	struct fds_collect_args args = {
		.pid = dt->pid,
		.shell_job = dt->shell_job,
		.uid = dt->status.uid[0],
		.euid = dt->status.uid[1],
	};

	return files_collect_fds(&dt->files, &args);
}

static int collect_task(struct dump_task *dt)
{
	int ret;

	ret = proc_parse_stat(dt->pid, 0, &dt->stat);
	if (!ret)
		ret = proc_parse_status(dt->pid, 0, &dt->status);
	if (ret) {
		pr_err("can't read /proc/%d: %s\n", dt->pid, strerror(-ret));
		return ret;
	}
	if (dt->status.seccomp) {
		pr_err("process %d runs under seccomp (mode %d): not supported yet\n", dt->pid, dt->status.seccomp);
		return -EOPNOTSUPP;
	}
	ret = vma_list_collect(dt->pid, &dt->vmas);
	if (!ret)
		ret = check_vmas(dt);
	if (!ret)
		ret = collect_files(dt);
	if (!ret)
		ret = collect_fds(dt);
	return ret;
}

static int write_images(const struct criu_ctx *ctx, struct dump_task *dt, struct dump_stats *stats)
{
	struct mm_dump_args mm = {
		.pid = dt->pid,
		.stat = &dt->stat,
		.status = &dt->status,
		.vmas = &dt->vmas,
		.exe_file_id = dt->exe_id,
		.vma_file_ids = dt->vma_file_ids,
	};
	struct mem_dump_stats ms = { 0 };
	struct shmem_dump_stats ss = { 0 };
	uint32_t pages_id = PAGES_ID + 1;
	int dirfd = ctx->imgdir_fd;
	TaskKobjIdsEntry ids;
	int ret;

	ids_fill_single(&ids);
	ret = inventory_dump(dirfd, ctx->opts, &ids);
	if (!ret)
		ret = pstree_dump(dirfd, dt->pid, &dt->stat, dt->tids, dt->nr_tids);
	if (!ret)
		ret = core_dump_threads(dirfd, dt->pid, &dt->stat, dt->stopped, dt->tids, dt->nr_tids);
	if (!ret)
		ret = ids_dump(dirfd, dt->pid, &ids);
	if (!ret)
		ret = fs_dump(dirfd, dt->pid, dt->cwd_id, dt->root_id, dt->status.umask);
	if (!ret)
		ret = mm_dump(dirfd, &mm);
	if (!ret)
		ret = files_dump_write(&dt->files, dirfd, ids.files_id);
	if (!ret)
		ret = mem_dump_pages(dirfd, dt->pid, &dt->vmas, PAGES_ID, &ms);
	if (!ret)
		ret = shmem_dump(dirfd, dt->pid, &dt->vmas, &pages_id, &ss);
	stats->memdump_us = ms.scan_us;
	stats->memwrite_us = ms.write_us + ss.us;
	stats->pages_scanned = ms.pages_scanned;
	stats->pages_written = ms.pages_written;
	stats->shpages_scanned = ss.pages_scanned;
	stats->shpages_written = ss.pages_written;
	return ret;
}

static int dump_process(const struct criu_ctx *ctx, const struct compel_task *task, bool stopped,
			struct dump_stats *stats)
{
	struct dump_task dt = {
		.pid = task->pid,
		.tids = task->threads,
		.nr_tids = task->nr_threads,
		.stopped = stopped,
		.shell_job = ctx->opts->shell_job,
	};
	int ret;

	if (!task->nr_threads || task->threads[0] != task->pid) {
		pr_err("the main thread of process %d has exited: not supported yet\n", task->pid);
		return -EOPNOTSUPP;
	}
	ret = collect_task(&dt);
	if (!ret)
		ret = write_images(ctx, &dt, stats);
	free(dt.vma_file_ids);
	files_dump_free(&dt.files);
	vma_list_free(&dt.vmas);
	proc_status_fini(&dt.status);
	return ret;
}

/* True when @pid is an ancestor of criu itself (it would have to freeze itself). */
static bool is_our_ancestor(pid_t pid)
{
	pid_t p = getppid();

	for (int depth = 0; p > 1 && depth < 4096; depth++) {
		struct proc_stat st;

		if (p == pid)
			return true;
		if (proc_parse_stat(p, 0, &st))
			break;
		p = st.ppid;
	}
	return p == pid;
}

/* Detaches from every thread of @tree, so that they run on. */
static int release(struct compel_tree *tree, pid_t pid)
{
	int ret = compel_tree_release(tree);

	if (ret)
		pr_err("can't let process %d run on: %s\n", pid, strerror(-ret));
	return ret;
}

static int seize(pid_t pid, struct compel_tree *tree, unsigned int timeout_s)
{
	int ret = compel_tree_seize(tree, pid, timeout_s * 1000);

	switch (ret) {
	case 0:
		break;
	case -ESRCH:
		pr_err("process %d does not exist\n", pid);
		return ret;
	case -ETIMEDOUT:
		pr_err("process %d kept changing for %u seconds: can't freeze it\n", pid, timeout_s);
		return ret;
	default:
		pr_err("can't freeze process %d: %s\n", pid, strerror(-ret));
		return ret;
	}
	if (tree->nr_tasks > 1) {
		pr_err("process %d has %zu child process(es) (pid %d first): dumping a process tree is not "
		       "supported yet\n",
		       pid, tree->nr_tasks - 1, tree->tasks[1].pid);
		release(tree, pid);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* As the tracer, waits for the exit of @tid; reaping it lets its parent see the exit. */
static void reap_traced(pid_t tid)
{
	int status;

	while (waitpid(tid, &status, __WALL) >= 0 && !WIFEXITED(status) && !WIFSIGNALED(status))
		;
}

/*
 * Kills the dumped process and waits until every one of its threads is gone. The
 * other threads first: the kernel holds back the leader's exit until they are
 * reaped, and traced threads wait for their tracer to reap them.
 */
static int kill_task(const struct compel_task *task)
{
	if (kill(task->pid, SIGKILL) < 0) {
		pr_perror("Can't kill process %d", task->pid);
		return -errno;
	}
	for (size_t i = 0; i < task->nr_threads; i++)
		if (task->threads[i] != task->pid)
			reap_traced(task->threads[i]);
	reap_traced(task->pid);
	return 0;
}

int cr_dump_tasks(const struct criu_ctx *ctx)
{
	const struct criu_opts *opts = ctx->opts;
	struct dump_stats stats = { 0 };
	struct compel_tree tree = { 0 };
	pid_t pid = opts->tree_pid;
	uint64_t start, frozen_at;
	struct proc_stat st;
	bool stopped;
	int ret;

	if (pid <= 0) {
		pr_err("no process to dump: give its pid with -t|--tree\n");
		return -EINVAL;
	}
	pr_info("Dumping processes (pid: %d)\n", pid);
	if (pid == getpid() || is_our_ancestor(pid)) {
		pr_err("process %d is criu itself or one of its ancestors: it can't be dumped from here\n", pid);
		return -EINVAL;
	}
	/* Under ptrace the state reads 't' whatever it was: look before. */
	stopped = !proc_parse_stat(pid, 0, &st) && st.state == 'T';
	start = stats_now_us();
	ret = seize(pid, &tree, opts->timeout);
	if (ret)
		return ret;
	frozen_at = stats_now_us();
	stats.freezing_us = frozen_at - start;
	pr_info("process %d frozen with %zu thread(s) in %llu us\n", pid, tree.tasks[0].nr_threads,
		(unsigned long long)stats.freezing_us);

	ret = dump_process(ctx, &tree.tasks[0], stopped, &stats);
	if (!ret) {
		stats.frozen_us = stats_now_us() - frozen_at;
		ret = stats_dump_write(ctx->imgdir_fd, &stats);
	}
	if (ret) {
		pr_err("dump of process %d failed: letting it run on\n", pid);
		release(&tree, pid);
		return ret;
	}
	if (!opts->leave_running) {
		ret = kill_task(&tree.tasks[0]);
		if (ret) {
			release(&tree, pid);
			return ret;
		}
	}
	/* After the kill, the threads are gone and detaching them is a no-op (ESRCH, ignored). */
	ret = release(&tree, pid);
	if (ret)
		return ret;
	pr_info("Dumping finished successfully (%llu pages, %llu of shared memory)\n",
		(unsigned long long)stats.pages_written, (unsigned long long)stats.shpages_written);
	if (opts->display_stats)
		stats_dump_display(&stats);
	return 0;
}
