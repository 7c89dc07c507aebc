/*
 * criu restore: bring a checkpointed process back with its pid and the tids of
 * its threads. For now one process, ptrace-driven (no restorer blob):
 *   1. read and check every image, check the pid is free, open the files the
 *      process needs: nothing is touched before;
 *   2. clone3 it with set_tid, let it set itself up and stop (restore-fork.c);
 *   3. rebuild its address space with injected syscalls (restore-mem.c);
 *   4. create its other threads from it (restore-threads.c), set the state and
 *      registers of each (restore-thread.c), detach.
 * With --restore-detached criu exits once the process runs; without, criu
 * waits for it and exits with its exit code.
 */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cr-restore.h"
#include "eventpoll.h"
#include "fd-kind.h"
#include "file-locks.h"
#include "ids.h"
#include "image.h"
#include "magic.h"
#include "restore-ctl.h"
#include "restore-fdtable.h"
#include "restore-fork.h"
#include "restore-ghost.h"
#include "restore-helpers.h"
#include "restore-images.h"
#include "restore-mem.h"
#include "restore-sharedmm.h"
#include "restore-shmem.h"
#include "restore-thread.h"
#include "restore-threads.h"
#include "restore-tty.h"
#include "sk-inet.h"
#include "sk-unix.h"
#include "netns.h"
#include "sk-rebuild.h"
#include "stats.h"

#include "inventory.pb-c.h"

#define LOG_PREFIX "restore: "
#include "log.h"

/*
 * The images' version, and the network lock the dump took (@network_lock): the restore must find
 * and lift that one whatever its command line says (@o), as CRIU's does. CRIU's images from
 * before the field was recorded were locked with iptables.
 */
static int check_inventory(int imgdir_fd, const struct criu_opts *o, enum network_lock_method *network_lock)
{
	InventoryEntry *inv;
	struct cr_img *img;
	void *msg;
	int ret;

	ret = img_open(&img, imgdir_fd, IMG_READ, CR_IMG_INVENTORY);
	if (ret)
		return ret;
	ret = img_read_one(img, &msg);
	img_close(img);
	if (ret)
		return ret;

	inv = msg;
	if (inv->img_version != CRTOOLS_IMAGES_V1_1) {
		pr_err("images version %u is not supported (expected %u)\n", inv->img_version, CRTOOLS_IMAGES_V1_1);
		ret = -EINVAL;
	} else if (inv->has_network_lock_method && inv->network_lock_method > LOCK_METHOD_SKIP) {
		pr_err("inventory.img: network lock method %u is unknown\n", inv->network_lock_method);
		ret = -EINVAL;
	} else {
		*network_lock = inv->has_network_lock_method ? (enum network_lock_method)inv->network_lock_method :
							       LOCK_METHOD_IPTABLES;
		/* As CRIU: the lock to lift is the dump's; a --network-lock saying otherwise changes nothing. */
		if (o->network_lock_given && *network_lock != o->network_lock)
			pr_warn("option --network-lock %s has no effect: the dump locked the network with %s, "
				"and the restore lifts that lock\n",
				opts_network_lock_name(o->network_lock), opts_network_lock_name(*network_lock));
	}
	img_free_entry(inv);
	return ret;
}

static int write_pidfile(const struct criu_ctx *ctx, pid_t pid)
{
	char buf[32];
	int fd, len, ret = 0;

	fd = openat(ctx->workdir_fd, ctx->opts->pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		pr_perror("Can't create the pidfile %s", ctx->opts->pidfile);
		return -errno;
	}
	len = snprintf(buf, sizeof(buf), "%d", pid);
	if (write(fd, buf, (size_t)len) != len) {
		pr_perror("Can't write the pidfile %s", ctx->opts->pidfile);
		ret = -EIO;
	}
	if (close(fd) < 0 && !ret)
		ret = -errno;
	return ret;
}

/* Established TCP connections in the images need --tcp-established (or --tcp-close), as with CRIU. */
static int check_tcp_opts(const struct criu_ctx *ctx, const struct restore_image *ri)
{
	const struct criu_opts *o = ctx->opts;

	if (o->tcp_established || o->tcp_close)
		return 0;
	for (size_t i = 0; i < ri->nr_files; i++)
		if (ri->files[i]->type == FD_TYPES__INETSK && inet_sk_img_is_conn(inet_sk_of(ri, i))) {
			pr_err("the images hold established TCP connections (socket %u): restore them with "
			       "--tcp-established, or with --tcp-close to get them back closed\n",
			       inet_sk_of(ri, i)->ino);
			return -EOPNOTSUPP;
		}
	return 0;
}

/* Without --restore-detached: wait for the process like its parent, and exit as it did. */
static int wait_restored(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			pr_perror("Can't wait for process %d", pid);
			return -errno;
		}
	if (WIFSIGNALED(status)) {
		pr_info("process %d was killed by signal %d\n", pid, WTERMSIG(status));
		return -EINTR;
	}
	pr_info("process %d exited with code %d\n", pid, WEXITSTATUS(status));
	/* main() turns any error into exit code 1: the process's own code can only leave from here. */
	if (WEXITSTATUS(status)) {
		log_fini();
		exit(WEXITSTATUS(status));
	}
	return 0;
}

/* The whole tree being restored: per process its image, files and ptrace control. */
struct restore_tree {
	struct restore_image *ris;
	size_t nr;
	struct restore_proc *procs;
	struct restore_fds *fds;
	struct restore_ctl *ctls;
	bool *attached; /* seized and stopped under our ptrace */
	struct restore_sync *sync;
	struct restore_shmem_set shmems; /* shared memory objects: made by criu first in a tree */
	/* criu's fds of the TCP connections the root rebuilt for other processes: out of repair mode last. */
	int *kept;
	size_t nr_kept;
	struct netns_restore netns;  /* the tree's own network namespace */
	struct restore_cow_tree cow; /* private memory shared copy-on-write (restore-cow.h) */
};

static bool is_zombie(const struct restore_tree *t, size_t k)
{
	return restore_image_is_zombie(&t->ris[k]);
}

static int tree_alloc(struct restore_tree *t)
{
	t->procs = calloc(t->nr, sizeof(*t->procs));
	t->fds = calloc(t->nr, sizeof(*t->fds));
	t->ctls = calloc(t->nr, sizeof(*t->ctls));
	t->attached = calloc(t->nr, sizeof(*t->attached));
	if (!t->procs || !t->fds || !t->ctls || !t->attached)
		return -ENOMEM;
	for (size_t k = 0; k < t->nr; k++) {
		t->procs[k].ri = &t->ris[k];
		t->procs[k].fds = is_zombie(t, k) ? NULL : &t->fds[k];
		t->ctls[k].mem_fd = -1;
		for (size_t p = 0; k && p < k; p++)
			if (t->ris[p].pid == (pid_t)t->ris[k].pstree->ppid)
				t->procs[k].parent = p;
	}
	return restore_helpers_plan(t->procs, t->nr) ?: restore_fdtable_plan(t->procs, t->ris, t->nr);
}

static void tree_free(struct restore_tree *t)
{
	for (size_t k = 0; t->fds && k < t->nr; k++)
		restore_fds_close(&t->fds[k]);
	for (size_t k = 0; t->ctls && k < t->nr; k++)
		restore_ctl_fini(&t->ctls[k]);
	restore_sync_free(t->sync);
	restore_shmem_set_free(&t->shmems);
	for (size_t i = 0; i < t->nr_kept; i++)
		close(t->kept[i]);
	free(t->kept);
	restore_cow_free(&t->cow);
	free(t->procs);
	free(t->fds);
	free(t->ctls);
	free(t->attached);
}

/* Every pid and tid of the tree must be free. */
static int check_pids_free(const struct restore_tree *t)
{
	int ret = 0;

	for (size_t k = 0; !ret && k < t->nr; k++) {
		ret = restore_check_pid_free(t->ris[k].pid);
		for (size_t i = 0; !ret && i < t->ris[k].nr_threads; i++)
			ret = restore_check_pid_free(t->ris[k].tids[i]);
	}
	return ret;
}

/*
 * A file that several processes held one open file description of (one id in
 * files.img) is opened once: the others get a duplicate of the first's, so
 * they share its offset and flags again.
 */
static int share_files(struct restore_tree *t)
{
	for (size_t k = 1; k < t->nr; k++) {
		struct restore_fds *fds = &t->fds[k];

		for (size_t i = 0; !is_zombie(t, k) && i < fds->nr; i++) {
			int dup;

			if (fds->fds[i] < 0 || t->ris[k].files[i]->type != FD_TYPES__REG)
				continue;
			for (size_t j = 0; j < k; j++) {
				if (is_zombie(t, j) || t->fds[j].fds[i] < 0)
					continue;
				dup = fcntl(t->fds[j].fds[i], F_DUPFD_CLOEXEC, fds->min_fd);
				if (dup < 0) {
					pr_perror("Can't share file %u between processes %d and %d",
						  t->ris[k].files[i]->id, t->ris[j].pid, t->ris[k].pid);
					return -errno;
				}
				close(fds->fds[i]);
				fds->fds[i] = dup;
				break;
			}
		}
	}
	return 0;
}

/*
 * Sockets, eventfds, ... that process @k shares with an earlier one (one id in
 * files.img) are made once, for the first: @k is given criu's fd of that one.
 */
static int given_files(struct restore_tree *t, size_t k)
{
	size_t nr = t->ris[k].nr_files;
	int *given;

	if (!k)
		return 0;
	given = malloc((nr ? nr : 1) * sizeof(*given));
	if (!given)
		return -ENOMEM;
	for (size_t i = 0; i < nr; i++) {
		given[i] = -1;
		for (size_t j = 0; given[i] < 0 && j < k; j++)
			if (!is_zombie(t, j) && i < t->fds[j].nr && t->fds[j].fds[i] >= 0)
				given[i] = t->fds[j].fds[i];
	}
	t->fds[k].given = given;
	return 0;
}

static bool made_for_tree(const FileEntry *fe)
{
	const struct fd_kind *kind = fd_kind_of_type(fe->type);

	return kind && (kind->flags & FD_KIND_TREE);
}

/*
 * Files made in a process for the others only (every socket, pipe, ... is
 * made for the first process: FD_KIND_TREE): taken out of it once every
 * process took its duplicates, so that it does not inherit them. A TCP
 * connection stays open in criu until it is out of repair mode (t->kept).
 */
static int drop_unneeded(struct restore_tree *t)
{
	for (size_t k = 0; k < t->nr; k++) {
		const struct restore_image *ri = &t->ris[k];

		for (size_t i = 0; !is_zombie(t, k) && i < t->fds[k].nr; i++) {
			const FileEntry *fe = ri->files[i];

			if (t->fds[k].fds[i] < 0 || restore_fds_needed(ri, i) || epoll_kept_in_flight(ri, i) ||
			    (!made_for_tree(fe) && !unix_sk_in_flight(ri, i)))
				continue;
			if (fe->type == FD_TYPES__INETSK && inet_sk_img_is_conn(inet_sk_of(ri, i)) &&
			    !t->fds[k].tcp_close) {
				int *kept = realloc(t->kept, (t->nr_kept + 1) * sizeof(*kept));

				if (!kept)
					return -ENOMEM;
				t->kept = kept;
				t->kept[t->nr_kept++] = t->fds[k].fds[i];
			} else {
				close(t->fds[k].fds[i]);
			}
			t->fds[k].fds[i] = -1;
		}
	}
	return 0;
}

/*
 * A shared memory object is made as large as the furthest any process maps
 * it: the first process to map it may map less of it than a later one.
 */
static void size_shared_memory(struct restore_tree *t)
{
	for (size_t k = 0; k < t->nr; k++)
		for (size_t i = 0; i < t->ris[k].nr_shmems; i++)
			for (size_t j = 0; j < t->nr; j++)
				for (size_t m = 0; m < t->ris[j].nr_shmems; m++)
					if (t->ris[j].shmems[m].shmid == t->ris[k].shmems[i].shmid &&
					    t->ris[j].shmems[m].size > t->ris[k].shmems[i].size)
						t->ris[k].shmems[i].size = t->ris[j].shmems[m].size;
}

/* Kills every process of the tree and reaps them (criu is their subreaper and tracer). */
static void kill_tree(const struct restore_tree *t)
{
	for (size_t k = 0; k < t->nr; k++) {
		kill(t->ris[k].pid, SIGKILL);
		for (size_t i = 0; i < t->ris[k].nr_sharers; i++)
			kill(t->ris[k].sharers[i].pid, SIGKILL);
		if (t->ris[k].vfork_child)
			kill(t->ris[k].vfork_child->pid, SIGKILL);
	}
	for (int tries = 0; tries < 500; tries++) {
		pid_t r = waitpid(-1, NULL, __WALL | WNOHANG);

		if (r < 0 && errno == ECHILD)
			return;
		if (r <= 0)
			usleep(10000);
	}
	pr_err("some processes of the failed restore could not be reaped\n");
}

/* Seizes process @k once it is set up, and rebuilds its address space. */
static int attach_one(struct restore_tree *t, size_t k, int dirfd, struct restore_stats *st)
{
	uint64_t syscall_ip, t0 = stats_now_us();
	int ret;

	ret = restore_attach(t->procs, k, t->sync, &syscall_ip);
	t->attached[k] = !ret;
	st->forking_us += stats_now_us() - t0;
	if (!ret)
		ret = restore_ctl_init(&t->ctls[k], t->ris[k].pid, syscall_ip);
	t->ctls[k].parent_restored = k > 0;
	t->ctls[k].shmem_set = &t->shmems;
	t->ctls[k].cow = t->procs[k].cow;
	if (!ret && k == 0)
		ret = restore_tty_foreground(dirfd, &t->ris[0], &t->fds[0]);
	t0 = stats_now_us();
	if (!ret)
		ret = restore_mem(&t->ctls[k], &t->ris[k], &t->fds[k], dirfd);
	st->memory_us += stats_now_us() - t0;
	if (!ret && t->fds[k].shared)
		ret = sk_rebuild_finish(&t->ctls[k], &t->ris[k], &t->fds[k], &st->rebuild_wait_us);
	return ret;
}

/* Process @k, in a group led by another one, joins it (once every process exists). */
static int join_group(struct restore_tree *t, size_t k)
{
	pid_t pid = t->ris[k].pid, want = (pid_t)t->ris[k].pstree->pgid;
	long ret;

	if (getpgid(pid) == want)
		return 0;
	ret = restore_ctl_syscall(&t->ctls[k], SYS_setpgid, 2, (uint64_t)0, (uint64_t)want);
	if (ret < 0) {
		pr_err("can't move process %d into process group %d: %s\n", pid, want, strerror((int)-ret));
		return (int)ret;
	}
	pr_info("process %d joined process group %d\n", pid, want);
	return 0;
}

/* Threads, signals, timers and registers of process @k. */
static int finish_one(struct restore_tree *t, size_t k)
{
	int ret = join_group(t, k);

	ret = ret ?: restore_fdtable_close(&t->ctls[k], t->procs, t->fds, k);

	if (!ret)
		ret = restore_thread(&t->ctls[k], &t->ris[k]);
	restore_ctl_fini(&t->ctls[k]);
	if (!ret)
		restore_task_limits(t->ris[k].pid, &t->ris[k]);
	return ret;
}

/* Lets process @k run (stopped if it was dumped stopped). */
static int detach_one(struct restore_tree *t, size_t k)
{
	const struct restore_image *ri = &t->ris[k];
	int stop_sig, ret;

	ret = restore_threads_detach(ri);
	if (ret)
		return ret;
	stop_sig = ri->core->tc->task_state == RESTORE_TASK_STOPPED ? SIGSTOP : 0;
	if (ptrace(PTRACE_DETACH, ri->pid, NULL, (void *)(long)stop_sig) < 0) {
		pr_perror("Can't detach from process %d", ri->pid);
		return -errno;
	}
	return 0;
}

static int repair_off(struct restore_tree *t, struct restore_stats *st)
{
	int ret = sk_tcp_repair_off(&t->fds[0].tcp);

	st->repair_off_us = t->fds[0].tcp.repair_off_us;
	return ret;
}

/* A lone process: attached, rebuilt, finished and detached in criu's main thread. */
static int restore_serial(struct restore_tree *t, int dirfd, struct restore_stats *st)
{
	uint64_t t0;
	int ret = 0;

	for (size_t k = 0; !ret && k < t->nr; k++)
		if (!is_zombie(t, k))
			ret = attach_one(t, k, dirfd, st);
	t0 = stats_now_us();
	for (size_t k = 0; !ret && k < t->nr; k++)
		if (!is_zombie(t, k))
			ret = finish_one(t, k);
	if (!ret)
		ret = repair_off(t, st);
	for (size_t k = t->nr; !ret && k-- > 0;) {
		if (is_zombie(t, k))
			continue;
		ret = detach_one(t, k);
		t->attached[k] = false;
	}
	st->threads_us = stats_now_us() - t0 - st->repair_off_us;
	return ret;
}

/*
 * The processes restored at once, a criu thread each (every ptrace call on a
 * tracee must come from the thread that seized it). The threads meet three
 * times: once every address space is rebuilt (every process exists, groups can
 * be joined), once every process is ready to run, and once the root's thread
 * has taken the tree's TCP connections out of repair mode; then each detaches
 * its process after its children, so the root runs last. A thread that fails
 * makes every thread stop at the next meeting; the tracees of a thread that
 * ends attached are killed (PTRACE_O_EXITKILL), and criu kills the rest.
 */
struct tree_run {
	struct restore_tree *t;
	int dirfd;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t nr_workers;
	size_t arrived[3];
	bool failed;
};

struct tree_worker {
	struct tree_run *run;
	size_t k;
	pthread_t thread;
	struct restore_stats st;
	int ret;
};

/* Meeting @phase of the workers; false when one of them failed. */
static bool run_meet(struct tree_run *r, int phase, int ret)
{
	bool ok;

	pthread_mutex_lock(&r->lock);
	r->failed = r->failed || ret;
	r->arrived[phase]++;
	pthread_cond_broadcast(&r->cond);
	while (r->arrived[phase] < r->nr_workers)
		pthread_cond_wait(&r->cond, &r->lock);
	ok = !r->failed;
	pthread_mutex_unlock(&r->lock);
	return ok;
}

static bool children_attached(const struct restore_tree *t, size_t k)
{
	for (size_t c = k + 1; c < t->nr; c++)
		if (t->procs[c].parent == k && t->attached[c])
			return true;
	return false;
}

static void *tree_worker_run(void *arg)
{
	struct tree_worker *w = arg;
	struct tree_run *r = w->run;
	struct restore_tree *t = r->t;
	uint64_t t0;
	int ret;

	w->ret = attach_one(t, w->k, r->dirfd, &w->st);
	if (!run_meet(r, 0, w->ret))
		return NULL;
	t0 = stats_now_us();
	w->ret = finish_one(t, w->k);
	if (!run_meet(r, 1, w->ret))
		return NULL;
	/* No process runs before the tree's connections are out of repair mode (a read there fails). */
	if (w->k == 0)
		w->ret = repair_off(t, &w->st);
	if (!run_meet(r, 2, w->ret))
		return NULL;
	pthread_mutex_lock(&r->lock);
	while (children_attached(t, w->k))
		pthread_cond_wait(&r->cond, &r->lock);
	pthread_mutex_unlock(&r->lock);
	ret = w->ret ? 0 : detach_one(t, w->k);
	w->ret = w->ret ?: ret;
	pthread_mutex_lock(&r->lock);
	t->attached[w->k] = false;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	w->st.threads_us = stats_now_us() - t0 - w->st.repair_off_us;
	return NULL;
}

static void add_stats(struct restore_stats *st, const struct restore_stats *w)
{
	st->forking_us += w->forking_us;
	st->memory_us += w->memory_us;
	st->threads_us += w->threads_us;
	st->repair_off_us += w->repair_off_us;
}

static int restore_parallel(struct restore_tree *t, int dirfd, struct restore_stats *st)
{
	struct tree_run r = { .t = t, .dirfd = dirfd };
	struct tree_worker *w = calloc(t->nr, sizeof(*w));
	size_t started = 0;
	int ret = 0;

	if (!w)
		return -ENOMEM;
	pthread_mutex_init(&r.lock, NULL);
	pthread_cond_init(&r.cond, NULL);
	for (size_t k = 0; k < t->nr; k++)
		r.nr_workers += !is_zombie(t, k);
	for (size_t k = 0; !ret && k < t->nr; k++) {
		if (is_zombie(t, k))
			continue;
		w[started] = (struct tree_worker){ .run = &r, .k = k };
		ret = -pthread_create(&w[started].thread, NULL, tree_worker_run, &w[started]);
		if (ret) {
			pr_err("can't start a thread to restore process %d: %s\n", t->ris[k].pid, strerror(-ret));
			pthread_mutex_lock(&r.lock);
			r.nr_workers = started; /* the started ones meet without it, and give up */
			r.failed = true;
			pthread_cond_broadcast(&r.cond);
			pthread_mutex_unlock(&r.lock);
			break;
		}
		started++;
	}
	for (size_t i = 0; i < started; i++) {
		pthread_join(w[i].thread, NULL);
		ret = ret ?: w[i].ret;
		add_stats(st, &w[i].st);
	}
	if (!ret && r.failed)
		ret = -ECANCELED;
	pthread_cond_destroy(&r.cond);
	pthread_mutex_destroy(&r.lock);
	free(w);
	return ret;
}

/* Everything of the tree before the fork: TCP connections, pids, files. */
static int prepare_tree(const struct criu_ctx *ctx, struct restore_tree *t, enum network_lock_method network_lock,
			struct restore_stats *st)
{
	const struct restore_image *root = &t->ris[0];
	struct criu_opts lock_opts = *ctx->opts;
	uint64_t start = stats_now_us();
	struct sk_tcp_cfg cfg;
	int ret;

	lock_opts.network_lock = network_lock;
	sk_tcp_cfg_init(&cfg, &lock_opts, root->pid);
	cfg.own_netns = t->netns.id != 0;
	for (size_t k = 0; k < t->nr; k++) {
		t->fds[k].tcp_close = ctx->opts->tcp_close;
		t->fds[k].ext_unix_sk = ctx->opts->ext_unix_sk;
	}
	ret = check_tcp_opts(ctx, root);
	if (!ret && !ctx->opts->tcp_close)
		ret = sk_tcp_load(&t->fds[0].tcp, ctx->imgdir_fd, root, &cfg);
	else if (!ret)
		sk_tcp_close_setup(&t->fds[0].tcp, root, &cfg);
	/* A lone process's connections are rebuilt beside its memory (net/sk-rebuild.c). */
	t->fds[0].shared = !ret && t->nr == 1 && sk_rebuild_possible(root, &t->fds[0]);
	if (!ret)
		ret = check_pids_free(t);
	/* The tree's network namespace, before its sockets are made in it. */
	if (!ret)
		ret = netns_restore_create(&t->netns, ctx->imgdir_fd, ctx->opts, cfg.lock_mode, root->pid);
	for (size_t k = 0; !ret && k < t->nr; k++) {
		if (is_zombie(t, k))
			continue;
		restore_fdtable_floor(t->procs, t->fds, k);
		ret = given_files(t, k);
		ret = ret ?: restore_fds_open(&t->ris[k], &t->fds[k]);
		free((int *)t->fds[k].given);
		t->fds[k].given = NULL;
		if (!ret)
			ret = restore_tty_open(ctx->imgdir_fd, &t->ris[k], &t->fds[k]);
	}
	/* Shared first: a regular file in flight only for the first process may be another's fd. */
	if (!ret)
		ret = share_files(t);
	if (!ret)
		ret = drop_unneeded(t);
	if (!ret)
		ret = restore_fdtable_keep(t->procs, t->fds, t->nr);
	/* On the files as the processes get them: after share_files() closed the copies it replaced. */
	for (size_t k = 0; !ret && k < t->nr; k++)
		if (!is_zombie(t, k))
			ret = file_locks_take_shared(&t->ris[k], &t->fds[k]);
	size_shared_memory(t);
	st->files_us = stats_now_us() - start;
	st->sockets_us = t->fds[0].sockets_us;
	st->tcp_restore_us = t->fds[0].tcp.restore_us;
	st->tcp_conns = t->fds[0].tcp.nr;
	return ret;
}

static int restore_tree(const struct criu_ctx *ctx, struct restore_tree *t, enum network_lock_method network_lock,
			struct restore_stats *st)
{
	uint64_t start = stats_now_us();
	int ret;

	ret = tree_alloc(t);
	if (!ret)
		ret = prepare_tree(ctx, t, network_lock, st);
	if (ret)
		return ret;
	/* Orphans of a failed restore come to criu, which reaps them. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
		pr_perror("Can't make criu a child subreaper");
		return -errno;
	}
	ret = restore_cow_plan(t->procs, t->nr, ctx->imgdir_fd, &t->cow);
	if (ret)
		return ret;
	ret = restore_fork_tree(t->procs, t->nr, &t->sync);
	restore_cow_release(&t->cow);
	/* The connections rebuilt by a thread meanwhile (the process shares criu's fd table until then). */
	if (!ret && t->fds[0].shared)
		ret = sk_rebuild_start(&t->ris[0], &t->fds[0]);
	/* Shared memory objects made first, so no process waits for another to make one. */
	if (!ret && t->nr > 1)
		ret = restore_shmem_make_all(&t->shmems, t->ris, t->nr, ctx->imgdir_fd);
	if (!ret && t->nr == 1)
		ret = restore_serial(t, ctx->imgdir_fd, st);
	else if (!ret)
		ret = restore_parallel(t, ctx->imgdir_fd, st);
	if (ret) {
		pr_err("restore of process %d failed: killing its tree\n", t->ris[0].pid);
		kill_tree(t);
		return ret;
	}
	/* The tree runs: a failure to unlock is reported, the restore stands. */
	if (sk_tcp_unlock(&t->fds[0].tcp))
		pr_err("process %d runs, but its TCP connections stay locked: remove the lock by hand\n",
		       t->ris[0].pid);
	if (netns_restore_unlock(&t->netns))
		pr_err("process %d runs, but its network namespace stays locked\n", t->ris[0].pid);
	st->unlock_us = t->fds[0].tcp.unlock_us;
	pr_info("%zu process(es) restored in %llu us\n", t->nr, (unsigned long long)(stats_now_us() - start));
	if (ctx->opts->pidfile)
		ret = write_pidfile(ctx, t->ris[0].pid);
	return ret;
}

/*
 * stats-restore in the images directory, and with --display-stats the same on
 * stdout. The tree runs already: a failure is reported, not fatal.
 */
static void restore_stats_finish(const struct criu_ctx *ctx, const struct restore_tree *t, struct restore_stats *st,
				 uint64_t start)
{
	int ret;

	st->restore_us = stats_now_us() - start;
	st->pages_restored = 0;
	for (size_t k = 0; k < t->nr; k++) {
		st->pages_restored += t->ris[k].nr_pages;
		for (size_t i = 0; i < t->ris[k].nr_shmems; i++)
			st->pages_restored += t->ris[k].shmems[i].nr_pages;
	}
	ret = stats_restore_write(ctx->imgdir_fd, st);
	if (ret)
		pr_err("can't write stats-restore: %s\n", strerror(-ret));
	if (ctx->opts->display_stats)
		stats_restore_display(st);
}

/*
 * A shell job's root joins criu's session (restore_tty_session()): the
 * processes that shared its old session or group follow it.
 */
static int shell_job_session(struct restore_tree *t, bool shell_job)
{
	uint32_t old_sid = t->ris[0].pstree->sid, old_pgid = t->ris[0].pstree->pgid;
	int ret = restore_tty_session(&t->ris[0], shell_job);

	for (size_t k = 1; !ret && k < t->nr; k++) {
		PstreeEntry *e = t->ris[k].pstree;

		if (e->sid == old_sid)
			e->sid = t->ris[0].pstree->sid;
		if (e->pgid == old_pgid && e->pgid != e->pid)
			e->pgid = t->ris[0].pstree->pgid;
	}
	return ret;
}

int cr_restore_tasks(const struct criu_ctx *ctx)
{
	enum network_lock_method network_lock = LOCK_METHOD_DEFAULT;
	struct restore_tree t = { .netns.criu_ns = -1, .netns.own_ns = -1 };
	uint32_t net_ns_id = 0;
	struct restore_stats stats = { 0 };
	uint64_t start = stats_now_us();
	int ret;

	pr_info("Restoring processes\n");
	ret = check_inventory(ctx->imgdir_fd, ctx->opts, &network_lock);
	if (!ret)
		ret = restore_images_load(ctx->imgdir_fd, &t.ris, &t.nr);
	if (!ret)
		ret = restore_sharedmm_fold(t.ris, &t.nr);
	if (!ret && restore_image_is_zombie(&t.ris[0])) {
		pr_err("pstree.img: the root process %d is a zombie\n", t.ris[0].pid);
		ret = -EINVAL;
	}
	if (!ret)
		ret = ids_restore_check(ctx->imgdir_fd, t.ris[0].pid, &net_ns_id);
	if (!ret)
		ret = netns_restore_load(&t.netns, ctx->imgdir_fd, net_ns_id, ctx->opts);
	if (!ret)
		ret = shell_job_session(&t, ctx->opts->shell_job);
	if (!ret)
		ret = restore_tree(ctx, &t, network_lock, &stats);
	for (size_t k = 0; !ret && k < t.nr; k++)
		restore_ghosts_drop_links(&t.ris[k]);
	if (!ret) {
		pr_info("Restore finished successfully\n");
		restore_stats_finish(ctx, &t, &stats, start);
	}
	if (!ret && !ctx->opts->restore_detached)
		ret = wait_restored(t.ris[0].pid);
	netns_restore_fini(&t.netns, ret != 0);
	tree_free(&t);
	for (size_t k = 0; k < t.nr; k++)
		restore_images_free(&t.ris[k]);
	free(t.ris);
	return ret;
}
