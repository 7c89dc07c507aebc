/*
 * criu restore of a process dumped by our criu dump, end to end: a
 * single-threaded child with a counter, patterns in its heap, in an anonymous
 * mapping (part of it read-only) and in TLS, SIGUSR1 blocked and a SIGUSR2
 * pending, is dumped (and killed), then restored with -d --pidfile: it must
 * come back with its pid, untraced, counting on from where it was, and on
 * SIGUSR1 find all its memory intact and SIGUSR2 still pending (exit code 0).
 * The same images then restore a second time without -d: criu waits for the
 * process and exits with its exit code.
 * Exit 0 pass, 1 fail, 77 skip.
 * timeout: 120
 */
#include "restore-test.h"

static int dump_child(int *failures, const char *tmp, const char *img, struct rchild *c, uint64_t *counter)
{
	char pidstr[32];
	const char *args[] = { "dump", "-t", pidstr, "-D", img, "-o", "dump.log", "-v4", NULL };
	struct run_result r;
	int status;

	snprintf(pidstr, sizeof(pidstr), "%d", c->pid);
	if (kill(c->pid, SIGUSR2))
		return -errno;
	usleep(50000);
	*counter = rchild_read_counter(c->pid);
	expect(failures, *counter > 0, "the child doesn't count");
	if (rcriu_run(&r, tmp, args))
		return -EIO;
	expect(failures, r.exit_code == 0, "criu dump exited with %d: %s", r.exit_code, r.err);
	test_run_free(&r);
	/* Reap the dumped child: its pid must be free for the restore. */
	status = rchild_wait(c->pid, 5000);
	expect(failures, status >= 0 && WIFSIGNALED(status), "the dumped child was not killed (status %d)", status);
	return *failures ? -EIO : 0;
}

static void restore_detached(int *failures, const char *tmp, const char *img, pid_t pid, uint64_t dumped)
{
	char pidfile[PATH_MAX], *text;
	const char *args[] = { "restore", "-D", img, "-d", "--pidfile", pidfile, "-o", "restore.log", "-v4", NULL };
	struct run_result r;
	uint64_t c1, c2;
	int status;
	char st;

	if ((size_t)snprintf(pidfile, sizeof(pidfile), "%s/restored.pid", tmp) >= sizeof(pidfile) ||
	    rcriu_run(&r, tmp, args)) {
		expect(failures, 0, "can't run criu restore");
		return;
	}
	expect(failures, r.exit_code == 0, "criu restore -d exited with %d: %s", r.exit_code, r.err);
	test_run_free(&r);
	text = test_read_file(pidfile);
	expect(failures, text && atoi(text) == pid, "pidfile says %s, expected %d", text ? text : "(none)", pid);
	free(text);
	/* running, asleep, or for a moment in an uninterruptible wait (its mm lock): not stopped, traced or dead */
	st = rchild_state(pid);
	expect(failures, st == 'R' || st == 'S' || st == 'D', "restored process %d is in state %c", pid, st);
	expect(failures, test_untraced(pid), "restored process %d is still traced", pid);
	c1 = rchild_read_counter(pid);
	usleep(100000);
	c2 = rchild_read_counter(pid);
	expect(failures, c1 >= dumped && c2 > c1, "counter: %llu when dumped, then %llu and %llu after the restore",
	       (unsigned long long)dumped, (unsigned long long)c1, (unsigned long long)c2);
	printf("counter %llu at dump, %llu then %llu after restore\n", (unsigned long long)dumped,
	       (unsigned long long)c1, (unsigned long long)c2);
	expect(failures, kill(pid, SIGUSR1) == 0, "can't signal the restored process: %m");
	status = rchild_wait(pid, 5000);
	expect(failures, status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == RCHILD_OK,
	       "the restored process ended with status %#x (exit code %d)", status,
	       status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	if (status < 0)
		rchild_kill(pid);
}

/* criu restore without -d, in the background: it must wait for the process and exit with its code. */
static void restore_attached(int *failures, const char *tmp, const char *img, pid_t pid)
{
	const char *args[] = { "restore", "-D", img, "-o", "restore2.log", "-v4", NULL };
	struct run_result r;
	pid_t runner;
	int status, i;

	runner = fork();
	if (runner == 0)
		_exit(rcriu_run(&r, tmp, args) ? 125 : r.exit_code);
	/*
	 * Untraced is not enough: criu's new child is untraced too until it stops for
	 * criu, and a SIGUSR1 then kills it. The restored process has its counter.
	 */
	for (i = 0; i < 500 && !(test_untraced(pid) && rchild_state(pid) != 't' && rchild_read_counter(pid)); i++)
		usleep(10000);
	expect(failures, i < 500, "process %d didn't come back without -d", pid);
	kill(pid, SIGUSR1);
	status = rchild_wait(runner, 10000);
	expect(failures, status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == RCHILD_OK,
	       "criu restore without -d ended with status %#x", status);
	if (status < 0) {
		rchild_kill(pid);
		rchild_kill(runner);
	}
}

int main(void)
{
	char tmp[PATH_MAX], img[PATH_MAX], *result;
	struct rchild c;
	uint64_t dumped = 0;
	int failures = 0;

	if (geteuid() != 0) {
		printf("SKIP: needs root\n");
		return TEST_SKIP;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) || test_mkdtemp(tmp, sizeof(tmp), "restore-basic"))
		return TEST_FAIL;
	if ((size_t)snprintf(img, sizeof(img), "%s/img", tmp) >= sizeof(img) || mkdir(img, 0700) ||
	    rchild_start(&c, tmp)) {
		fprintf(stderr, "can't start the child\n");
		test_rm_rf(tmp);
		return TEST_FAIL;
	}
	if (dump_child(&failures, tmp, img, &c, &dumped)) {
		rchild_kill(c.pid);
		goto out;
	}
	restore_detached(&failures, tmp, img, c.pid, dumped);
	restore_attached(&failures, tmp, img, c.pid);
	result = test_read_file(c.result);
	printf("child said:\n%s", result ? result : "(nothing)\n");
	free(result);
out:
	if (failures) {
		rtest_print_log(img, "dump.log");
		rtest_print_log(img, "restore.log");
	}
	test_rm_rf(tmp);
	printf("%s\n", failures ? "FAIL" : "PASS");
	return failures ? TEST_FAIL : TEST_PASS;
}
