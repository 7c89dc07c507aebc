/*
 * criu dump of a process tree killed halfway: SIGKILL sent to criu, or to
 * criu's whole process group, at many points of a dump (and SIGTERM once the
 * tree is frozen) must leave every process of the tree as it was. The victim
 * is a tree of three processes, parent, child and grandchild, each with a
 * second thread spinning on a counter, 4 MiB of patterned memory and a signal
 * mask of its own, dumped with --leave-running.
 *
 * After each kill the test (a child subreaper) waits for whatever criu left
 * behind to end, then checks through /proc that each process is alive, not
 * traced, no thread stopped and every thread's SigBlk as before the dump. At
 * the end SIGTERM goes to the parent, which passes it on down: each process
 * checks its memory and its counter, reaps its child and exits 0 only if all
 * is well.
 * timeout: 120
 */
#include <stdatomic.h>

#include "dump-test.h"

#define TREE_DEPTH 3
#define TREE_PAGES 1024
#define WORKER_WAIT_MS 5000

static atomic_ulong counter;

static void *spin(void *arg)
{
	(void)arg;
	for (;;) {
		for (int i = 0; i < 100000; i++)
			atomic_fetch_add(&counter, 1);
		dump_sleep_us(1000);
	}
	return NULL;
}

/* Level @depth of the tree: its child first, then ready, then wait for SIGTERM. */
static void __attribute__((noreturn)) tree_main(int ready_fd, int depth)
{
	size_t ps = (size_t)sysconf(_SC_PAGESIZE);
	unsigned char *mem = malloc(TREE_PAGES * ps);
	pid_t child = 0, self = getpid();
	unsigned long before;
	sigset_t set;
	pthread_t th;
	int status = 0, sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR2 + depth % 2); /* each level its own mask */
	if (!mem || sigprocmask(SIG_BLOCK, &set, NULL))
		_exit(2);
	for (size_t i = 0; i < TREE_PAGES; i++)
		dump_fill_page(mem + i * ps, ps, i);
	if (depth + 1 < TREE_DEPTH) {
		child = fork();
		if (child < 0)
			_exit(2);
		if (child == 0)
			tree_main(ready_fd, depth + 1);
	}
	if (pthread_create(&th, NULL, spin, NULL) || write(ready_fd, &self, sizeof(self)) != sizeof(self))
		_exit(2);
	close(ready_fd);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	do
		sig = sigwaitinfo(&set, NULL);
	while (sig != SIGTERM);
	before = atomic_load(&counter);
	dump_sleep_us(20000);
	if (child && (kill(child, SIGTERM) || waitpid(child, &status, 0) != child))
		_exit(3);
	for (size_t i = 0; i < TREE_PAGES; i++) {
		unsigned char *want = malloc(ps);

		if (!want)
			_exit(4);
		dump_fill_page(want, ps, i);
		if (memcmp(mem + i * ps, want, ps))
			_exit(4);
		free(want);
	}
	if (atomic_load(&counter) == before)
		_exit(5); /* the spinning thread is stuck */
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 6);
}

struct tree {
	pid_t pids[TREE_DEPTH];
	char *sigblk[TREE_DEPTH]; /* the SigBlk lines of every thread, before any dump */
};

/* The SigBlk lines of every thread of @pid, and whether each is untraced and not stopped. */
static char *thread_masks(pid_t pid, bool *ok, bool verbose)
{
	char path[64], *out = calloc(1, 1);
	struct dirent *de;
	DIR *dir;

	*ok = out != NULL;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir) {
		*ok = false;
		return out;
	}
	while (out && (de = readdir(dir))) {
		pid_t tid = atoi(de->d_name);
		char *status, *blk, *tracer, *grown;
		char st;

		if (tid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
		status = test_read_file(path);
		blk = status ? strstr(status, "SigBlk:") : NULL;
		tracer = status ? strstr(status, "TracerPid:") : NULL;
		st = dump_thread_state(pid, tid);
		if (!blk || !tracer || atoi(tracer + 10) || (st != 'S' && st != 'R')) {
			if (verbose)
				fprintf(stderr, "thread %d of process %d: state %c, %.16s\n", tid, pid, st,
					tracer ? tracer : "no status");
			*ok = false;
		}
		grown = blk ? realloc(out, strlen(out) + 40) : NULL;
		if (grown) {
			out = grown;
			strncat(out, blk, strcspn(blk, "\n") + 1);
		}
		free(status);
	}
	closedir(dir);
	return out;
}

/* Whether every process of @t is as it was; says why not when @what is not NULL. */
static bool tree_intact(struct tree *t, const char *what)
{
	bool all = true;

	for (int i = 0; i < TREE_DEPTH; i++) {
		bool ok;
		char *masks = thread_masks(t->pids[i], &ok, what != NULL);

		if (ok && masks && t->sigblk[i] && strcmp(masks, t->sigblk[i])) {
			ok = false;
			if (what)
				fprintf(stderr, "%s: the signal masks of process %d changed:\n%swere\n%s", what,
					t->pids[i], masks, t->sigblk[i]);
		}
		if (!ok && what)
			fprintf(stderr, "%s: process %d (level %d) is not as it was\n", what, t->pids[i], i);
		all = all && ok;
		free(masks);
	}
	return all;
}

/*
 * Whether @t is as it was, given a moment: a thread detached out of
 * sigwaitinfo() runs a little before it waits again, and only then does its
 * mask read as it did (the kernel unblocks the awaited signals during the wait).
 */
static bool tree_settles(struct tree *t, const char *what)
{
	for (int i = 0; i < 100; i++) {
		if (tree_intact(t, NULL))
			return true;
		dump_sleep_us(10000);
	}
	return tree_intact(t, what);
}

static int tree_start(struct tree *t)
{
	pid_t got[TREE_DEPTH];
	int ready[2];
	char eof;

	if (pipe2(ready, O_CLOEXEC))
		return -errno;
	t->pids[0] = fork();
	if (t->pids[0] < 0)
		return -errno;
	if (t->pids[0] == 0) {
		close(ready[0]);
		dump_child_quiet_stdio(ready[1]);
		tree_main(ready[1], 0);
	}
	close(ready[1]);
	for (int i = 0; i < TREE_DEPTH; i++)
		if (read(ready[0], &got[i], sizeof(got[i])) != sizeof(got[i]))
			return -EIO;
	/* The end of file: every process closed its end, which a dump would refuse as a pipe. */
	if (read(ready[0], &eof, 1) != 0)
		return -EIO;
	close(ready[0]);
	/* Written deepest first. */
	for (int i = 1; i < TREE_DEPTH; i++)
		t->pids[i] = got[TREE_DEPTH - 1 - i];
	for (int i = 0; i < TREE_DEPTH; i++) {
		bool ok;

		t->sigblk[i] = thread_masks(t->pids[i], &ok, true);
		if (!ok)
			return -EINVAL;
	}
	return 0;
}

struct kill_point {
	const char *marker; /* in the log, or NULL: from criu's start */
	long delay_us;
	bool group;
	int sig; /* 0: SIGKILL */
};

static void kill_once(struct tree *t, const char *tmp, const struct kill_point *kp, int *failures, int *kills)
{
	static const char *const leave_running[] = { "--leave-running", NULL };
	char dir[PATH_MAX], log[PATH_MAX + 16], what[160];
	int status = 0, left;
	pid_t criu;

	snprintf(what, sizeof(what), "%s %ld us after %s",
		 kp->sig   ? strsignal(kp->sig) :
		 kp->group ? "kill group" :
			     "kill criu",
		 kp->delay_us, kp->marker ? kp->marker : "the start");
	snprintf(dir, sizeof(dir), "%s/images", tmp);
	snprintf(log, sizeof(log), "%s/dump.log", dir);
	test_rm_rf(dir);
	if (mkdir(dir, 0700)) {
		expect(failures, 0, "%s: can't make %s", what, dir);
		return;
	}
	criu = dump_start_criu(tmp, dir, t->pids[0], leave_running);
	if (criu < 0) {
		expect(failures, 0, "%s: can't start criu", what);
		return;
	}
	if (kp->marker && !dump_wait_marker(log, kp->marker, 5000))
		fprintf(stderr, "%s: the log never showed the marker\n", what);
	dump_sleep_us(kp->delay_us);
	kill(kp->group ? -criu : criu, kp->sig ?: SIGKILL);
	(*kills)++;
	waitpid(criu, &status, 0);
	left = dump_reap_leftovers(t->pids, 1, WORKER_WAIT_MS);
	expect(failures, left >= 0, "%s: criu left a process that did not end", what);
	if (kp->sig)
		expect(failures, WIFEXITED(status) && WEXITSTATUS(status) == 1 && left == 0,
		       "%s: criu ended with status %#x before the dump gave up", what, status);
	expect(failures, tree_settles(t, what), "%s: the tree was not left as it was", what);
}

int main(void)
{
	struct kill_point kps[64];
	struct tree t = { 0 };
	int failures = 0, kills = 0, status = 0;
	char tmp[256];
	size_t n = 0;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1) || test_mkdtemp(tmp, sizeof(tmp), "dump-tree-killed")) {
		perror("setup");
		return TEST_FAIL;
	}
	if (tree_start(&t)) {
		fprintf(stderr, "can't start the tree\n");
		if (t.pids[0] > 0)
			kill(t.pids[0], SIGKILL);
		return TEST_FAIL;
	}
	for (long ms = 0; ms <= 30; ms += 2)
		kps[n++] = (struct kill_point){ .delay_us = ms * 1000, .group = ms % 4 == 2 };
	for (long us = 0; us <= 3000; us += 500)
		kps[n++] = (struct kill_point){ .marker = "frozen with", .delay_us = us, .group = us % 1000 };
	kps[n++] = (struct kill_point){ .marker = "frozen with", .delay_us = 500, .sig = SIGTERM };
	for (size_t i = 0; i < n; i++)
		kill_once(&t, tmp, &kps[i], &failures, &kills);

	expect(&failures,
	       !kill(t.pids[0], SIGTERM) && waitpid(t.pids[0], &status, 0) == t.pids[0] && WIFEXITED(status) &&
		       WEXITSTATUS(status) == 0,
	       "the tree failed its last check (status %#x)", status);
	for (int i = 0; i < TREE_DEPTH; i++)
		free(t.sigblk[i]);
	fprintf(stderr, "%d kills\n", kills);
	if (!failures)
		test_rm_rf(tmp);
	else
		fprintf(stderr, "files kept in %s\n", tmp);
	fprintf(stderr, "dump-tree-killed: %s\n", failures ? "FAILED" : "all passed");
	return failures ? TEST_FAIL : TEST_PASS;
}
