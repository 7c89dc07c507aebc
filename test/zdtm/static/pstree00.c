/*
 * pstree00: a process tree of depth 3 with threads in several processes.
 *   root ── a (2 more threads) ── b (1 more thread) ── c
 *        └─ d (pdeath signal SIGUSR2)
 * After restore every process checks its own pid, parent, thread count,
 * pdeath signal and memory, and its parent reaps it: the root checks each
 * child's exit status before it says PASS.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

#include "zdtmtst.h"

#define MEM_SIZE (256 * 1024)

struct node {
	const char *name;
	int parent;	   /* index, -1 for the root */
	int extra_threads; /* besides the main one */
	int pdeath;	   /* pdeath signal, 0 for none */
};

static const struct node nodes[] = {
	{ "root", -1, 0, 0 }, { "a", 0, 2, 0 }, { "b", 1, 1, 0 }, { "c", 2, 0, 0 }, { "d", 0, 0, SIGUSR2 },
};
#define NR_NODES ((int)(sizeof(nodes) / sizeof(nodes[0])))

static int ready_pipe[2];

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static int count_threads(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/task");
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* The state every process checks of itself after restore: 0 when right. */
static int check_self(int idx, pid_t want_pid, pid_t want_ppid, const uint8_t *mem, uint32_t crc)
{
	int sig = 0, ret = 0;

	if (getpid() != want_pid) {
		fail("%s: pid %d, expected %d", nodes[idx].name, getpid(), want_pid);
		ret = 1;
	}
	if (getppid() != want_ppid) {
		fail("%s: parent %d, expected %d", nodes[idx].name, getppid(), want_ppid);
		ret = 1;
	}
	if (count_threads() != nodes[idx].extra_threads + 1) {
		fail("%s: %d threads, expected %d", nodes[idx].name, count_threads(), nodes[idx].extra_threads + 1);
		ret = 1;
	}
	if (prctl(PR_GET_PDEATHSIG, &sig) || sig != nodes[idx].pdeath) {
		fail("%s: pdeath signal %d, expected %d", nodes[idx].name, sig, nodes[idx].pdeath);
		ret = 1;
	}
	if (datachk(mem, MEM_SIZE, crc)) {
		fail("%s: memory changed", nodes[idx].name);
		ret = 1;
	}
	return ret;
}

static pid_t pids[NR_NODES];

/* Waits for the children of @idx after passing them SIGTERM; 0 when each exited with 0. */
static int end_children(int idx)
{
	int ret = 0;

	for (int i = 0; i < NR_NODES; i++) {
		int status;

		if (nodes[i].parent != idx)
			continue;
		if (kill(pids[i], SIGTERM) || waitpid(pids[i], &status, 0) != pids[i]) {
			fail("%s: can't end %s (%d)", nodes[idx].name, nodes[i].name, pids[i]);
			ret = 1;
		} else if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			fail("%s: %s ended with status %#x", nodes[idx].name, nodes[i].name, status);
			ret = 1;
		}
	}
	return ret;
}

/* Sets up process @idx: its memory, threads and children; reports ready. Returns its memory's crc. */
static void setup(int idx, uint8_t *mem, uint32_t *crc);

static void __attribute__((noreturn)) run_child(int idx)
{
	uint8_t *mem = malloc(MEM_SIZE);
	pid_t ppid = getppid();
	uint32_t crc;
	int ret;

	test_forked();
	if (!mem)
		exit(1);
	if (nodes[idx].pdeath && prctl(PR_SET_PDEATHSIG, nodes[idx].pdeath))
		exit(1);
	setup(idx, mem, &crc);
	test_waitsig();
	ret = check_self(idx, getpid(), ppid, mem, crc);
	ret |= end_children(idx);
	exit(ret);
}

static void setup(int idx, uint8_t *mem, uint32_t *crc)
{
	pthread_t th;

	datagen(mem, MEM_SIZE, crc);
	for (int i = 0; i < nodes[idx].extra_threads; i++)
		if (pthread_create(&th, NULL, sleeper, NULL)) {
			fail("%s: pthread_create", nodes[idx].name);
			exit(1);
		}
	for (int i = 0; i < NR_NODES; i++) {
		if (nodes[i].parent != idx)
			continue;
		pids[i] = fork();
		if (pids[i] < 0) {
			fail("fork");
			exit(1);
		}
		if (pids[i] == 0)
			run_child(i);
	}
	if (idx) {
		if (write(ready_pipe[1], "R", 1) != 1)
			exit(1);
		close(ready_pipe[0]);
		close(ready_pipe[1]);
	}
}

int main(int argc, char **argv)
{
	uint8_t *mem = malloc(MEM_SIZE);
	uint32_t crc;
	int ret;
	char c;

	test_init(argc, argv);
	if (!mem || pipe(ready_pipe)) {
		fail("setup");
		return 1;
	}
	setup(0, mem, &crc);
	close(ready_pipe[1]);
	for (int i = 1; i < NR_NODES; i++)
		if (read(ready_pipe[0], &c, 1) != 1) {
			fail("a child did not get ready");
			return 1;
		}
	close(ready_pipe[0]);

	test_daemon();
	test_waitsig();

	ret = check_self(0, getpid(), getppid(), mem, crc);
	for (int i = 1; i < NR_NODES; i++) {
		char path[64];
		FILE *f;
		int ppid = 0;

		if (nodes[i].parent)
			continue; /* a grandchild: its parent checks it */
		snprintf(path, sizeof(path), "/proc/%d/stat", pids[i]);
		f = fopen(path, "r");
		if (!f || fscanf(f, "%*d %*s %*c %d", &ppid) != 1 || ppid != getpid()) {
			fail("%s (%d): parent %d, expected %d", nodes[i].name, pids[i], ppid, getpid());
			ret = 1;
		}
		if (f)
			fclose(f);
	}
	ret |= end_children(0);
	if (!ret)
		pass();
	return ret;
}
