/*
 * Freezing a process tree with ptrace: PTRACE_SEIZE + PTRACE_INTERRUPT on every
 * thread of every process under a root, repeated until a pass finds no new thread
 * or child, so the whole tree ends up stopped in ptrace stops. Release detaches
 * everything, which lets the tree run on.
 *
 * Children are found by the parent pid in /proc/PID/stat (this kernel has no
 * /proc/PID/task/TID/children). Zombies are recorded, not seized.
 *
 * Everything lives in the struct compel_tree the caller owns; no global state.
 * The tracer is the calling thread: every later ptrace call on these threads
 * must come from it (a kernel rule).
 */
#ifndef CRIU_NG_COMPEL_SEIZE_H
#define CRIU_NG_COMPEL_SEIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct compel_task {
	pid_t pid;
	pid_t ppid;
	bool zombie;
	bool stopped; /* in a group stop (state 'T') before it was seized: under ptrace it reads 't' */
	/*
	 * With tree->vfork_ok: its thread vfork_tid is blocked in vfork() until its
	 * child vfork_child execs or exits. That thread is seized and interrupted,
	 * but does not stop until its vfork() returns.
	 */
	pid_t vfork_tid;
	pid_t vfork_child;
	size_t nr_vforks; /* its threads found blocked in vfork() (the first is vfork_tid) */
	/* Seized threads; threads[0] is the thread group leader unless it already exited. */
	pid_t *threads;
	size_t nr_threads;
	size_t cap_threads;
};

/* What a failed compel_tree_seize() tells about the thread it failed on. */
struct compel_seize_error {
	pid_t tid;	   /* the thread that did not stop, 0 when the failure is not one thread's */
	char state;	   /* its state letter in /proc/TID/stat then ('D', 'R', ...), '?' if unknown */
	int untrace_error; /* 0, or -errno when a thread could not be detached (the kernel does at criu's exit) */
	pid_t vfork_child; /* with -EBUSY: the child sharing its address space that the thread waits for in vfork() */
};

struct compel_tree {
	struct compel_task *tasks; /* tasks[0] is the root */
	size_t nr_tasks;
	size_t cap_tasks;
	struct compel_seize_error err; /* filled by a failed compel_tree_seize() */
	bool vfork_ok; /* set by the caller: a thread blocked in vfork() is recorded (vfork_tid), not refused */
};

/* Signals a seize pass passes through to a thread before it reaches its stop; then -EAGAIN. */
#define COMPEL_MAX_SIGNALS_IN_FLIGHT 64

/* How long a failed seize waits for a thread it interrupted again to stop, so as to detach it. */
#define COMPEL_UNTRACE_WAIT_MS 2000

/*
 * Seizes the tree rooted at @root into @tree (zeroed by the caller). Gives up
 * with -ETIMEDOUT when the tree keeps changing for @timeout_ms, or when a thread
 * does not reach its stop by then (tree->err names it and its state). A thread
 * found in /proc/PID/task is kept only while its Tgid still is PID (a tid may be
 * reused). On failure, whatever was seized is released again and only
 * tree->err stays meaningful. Returns 0 or -errno (-ESRCH: no such root,
 * -EPERM: not allowed to trace it).
 */
__attribute__((warn_unused_result)) int compel_tree_seize(struct compel_tree *tree, pid_t root,
							  unsigned int timeout_ms);

/* Detaches every seized thread (they run on) and frees @tree. Returns the first error. */
int compel_tree_release(struct compel_tree *tree);

size_t compel_tree_nr_threads(const struct compel_tree *tree);

#endif /* CRIU_NG_COMPEL_SEIZE_H */
