/*
 * criu restore of checkpoints that CRIU 4.2 made (test/criu-4.2-images/, see its
 * README.md): a static program with 4 MiB of patterned memory, with 1 and with 4
 * threads. Each restore runs in a pid and a mount namespace of its own, so that the
 * dumped pids are free and /tmp (a tmpfs there) can hold the executable at its dumped
 * path. The restored process must have its pid and every dumped tid, sleep untraced,
 * and on SIGUSR1 find its whole memory pattern intact (it exits 0 and creates
 * /tmp/memhog.ok, or exits 1).
 * Exit 0 pass, 1 fail, 77 skip.
 * timeout: 120
 */
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>

#include "criu-test.h"

#define CORPUS "/tmp/criu-corpus"
#define IMG "/tmp/img"
#define MAX_TIDS 8

struct criu42_case {
	const char *dir;
	pid_t pid;
	pid_t tids[MAX_TIDS];
	size_t nr_tids;
};

static const struct criu42_case cases[] = {
	{ "1thread", 3, { 3 }, 1 },
	{ "4threads", 24, { 24, 27, 28, 29 }, 4 },
};

/* The tids under /proc/@pid/task, sorted, into @tids; their number. */
static size_t read_tids(pid_t pid, pid_t *tids, size_t max)
{
	char path[64];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max)
		if (de->d_name[0] != '.')
			tids[n++] = atoi(de->d_name);
	closedir(d);
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && tids[j - 1] > tids[j]; j--) {
			pid_t t = tids[j];

			tids[j] = tids[j - 1];
			tids[j - 1] = t;
		}
	return n;
}

/* The value of @key in /proc/@pid/task/@tid/status, e.g. "State:"; NULL if absent. */
static char *status_field(pid_t pid, pid_t tid, const char *key, char *buf, size_t size)
{
	char path[96], *status, *p, *end;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	status = test_read_file(path);
	if (!status)
		return NULL;
	p = strstr(status, key);
	if (!p) {
		free(status);
		return NULL;
	}
	p += strlen(key);
	while (*p == ' ' || *p == '\t')
		p++;
	end = strchr(p, '\n');
	snprintf(buf, size, "%.*s", end ? (int)(end - p) : (int)strlen(p), p);
	free(status);
	return buf;
}

static void check_restored(int *failures, const struct criu42_case *c)
{
	pid_t tids[MAX_TIDS];
	size_t n = read_tids(c->pid, tids, MAX_TIDS);
	char buf[128] = "";

	expect(failures, n == c->nr_tids, "%s: %zu threads, not %zu", c->dir, n, c->nr_tids);
	for (size_t i = 0; i < n && i < c->nr_tids; i++) {
		expect(failures, tids[i] == c->tids[i], "%s: thread %zu is %d, not %d", c->dir, i, tids[i], c->tids[i]);
		/* Just detached, a thread may still be on its way back into pause(). */
		for (int tries = 0; tries < 100; tries++) {
			if (!status_field(c->pid, tids[i], "State:", buf, sizeof(buf)) || buf[0] == 'S')
				break;
			usleep(20000);
		}
		expect(failures, buf[0] == 'S', "%s: thread %d is not sleeping (%s)", c->dir, tids[i], buf);
		expect(failures, status_field(c->pid, tids[i], "TracerPid:", buf, sizeof(buf)) && !strcmp(buf, "0"),
		       "%s: thread %d is traced", c->dir, tids[i]);
	}
	expect(failures, status_field(c->pid, c->pid, "Name:", buf, sizeof(buf)) && !strcmp(buf, "hog"),
	       "%s: the process is not hog", c->dir);
}

/*
 * Waits up to 20 s for @pid to exit; kills it past that (a signal that came before the
 * restored pause() began would leave it waiting) and returns -1.
 */
static pid_t wait_exit(pid_t pid, int *status)
{
	for (int tries = 0; tries < 2000; tries++) {
		pid_t got = waitpid(pid, status, WNOHANG);

		if (got != 0)
			return got;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, status, 0);
	return -1;
}

/* The init of the new pid namespace: restores, checks, makes the process check its memory. */
static int run_init(const char *top, const char *criu, const struct criu42_case *c)
{
	char src[2 * PATH_MAX], criu_path[64], *pidstr;
	char *argv[] = { criu_path,   "restore",	   "-d", "-D", IMG, "-o", "restore.log", "-v4",
			 "--pidfile", IMG "/restored.pid", NULL };
	struct run_result r;
	int failures = 0, status = 0, top_fd, criu_fd;
	pid_t got;

	/*
	 * The tree and criu may live under /tmp (a CI checkout), which the tmpfs below hides: both
	 * are reached through fds taken before it, as /proc/self/fd/N paths.
	 */
	top_fd = open(top, O_PATH | O_DIRECTORY);
	criu_fd = open(criu, O_PATH);
	if (top_fd < 0 || criu_fd < 0) {
		fprintf(stderr, "%s: can't open %s or %s: %s\n", c->dir, top, criu, strerror(errno));
		return TEST_FAIL;
	}
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) ||
	    mount("tmpfs", "/tmp", "tmpfs", 0, "mode=1777")) {
		fprintf(stderr, "%s: can't mount /proc or /tmp: %s\n", c->dir, strerror(errno));
		return TEST_FAIL;
	}
	snprintf(criu_path, sizeof(criu_path), "/proc/self/fd/%d", criu_fd);
	snprintf(src, sizeof(src), "/proc/self/fd/%d/test/criu-4.2-images/hog", top_fd);
	if (mkdir(CORPUS, 0755) || test_copy_file(src, CORPUS "/hog", 0755)) {
		fprintf(stderr, "%s: can't put hog at %s/hog\n", c->dir, CORPUS);
		return TEST_FAIL;
	}
	snprintf(src, sizeof(src), "/proc/self/fd/%d/test/criu-4.2-images/%s", top_fd, c->dir);
	if (test_copy_dir(src, IMG)) {
		fprintf(stderr, "%s: can't copy the images from %s\n", c->dir, src);
		return TEST_FAIL;
	}
	if (test_run(&r, "/tmp", CORPUS, argv, NULL)) {
		fprintf(stderr, "%s: can't run criu\n", c->dir);
		return TEST_FAIL;
	}
	expect(&failures, r.exit_code == 0, "%s: criu restore exited %d: %s", c->dir, r.exit_code, r.err);
	test_run_free(&r);
	if (failures) {
		char *log = test_read_file(IMG "/restore.log");

		fprintf(stderr, "%s", log ? log : "(no restore.log)\n");
		free(log);
		return TEST_FAIL;
	}
	pidstr = test_read_file(IMG "/restored.pid");
	expect(&failures, pidstr && atoi(pidstr) == c->pid, "%s: pidfile says %s, not %d", c->dir,
	       pidstr ? pidstr : "nothing", c->pid);
	free(pidstr);
	check_restored(&failures, c);

	/* The restored process is ours now (we are its namespace's init): let it check its memory. */
	expect(&failures, kill(c->pid, SIGUSR1) == 0, "%s: can't signal %d: %s", c->dir, c->pid, strerror(errno));
	got = wait_exit(c->pid, &status);
	expect(&failures, got == c->pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "%s: the process ended with status %#x: its memory is not as dumped", c->dir, status);
	expect(&failures, access("/tmp/memhog.ok", F_OK) == 0 && access("/tmp/memhog.bad", F_OK) < 0,
	       "%s: no /tmp/memhog.ok", c->dir);
	fprintf(stderr, "%s: %s\n", c->dir, failures ? "FAIL" : "restored, memory and threads as dumped");
	return failures ? TEST_FAIL : TEST_PASS;
}

static int run_case(const char *top, const char *criu, const struct criu42_case *c)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return TEST_FAIL;
	if (pid == 0) {
		pid_t init;

		if (unshare(CLONE_NEWNS | CLONE_NEWPID) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
			fprintf(stderr, "%s: can't make namespaces: %s\n", c->dir, strerror(errno));
			_exit(errno == EPERM ? TEST_SKIP : TEST_FAIL);
		}
		init = fork();
		if (init == 0)
			_exit(run_init(top, criu, c));
		if (init < 0 || waitpid(init, &status, 0) != init)
			_exit(TEST_FAIL);
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : TEST_FAIL);
	}
	if (waitpid(pid, &status, 0) != pid)
		return TEST_FAIL;
	return WIFEXITED(status) ? WEXITSTATUS(status) : TEST_FAIL;
}

int main(void)
{
	char criu[PATH_MAX], top[PATH_MAX];
	int ret = TEST_PASS;

	if (geteuid()) {
		fprintf(stderr, "restore-criu42: SKIP (needs root)\n");
		return TEST_SKIP;
	}
	if (test_criu_bin(criu)) {
		fprintf(stderr, "restore-criu42: no criu binary beside the tests\n");
		return TEST_FAIL;
	}
	if (!realpath(criu, top)) {
		fprintf(stderr, "restore-criu42: can't resolve %s\n", criu);
		return TEST_FAIL;
	}
	snprintf(criu, sizeof(criu), "%s", top);
	*strrchr(top, '/') = '\0'; /* <top>/criu */
	*strrchr(top, '/') = '\0'; /* <top> */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = run_case(top, criu, &cases[i]);

		if (r == TEST_FAIL || (r == TEST_SKIP && ret == TEST_PASS))
			ret = r;
	}
	fprintf(stderr, "restore-criu42: %s\n", ret == TEST_PASS ? "PASS" : ret == TEST_SKIP ? "SKIP" : "FAIL");
	return ret;
}
