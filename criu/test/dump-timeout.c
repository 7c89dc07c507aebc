/*
 * --timeout bounds the freeze. The child sits in clone(CLONE_VFORK) without
 * CLONE_VM (state D: it can't stop before its child exits, which the kernel
 * reaps, SIGCHLD being ignored; not a vfork() sharing its memory, which the
 * dump refuses after a second: see dump-refuse). With --timeout 1 and a vfork child of 6 s, the dump gives up after a
 * second, naming the thread and its state, waits 2 s more for a stop to detach
 * from (COMPEL_UNTRACE_WAIT_MS), and exits: well before the vfork ends. The child
 * is untraced then (the kernel detaches it when criu exits) and runs on.
 * With --timeout 4294968 (4294968000 ms, past 32 bits) and a vfork child of 1.5 s,
 * the dump waits for the stop and succeeds, not failing at a wrapped deadline.
 * timeout: 120
 */
#include "dump-test.h"

static pid_t start_child(long vfork_ms)
{
	int ready[2];
	pid_t pid;
	char c;

	if (pipe2(ready, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0) {
		struct timespec ts = { .tv_sec = vfork_ms / 1000, .tv_nsec = vfork_ms % 1000 * 1000000L };

		dump_child_quiet_stdio(ready[1]);
		if (signal(SIGCHLD, SIG_IGN) == SIG_ERR || write(ready[1], "R", 1) != 1)
			_exit(2);
		close(ready[1]);
		if (syscall(SYS_clone, CLONE_VFORK | SIGCHLD, NULL, NULL, NULL, 0) == 0) {
			nanosleep(&ts, NULL);
			_exit(0);
		}
		for (;;)
			pause();
	}
	close(ready[1]);
	if (pid > 0 && (read(ready[0], &c, 1) != 1 || read(ready[0], &c, 1) != 0)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(ready[0]);
	for (int i = 0; pid > 0 && i < 1000 && dump_thread_state(pid, pid) != 'D'; i++)
		usleep(1000);
	return pid;
}

static bool traced(pid_t pid)
{
	char path[64], *status, *tracer;
	bool ret = true;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	status = test_read_file(path);
	tracer = status ? strstr(status, "TracerPid:") : NULL;
	if (tracer)
		ret = atoi(tracer + 10) != 0;
	free(status);
	return ret;
}

/* Runs `criu dump --timeout @timeout --leave-running` of @pid; its exit code, -1 if it didn't run. */
static int run_dump(const char *tmp, const char *what, pid_t pid, const char *timeout, int64_t *ms)
{
	char criu[PATH_MAX], pidstr[32], dir[512];
	char *argv[] = {
		criu,	     "dump",	      "-t", pidstr, "-D", dir, "-o", "dump.log", "-v4", "--leave-running",
		"--timeout", (char *)timeout, NULL
	};
	struct run_result r;
	int64_t start;
	int code;

	snprintf(dir, sizeof(dir), "%s/%s", tmp, what);
	snprintf(pidstr, sizeof(pidstr), "%d", pid);
	if (mkdir(dir, 0700) || test_criu_bin(criu))
		return -1;
	start = (int64_t)ng_now_ms();
	if (test_run(&r, tmp, NULL, argv, NULL))
		return -1;
	*ms = (int64_t)ng_now_ms() - start;
	code = r.exit_code;
	test_run_free(&r);
	return code;
}

static void check_timeout(int *failures, const char *tmp)
{
	char log[PATH_MAX], msg[256], *text;
	int64_t ms = 0;
	pid_t pid = start_child(6000);
	int code;

	if (pid < 0) {
		expect(failures, 0, "can't start the child");
		return;
	}
	expect(failures, dump_thread_state(pid, pid) == 'D', "the child is in state %c, not D",
	       dump_thread_state(pid, pid));
	code = run_dump(tmp, "timeout-1", pid, "1", &ms);
	fprintf(stderr, "--timeout 1: exit %d after %lld ms\n", code, (long long)ms);
	expect(failures, code == 1, "--timeout 1: criu dump exit %d, not 1", code);
	expect(failures, ms >= 900 && ms < 4500, "--timeout 1: criu took %lld ms, not 1 to 3 s", (long long)ms);
	expect(failures, !traced(pid), "--timeout 1: the child is still traced after criu exited");
	snprintf(log, sizeof(log), "%s/timeout-1/dump.log", tmp);
	snprintf(msg, sizeof(msg), "thread %d of process %d did not stop within 1 seconds (state D)", pid, pid);
	text = test_read_file(log);
	expect(failures, text && strstr(text, msg), "--timeout 1: the log lacks '%s': %s", msg, text ?: "(no log)");
	free(text);
	for (int i = 0; i < 6000 && dump_thread_state(pid, pid) != 'S'; i++)
		usleep(1000);
	expect(failures, dump_thread_state(pid, pid) == 'S' && !traced(pid),
	       "--timeout 1: the child is in state %c, %s", dump_thread_state(pid, pid),
	       traced(pid) ? "traced" : "untraced");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void check_huge_timeout(int *failures, const char *tmp)
{
	int64_t ms = 0;
	pid_t pid = start_child(1500);
	int code;

	if (pid < 0) {
		expect(failures, 0, "can't start the child");
		return;
	}
	code = run_dump(tmp, "timeout-huge", pid, "4294968", &ms);
	fprintf(stderr, "--timeout 4294968: exit %d after %lld ms\n", code, (long long)ms);
	expect(failures, code == 0, "--timeout 4294968: criu dump exit %d, not 0", code);
	usleep(20000);
	expect(failures, dump_thread_state(pid, pid) == 'S' && !traced(pid),
	       "--timeout 4294968: the child doesn't run on untraced");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

int main(void)
{
	int failures = 0;
	char tmp[256];

	if (test_mkdtemp(tmp, sizeof(tmp), "dump-timeout")) {
		perror("mkdtemp");
		return TEST_FAIL;
	}
	check_timeout(&failures, tmp);
	check_huge_timeout(&failures, tmp);
	if (!failures)
		test_rm_rf(tmp);
	else
		fprintf(stderr, "logs kept in %s\n", tmp);
	fprintf(stderr, "dump-timeout: %s\n", failures ? "FAILED" : "all passed");
	return failures ? TEST_FAIL : TEST_PASS;
}
