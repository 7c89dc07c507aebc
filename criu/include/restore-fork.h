/*
 * criu restore, step two: the processes come back to life with their original
 * pids (clone3 with set_tid), the root as a fork of criu, every other one as a
 * fork of its parent. Before it stops itself for the ptrace-driven rest of the
 * restore, each sets up what a process does for itself:
 * default signal dispositions, session or process group, personality, umask,
 * name, root and cwd, and its fds (every fd of criu closed but the files the
 * restore needs, which it inherited; the dumped fds dup2()ed from those).
 */
#ifndef CRIU_NG_RESTORE_FORK_H
#define CRIU_NG_RESTORE_FORK_H

#include <stdint.h>
#include <sys/ptrace.h>
#include <sys/types.h>

#include "restore-cow.h"
#include "restore-fds.h"
#include "restore-image.h"

/* The kernel's struct clone_args (CLONE_ARGS_SIZE_VER2), for clone3 with set_tid. */
struct restore_clone_args {
	uint64_t flags;
	uint64_t pidfd;
	uint64_t child_tid;
	uint64_t parent_tid;
	uint64_t exit_signal;
	uint64_t stack;
	uint64_t stack_size;
	uint64_t tls;
	uint64_t set_tid;
	uint64_t set_tid_size;
	uint64_t cgroup;
};

/*
 * Opens the files the restore of @ri needs, above the highest dumped fd, with
 * their dumped flags and positions, checking that each mapped file still has
 * its dumped size, and creates its sockets (TCP connections in repair mode).
 * Returns 0 or -errno; restore_fds_close() in every case.
 */
__attribute__((warn_unused_result)) int restore_fds_open(const struct restore_image *ri, struct restore_fds *fds);
void restore_fds_close(struct restore_fds *fds);

/* What criu's ptrace of the restored process reports: syscall stops apart, exit kills, new threads traced. */
#define RESTORE_PTRACE_OPTIONS (PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL | PTRACE_O_TRACECLONE)

/* Fails with -EBUSY, logged, when @pid is taken. */
__attribute__((warn_unused_result)) int restore_check_pid_free(pid_t pid);

/* One process of the tree to restore. */
struct restore_proc {
	const struct restore_image *ri;
	const struct restore_fds *fds; /* NULL for a zombie */
	size_t parent;		       /* index of its parent in the tree; the root's is ignored */
	pid_t session_helper;	       /* forked by this helper, not by its parent (restore-helpers.h) */
	pid_t group_helper;	       /* makes its group with this helper (restore-helpers.h) */
	pid_t born_sid;		       /* born in this session, left with setsid() (pstree.h) */
	bool before_setsid;	       /* forked while its parent is in its born_sid session */
	size_t files_owner; /* the process whose fd table it shares (restore-fdtable.h); its own index if none */
	bool fs_shared;	    /* forked with CLONE_FS: its parent sets the cwd, root and umask they share */
	const struct restore_cow *cow; /* private memory it premaps before it forks its children, or NULL */
};

/* The state the processes of a restore share with criu while they are forked (a shared page). */
struct restore_sync;

/*
 * Forks the tree @procs (@nr of them, parents first, procs[0] the root) with
 * its pids: criu forks the root, each process forks its children after it
 * took its session or group, zombies end with their exit status at once.
 * Every other process sets itself up and waits for restore_attach(). On
 * failure of the root's fork, returns -errno; a later failure is seen by
 * restore_attach(). *@sync is set in every case, for restore_sync_free().
 */
__attribute__((warn_unused_result)) int restore_fork_tree(const struct restore_proc *procs, size_t nr,
							  struct restore_sync **sync);

/*
 * Waits for process @k to be set up, seizes it and lets it stop itself under
 * our ptrace (RESTORE_PTRACE_OPTIONS set). *@syscall_ip is the address of a
 * syscall instruction in it. Returns 0 or -errno.
 */
__attribute__((warn_unused_result)) int restore_attach(const struct restore_proc *procs, size_t k,
						       struct restore_sync *sync, uint64_t *syscall_ip);

void restore_sync_free(struct restore_sync *sync);

#endif /* CRIU_NG_RESTORE_FORK_H */
