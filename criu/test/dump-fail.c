/*
 * A dump that fails after the process was frozen leaves it running, untraced,
 * every thread resumed and its memory intact, and exits 1 with an Error line:
 * images directory on a tmpfs too small for the pages (ENOSPC midway), on a
 * read-only tmpfs (EROFS at the first image), and a tree (a process with a
 * child) whose dump runs out of space midway, after both were frozen and
 * queried: the child runs on untraced as well. The mounts live in a mount
 * namespace of the test's own.
 */
#include <sched.h>
#include <sys/mount.h>

#include "dump-test.h"

/* The one child of @pid, found through /proc: 0 if there is none. */
static pid_t find_child(pid_t pid)
{
	struct dirent *de;
	pid_t found = 0;
	DIR *dir = opendir("/proc");

	while (dir && (de = readdir(dir))) {
		char path[64], *stat, *p;
		pid_t cand = atoi(de->d_name);

		if (cand <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", cand);
		stat = test_read_file(path);
		p = stat ? strrchr(stat, ')') : NULL;
		if (p && atoi(p + 4) == pid)
			found = cand;
		free(stat);
	}
	if (dir)
		closedir(dir);
	return found;
}

/* True when @pid runs untraced and is not stopped. */
static bool runs_untraced(pid_t pid)
{
	char path[64], *status, *tracer;
	bool ok;
	char st;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	status = test_read_file(path);
	tracer = status ? strstr(status, "TracerPid:") : NULL;
	ok = tracer && atoi(tracer + 10) == 0;
	free(status);
	st = dump_thread_state(pid, pid);
	return ok && (st == 'S' || st == 'R');
}

struct fail_test {
	char tmp[256];
	int failures;
};

static void check_failed_dump(struct fail_test *t, const char *what, const char *dir, bool grandchild, const char *msg)
{
	struct dump_child child = { .result_fd = -1 };
	pid_t tids[DUMP_CHILD_THREADS + 1];
	char log[PATH_MAX];
	struct run_result r;
	size_t nr;
	char *text;
	int ret;

	snprintf(log, sizeof(log), "%s/%s.log", t->tmp, what);
	ret = dump_child_start(&child, grandchild);
	if (ret) {
		expect(&t->failures, 0, "%s: can't start the child: %s", what, strerror(-ret));
		goto out_stop;
	}
	ret = dump_run_criu(&r, t->tmp, child.pid, dir, log, "--leave-running");
	expect(&t->failures, !ret, "%s: can't run criu: %s", what, strerror(-ret));
	if (ret)
		goto out_stop;
	expect(&t->failures, r.exit_code == 1, "%s: criu dump exit %d", what, r.exit_code);
	test_run_free(&r);
	text = test_read_file(log);
	expect(&t->failures, text && strstr(text, "Error (criu/") && strstr(text, msg),
	       "%s: the log lacks an error with '%s': %s", what, msg, text ?: "(no log)");
	expect(&t->failures, text && strstr(text, "frozen"), "%s: the dump failed before freezing the process", what);
	expect(&t->failures, !grandchild || (text && strstr(text, "(child of ")),
	       "%s: the dump failed before freezing the child", what);
	free(text);
	if (grandchild) {
		pid_t gc = find_child(child.pid);

		expect(&t->failures, gc > 0 && runs_untraced(gc), "%s: the child %d of the process isn't running on",
		       what, gc);
	}
	expect(&t->failures, dump_child_running(&child, tids, &nr), "%s: the child isn't running on", what);
	expect(&t->failures, dump_child_check_memory(&child) == 0, "%s: the child's memory isn't intact", what);
out_stop:
	dump_child_stop(&child);
}

static int mount_tmpfs(const char *dir, const char *opts, unsigned long flags)
{
	if (mkdir(dir, 0700) || mount("tmpfs", dir, "tmpfs", flags, opts)) {
		fprintf(stderr, "mount tmpfs on %s: %s\n", dir, strerror(errno));
		return -errno;
	}
	return 0;
}

int main(void)
{
	char full[512], ro[512], tree[512];
	struct fail_test t = { 0 };

	if (test_mkdtemp(t.tmp, sizeof(t.tmp), "dump-fail")) {
		perror("mkdtemp");
		return TEST_FAIL;
	}
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
		fprintf(stderr, "SKIP: no mount namespace of our own: %s\n", strerror(errno));
		test_rm_rf(t.tmp);
		return TEST_SKIP;
	}
	snprintf(full, sizeof(full), "%s/full", t.tmp);
	snprintf(ro, sizeof(ro), "%s/ro", t.tmp);
	snprintf(tree, sizeof(tree), "%s/tree", t.tmp);
	/* Room for the small images (a page each) but not for the pages of the region. */
	if (mount_tmpfs(full, "size=64k", 0) || mount_tmpfs(ro, "size=1m", MS_RDONLY) ||
	    mount_tmpfs(tree, "size=64k", 0)) {
		test_rm_rf(t.tmp);
		return TEST_FAIL;
	}

	check_failed_dump(&t, "enospc", full, false, "No space left on device");
	check_failed_dump(&t, "rofs", ro, false, "Read-only file system");
	check_failed_dump(&t, "tree", tree, true, "No space left on device");

	umount2(full, MNT_DETACH);
	umount2(tree, MNT_DETACH);
	umount2(ro, MNT_DETACH);
	if (!t.failures)
		test_rm_rf(t.tmp);
	fprintf(stderr, "dump-fail: %s\n", t.failures ? "FAILED" : "all passed");
	return t.failures ? TEST_FAIL : TEST_PASS;
}
