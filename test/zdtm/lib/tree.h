/*
 * tree.h: checks for tests of a process tree that share files between its
 * processes: whether two processes hold the same file, and how many fds a
 * process holds (a restore must not leave one more); forking a child and
 * ending it.
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
/* Sends @child SIGTERM (unless @sig is 0) and reaps it: true when it exited 0, else fail(). */
bool tree_end_child(pid_t child, int sig, const char *who);

#endif /* ZDTM_TREE_H */
