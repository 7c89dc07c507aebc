/*
 * criu restore: driving the stopped, ptrace-attached process being restored.
 * A restore_ctl runs system calls in it (compel's injector: first through the
 * syscall instruction it stopped after, then through the trampoline page the
 * restore maps in it) and writes into its memory through /proc/PID/mem, which
 * reaches read-only and PROT_NONE pages as well.
 */
#ifndef CRIU_NG_RESTORE_CTL_H
#define CRIU_NG_RESTORE_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "inject.h"

struct restore_cow;
struct restore_shmem_set;

/* Layout of the trampoline page: `syscall; int3` at 0, data for syscalls from TRAMP_DATA on. */
#define TRAMP_DATA 64

struct restore_ctl {
	pid_t pid;  /* the thread the syscalls run in */
	pid_t tgid; /* its process */
	struct compel_injector inj;
	int mem_fd;	/* /proc/PID/mem, read-write */
	uint64_t tramp; /* the trampoline page, 0 while there is none */
	size_t page_size;
	bool parent_restored;		     /* its parent is a restored process, not criu: pdeath signals are set */
	struct restore_shmem_set *shmem_set; /* the tree's shared memory objects, or NULL */
	const struct restore_cow *cow;	     /* its areas premapped before the fork, or NULL (restore-cow.h) */
};

/* Opens /proc/@pid/mem; syscalls go through @syscall_ip until a trampoline is set. */
__attribute__((warn_unused_result)) int restore_ctl_init(struct restore_ctl *ctl, pid_t pid, uint64_t syscall_ip);
void restore_ctl_fini(struct restore_ctl *ctl);

/*
 * Runs syscall @nr with @nargs uint64_t arguments in the process. Returns what
 * it returned (-errno on failure), or the -errno of a failed injection (logged).
 */
long restore_ctl_syscall(struct restore_ctl *ctl, long nr, unsigned int nargs, ...);

/* Writes @len bytes at @addr of the process. Returns 0 or -errno (logged). */
__attribute__((warn_unused_result)) int restore_ctl_write(struct restore_ctl *ctl, uint64_t addr, const void *buf,
							  size_t len);

/* Writes @len bytes into the trampoline's data area at @off; *@addr is where they are in the process. */
__attribute__((warn_unused_result)) int restore_ctl_put_data(struct restore_ctl *ctl, size_t off, const void *buf,
							     size_t len, uint64_t *addr);

#endif /* CRIU_NG_RESTORE_CTL_H */
