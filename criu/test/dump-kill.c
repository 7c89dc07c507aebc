/*
 * criu dump without --leave-running: the dump succeeds, its images are written,
 * and the process is killed (its parent, this test, reaps it dead of SIGKILL).
 */
#include "dump-test.h"

int main(void)
{
	char tmp[256], dir[512], path[PATH_MAX];
	struct dump_child child = { .result_fd = -1 };
	struct run_result r;
	int failures = 0, ret, status;
	struct stat st;

	if (test_mkdtemp(tmp, sizeof(tmp), "dump-kill")) {
		perror("mkdtemp");
		return TEST_FAIL;
	}
	snprintf(dir, sizeof(dir), "%s/images", tmp);
	if (mkdir(dir, 0700)) {
		perror("mkdir");
		return TEST_FAIL;
	}
	ret = dump_child_start(&child, false);
	if (ret) {
		fprintf(stderr, "FAIL: can't start the child: %s\n", strerror(-ret));
		dump_child_stop(&child);
		return TEST_FAIL;
	}
	ret = dump_run_criu(&r, tmp, child.pid, dir, "dump.log", NULL);
	expect(&failures, !ret, "can't run criu: %s", strerror(-ret));
	if (!ret) {
		expect(&failures, r.exit_code == 0, "criu dump exit %d: %s", r.exit_code, r.err);
		test_run_free(&r);
	}
	status = dump_child_wait(&child, 5000);
	expect(&failures, status != -1, "the child is still alive after the dump");
	if (status != -1)
		expect(&failures, WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the child ended with status %#x",
		       status);
	snprintf(path, sizeof(path), "%s/pages-1.img", dir);
	expect(&failures, !stat(path, &st) && st.st_size > 0, "pages-1.img is missing or empty");
	snprintf(path, sizeof(path), "%s/inventory.img", dir);
	expect(&failures, !access(path, R_OK), "inventory.img is missing");

	dump_child_stop(&child);
	if (!failures)
		test_rm_rf(tmp);
	fprintf(stderr, "dump-kill: %s\n", failures ? "FAILED" : "all passed");
	return failures ? TEST_FAIL : TEST_PASS;
}
