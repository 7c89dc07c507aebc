/*
 * criu dump: checkpoint a process tree and the threads of each process. The
 * order of things: freeze the whole tree with compel (PTRACE_SEIZE + INTERRUPT
 * on every thread of every process, until a pass finds nothing new), collect
 * every process, then write every image, then kill the tree or, with
 * --leave-running, let it go. Any failure lets the whole tree go untouched: a
 * failed dump never costs a process its life. Refused for now, the tree left
 * running: a process in namespaces other than criu's (but for a network namespace
 * of the whole tree: net/netns.c), a session or group the
 * restore can't rebuild (pstree.h), kernel objects shared between processes
 * (fd table, fs, signal handlers, address space).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kcmp.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core.h"
#include "cr-dump.h"
#include "dump-guard.h"
#include "files.h"
#include "fs.h"
#include "ids.h"
#include "inventory.h"
#include "mem.h"
#include "mem-cow.h"
#include "mm.h"
#include "netns.h"
#include "proc-parse.h"
#include "pstree.h"
#include "shmem.h"
#include "seize.h"
#include "dump-sharedmm.h"
#include "dump-vfork.h"
#include "sk-tcp.h"
#include "stats.h"
#include "task-query.h"
#include "vma.h"

#define LOG_PREFIX "dump: "
#include "log.h"

#define PAGES_ID 1 /* pages-1.img for the root; the next ids go to shared memory objects and the other processes */

/* Everything collected about one process being dumped. */
struct dump_task {
	pid_t pid;
	size_t index; /* in the tree, 0 for the root */
	bool zombie;
	const pid_t *tids;
	size_t nr_tids;
	struct proc_stat stat;
	struct proc_status status;
	struct vma_list vmas;
	struct files_dump *files;	   /* the tree's: one files.img for every process */
	struct fd_table fds;		   /* this process's fds, taken out of files->fds */
	const struct fd_table_ref *others; /* the fds of the processes before it */
	uint32_t *vma_file_ids;
	uint32_t *vma_fdflags;
	uint32_t exe_id;
	uint32_t cwd_id;
	uint32_t root_id;
	uint32_t net_ns_id; /* the tree's own network namespace, or 0 */
	bool stopped;	    /* in a group stop before the dump froze it */
	bool more_files;    /* a later process of the tree has fds (is not a zombie, nor shares a table) */
	size_t files_owner; /* the process whose fd table it shares (CLONE_FILES): its own index if none */
	size_t fs_owner;    /* the process whose fs context it shares (CLONE_FS): its own index if none */
	size_t vm_owner;    /* the parent whose address space it shares (CLONE_VM): its own index if none */
	size_t sig_owner;   /* likewise for its signal handlers (CLONE_SIGHAND) */
	pid_t vfork_tid;    /* its thread blocked in vfork() (dump-vfork.h), or 0 */
	pid_t vfork_child;  /* the child it waits for */
	size_t nr_vforks;   /* its threads blocked in vfork() (more than one is refused) */
	bool written;	    /* its images are written already (a vfork() child) */
	bool shell_job;
	bool file_locks;
	bool ext_unix_sk;
	struct inet_sk_policy sockets;
	struct task_query query; /* what the threads told by injection */
	const struct dump_guard *guard;
};

/* The whole tree: one dump_task per process of the compel tree, in its order (parents first). */
struct dump_tree {
	struct dump_task *tasks;
	struct pstree_item *items;
	size_t nr;
	struct files_dump files;
	struct fd_table_ref *fd_refs;	  /* per process, its fds: what the later ones may share */
	struct sk_tcp_arena *queue_arena; /* where the TCP dump puts the queues */
	struct netns_dump netns;
};

/* Refuses the VMAs this dump can't record faithfully yet. */
static int check_vmas(const struct dump_task *dt)
{
	for (size_t i = 0; i < dt->vmas.nr; i++) {
		const struct vma_area *vma = &dt->vmas.vmas[i];
		const char *what = NULL;

		if (vma->status & VMA_UNSUPP)
			what = vma->unsupp ?: "a mapping of an unsupported kind";
		else if (vma->status & VMA_AREA_SYSVIPC)
			what = "System V shared memory";
		else if (vma->status & VMA_AREA_AIORING)
			what = "an AIO ring";
		if (what) {
			pr_err("VMA %#llx-%#llx (%s) of process %d is %s: not supported yet\n",
			       (unsigned long long)vma->start, (unsigned long long)vma->end, vma->path ?: "anonymous",
			       dt->pid, what);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

/*
 * The access mode of the file behind a mapping: the kernel gives the map_files
 * link the owner bits of the file's open mode (read 0400, write 0200).
 */
static int vma_file_mode(const char *link, uint32_t *flags)
{
	struct stat st;

	if (lstat(link, &st) < 0) {
		pr_perror("Can't stat %s", link);
		return -errno;
	}
	switch (st.st_mode & (S_IRUSR | S_IWUSR)) {
	case S_IRUSR:
		*flags = O_RDONLY;
		return 0;
	case S_IWUSR:
		*flags = O_WRONLY;
		return 0;
	case S_IRUSR | S_IWUSR:
		*flags = O_RDWR;
		return 0;
	}
	pr_err("%s has mode %#o: can't tell the open mode of the mapped file\n", link, st.st_mode & 07777);
	return -EINVAL;
}

/* Ids in files.img for the executable, cwd, root and every file behind a VMA. */
static int collect_files(struct dump_task *dt)
{
	int ret;

	ret = files_reg_add_link(&dt->files->reg, dt->pid, "exe", O_RDONLY, &dt->exe_id);
	if (!ret)
		ret = files_reg_add_link(&dt->files->reg, dt->pid, "cwd", O_RDONLY | O_DIRECTORY, &dt->cwd_id);
	if (!ret)
		ret = files_reg_add_link(&dt->files->reg, dt->pid, "root", O_RDONLY | O_DIRECTORY, &dt->root_id);
	if (ret)
		return ret;
	dt->vma_file_ids = calloc(dt->vmas.nr ? dt->vmas.nr : 1, sizeof(*dt->vma_file_ids));
	dt->vma_fdflags = calloc(dt->vmas.nr ? dt->vmas.nr : 1, sizeof(*dt->vma_fdflags));
	if (!dt->vma_file_ids || !dt->vma_fdflags)
		return -ENOMEM;
	for (size_t i = 0; !ret && i < dt->vmas.nr; i++) {
		const struct vma_area *vma = &dt->vmas.vmas[i];
		char link[96], *map_file;

		if (!(vma->status & (VMA_FILE_PRIVATE | VMA_FILE_SHARED)))
			continue;
		snprintf(link, sizeof(link), "/proc/%d/map_files/%llx-%llx", dt->pid, (unsigned long long)vma->start,
			 (unsigned long long)vma->end);
		ret = vma_file_mode(link, &dt->vma_fdflags[i]);
		map_file = strstr(link, "map_files/");
		if (!ret && (vma->status & VMA_AREA_MEMFD))
			ret = memfd_add_vma(dt->files, dt->pid, vma, link, dt->vma_fdflags[i], &dt->vma_file_ids[i]);
		else if (!ret && vma->deleted) /* a ghost, as an unlinked file's fd */
			ret = files_reg_add_link(&dt->files->reg, dt->pid, map_file, dt->vma_fdflags[i],
						 &dt->vma_file_ids[i]);
		else if (!ret)
			ret = files_reg_add(&dt->files->reg, vma->path, link, dt->vma_fdflags[i], &dt->vma_file_ids[i]);
	}
	return ret;
}

/* The open fds: every one recorded, or the dump refused naming the first that can't be. */
static int collect_fds(struct dump_task *dt)
{
	struct fds_collect_args args = {
		.pid = dt->pid,
		.shell_job = dt->shell_job,
		.file_locks = dt->file_locks,
		.ext_unix_sk = dt->ext_unix_sk,
		.sockets = dt->sockets,
		.others = dt->others,
		.nr_others = dt->index,
	};
	int ret;

	dt->files->usk.more_procs = dt->more_files;
	ret = files_collect_fds(dt->files, &args);
	/* The tree's table lends its fd table to each process in turn. */
	dt->fds = dt->files->fds;
	memset(&dt->files->fds, 0, sizeof(dt->files->fds));
	return ret;
}

/*
 * Refuses a process in a namespace of its own: the images record none yet, so a
 * restore would put it in criu's. A namespace the kernel doesn't have is skipped.
 * The network namespace is the tree's (netns_dump_check()).
 */
static int check_namespaces(pid_t pid)
{
	static const char *const names[] = { "mnt", "pid", "ipc", "uts", "user", "cgroup", "time" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char path[64];
		struct stat ours, theirs;

		snprintf(path, sizeof(path), "/proc/self/ns/%s", names[i]);
		if (stat(path, &ours) < 0) {
			if (errno == ENOENT)
				continue;
			pr_perror("Can't stat %s", path);
			return -errno;
		}
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, names[i]);
		if (stat(path, &theirs) < 0) {
			pr_perror("Can't stat %s", path);
			return -errno;
		}
		if (ours.st_ino != theirs.st_ino || ours.st_dev != theirs.st_dev) {
			pr_err("process %d is in a %s namespace of its own (criu's is another): namespaces are not "
			       "supported yet\n",
			       pid, names[i]);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

/*
 * The options of every inet socket, read in one batch once the fd walk found
 * them all, through the dump's libsoccr context: made here, when the tree
 * has sockets, into *@soccr, which the caller owns.
 */
static int read_socket_opts(struct dump_tree *t, struct libsoccr_ctx **soccr)
{
	int ret;

	if (!t->files.inet.nr)
		return 0;
	ret = sk_tcp_soccr_open(soccr, t->queue_arena);
	return ret ?: inet_sk_read_opts(&t->files.inet, *soccr);
}

static int collect_task(struct dump_task *dt, struct dump_stats *stats)
{
	uint64_t start;
	int ret;

	ret = proc_parse_status(dt->pid, 0, &dt->status);
	if (ret) {
		pr_err("can't read /proc/%d: %s\n", dt->pid, strerror(-ret));
		return ret;
	}
	ret = check_namespaces(dt->pid);
	if (ret)
		return ret;
	if (dt->status.seccomp) {
		pr_err("process %d runs under seccomp (mode %d): not supported yet\n", dt->pid, dt->status.seccomp);
		return -EOPNOTSUPP;
	}
	/* A thread in vfork() is asked once it is back (end_vforks()). */
	ret = dt->vfork_tid ? 0 : task_query_collect(dt->pid, dt->tids, dt->nr_tids, dt->guard, &dt->query);
	if (!ret)
		ret = dump_guard_check(dt->guard);
	if (!ret)
		ret = vma_list_collect(dt->pid, &dt->vmas);
	if (!ret)
		ret = check_vmas(dt);
	if (!ret)
		ret = collect_files(dt);
	start = stats_now_us();
	if (!ret)
		ret = dump_guard_check(dt->guard);
	/* A table shared with its parent is the owner's: its fds are dumped once, with the owner's. */
	if (!ret && dt->files_owner == dt->index)
		ret = collect_fds(dt);
	stats->fds_us += stats_now_us() - start;
	return ret;
}

/*
 * The pages of @dt that are its @parent's (NULL: the root, or --cow-images criu), in the VMAs
 * the restore rebuilds by inheriting them, are left to the parent (include/mem-cow.h).
 */
static int dump_pages(int dirfd, const struct dump_task *dt, const struct dump_task *parent, uint32_t pages_id,
		      struct mem_dump_stats *ms)
{
	struct cow_dump_proc child = { .vmas = &dt->vmas, .file_ids = dt->vma_file_ids, .exe_id = dt->exe_id };
	struct mem_cow_src cow = { .parent = parent ? parent->pid : 0 };
	bool *inherit = NULL;
	int ret;

	if (!parent || parent->zombie)
		return mem_dump_pages(dirfd, dt->pid, &dt->vmas, pages_id, NULL, dt->guard, ms);
	ret = cow_dump_plan(&child,
			    &(struct cow_dump_proc){
				    .vmas = &parent->vmas, .file_ids = parent->vma_file_ids, .exe_id = parent->exe_id },
			    &inherit);
	cow.vmas = inherit;
	ret = ret ?: mem_dump_pages(dirfd, dt->pid, &dt->vmas, pages_id, &cow, dt->guard, ms);
	free(inherit);
	return ret;
}

/* Everything but the files: the task, its threads and its memory. */
static int write_task_images(const struct criu_ctx *ctx, struct dump_task *dt, const struct dump_task *parent,
			     const struct vma_list *shm_vmas, uint32_t *next_pages_id, struct dump_stats *stats)
{
	struct mm_dump_args mm = {
		.pid = dt->pid,
		.stat = &dt->stat,
		.status = &dt->status,
		.vmas = &dt->vmas,
		.exe_file_id = dt->exe_id,
		.vma_file_ids = dt->vma_file_ids,
		.vma_fdflags = dt->vma_fdflags,
		.brk = dt->query.brk,
		.dumpable = dt->query.dumpable,
	};
	struct mem_dump_stats ms = { 0 };
	struct shmem_dump_stats ss = { 0 };
	uint32_t pages_id = dt->vm_owner != dt->index ? 0 : (*next_pages_id)++; /* a sharer has no pages */
	int dirfd = ctx->imgdir_fd;
	TaskKobjIdsEntry ids;
	int ret;

	ids_fill(&ids, dt->index);
	ids.files_id = IDS_FIRST_TASK + (uint32_t)dt->files_owner; /* one fdinfo image per table */
	ids.fs_id = IDS_FIRST_TASK + (uint32_t)dt->fs_owner;
	ids.vm_id = IDS_FIRST_TASK + (uint32_t)dt->vm_owner; /* a sharer's memory is its parent's */
	ids.sighand_id = IDS_FIRST_TASK + (uint32_t)dt->sig_owner;
	if (dt->net_ns_id)
		ids.net_ns_id = dt->net_ns_id;
	if (dt->zombie)
		return core_dump_zombie(dirfd, dt->pid, &dt->stat);
	ret = core_dump_threads(dirfd, dt->pid, &dt->stat, dt->stopped, &dt->query, dt->tids, dt->nr_tids);
	if (!ret)
		ret = ids_dump(dirfd, dt->pid, &ids);
	if (!ret)
		ret = fs_dump(dirfd, dt->pid, dt->cwd_id, dt->root_id, dt->status.umask);
	if (!ret && dt->vm_owner != dt->index)
		return sharedmm_dump_mm(dirfd, &mm);
	if (!ret)
		ret = mm_dump(dirfd, &mm);
	if (!ret)
		ret = dump_pages(dirfd, dt, ctx->opts->cow_images_criu ? NULL : parent, pages_id, &ms);
	if (!ret)
		ret = shmem_dump(dirfd, dt->pid, shm_vmas, next_pages_id, dt->guard, &ss);
	stats->memdump_us += ms.scan_us;
	stats->memwrite_us += ms.write_us + ss.us;
	stats->pages_scanned += ms.pages_scanned;
	stats->pages_written += ms.pages_written;
	stats->shpages_scanned += ss.pages_scanned;
	stats->shpages_written += ss.pages_written;
	return ret;
}

/* What the whole dump has once: inventory.img and pstree.img. */
static int write_tree_images(const struct criu_ctx *ctx, const struct dump_tree *t)
{
	TaskKobjIdsEntry root_ids;
	int ret;

	ids_fill_root(&root_ids);
	ret = inventory_dump(ctx->imgdir_fd, ctx->opts, &root_ids);
	ret = ret ?: pstree_dump(ctx->imgdir_fd, t->items, t->nr);
	return ret ?: netns_dump_write(&t->netns, ctx->imgdir_fd, t->tasks[0].pid);
}

/*
 * The files, once the TCP dump has filled in what it read: files.img and the
 * streams once, an fdinfo image per process.
 */
static int write_file_images(const struct criu_ctx *ctx, struct dump_tree *t, const struct sk_tcp_dump *tcp,
			     const struct sk_tcp_cfg *cfg, struct dump_stats *stats)
{
	uint64_t start = stats_now_us();
	TaskKobjIdsEntry ids;
	int ret;

	ids_fill(&ids, 0);
	t->files.fds = t->tasks[0].fds;
	ret = files_dump_write(&t->files, ctx->imgdir_fd, ids.files_id);
	memset(&t->files.fds, 0, sizeof(t->files.fds));
	for (size_t i = 1; !ret && i < t->nr; i++) {
		if (t->tasks[i].zombie || t->tasks[i].files_owner != i)
			continue;
		ids_fill(&ids, i);
		ret = files_write_fdinfo(&t->tasks[i].fds, ctx->imgdir_fd, ids.files_id);
	}
	if (!ret)
		ret = sk_tcp_write(tcp, ctx->imgdir_fd, cfg);
	stats->tcp_write_us = stats_now_us() - start;
	return ret;
}

/* The TCP connections, locked and dumped by a thread of their own while the memory is copied. */
struct tcp_job {
	pthread_t thread;
	bool started;
	struct sk_tcp_dump *tcp;
	struct inet_sk_dump *inet;
	const struct sk_tcp_cfg *cfg;
	struct libsoccr_ctx *soccr;
	int ret;
};

static void *tcp_job_run(void *arg)
{
	struct tcp_job *job = arg;

	job->ret = sk_tcp_dump(job->tcp, job->inet, job->cfg, job->soccr);
	return NULL;
}

/* Starts @job in a thread when there are connections (else runs it here: it has nothing to do). */
static int tcp_job_start(struct tcp_job *job, struct libsoccr_ctx *soccr)
{
	int err;

	job->soccr = soccr;
	if (!job->inet->nr_conns)
		return sk_tcp_dump(job->tcp, job->inet, job->cfg, soccr);
	err = pthread_create(&job->thread, NULL, tcp_job_run, job);
	if (err) {
		pr_err("can't start the TCP dump thread: %s\n", strerror(err));
		return -err;
	}
	job->started = true;
	return 0;
}

static int tcp_job_join(struct tcp_job *job)
{
	int err;

	if (!job->started)
		return 0;
	err = pthread_join(job->thread, NULL);
	if (err) {
		pr_err("can't join the TCP dump thread: %s\n", strerror(err));
		return -err;
	}
	job->started = false;
	return job->ret;
}

/* The kernel objects CLONE_* shares, which the restore can't share yet (but an fd table): named by kcmp(2) type. */
static const struct {
	int type;
	const char *what;
} shared_kinds[] = {
	{ KCMP_VM, "address space (CLONE_VM, a vfork()ed child)" },
	{ KCMP_FILES, "fd table (CLONE_FILES)" },
	{ KCMP_FS, "fs context (CLONE_FS)" },
	{ KCMP_SIGHAND, "signal handlers (CLONE_SIGHAND)" },
};

/* 1 when processes @a and @b share the kcmp(2) object @type, 0 if not, or -errno. */
static int shares(pid_t a, pid_t b, int type)
{
	long r = syscall(SYS_kcmp, a, b, type, 0, 0);

	if (r < 0) {
		pr_perror("Can't compare processes %d and %d", a, b);
		return -errno;
	}
	return r == 0;
}

/*
 * Each process's files_owner and fs_owner: its parent's when it shares its
 * parent's fd table or fs context (CRIU's files_id rule), else its own.
 */
static int find_owners(struct dump_tree *t)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < t->nr; i++) {
		struct dump_task *dt = &t->tasks[i];
		size_t p = 0;

		dt->files_owner = dt->fs_owner = dt->vm_owner = dt->sig_owner = i;
		while (i && p < i && t->tasks[p].pid != t->items[i].ppid)
			p++;
		if (!i || dt->zombie || p == i || t->tasks[p].zombie)
			continue;
		ret = shares(dt->pid, t->tasks[p].pid, KCMP_FILES);
		if (ret > 0)
			dt->files_owner = t->tasks[p].files_owner;
		if (ret >= 0)
			ret = shares(dt->pid, t->tasks[p].pid, KCMP_FS);
		if (ret > 0)
			dt->fs_owner = t->tasks[p].fs_owner;
		if (ret >= 0 && (dt->files_owner != i || dt->fs_owner != i))
			pr_info("process %d shares the%s%s of process %d: restored shared\n", dt->pid,
				dt->files_owner != i ? " fd table (CLONE_FILES)" : "",
				dt->fs_owner != i ? " fs context (CLONE_FS)" : "", t->tasks[p].pid);
		ret = ret < 0 ? ret : 0;
	}
	return ret;
}

/*
 * Process @i shares the address space or signal handlers (@type) of the
 * earlier process @j: accepted when @j is its parent and their first holder
 * and @i is a leaf with one thread (dump-sharedmm.h), recorded in its owner.
 */
static int accept_sharer(struct dump_tree *t, size_t j, size_t i, int type)
{
	struct dump_task *c = &t->tasks[i];
	size_t *owner = type == KCMP_VM ? &c->vm_owner : &c->sig_owner;
	size_t first = type == KCMP_VM ? t->tasks[j].vm_owner : t->tasks[j].sig_owner;
	bool has_children = false;
	int ret;

	if (*owner == first)
		return 0; /* another sharer of the same parent */
	for (size_t m = i + 1; m < t->nr; m++)
		has_children |= t->items[m].ppid == c->pid;
	ret = sharedmm_accept(c->pid, t->tasks[j].pid, type == KCMP_VM ? "address space" : "signal handlers",
			      *owner != i || first != j || t->items[i].ppid != t->tasks[j].pid, c->nr_tids,
			      has_children, c->stopped);
	if (!ret)
		*owner = j;
	return ret;
}

/*
 * Refuses two live processes of the tree that share a kernel object the
 * restore would split. An fd table or fs context shared by a process and its
 * parent (CLONE_FILES, CLONE_FS), down the tree, is one: its first process owns it.
 */
static int check_sharing(struct dump_tree *t)
{
	int ret = find_owners(t);

	if (ret)
		return ret;
	for (size_t i = 1; i < t->nr; i++)
		for (size_t j = 0; j < i; j++) {
			if (t->tasks[i].zombie || t->tasks[j].zombie)
				continue;
			for (size_t k = 0; k < sizeof(shared_kinds) / sizeof(shared_kinds[0]); k++) {
				long r =
					syscall(SYS_kcmp, t->tasks[i].pid, t->tasks[j].pid, shared_kinds[k].type, 0, 0);

				if (r < 0) {
					pr_perror("Can't compare processes %d and %d", t->tasks[i].pid,
						  t->tasks[j].pid);
					return -errno;
				}
				if (r == 0 && shared_kinds[k].type == KCMP_FILES &&
				    t->tasks[i].files_owner == t->tasks[j].files_owner)
					continue; /* a table shared down the tree: restored shared */
				if (r == 0 && shared_kinds[k].type == KCMP_FS &&
				    t->tasks[i].fs_owner == t->tasks[j].fs_owner)
					continue; /* likewise */
				if (r == 0 &&
				    (shared_kinds[k].type == KCMP_VM || shared_kinds[k].type == KCMP_SIGHAND)) {
					int err = accept_sharer(t, j, i, shared_kinds[k].type);

					if (err)
						return err;
					continue; /* a child sharing its parent's address space (dump-sharedmm.h) */
				}
				if (r == 0) {
					bool down = shared_kinds[k].type == KCMP_FILES ||
						    shared_kinds[k].type == KCMP_FS;

					pr_err("processes %d and %d share their %s%s: not supported yet\n",
					       t->tasks[j].pid, t->tasks[i].pid, shared_kinds[k].what,
					       down ? " but not with their parents" : "");
					return -EOPNOTSUPP;
				}
			}
		}
	return 0;
}

/* The shared anonymous memory object @ino in a process of @t before @until, or NULL. */
static const struct dump_task *shmem_owner(const struct dump_tree *t, size_t until, ino_t ino)
{
	for (size_t j = 0; j < until; j++)
		for (size_t v = 0; v < t->tasks[j].vmas.nr; v++)
			if ((t->tasks[j].vmas.vmas[v].status & VMA_ANON_SHARED) && t->tasks[j].vmas.vmas[v].ino == ino)
				return &t->tasks[j];
	return NULL;
}

/*
 * The VMAs whose shared anonymous memory process @i dumps: a copy of its VMAs
 * without those of objects an earlier process maps (it dumped them), in
 * *@own (free its vmas only).
 */
static int own_shared_memory(const struct dump_tree *t, size_t i, struct vma_list *own)
{
	const struct vma_list *all = &t->tasks[i].vmas;

	*own = *all;
	own->vmas = malloc((all->nr ? all->nr : 1) * sizeof(*own->vmas));
	if (!own->vmas)
		return -ENOMEM;
	if (all->nr) /* a zombie has no VMAs, nor an array of them */
		memcpy(own->vmas, all->vmas, all->nr * sizeof(*own->vmas));
	for (size_t v = 0; v < own->nr; v++) {
		struct vma_area *vma = &own->vmas[v];
		const struct dump_task *other;

		if (!(vma->status & VMA_ANON_SHARED))
			continue;
		other = shmem_owner(t, i, vma->ino);
		if (other) {
			pr_info("process %d shares the anonymous memory at %#llx with process %d: dumped once\n",
				t->tasks[i].pid, (unsigned long long)vma->start, other->pid);
			vma->status &= ~VMA_ANON_SHARED;
		}
	}
	return 0;
}

static void dump_tree_free(struct dump_tree *t)
{
	for (size_t i = 0; t->tasks && i < t->nr; i++) {
		struct dump_task *dt = &t->tasks[i];

		free(dt->vma_file_ids);
		free(dt->vma_fdflags);
		task_query_fini(&dt->query);
		files_fd_table_free(&dt->fds);
		vma_list_free(&dt->vmas);
		proc_status_fini(&dt->status);
	}
	netns_dump_fini(&t->netns);
	files_dump_free(&t->files);
	free(t->tasks);
	free(t->items);
	free(t->fd_refs);
	memset(t, 0, sizeof(*t));
}

/* One dump_task and pstree item per process of @tree, with its /proc/PID/stat; sessions checked. */
static int dump_tree_init(const struct criu_ctx *ctx, const struct compel_tree *tree, struct dump_tree *t)
{
	int ret = 0;

	t->tasks = calloc(tree->nr_tasks, sizeof(*t->tasks));
	t->items = calloc(tree->nr_tasks, sizeof(*t->items));
	t->fd_refs = calloc(tree->nr_tasks, sizeof(*t->fd_refs));
	if (!t->tasks || !t->items || !t->fd_refs)
		return -ENOMEM;
	t->nr = tree->nr_tasks;
	t->files.reg.link_remap = ctx->opts->link_remap;
	for (size_t i = 0; !ret && i < t->nr; i++) {
		const struct compel_task *task = &tree->tasks[i];
		struct dump_task *dt = &t->tasks[i];

		*dt = (struct dump_task){
			.pid = task->pid,
			.index = i,
			.zombie = task->zombie,
			.tids = task->zombie ? &task->pid : task->threads,
			.nr_tids = task->zombie ? 1 : task->nr_threads,
			.stopped = task->stopped,
			.vfork_tid = task->vfork_tid,
			.vfork_child = task->vfork_child,
			.nr_vforks = task->nr_vforks,
			.files = &t->files,
			.others = t->fd_refs,
			.shell_job = ctx->opts->shell_job,
			.file_locks = ctx->opts->file_locks,
			.ext_unix_sk = ctx->opts->ext_unix_sk,
			.sockets = { .tcp_established = ctx->opts->tcp_established,
				     .tcp_close = ctx->opts->tcp_close,
				     .skip_in_flight = ctx->opts->skip_in_flight },
			.guard = ctx->guard,
		};
		if (!task->zombie && (!task->nr_threads || task->threads[0] != task->pid)) {
			pr_err("the main thread of process %d has exited: not supported yet\n", task->pid);
			return -EOPNOTSUPP;
		}
		ret = proc_parse_stat(dt->pid, 0, &dt->stat);
		if (ret) {
			pr_err("can't read /proc/%d/stat: %s\n", dt->pid, strerror(-ret));
			return ret;
		}
		t->fd_refs[i] = (struct fd_table_ref){ .pid = dt->pid, .fds = &dt->fds };
		t->items[i] = (struct pstree_item){
			.pid = dt->pid,
			.ppid = i ? task->ppid : 0,
			.pgid = dt->stat.pgid,
			.sid = dt->stat.sid,
			.threads = dt->tids,
			.nr_threads = dt->nr_tids,
		};
	}
	if (!ret)
		ret = pstree_check_sessions(t->items, t->nr, ctx->opts->shell_job);
	ret = ret ?: check_sharing(t);
	for (size_t i = t->nr - 1; !ret && i > 0; i--)
		t->tasks[i - 1].more_files = t->tasks[i].more_files ||
					     (!t->tasks[i].zombie && t->tasks[i].files_owner == i);
	return ret;
}

/* The parent of process @i of the tree (NULL for the root). */
static const struct dump_task *parent_task(const struct dump_tree *t, size_t i)
{
	for (size_t j = 0; i && j < i; j++)
		if (t->tasks[j].pid == t->items[i].ppid)
			return &t->tasks[j];
	return NULL;
}

/*
 * Each process with a thread blocked in vfork() (dump-vfork.h): once every
 * process is collected (but what its threads tell by injection), its child's
 * images are written and the child killed, so that the thread returns and
 * stops; then the threads are asked.
 */
static int end_vforks(const struct criu_ctx *ctx, struct dump_tree *t, uint32_t *next_pages_id,
		      struct dump_stats *stats)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < t->nr; i++) {
		struct dump_task *p = &t->tasks[i];
		struct vma_list none = { 0 };
		size_t c = 0;

		if (!p->vfork_tid)
			continue;
		while (c < t->nr && t->tasks[c].pid != p->vfork_child)
			c++;
		ret = dump_vfork_check(p->pid, p->vfork_tid, p->nr_vforks, p->vfork_child,
				       c < t->nr && t->tasks[c].vm_owner == i);
		ret = ret ?: dump_guard_check(ctx->guard);
		ret = ret ?: write_task_images(ctx, &t->tasks[c], NULL, &none, next_pages_id, stats);
		t->tasks[c].written = !ret;
		ret = ret ?: dump_vfork_end(p->vfork_tid, p->vfork_child);
		ret = ret ?: task_query_collect(p->pid, p->tids, p->nr_tids, p->guard, &p->query);
		p->query.vfork_child = p->vfork_child;
		p->query.vfork_tid = p->vfork_tid;
	}
	return ret;
}

/*
 * Collects and writes everything of the frozen tree. Its TCP connections are
 * locked and dumped into @tcp as soon as the fds of every process are known,
 * by a thread that runs while the memory is copied, so that the tree stays
 * frozen for the longer of the two, not their sum. The caller ends @tcp
 * (sk_tcp_dump_finish) once it knows the tree's fate, then destroys *@soccr,
 * the libsoccr context made here if the tree has sockets.
 */
static int dump_tree(const struct criu_ctx *ctx, const struct compel_tree *tree, struct libsoccr_ctx **soccr,
		     struct sk_tcp_dump *tcp, struct dump_stats *stats)
{
	struct dump_tree t = { .queue_arena = &tcp->arena };
	struct sk_tcp_cfg cfg;
	struct tcp_job job = { .tcp = tcp, .inet = &t.files.inet, .cfg = &cfg };
	uint32_t next_pages_id = PAGES_ID;
	int ret, jret;

	sk_tcp_cfg_init(&cfg, ctx->opts, tree->tasks[0].pid);
	ret = dump_tree_init(ctx, tree, &t);
	/* Before any socket is looked at: they are the namespace's. */
	if (!ret)
		ret = netns_dump_enter(&t.netns, tree->tasks[0].pid);
	cfg.own_netns = t.netns.own;
	for (size_t i = 0; !ret && i < t.nr; i++) {
		t.tasks[i].net_ns_id = t.netns.id;
		if (!t.tasks[i].zombie)
			ret = netns_dump_check(&t.netns, t.tasks[i].pid) ?: collect_task(&t.tasks[i], stats);
	}
	for (size_t i = 0; !ret && i < t.nr; i++) {
		const struct dump_task *c = &t.tasks[i], *p = &t.tasks[c->vm_owner];

		if (c->vm_owner != i)
			ret = sharedmm_check(c->pid, p->pid, &c->stat, &p->stat, &c->fds,
					     c->files_owner == p->files_owner ? NULL : &p->fds,
					     c->fs_owner == p->fs_owner);
	}
	if (!ret)
		ret = end_vforks(ctx, &t, &next_pages_id, stats);
	if (!ret)
		ret = read_socket_opts(&t, soccr);
	if (!ret)
		ret = dump_guard_check(ctx->guard);
	if (!ret)
		ret = tcp_job_start(&job, *soccr);
	if (!ret)
		ret = write_tree_images(ctx, &t);
	for (size_t i = 0; !ret && i < t.nr; i++) {
		struct vma_list shm_vmas;

		if (t.tasks[i].written)
			continue;
		ret = own_shared_memory(&t, i, &shm_vmas);
		if (!ret)
			ret = write_task_images(ctx, &t.tasks[i], parent_task(&t, i), &shm_vmas, &next_pages_id, stats);
		free(shm_vmas.vmas);
	}
	/* The memfds of the whole tree, each once (their table is the tree's). */
	if (!ret) {
		struct shmem_dump_stats ss = { 0 };

		ret = memfd_dump_contents(&t.files, ctx->imgdir_fd, t.tasks[0].pid, &next_pages_id, ctx->guard, &ss);
		stats->memwrite_us += ss.us;
		stats->shpages_scanned += ss.pages_scanned;
		stats->shpages_written += ss.pages_written;
	}
	jret = tcp_job_join(&job);
	ret = ret ?: jret;
	stats->lock_us = tcp->lock_us;
	stats->tcp_dump_us = tcp->dump_us;
	stats->tcp_conns = tcp->nr;
	if (!ret)
		ret = dump_guard_check(ctx->guard);
	if (!ret)
		ret = write_file_images(ctx, &t, tcp, &cfg, stats);
	/* As CRIU: a process left running keeps its files, and the links go (a failed dump leaves none). */
	if (ret || ctx->opts->leave_running)
		files_reg_undo_link_remaps(&t.files.reg);
	dump_tree_free(&t);
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

/* Releases @tree after the failure @err, which stays the error to return. */
static int release_after_failure(struct compel_tree *tree, pid_t pid, int err)
{
	if (release(tree, pid))
		pr_err("process %d may stay stopped until criu exits, when the kernel detaches it\n", pid);
	return err;
}

/* A zombie thread group leader whose other threads live on (pthread_exit() in main()). */
static bool leader_exited(pid_t pid)
{
	struct proc_stat st;

	return !proc_parse_stat(pid, 0, &st) && st.state == 'Z' && st.num_threads > 1;
}

/* Explains a failed compel_tree_seize() of @pid. */
static void report_seize_error(pid_t pid, const struct compel_seize_error *err, unsigned int timeout_s, int ret)
{
	if (ret == -ESRCH && leader_exited(pid))
		pr_err("the main thread of process %d has exited while its other threads run on: not supported yet\n",
		       pid);
	else if (ret == -ESRCH)
		pr_err("process %d does not exist\n", pid);
	else if (ret == -EBUSY && err->vfork_child)
		pr_err("thread %d (in the tree of process %d) is blocked in vfork() until its child %d, which shares its "
		       "memory, execs or exits: it can't be frozen, and --leave-running can't end that vfork()\n",
		       err->tid, pid, err->vfork_child);
	else if (ret == -ETIMEDOUT && err->tid)
		pr_err("thread %d of process %d did not stop within %u seconds (state %c): can't freeze it\n", err->tid,
		       pid, timeout_s, err->state);
	else if (ret == -ETIMEDOUT)
		pr_err("process %d kept changing for %u seconds: can't freeze it\n", pid, timeout_s);
	else if (err->tid)
		pr_err("can't freeze thread %d of process %d (state %c): %s\n", err->tid, pid, err->state,
		       strerror(-ret));
	else
		pr_err("can't freeze process %d: %s\n", pid, strerror(-ret));
	if (err->untrace_error)
		pr_err("a thread of process %d could not be detached (%s): it is let go when criu exits\n", pid,
		       strerror(-err->untrace_error));
}

static int seize(pid_t pid, struct compel_tree *tree, unsigned int timeout_s)
{
	unsigned int timeout_ms = timeout_s > UINT_MAX / 1000 ? UINT_MAX : timeout_s * 1000;
	int ret = compel_tree_seize(tree, pid, timeout_ms);

	if (ret) {
		report_seize_error(pid, &tree->err, timeout_s, ret);
		return ret;
	}
	for (size_t i = 1; i < tree->nr_tasks; i++)
		pr_info("process %d (child of %d) frozen with %zu thread(s)%s%s\n", tree->tasks[i].pid,
			tree->tasks[i].ppid, tree->tasks[i].nr_threads, tree->tasks[i].zombie ? ", a zombie" : "",
			tree->tasks[i].stopped ? ", stopped" : "");
	return 0;
}

/* As the tracer, waits for the exit of @tid; reaping it lets its parent see the exit. */
static void reap_traced(pid_t tid)
{
	int status;

	for (;;) {
		if (waitpid(tid, &status, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			return; /* ECHILD: already reaped */
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return;
	}
}

/*
 * Kills every dumped process and waits until every one of their threads is
 * gone. The other threads first: the kernel holds back the leader's exit until
 * they are reaped, and traced threads wait for their tracer to reap them. A
 * zombie is left to its parent's end: it is reaped with it.
 */
static int kill_tree(const struct compel_tree *tree)
{
	int ret = 0;

	for (size_t i = 0; i < tree->nr_tasks; i++)
		if (!tree->tasks[i].zombie && kill(tree->tasks[i].pid, SIGKILL) < 0 && !ret) {
			pr_perror("Can't kill process %d", tree->tasks[i].pid);
			ret = -errno;
		}
	for (size_t n = tree->nr_tasks; n-- > 0;) {
		const struct compel_task *task = &tree->tasks[n];

		if (task->zombie)
			continue;
		for (size_t i = 0; i < task->nr_threads; i++)
			if (task->threads[i] != task->pid)
				reap_traced(task->threads[i]);
		reap_traced(task->pid);
	}
	return ret;
}

int cr_dump_tasks(const struct criu_ctx *ctx)
{
	const struct criu_opts *opts = ctx->opts;
	struct dump_stats stats = { 0 };
	struct compel_tree tree = { 0 };
	struct sk_tcp_dump tcp = { 0 };
	struct libsoccr_ctx *soccr = NULL; /* socket options and connections; lent to tcp */
	pid_t pid = opts->tree_pid;
	uint64_t start, frozen_at;
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
	start = stats_now_us();
	ret = dump_guard_check(ctx->guard);
	tree.vfork_ok = !opts->leave_running; /* its end kills the vfork() child (dump-vfork.h) */
	if (!ret)
		ret = seize(pid, &tree, opts->timeout);
	if (ret)
		return ret;
	frozen_at = stats_now_us();
	stats.freezing_us = frozen_at - start;
	pr_info("process %d frozen with %zu thread(s) in %llu us, %zu process(es) in its tree\n", pid,
		tree.tasks[0].nr_threads, (unsigned long long)stats.freezing_us, tree.nr_tasks);

	ret = dump_tree(ctx, &tree, &soccr, &tcp, &stats);
	if (!ret) {
		stats.frozen_us = stats_now_us() - frozen_at;
		ret = stats_dump_write(ctx->imgdir_fd, &stats);
	}
	/* The last point to give up at: once killed, the dump is finished whatever happens. */
	if (!ret && !opts->leave_running)
		ret = dump_guard_check(ctx->guard);
	if (!ret && !opts->leave_running)
		ret = kill_tree(&tree);
	if (ret) {
		pr_err("dump of process %d failed: letting it run on\n", pid);
		if (sk_tcp_dump_finish(&tcp, false))
			pr_err("some TCP connections of process %d could not be handed back\n", pid);
		ret = release_after_failure(&tree, pid, ret);
		goto out_destroy_soccr;
	}
	/* Killed: the sockets are closed in repair mode and the lock stays; left running: both undone. */
	ret = sk_tcp_dump_finish(&tcp, !opts->leave_running);
	if (ret && opts->leave_running) {
		pr_err("process %d runs on, but some of its TCP connections may stay locked\n", pid);
		ret = release_after_failure(&tree, pid, ret);
		goto out_destroy_soccr;
	}
	/* After the kill, the threads are gone and detaching them is a no-op (ESRCH, ignored). */
	ret = release(&tree, pid);
	if (ret)
		goto out_destroy_soccr;
	pr_info("Dumping finished successfully (%llu pages, %llu of shared memory)\n",
		(unsigned long long)stats.pages_written, (unsigned long long)stats.shpages_written);
	if (opts->display_stats)
		stats_dump_display(&stats);
out_destroy_soccr:
	libsoccr_ctx_destroy(soccr);
	return ret;
}
