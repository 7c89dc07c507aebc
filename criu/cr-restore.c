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
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cr-restore.h"
#include "file-locks.h"
#include "image.h"
#include "magic.h"
#include "restore-ctl.h"
#include "restore-fork.h"
#include "restore-images.h"
#include "restore-mem.h"
#include "restore-shmem.h"
#include "restore-thread.h"
#include "restore-threads.h"
#include "restore-tty.h"
#include "sk-inet.h"
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
		pr_err("images version %u is not supported (expected %u)\n", inv->img_version,
		       CRTOOLS_IMAGES_V1_1);
		ret = -EINVAL;
	} else if (inv->has_network_lock_method && inv->network_lock_method > NETWORK_LOCK_SKIP) {
		pr_err("inventory.img: network lock method %u is unknown\n", inv->network_lock_method);
		ret = -EINVAL;
	} else {
		*network_lock = inv->has_network_lock_method ? (enum network_lock_method)inv->network_lock_method :
							       NETWORK_LOCK_IPTABLES;
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

/*
 * Steps 3 and 4 on the stopped, traced process; it runs on after this returns 0.
 * Its TCP connections leave repair mode just before its threads run; the
 * network lock is lifted once they do.
 */
static int restore_stopped(const struct criu_ctx *ctx, const struct restore_image *ri, struct restore_fds *fds,
			   uint64_t syscall_ip, struct restore_stats *st)
{
	struct restore_ctl ctl;
	uint64_t t0 = stats_now_us(), t1;
	int ret, stop_sig;

	ret = restore_ctl_init(&ctl, ri->pid, syscall_ip);
	if (ret)
		return ret;
	ret = restore_mem(&ctl, ri, fds, ctx->imgdir_fd);
	st->memory_us = stats_now_us() - t0;
	if (!ret && fds->shared)
		ret = sk_rebuild_finish(&ctl, ri, fds, &st->rebuild_wait_us);
	st->sockets_us = fds->sockets_us;
	st->tcp_restore_us = fds->tcp.restore_us;
	t1 = stats_now_us();
	if (!ret)
		ret = restore_thread(&ctl, ri);
	restore_ctl_fini(&ctl);
	if (ret)
		return ret;
	restore_task_limits(ri->pid, ri);
	ret = sk_tcp_repair_off(&fds->tcp);
	st->repair_off_us = fds->tcp.repair_off_us;
	if (ret)
		return ret;
	ret = restore_threads_detach(ri);
	if (ret)
		return ret;
	stop_sig = ri->core->tc->task_state == RESTORE_TASK_STOPPED ? SIGSTOP : 0;
	if (ptrace(PTRACE_DETACH, ri->pid, NULL, (void *)(long)stop_sig) < 0) {
		pr_perror("Can't detach from process %d", ri->pid);
		return -errno;
	}
	st->threads_us = stats_now_us() - t1 - st->repair_off_us;
	/* The process runs: a failure to unlock is reported, the restore stands. */
	if (sk_tcp_unlock(&fds->tcp))
		pr_err("process %d runs, but its TCP connections stay locked: remove the lock by hand\n", ri->pid);
	st->unlock_us = fds->tcp.unlock_us;
	return 0;
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

static int restore_process(const struct criu_ctx *ctx, const struct restore_image *ri,
			   enum network_lock_method network_lock, struct restore_stats *st)
{
	struct restore_fds fds = { .tcp_close = ctx->opts->tcp_close, .ext_unix_sk = ctx->opts->ext_unix_sk };
	uint64_t syscall_ip, start = stats_now_us(), t;
	struct criu_opts lock_opts = *ctx->opts;
	struct sk_tcp_cfg cfg;
	int ret;

	lock_opts.network_lock = network_lock;
	sk_tcp_cfg_init(&cfg, &lock_opts, ri->pid);
	ret = check_tcp_opts(ctx, ri);
	if (!ret && !fds.tcp_close)
		ret = sk_tcp_load(&fds.tcp, ctx->imgdir_fd, ri, &cfg);
	fds.shared = !ret && sk_rebuild_possible(ri, &fds);
	if (!ret)
		ret = restore_check_pid_free(ri->pid);
	for (size_t i = 0; !ret && i < ri->nr_threads; i++)
		ret = restore_check_pid_free(ri->tids[i]);
	if (!ret)
		ret = restore_fds_open(ri, &fds);
	if (!ret)
		ret = file_locks_take_shared(ri, &fds);
	if (!ret)
		ret = restore_tty_open(ctx->imgdir_fd, ri, &fds);
	t = stats_now_us();
	st->files_us = t - start;
	st->sockets_us = fds.sockets_us;
	st->tcp_restore_us = fds.tcp.restore_us;
	st->tcp_conns = fds.tcp.nr;
	if (!ret)
		ret = restore_fork(ri, &fds, &syscall_ip);
	st->forking_us = stats_now_us() - t;
	if (ret)
		goto out_close;
	/* The connections rebuilt by a thread meanwhile (the process shares criu's fd table until then). */
	if (fds.shared) {
		ret = sk_rebuild_start(ri, &fds);
		if (ret) {
			restore_threads_kill(ri);
			goto out_close;
		}
	}
	ret = restore_tty_foreground(ctx->imgdir_fd, ri, &fds);
	if (ret) {
		restore_threads_kill(ri);
		goto out_close;
	}
	ret = restore_stopped(ctx, ri, &fds, syscall_ip, st);
	if (ret) {
		pr_err("restore of process %d failed: killing it\n", ri->pid);
		restore_threads_kill(ri);
		goto out_close;
	}
	pr_info("process %d restored in %llu us\n", ri->pid, (unsigned long long)(stats_now_us() - start));
	if (ctx->opts->pidfile)
		ret = write_pidfile(ctx, ri->pid);
out_close:
	restore_fds_close(&fds);
	return ret;
}

/*
 * stats-restore in the images directory, and with --display-stats the same on
 * stdout. The process runs already: a failure is reported, not fatal.
 */
static void restore_stats_finish(const struct criu_ctx *ctx, const struct restore_image *ri,
				 struct restore_stats *st, uint64_t start)
{
	int ret;

	st->restore_us = stats_now_us() - start;
	st->pages_restored = ri->nr_pages;
	for (size_t i = 0; i < ri->nr_shmems; i++)
		st->pages_restored += ri->shmems[i].nr_pages;
	ret = stats_restore_write(ctx->imgdir_fd, st);
	if (ret)
		pr_err("can't write stats-restore: %s\n", strerror(-ret));
	if (ctx->opts->display_stats)
		stats_restore_display(st);
}

int cr_restore_tasks(const struct criu_ctx *ctx)
{
	enum network_lock_method network_lock = NETWORK_LOCK_DEFAULT;
	struct restore_image ri = { 0 };
	struct restore_stats stats = { 0 };
	uint64_t start = stats_now_us();
	int ret;

	pr_info("Restoring processes\n");
	ret = check_inventory(ctx->imgdir_fd, ctx->opts, &network_lock);
	if (!ret)
		ret = restore_images_load(ctx->imgdir_fd, &ri);
	if (!ret)
		ret = restore_tty_session(&ri, ctx->opts->shell_job);
	if (!ret)
		ret = restore_process(ctx, &ri, network_lock, &stats);
	if (!ret) {
		pr_info("Restore finished successfully\n");
		restore_stats_finish(ctx, &ri, &stats, start);
	}
	if (!ret && !ctx->opts->restore_detached)
		ret = wait_restored(ri.pid);
	restore_images_free(&ri);
	return ret;
}
