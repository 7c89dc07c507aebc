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

#include "restore-images.h"
#include "sk-tcp.h"

struct sk_rebuild;

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
 * The files the restore uses (executable, cwd, root, mapped files, the files of
 * the fds, sockets included), opened by criu at min_fd or above, where no
 * dumped fd lies. The caller zeroes it and may load @tcp (sk_tcp_load) first.
 */
struct restore_fds {
	int *fds; /* per entry of restore_image.files: an fd, or -1 if not needed */
	size_t nr;
	int min_fd;
	uint8_t *close_after; /* per fdinfo entry: the child closes the source once it is in place */
	bool tcp_close;	      /* --tcp-close: TCP connections come back closed */
	/*
	 * The TCP connections are rebuilt by a thread beside the memory restore: the child shares criu's
	 * fd table until sk_rebuild_finish() gives it its own (see net/sk-rebuild.c).
	 */
	bool shared;
	struct sk_rebuild *rebuild;
	bool ext_unix_sk; /* --ext-unix-sk: unix sockets may connect to sockets outside */
	/*
	 * Per file, or NULL: criu's fd of a description an earlier process of the tree holds too
	 * (-1 for none). A file criu makes itself is then not made again: it gets a duplicate.
	 */
	const int *given;
	/* An fd table shared by processes of the tree (restore-fdtable.h): */
	bool table_shared; /* criu closes the files it opened once every process of the table has its memory */
	int min_fd_floor;  /* the table's lowest fd for the files criu opens: above every dumped fd of it */
	int *keep_also;	   /* the files criu opened for the other processes of the table: kept until then */
	size_t nr_keep_also;
	struct sk_tcp_restore tcp;
	uint64_t sockets_us;
};

/*
 * The lowest dumped fd of every file of @ri (-1 for none) in *@firstp and that
 * fd's FD_CLOEXEC in *@flagsp, both arrays the caller frees. Returns 0 or -ENOMEM.
 */
__attribute__((warn_unused_result)) int restore_fds_targets(const struct restore_image *ri, int **firstp,
							    uint32_t **flagsp);

/*
 * Opens the files the restore of @ri needs, above the highest dumped fd, with
 * their dumped flags and positions, checking that each mapped file still has
 * its dumped size, and creates its sockets (TCP connections in repair mode).
 * Returns 0 or -errno; restore_fds_close() in every case.
 */
__attribute__((warn_unused_result)) int restore_fds_open(const struct restore_image *ri, struct restore_fds *fds);
void restore_fds_close(struct restore_fds *fds);

/*
 * For a kind's open (fd-kind.h): makes every file of type @type that a dumped
 * fd needs with @make (a new fd, O_CLOEXEC, or -errno), into @fds. Returns 0 or
 * the first error.
 */
__attribute__((warn_unused_result)) int restore_fds_make_each(const struct restore_image *ri, struct restore_fds *fds,
							      uint32_t type, int (*make)(const FileEntry *fe));

/* The files criu makes itself (fd kinds with FD_KIND_SETTLE), settled at their fd numbers. */
bool restore_fds_made_here(const FileEntry *fe);

/* The fd of file @id, or -1. */
int restore_fds_get(const struct restore_fds *fds, const struct restore_image *ri, uint32_t id);

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
	size_t files_owner; /* the process whose fd table it shares (restore-fdtable.h); its own index if none */
	bool fs_shared;	    /* forked with CLONE_FS: its parent sets the cwd, root and umask they share */
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
