/*
 * criu dump --leave-running of a stopped process (SIGSTOP): the leader's core
 * image records it as stopped (task_state 3, CRIU's TASK_STOPPED), and the dump leaves it
 * stopped; after SIGCONT it runs on with its memory intact.
 */
#include "dump-test.h"

static const char state_py[] = "import json, sys\n"
			       "print(json.load(sys.stdin)['entries'][0]['tc']['task_state'])\n";

static int core_task_state(const char *tmp, const char *dir, pid_t pid)
{
	char script[PATH_MAX], cmd[PATH_MAX * 3];
	int state = -1;
	FILE *p;

	snprintf(script, sizeof(script), "%s/state.py", tmp);
	if (test_write_file(script, state_py, strlen(state_py)))
		return -1;
	snprintf(cmd, sizeof(cmd), "%s %s decode -i %s/core-%d.img | %s %s", PYTHON, CRIT, dir, pid, PYTHON, script);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	if (fscanf(p, "%d", &state) != 1)
		state = -1;
	pclose(p);
	return state;
}

int main(void)
{
	struct dump_child child = { .result_fd = -1 };
	char tmp[256], dir[512];
	struct run_result r;
	int failures = 0, ret, state;

	if (!dump_crit_usable()) {
		fprintf(stderr, "SKIP: crit (crit/crit) is not usable\n");
		return TEST_SKIP;
	}
	if (test_mkdtemp(tmp, sizeof(tmp), "dump-stopped")) {
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
	if (kill(child.pid, SIGSTOP)) {
		perror("kill");
		dump_child_stop(&child);
		return TEST_FAIL;
	}
	while (dump_thread_state(child.pid, child.pid) != 'T')
		usleep(1000);

	ret = dump_run_criu(&r, tmp, child.pid, dir, "dump.log", "--leave-running");
	expect(&failures, !ret, "can't run criu: %s", strerror(-ret));
	if (!ret) {
		expect(&failures, r.exit_code == 0, "criu dump exit %d: %s", r.exit_code, r.err);
		test_run_free(&r);
	}
	state = core_task_state(tmp, dir, child.pid);
	expect(&failures, state == 3, "task_state %d in the core image, not 3 (stopped)", state);
	usleep(100000);
	state = dump_thread_state(child.pid, child.pid);
	expect(&failures, state == 'T', "the child is in state %c after the dump, not stopped", state);
	expect(&failures, !kill(child.pid, SIGCONT), "can't continue the child");
	expect(&failures, dump_child_check_memory(&child) == 0, "the child doesn't run on with its memory intact");

	dump_child_stop(&child);
	if (!failures)
		test_rm_rf(tmp);
	fprintf(stderr, "dump-stopped: %s\n", failures ? "FAILED" : "all passed");
	return failures ? TEST_FAIL : TEST_PASS;
}
