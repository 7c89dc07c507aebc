/*
 * tree.c: checks for tests of a process tree (see tree.h).
 */
#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "tree.h"
#include "zdtmtst.h"

bool tree_same_file(int fd, pid_t pid, int pfd)
{
	struct stat a, b;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, pfd);
	return !fstat(fd, &a) && !stat(path, &b) && a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

int tree_nr_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n - 1; /* not the directory's own fd */
}

pid_t tree_fork(void)
{
	pid_t pid = fork();

	if (pid < 0)
		fail("fork");
	else if (pid == 0)
		test_forked();
	return pid;
}

pid_t tree_clone(int (*fn)(void *), int flags, void *arg)
{
	const size_t size = 256 * 1024;
	char *stack = malloc(size);
	pid_t pid;

	if (!stack) {
		fail("malloc");
		return -1;
	}
	pid = clone(fn, stack + size, flags, arg);
	if (pid < 0) {
		fail("clone");
		free(stack);
		return -1;
	}
	return pid;
}

int tree_fork_ready(pid_t *children, int nr, void (*child_main)(int i, int ready))
{
	int ready[2], got = 0;
	char c;

	if (pipe(ready)) {
		fail("pipe");
		return -1;
	}
	for (int i = 0; i < nr; i++) {
		children[i] = tree_fork();
		if (children[i] < 0)
			break;
		if (children[i] == 0) {
			close(ready[0]);
			child_main(i, ready[1]);
			_exit(2); /* child_main must not return */
		}
	}
	close(ready[1]);
	while (got < nr && read(ready[0], &c, 1) == 1)
		got++;
	close(ready[0]);
	if (got < nr) {
		fail("%d of %d children got ready", got, nr);
		return -1;
	}
	return 0;
}

bool tree_end_child(pid_t child, int sig, const char *who)
{
	int status = -1;

	if ((sig && kill(child, sig)) || waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		fail("the %s ended with status %#x", who, status);
		return false;
	}
	return true;
}

int tree_check_ids(const char *name, const struct tree_ids *want)
{
	struct tree_ids got = { .pid = want->pid };
	char path[64], buf[512], *p;
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)want->pid);
	f = fopen(path, "r");
	if (!f) {
		fail("%s (%d) is gone", name, (int)want->pid);
		return 1;
	}
	n = fgets(buf, sizeof(buf), f) ? 1 : 0;
	fclose(f);
	/* After the name in parentheses, which may hold anything: state, ppid, pgrp, session. */
	p = n ? strrchr(buf, ')') : NULL;
	if (!p || sscanf(p + 1, " %*c %d %d %d", &got.ppid, &got.pgid, &got.sid) != 3) {
		fail("can't read %s", path);
		return 1;
	}
	if (got.ppid != want->ppid || got.pgid != want->pgid || got.sid != want->sid) {
		fail("%s (%d): parent %d, group %d, session %d; expected %d, %d, %d", name, (int)want->pid,
		     (int)got.ppid, (int)got.pgid, (int)got.sid, (int)want->ppid, (int)want->pgid, (int)want->sid);
		return 1;
	}
	return 0;
}

void tree_report_send(int fd, int idx, pid_t ppid, pid_t extra)
{
	struct tree_report r = { .idx = idx, .ids = { getpid(), ppid, getpgid(0), getsid(0) }, .extra = extra };

	if (write(fd, &r, sizeof(r)) != sizeof(r))
		exit(1);
}

int tree_reports_read(int pipe_fds[2], struct tree_report *reports, struct tree_ids *ids, int nr)
{
	int ret = 0;

	close(pipe_fds[1]);
	for (int n = 0; !ret && n < nr; n++) {
		struct tree_report r;

		if (read(pipe_fds[0], &r, sizeof(r)) != sizeof(r) || r.idx < 0 || r.idx >= nr) {
			fail("a process did not report");
			ret = 1;
			break;
		}
		reports[r.idx] = r;
		ids[r.idx] = r.ids;
	}
	close(pipe_fds[0]);
	return ret;
}
