/*
 * A process dumped while stopped (SIGSTOP) comes back stopped: after criu
 * restore -d it is in state T, untraced, and doesn't count; SIGCONT wakes it,
 * it counts on, and SIGUSR1 finds its memory intact (exit code 0).
 * Exit 0 pass, 1 fail, 77 skip.
 * timeout: 120
 */
#include "restore-test.h"

static bool wait_state(pid_t pid, char want)
{
	for (int i = 0; i < 200; i++) {
		if (rchild_state(pid) == want)
			return true;
		usleep(10000);
	}
	return false;
}

int main(void)
{
	char tmp[256], img[PATH_MAX], pidstr[32];
	const char *dump[] = { "dump", "-t", pidstr, "-D", img, "-o", "dump.log", "-v4", NULL };
	const char *restore[] = { "restore", "-D", img, "-d", "-o", "restore.log", "-v4", NULL };
	struct run_result r;
	struct rchild c;
	uint64_t c1, c2;
	int failures = 0, status;

	if (geteuid() != 0) {
		printf("SKIP: needs root\n");
		return TEST_SKIP;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) || test_mkdtemp(tmp, sizeof(tmp), "restore-stopped"))
		return TEST_FAIL;
	snprintf(img, sizeof(img), "%s/img", tmp);
	if (mkdir(img, 0700) || rchild_start(&c, tmp)) {
		fprintf(stderr, "can't start the child\n");
		failures++;
		goto out;
	}
	snprintf(pidstr, sizeof(pidstr), "%d", c.pid);
	kill(c.pid, SIGUSR2);
	kill(c.pid, SIGSTOP);
	expect(&failures, wait_state(c.pid, 'T'), "the child didn't stop");
	if (rcriu_run(&r, tmp, dump) || r.exit_code != 0) {
		fprintf(stderr, "criu dump failed: %s\n", r.err);
		rchild_kill(c.pid);
		failures++;
		goto out;
	}
	test_run_free(&r);
	status = rchild_wait(c.pid, 5000);
	expect(&failures, status >= 0 && WIFSIGNALED(status), "the dumped child was not killed");
	if (rtest_restore(tmp, restore, &failures))
		goto out;
	expect(&failures, wait_state(c.pid, 'T'), "the restored process is in state %c, not stopped",
	       rchild_state(c.pid));
	c1 = rchild_read_counter(c.pid);
	usleep(50000);
	c2 = rchild_read_counter(c.pid);
	expect(&failures, c1 == c2, "a stopped process counts: %llu then %llu", (unsigned long long)c1,
	       (unsigned long long)c2);
	kill(c.pid, SIGCONT);
	usleep(50000);
	c2 = rchild_read_counter(c.pid);
	expect(&failures, c2 > c1, "the process doesn't count after SIGCONT: %llu then %llu", (unsigned long long)c1,
	       (unsigned long long)c2);
	kill(c.pid, SIGUSR1);
	status = rchild_wait(c.pid, 5000);
	expect(&failures, status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == RCHILD_OK,
	       "the restored process ended with status %#x", status);
	if (status < 0)
		rchild_kill(c.pid);
out:
	if (failures) {
		rtest_print_log(img, "dump.log");
		rtest_print_log(img, "restore.log");
	}
	test_rm_rf(tmp);
	printf("%s\n", failures ? "FAIL" : "PASS");
	return failures ? TEST_FAIL : TEST_PASS;
}
