/*
 * criu restore: forking the process tree with the original pids and the setup
 * each process does itself before it stops for ptrace (see
 * include/restore-fork.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd-kind.h"
#include "inject.h"
#include "regs.h"
#include "restore-files.h"
#include "restore-ghost.h"
#include "pty.h"
#include "restore-fork.h"
#include "restore-helpers.h"
#include "sk-inet.h"
#include "sk-rebuild.h"
#include "stats.h"
#include "vma.h"

#define LOG_PREFIX "restore: "
#include "log.h"

/* The kernel's struct sigaction for rt_sigaction(2). */
struct kernel_sigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

/* Exit codes of a child whose setup failed (it logged why). */
#define CHILD_SETUP_FAILED 101
#define CHILD_FDS_FAILED 102
#define CHILD_STOP_FAILED 103

/* How long criu waits for a process to fork its children and set itself up. */
#define READY_TIMEOUT_MS 30000

/* restore_sync.state[] values. */
enum {
	PROC_FORKING, /* not ready yet */
	PROC_READY,   /* set up, waiting to be seized */
	PROC_GO,      /* seized: stop for criu */
	PROC_FAILED,  /* its setup failed (it logged why) */
};

struct restore_sync {
	size_t size; /* of the mapping */
	pid_t criu;  /* the root's parent */
	uint32_t state[];
};

static int needs_file(const struct restore_image *ri, uint32_t id)
{
	return id == ri->mm->exe_file_id || id == ri->fs->cwd_id || id == ri->fs->root_id ||
	       restore_files_is_fd(ri, id) || restore_image_maps_file(ri, id);
}

/* Flags that only matter when a file is created, or that open() can't take back. */
#define OPEN_FLAGS_DROPPED (O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY | O_CLOEXEC)

/*
 * Opens file @id of @ri at @min_fd or above: as dumped (flags, position), from
 * where it was recreated if it is a ghost; a file behind a mapping must still
 * have its dumped size.
 */
static int open_file(const struct restore_image *ri, const struct restore_ghost_files *ghosts, uint32_t id, int min_fd)
{
	const RegFileEntry *reg = restore_images_file(ri, id);
	const char *path = restore_ghost_path(ri, ghosts, id) ?: reg->name;
	struct stat st;
	int fd, moved;

	fd = open(path, (int)(reg->flags & ~(uint32_t)OPEN_FLAGS_DROPPED) | O_CLOEXEC);
	if (fd < 0) {
		pr_perror("Can't open %s", path);
		return -errno;
	}
	if (fstat(fd, &st) < 0 || (S_ISREG(st.st_mode) && reg->has_size && (uint64_t)st.st_size != reg->size &&
				   restore_image_maps_file(ri, id))) {
		pr_err("%s is %lld bytes now, %llu when dumped: refusing to map a changed file\n", reg->name,
		       (long long)st.st_size, (unsigned long long)reg->size);
		close(fd);
		return -ESTALE;
	}
	if (reg->pos && S_ISREG(st.st_mode) && !(reg->flags & O_PATH) && lseek(fd, (off_t)reg->pos, SEEK_SET) < 0) {
		pr_perror("Can't seek %s to %llu", reg->name, (unsigned long long)reg->pos);
		close(fd);
		return -errno;
	}
	if (fd >= min_fd)
		return fd;
	/* Below @min_fd are the numbers the process's own fds take. */
	moved = fcntl(fd, F_DUPFD_CLOEXEC, min_fd);
	if (moved < 0)
		pr_perror("Can't move the fd of %s to %d or above", reg->name, min_fd);
	close(fd);
	return moved < 0 ? -errno : moved;
}

struct settle {
	struct restore_fds *fds;
	const int *target;     /* per file */
	const uint32_t *flags; /* per file: FD_CLOEXEC of its fd at target */
	int *owner;	       /* per fd number below min_fd: the file whose source sits there, or -1 */
	uint8_t *busy;	       /* per fd number below min_fd: one of criu's own fds is there */
};

/* criu's own fds below min_fd (not sources it made), from one read of /proc/self/fd. */
static int find_busy(struct settle *st)
{
	struct dirent *de;
	DIR *dir;

	dir = opendir("/proc/self/fd");
	if (!dir) {
		pr_perror("Can't list /proc/self/fd");
		return -errno;
	}
	while ((de = readdir(dir))) {
		int n = atoi(de->d_name);

		if (de->d_name[0] < '0' || de->d_name[0] > '9' || n == dirfd(dir) || n >= st->fds->min_fd)
			continue;
		if (st->owner[n] < 0)
			st->busy[n] = 1;
	}
	closedir(dir);
	return 0;
}

static int move_fd(struct settle *st, size_t file, int to)
{
	int from = st->fds->fds[file], fd;

	if (to < st->fds->min_fd)
		fd = dup3(from, to, (st->flags[file] & FD_CLOEXEC) ? O_CLOEXEC : 0);
	else
		fd = fcntl(from, F_DUPFD_CLOEXEC, to);
	if (fd < 0) {
		pr_perror("Can't move fd %d to %d", from, to);
		return -errno;
	}
	close(from);
	if (from < st->fds->min_fd)
		st->owner[from] = -1;
	if (fd < st->fds->min_fd)
		st->owner[fd] = (int)file;
	st->fds->fds[file] = fd;
	return 0;
}

/*
 * Puts the source of @file at its own fd number, moving aside (above min_fd)
 * the source of another file found there and then settling that one, and so
 * on along the chain. A number criu itself holds leaves the source above
 * min_fd, for the child to dup2().
 */
static int settle_one(struct settle *st, size_t file)
{
	int ret = 0;

	while (!ret) {
		int t = st->target[file], other;

		if (t < 0)
			return 0;
		/* Made right there: only its FD_CLOEXEC to set (criu makes every fd with it). */
		if (st->fds->fds[file] == t)
			return (st->flags[file] & FD_CLOEXEC) || fcntl(t, F_SETFD, 0) == 0 ? 0 : -errno;
		other = st->owner[t];
		if (other >= 0) {
			ret = move_fd(st, (size_t)other, st->fds->min_fd);
			ret = ret ?: move_fd(st, file, t);
			file = (size_t)other;
			continue;
		}
		if (st->busy[t]) /* one of criu's own */
			return st->fds->fds[file] >= st->fds->min_fd ? 0 : move_fd(st, file, st->fds->min_fd);
		return move_fd(st, file, t);
	}
	return ret;
}

/*
 * Sockets and epolls are created where the kernel puts them. The process may
 * have as many as criu can open (RLIMIT_NOFILE), so their sources can't all
 * wait above the dumped fd numbers: each goes to its own fd number, where the
 * child finds it in place.
 */
static int settle_fds(const struct restore_image *ri, struct restore_fds *fds)
{
	struct settle st = { .fds = fds };
	uint32_t *flags = NULL;
	int *target = NULL, ret;

	ret = restore_fds_targets(ri, &target, &flags);
	if (ret)
		return ret;
	st.owner = malloc((size_t)fds->min_fd * sizeof(*st.owner));
	st.busy = calloc((size_t)fds->min_fd, 1);
	if (!st.owner || !st.busy) {
		ret = -ENOMEM;
		goto out_free;
	}
	st.target = target;
	st.flags = flags;
	for (int n = 0; n < fds->min_fd; n++)
		st.owner[n] = -1;
	for (size_t i = 0; i < ri->nr_files; i++)
		if (fds->fds[i] >= 0 && fds->fds[i] < fds->min_fd)
			st.owner[fds->fds[i]] = (int)i;
	ret = find_busy(&st);
	for (size_t i = 0; !ret && i < ri->nr_files; i++)
		if (fds->fds[i] >= 0 && restore_fds_made_here(ri->files[i]))
			ret = settle_one(&st, i);
out_free:
	free(st.busy);
	free(st.owner);
	free(target);
	free(flags);
	return ret;
}

static int open_sockets(const struct restore_image *ri, struct restore_fds *fds)
{
	uint64_t start = stats_now_us();
	int ret = 0;

	for (size_t i = 0; !ret && i < FD_KIND_NR; i++)
		if ((fd_kinds[i].flags & FD_KIND_SETTLE) && fd_kinds[i].open)
			ret = fd_kinds[i].open(ri, fds);
	/* Listeners first: they bind their ports before the connections take them in repair mode. */
	if (!ret && !fds->tcp_close && !fds->shared)
		ret = sk_tcp_restore(&fds->tcp, ri, fds->fds);
	if (!ret)
		ret = settle_fds(ri, fds);
	/* Or the connections later, in a thread: their fd numbers are kept for them now. */
	if (!ret && fds->shared)
		ret = sk_rebuild_prepare(ri, fds);
	sk_tcp_set_fds(&fds->tcp, fds->fds);
	fds->sockets_us = stats_now_us() - start;
	return ret;
}

/* Which sources the child closes as soon as their last fd is in place: all but those mapped or exe. */
static int plan_close(const struct restore_image *ri, struct restore_fds *fds)
{
	uint32_t *left = calloc(ri->nr_files ? ri->nr_files : 1, sizeof(*left));

	fds->close_after = calloc(ri->nr_fdinfo ? ri->nr_fdinfo : 1, 1);
	if (!left || !fds->close_after) {
		free(left);
		return -ENOMEM;
	}
	memcpy(left, ri->file_fds, ri->nr_files * sizeof(*left));
	for (size_t i = 0; i < ri->nr_fdinfo; i++) {
		uint32_t id = ri->fdinfo[i]->id;
		ssize_t f = restore_images_file_idx(ri, id);

		if (f >= 0 && !--left[f] && !restore_image_maps_file(ri, id) && id != ri->mm->exe_file_id)
			fds->close_after[i] = 1;
	}
	free(left);
	return 0;
}

/* A duplicate of each description made for an earlier process of the tree (restore_fds.given). */
static int take_given(const struct restore_image *ri, struct restore_fds *fds)
{
	for (size_t i = 0; fds->given && i < ri->nr_files; i++) {
		if (fds->given[i] < 0 || !restore_fds_needed(ri, i) || !restore_fds_made_here(ri->files[i]))
			continue;
		fds->fds[i] = fcntl(fds->given[i], F_DUPFD_CLOEXEC, fds->min_fd);
		if (fds->fds[i] < 0) {
			pr_perror("Can't duplicate file %u of an earlier process", ri->files[i]->id);
			return -errno;
		}
	}
	return 0;
}

int restore_fds_open(const struct restore_image *ri, struct restore_fds *fds)
{
	struct restore_ghost_files ghosts = { 0 };
	int min_fd = restore_files_max_fd(ri) + 1, ret;

	if (min_fd < 3)
		min_fd = 3;
	if (min_fd < fds->min_fd_floor)
		min_fd = fds->min_fd_floor;
	fds->min_fd = min_fd;
	fds->nr = ri->nr_files;
	fds->fds = malloc((ri->nr_files ? ri->nr_files : 1) * sizeof(*fds->fds));
	if (!fds->fds)
		return -ENOMEM;
	for (size_t i = 0; i < ri->nr_files; i++)
		fds->fds[i] = -1;
	ret = plan_close(ri, fds);
	if (ret)
		return ret;
	ret = restore_ghosts_create(ri, &ghosts);
	for (size_t i = 0; !ret && i < ri->nr_files; i++) {
		/* Terminals are opened by restore_tty_open(). */
		if (ri->files[i]->type != FD_TYPES__REG ||
		    (!needs_file(ri, ri->files[i]->id) && !restore_fds_in_flight(ri, fds, i)))
			continue;
		fds->fds[i] = open_file(ri, &ghosts, ri->files[i]->id, min_fd);
		if (fds->fds[i] < 0) {
			ret = fds->fds[i];
			fds->fds[i] = -1;
		}
	}
	if (!ret)
		ret = take_given(ri, fds);
	fds->ghosts = &ghosts;
	if (!ret)
		ret = open_sockets(ri, fds);
	fds->ghosts = NULL;
	restore_ghosts_remove(&ghosts);
	return ret;
}

void restore_fds_close(struct restore_fds *fds)
{
	sk_rebuild_free(fds);
	for (size_t i = 0; fds->fds && i < fds->nr; i++)
		if (fds->fds[i] >= 0)
			close(fds->fds[i]);
	free(fds->fds);
	free(fds->close_after);
	free(fds->keep_also);
	fds->keep_also = NULL;
	sk_tcp_restore_free(&fds->tcp);
	fds->fds = NULL;
	fds->close_after = NULL;
	fds->nr = 0;
}

int restore_check_pid_free(pid_t pid)
{
	char path[64];

	/* kill() doesn't see the tid of a thread that doesn't lead its group; /proc does. */
	snprintf(path, sizeof(path), "/proc/%d", pid);
	if ((kill(pid, 0) == 0 || errno != ESRCH) || access(path, F_OK) == 0 || errno != ENOENT) {
		pr_err("pid %d is in use: can't restore the process with its pid\n", pid);
		return -EBUSY;
	}
	return 0;
}

/* In the child: every signal back to its default disposition, no alternate stack. */
static int reset_signals(void)
{
	struct kernel_sigaction ksa = { .handler = SIG_DFL };
	stack_t ss = { .ss_flags = SS_DISABLE };

	for (int sig = 1; sig < 65; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (syscall(SYS_rt_sigaction, sig, &ksa, NULL, sizeof(ksa.mask)) < 0) {
			pr_perror("Can't reset the action of signal %d", sig);
			return -errno;
		}
	}
	if (sigaltstack(&ss, NULL) < 0) {
		pr_perror("Can't disable the alternate signal stack");
		return -errno;
	}
	return 0;
}

/* Process @k's session and group; with a session of birth, it stays in it (fork_children() leaves it). */
static int set_session(const struct restore_proc *procs, size_t k)
{
	const struct restore_image *ri = procs[k].ri;
	const PstreeEntry *e = ri->pstree;

	if (procs[k].born_sid) {
		if (getsid(0) != procs[k].born_sid) {
			pr_err("process %d is in session %d, not in %d where it was born\n", ri->pid, getsid(0),
			       procs[k].born_sid);
			return -EINVAL;
		}
	} else if (e->sid == e->pid) {
		if (setsid() < 0) {
			pr_perror("Can't make process %d a session leader", ri->pid);
			return -errno;
		}
	} else if (e->pgid == e->pid) {
		if (setpgid(0, 0) < 0) {
			pr_perror("Can't make process %d a process group leader", ri->pid);
			return -errno;
		}
	} else if ((pid_t)e->sid != getsid(0) || (pid_t)e->pgid != getpgid(0)) {
		pr_info("process %d was in session %u, group %u: it joins criu's session %d, group %d\n", ri->pid,
			e->sid, e->pgid, getsid(0), getpgid(0));
	}
	return 0;
}

static int set_fs(const struct restore_image *ri, const struct restore_fds *fds)
{
	const RegFileEntry *root = restore_images_file(ri, ri->fs->root_id);
	int root_fd = restore_fds_get(fds, ri, ri->fs->root_id);
	int cwd_fd = restore_fds_get(fds, ri, ri->fs->cwd_id);

	if (strcmp(root->name, "/") && (fchdir(root_fd) < 0 || chroot(".") < 0)) {
		pr_perror("Can't change the root to %s", root->name);
		return -errno;
	}
	if (fchdir(cwd_fd) < 0) {
		pr_perror("Can't change the working directory to %s", restore_images_file(ri, ri->fs->cwd_id)->name);
		return -errno;
	}
	if (ri->fs->has_umask)
		umask((mode_t)ri->fs->umask);
	return 0;
}

static int child_setup(const struct restore_image *ri, const struct restore_fds *fds, bool own_fs)
{
	const TaskCoreEntry *tc = ri->core->tc;

	if (personality(tc->personality) < 0) {
		pr_perror("Can't set personality %#x", tc->personality);
		return -errno;
	}
	if (prctl(PR_SET_NAME, tc->comm, 0, 0, 0) < 0) {
		pr_perror("Can't set the name %s", tc->comm);
		return -errno;
	}
	return own_fs ? set_fs(ri, fds) : 0;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* In the child: every fd of criu closed but the files of @fds, then the dumped fds put in place. */
static int child_fds(const struct restore_image *ri, const struct restore_fds *fds)
{
	size_t nr = fds->nr + fds->nr_keep_also;
	unsigned int next = 0;
	int *keep, ret = 0;

	keep = malloc((nr ? nr : 1) * sizeof(*keep));
	if (!keep)
		return -ENOMEM;
	if (fds->nr) /* none: there may be no array */
		memcpy(keep, fds->fds, fds->nr * sizeof(*keep));
	if (fds->nr_keep_also)
		memcpy(keep + fds->nr, fds->keep_also, fds->nr_keep_also * sizeof(*keep));
	if (nr)
		qsort(keep, nr, sizeof(*keep), cmp_int);
	for (size_t i = 0; !ret && i < nr; i++) {
		if (keep[i] < (int)next)
			continue;
		if (keep[i] > (int)next && syscall(SYS_close_range, next, keep[i] - 1, 0) < 0)
			ret = -errno;
		next = (unsigned int)keep[i] + 1;
	}
	free(keep);
	if (!ret && syscall(SYS_close_range, next, ~0u, 0) < 0)
		ret = -errno;
	return ret ?: restore_files_install(ri, fds);
}

static void set_state(struct restore_sync *sync, size_t k, uint32_t state)
{
	__atomic_store_n(&sync->state[k], state, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &sync->state[k], FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
}

static void __attribute__((noreturn)) child_fail(struct restore_sync *sync, size_t k, int code)
{
	set_state(sync, k, PROC_FAILED);
	_exit(code);
}

/*
 * A zombie: out of its session and group like the others, then it ends as the
 * dumped one did (its wait status: killed by a signal, or an exit code) and
 * waits for its parent.
 */
static void __attribute__((noreturn)) zombie_main(const struct restore_image *ri)
{
	uint32_t status = ri->core->tc->exit_code;
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (status & 0x7f) {
		syscall(SYS_kill, getpid(), status & 0x7f);
		/* A signal that doesn't kill by default: it is ended another way. */
		syscall(SYS_kill, getpid(), SIGKILL);
	}
	_exit((status >> 8) & 0xff);
}

static pid_t fork_proc(const struct restore_proc *procs, size_t nr, size_t k, struct restore_sync *sync);

/*
 * Waits (without reaping them) until the zombie children of process @k have
 * ended: the SIGCHLD of each comes while @k ignores it and is not traced yet,
 * so it is dropped as it was when dumped, not delivered during the restore.
 */
static int wait_zombies(const struct restore_proc *procs, size_t nr, size_t k)
{
	for (size_t c = k + 1; c < nr; c++) {
		siginfo_t si;

		if (procs[c].parent != k || !restore_image_is_zombie(procs[c].ri))
			continue;
		while (waitid(P_PID, (id_t)procs[c].ri->pid, &si, WEXITED | WNOWAIT) < 0)
			if (errno != EINTR) {
				pr_perror("Can't wait for the zombie %d", procs[c].ri->pid);
				return -errno;
			}
	}
	return 0;
}

/*
 * Every signal blocked before the process is seized: none may stop it while
 * criu injects syscalls (the dumped mask is set last). One that comes stays
 * pending, as it would have while the process was frozen.
 */
static int block_signals(void)
{
	sigset_t all;

	sigfillset(&all);
	return sigprocmask(SIG_BLOCK, &all, NULL) ? -errno : 0;
}

/*
 * In process @k whose fd table processes forked later share: waits until they
 * are set up (they fork and read their files from the table) before it puts
 * its fds in place.
 */
static int wait_sharers(const struct restore_proc *procs, size_t nr, size_t k, struct restore_sync *sync)
{
	struct timespec step = { .tv_nsec = 100 * 1000 * 1000 };

	for (size_t c = k + 1; c < nr; c++) {
		int waited = 0;
		uint32_t st;

		if (procs[c].files_owner != k)
			continue;
		while ((st = __atomic_load_n(&sync->state[c], __ATOMIC_SEQ_CST)) == PROC_FORKING) {
			if (waited >= READY_TIMEOUT_MS) {
				pr_err("process %d did not set itself up within %d s\n", procs[c].ri->pid,
				       READY_TIMEOUT_MS / 1000);
				return -ETIMEDOUT;
			}
			syscall(SYS_futex, &sync->state[c], FUTEX_WAIT, st, &step, NULL, 0);
			waited += 100;
		}
	}
	return 0;
}

/*
 * Process @k forks its children (but those its session helpers fork); with a session of birth, those born in
 * it first, then it leaves it for a session of its own.
 */
static int fork_children(const struct restore_proc *procs, size_t nr, size_t k, struct restore_sync *sync)
{
	for (int round = procs[k].born_sid ? 0 : 1; round < 2; round++) {
		if (round == 1 && procs[k].born_sid && setsid() < 0) {
			pr_perror("Can't make process %d a session leader (it was born in session %d)",
				  procs[k].ri->pid, procs[k].born_sid);
			return -errno;
		}
		/* Its session's terminal, before the children born in that session. */
		if (round == 1 && procs[k].born_sid && pty_child_setup(procs[k].ri, procs[k].fds))
			return -EINVAL;
		for (size_t c = k + 1; c < nr; c++)
			if (procs[c].parent == k && !procs[c].session_helper && procs[c].before_setsid == !round &&
			    fork_proc(procs, nr, c, sync) < 0)
				return -ECHILD;
	}
	return 0;
}

/*
 * In process @k: its session or group first, so that its children are forked
 * into them; then its children; then the rest of its own setup and its fds.
 * Ready, it waits to be seized, and stops itself for criu.
 */
static void __attribute__((noreturn))
child_main(const struct restore_proc *procs, size_t nr, size_t k, struct restore_sync *sync)
{
	const struct restore_image *ri = procs[k].ri;
	pid_t parent = k ? procs[procs[k].parent].ri->pid : sync->criu;

	/* Until the restore sets the dumped one: if criu or the parent dies, so does the process. */
	if (!procs[k].session_helper && (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) || getppid() != parent))
		_exit(CHILD_SETUP_FAILED);
	if (reset_signals() || set_session(procs, k) || restore_helper_adopted(procs, k) ||
	    pty_child_setup(ri, procs[k].fds)) {
		pr_err("process %d: setup failed\n", ri->pid);
		child_fail(sync, k, CHILD_SETUP_FAILED);
	}
	if (restore_image_is_zombie(ri))
		zombie_main(ri);
	/* Its private memory its children share copy-on-write, filled before they are forked. */
	if (restore_cow_premap(procs[k].cow, ri, procs[k].fds)) {
		pr_err("process %d: can't premap its memory\n", ri->pid);
		child_fail(sync, k, CHILD_SETUP_FAILED);
	}
	if (fork_children(procs, nr, k, sync))
		child_fail(sync, k, CHILD_SETUP_FAILED);
	if (restore_helpers_fork(procs, nr, k, sync, fork_proc))
		child_fail(sync, k, CHILD_SETUP_FAILED);
	if (wait_zombies(procs, nr, k))
		child_fail(sync, k, CHILD_SETUP_FAILED);
	if (child_setup(ri, procs[k].fds, !procs[k].fs_shared)) {
		pr_err("process %d: setup failed\n", ri->pid);
		child_fail(sync, k, CHILD_SETUP_FAILED);
	}
	/* Sharing criu's fd table, it gets its own from criu later (sk_rebuild_finish()). */
	if (wait_sharers(procs, nr, k, sync))
		child_fail(sync, k, CHILD_FDS_FAILED);
	/* Sharing its parent's fd table, it finds its fds put in place there. */
	if (!procs[k].fds->shared && procs[k].files_owner == k && child_fds(ri, procs[k].fds))
		child_fail(sync, k, CHILD_FDS_FAILED);
	/* The log fd is closed now: nothing more is logged from here. */
	if (block_signals())
		child_fail(sync, k, CHILD_STOP_FAILED);
	set_state(sync, k, PROC_READY);
	while (__atomic_load_n(&sync->state[k], __ATOMIC_SEQ_CST) == PROC_READY)
		syscall(SYS_futex, &sync->state[k], FUTEX_WAIT, PROC_READY, NULL, NULL, 0);
	if (__atomic_load_n(&sync->state[k], __ATOMIC_SEQ_CST) != PROC_GO)
		_exit(CHILD_STOP_FAILED);
	syscall(SYS_kill, getpid(), SIGSTOP);
	/* Never resumed here: the tracer moves us on to the restored registers. */
	_exit(CHILD_STOP_FAILED);
}

/* Process @k with its pid, forked from here (criu for the root, its parent for the others). */
static pid_t fork_proc(const struct restore_proc *procs, size_t nr, size_t k, struct restore_sync *sync)
{
	pid_t tid = procs[k].ri->pid;
	struct restore_clone_args args = {
		.flags = ((procs[k].fds && procs[k].fds->shared) || procs[k].files_owner != k ? CLONE_FILES : 0) |
			 (procs[k].fs_shared ? CLONE_FS : 0),
		.exit_signal = SIGCHLD,
		.set_tid = (uint64_t)(uintptr_t)&tid,
		.set_tid_size = 1,
	};
	long pid;

	pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid < 0) {
		if (errno == EEXIST)
			pr_err("pid %d is in use (by a process, or as the session or group id of a process still running): "
			       "can't restore the process with its pid\n",
			       tid);
		else
			pr_perror("Can't create process %d (clone3 with set_tid)", tid);
		return -errno;
	}
	if (pid == 0)
		child_main(procs, nr, k, sync);
	if (pid != tid) {
		pr_err("clone3 gave pid %ld, not %d\n", pid, tid);
		kill((pid_t)pid, SIGKILL);
		return -EINVAL;
	}
	return (pid_t)pid;
}

/* True once the parent of process @k has forked its children (it is ready, or failed). */
static bool parent_done(const struct restore_proc *procs, size_t k, struct restore_sync *sync)
{
	return __atomic_load_n(&sync->state[procs[k].parent], __ATOMIC_SEQ_CST) != PROC_FORKING;
}

/*
 * Waits until process @k is set up (or failed, or is gone), polling its
 * state word with a futex: returns 0 once it is ready.
 */
static int wait_ready(const struct restore_proc *procs, size_t k, struct restore_sync *sync)
{
	pid_t pid = procs[k].ri->pid;
	struct timespec step = { .tv_nsec = 100 * 1000 * 1000 };

	for (int waited = 0; waited < READY_TIMEOUT_MS; waited += 100) {
		uint32_t st = __atomic_load_n(&sync->state[k], __ATOMIC_SEQ_CST);

		if (st == PROC_READY)
			return 0;
		if (st == PROC_FAILED) {
			pr_err("process %d failed to set itself up\n", pid);
			return -ECHILD;
		}
		/* Not there yet is fine until its parent is ready: it forks its children before. */
		if (kill(pid, 0) < 0 && errno == ESRCH && (!k || parent_done(procs, k, sync))) {
			pr_err("process %d is gone before it was set up\n", pid);
			return -ECHILD;
		}
		syscall(SYS_futex, &sync->state[k], FUTEX_WAIT, st, &step, NULL, 0);
	}
	pr_err("process %d did not set itself up within %d s\n", pid, READY_TIMEOUT_MS / 1000);
	return -ETIMEDOUT;
}

int restore_attach(const struct restore_proc *procs, size_t k, struct restore_sync *sync, uint64_t *syscall_ip)
{
	pid_t pid = procs[k].ri->pid;
	struct user_regs_struct regs;
	int status, ret;

	ret = wait_ready(procs, k, sync);
	if (ret)
		return ret;
	if (ptrace(PTRACE_SEIZE, pid, NULL, (void *)(long)RESTORE_PTRACE_OPTIONS) < 0) {
		pr_perror("Can't seize process %d", pid);
		return -errno;
	}
	set_state(sync, k, PROC_GO);
	while (waitpid(pid, &status, __WALL) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status)) {
		pr_err("process %d failed to set itself up (exit code %d)\n", pid, WEXITSTATUS(status));
		return -ECHILD;
	}
	if (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGSTOP) {
		pr_err("process %d didn't stop as expected (status %#x)\n", pid, status);
		return -ECHILD;
	}
	ret = compel_get_gpregs(pid, &regs);
	if (ret)
		return ret;
	*syscall_ip = regs.rip - COMPEL_SYSCALL_INSN_LEN;
	if (!compel_is_syscall_insn(pid, *syscall_ip)) {
		pr_err("process %d stopped at %#llx, not right after a syscall instruction\n", pid,
		       (unsigned long long)regs.rip);
		return -EINVAL;
	}
	return 0;
}

int restore_fork_tree(const struct restore_proc *procs, size_t nr, struct restore_sync **syncp)
{
	size_t size = (sizeof(struct restore_sync) + nr * sizeof(uint32_t) + 4095) & ~(size_t)4095;
	struct restore_sync *sync;
	pid_t pid;

	sync = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sync == MAP_FAILED) {
		pr_perror("Can't map the restore's shared state");
		return -errno;
	}
	sync->size = size;
	sync->criu = getpid();
	*syncp = sync;
	/* Nothing buffered may be written twice, by criu and the processes it forks. */
	if (fflush(NULL))
		pr_warn("can't flush the standard streams before the fork\n");
	pid = fork_proc(procs, nr, 0, sync);
	return pid < 0 ? (int)pid : 0;
}

void restore_sync_free(struct restore_sync *sync)
{
	if (sync)
		munmap(sync, sync->size);
}
