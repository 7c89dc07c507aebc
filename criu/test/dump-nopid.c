/*
 * criu dump of a process that doesn't exist (exited and reaped) or is a zombie
 * fails cleanly: exit status 1, an "Error (criu/cr-dump.c:...)" line saying so
 * in the log, and no image written. So does a dump of criu's own parent (this
 * test), which criu can't freeze without freezing itself.
 */
#include "dump-test.h"

static void check_refused(int *failures, const char *tmp, const char *what, pid_t pid, const char *msg)
{
	char dir[512], log[PATH_MAX], path[PATH_MAX];
	struct run_result r;
	char *text;
	int ret;

	snprintf(dir, sizeof(dir), "%s/%s", tmp, what);
	if (mkdir(dir, 0700)) {
		expect(failures, 0, "mkdir %s: %s", dir, strerror(errno));
		return;
	}
	ret = dump_run_criu(&r, tmp, pid, dir, "dump.log", NULL);
	expect(failures, !ret, "can't run criu: %s", strerror(-ret));
	if (ret)
		return;
	expect(failures, r.exit_code == 1, "%s: criu dump exit %d", what, r.exit_code);
	test_run_free(&r);
	snprintf(log, sizeof(log), "%s/dump.log", dir);
	text = test_read_file(log);
	expect(failures, text && strstr(text, "Error (criu/cr-dump.c:") && strstr(text, msg),
	       "%s: the log lacks the error '%s': %s", what, msg, text ?: "(no log)");
	free(text);
	snprintf(path, sizeof(path), "%s/inventory.img", dir);
	expect(failures, access(path, F_OK), "%s: inventory.img was written", what);
}

int main(void)
{
	int failures = 0;
	char tmp[256];
	pid_t pid;

	if (test_mkdtemp(tmp, sizeof(tmp), "dump-nopid")) {
		perror("mkdtemp");
		return TEST_FAIL;
	}
	pid = fork();
	if (pid < 0)
		return TEST_FAIL;
	if (pid == 0)
		_exit(0);
	/* A zombie first, then the same pid reaped: gone. */
	while (dump_thread_state(pid, pid) != 'Z')
		usleep(1000);
	check_refused(&failures, tmp, "zombie", pid, "does not exist");
	waitpid(pid, NULL, 0);
	check_refused(&failures, tmp, "reaped", pid, "does not exist");
	/* criu's parent: freezing it would freeze criu too. */
	check_refused(&failures, tmp, "ancestor", getpid(), "one of its ancestors");

	if (!failures)
		test_rm_rf(tmp);
	fprintf(stderr, "dump-nopid: %s\n", failures ? "FAILED" : "all passed");
	return failures ? TEST_FAIL : TEST_PASS;
}
