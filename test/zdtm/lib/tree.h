/*
 * tree.h: checks for tests of a process tree: whether two processes hold the
 * same file, how many fds a process holds (a restore must not leave one more),
 * a process's parent, session and group as the kernel reports them; forking a
 * child and ending it.
 */
#ifndef ZDTM_TREE_H
#define ZDTM_TREE_H

#include <stdbool.h>
#include <sys/types.h>

/* Whether @fd is the same file (inode) as fd @pfd of process @pid. */
bool tree_same_file(int fd, pid_t pid, int pfd);
/* How many fds this process holds, or -1. */
int tree_nr_fds(void);
/* fork() for a test's child: 0 in the child (test_forked() done), -1 after fail(). */
pid_t tree_fork(void);
/*
 * clone() of a child running @fn(@arg) on a stack of its own (256 KiB, never
 * freed: the child may share this memory, CLONE_VM), @flags with its exit
 * signal. Its pid, or -1 after fail().
 */
pid_t tree_clone(int (*fn)(void *), int flags, void *arg);
/*
 * Forks @nr children into @children, child @i running @child_main(@i, @ready):
 * it writes one byte on @ready once it is set up and never returns. Returns 0
 * once every child said so, -1 after a fail().
 */
int tree_fork_ready(pid_t *children, int nr, void (*child_main)(int i, int ready));
/* Sends @child SIGTERM (unless @sig is 0) and reaps it: true when it exited 0, else fail(). */
bool tree_end_child(pid_t child, int sig, const char *who);

/* A process and where it sits: its parent, process group and session. */
struct tree_ids {
	pid_t pid, ppid, pgid, sid;
};

/* @want->pid's parent, group and session from its /proc/PID/stat against @want; fail()s naming @name. */
int tree_check_ids(const char *name, const struct tree_ids *want);

/*
 * How the processes of a tree tell its root where they are: each writes one
 * report on a pipe the root reads @nr of (tree_reports_read: 0, or 1 after a
 * fail()), indexed by @idx. @extra is the test's own.
 */
struct tree_report {
	int idx;
	struct tree_ids ids;
	pid_t extra;
};

/* Sends process @idx's report (its parent @ppid as it should be) on @fd; exits on failure. */
void tree_report_send(int fd, int idx, pid_t ppid, pid_t extra);
/* In the root: closes @pipe_fds once the @nr reports are read into @reports and their ids into @ids. */
int tree_reports_read(int pipe_fds[2], struct tree_report *reports, struct tree_ids *ids, int nr);

#endif /* ZDTM_TREE_H */
