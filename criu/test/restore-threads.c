/*
 * criu restore brings back every thread with its tid: a child with four worker
 * threads, each counting in its own slot, checking its TLS id and blocking its
 * own real-time signal, is dumped and restored with -d. The task list must
 * hold the same tids; on SIGUSR1 the main thread checks every worker counts on
 * with its TLS and its signal mask intact, and exits 0.
 * Exit 0 pass, 1 fail, 77 skip.
 * timeout: 120
 */
#include <dirent.h>
#include <pthread.h>

#include "restore-test.h"

#define WORKERS 4
#define EXIT_STALLED 20
#define EXIT_BAD_STATE 21

static volatile uint64_t counters[WORKERS];
static volatile int bad;
static __thread int my_id;

static void *worker(void *arg)
{
	int i = (int)(intptr_t)arg;
	sigset_t set;

	my_id = i + 1;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + i);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		bad = 1;
	for (;;) {
		sigset_t now;

		counters[i]++;
		if (my_id != i + 1 || pthread_sigmask(SIG_BLOCK, NULL, &now) || !sigismember(&now, SIGRTMIN + i))
			bad = 1;
		usleep(500);
	}
	return NULL;
}

static int check_workers(void)
{
	uint64_t before[WORKERS];

	for (int i = 0; i < WORKERS; i++)
		before[i] = counters[i];
	usleep(100000);
	for (int i = 0; i < WORKERS; i++)
		if (counters[i] <= before[i])
			return EXIT_STALLED;
	return bad ? EXIT_BAD_STATE : 0;
}

static void __attribute__((noreturn)) child_main(int ready_fd)
{
	struct timespec tick = { 0, 1000000 };
	int null_fd = open("/dev/null", O_RDWR);
	sigset_t set;

	if (setsid() < 0 || null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0 || dup2(null_fd, 2) < 0)
		_exit(RCHILD_SETUP);
	for (int fd = 3; fd < 1024; fd++)
		if (fd != ready_fd)
			close(fd);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		_exit(RCHILD_SETUP);
	for (int i = 0; i < WORKERS; i++) {
		pthread_t th;

		if (pthread_create(&th, NULL, worker, (void *)(intptr_t)i))
			_exit(RCHILD_SETUP);
	}
	if (check_workers() || write(ready_fd, "R", 1) != 1)
		_exit(RCHILD_SETUP);
	close(ready_fd);
	for (;;) {
		rchild_counter++;
		if (sigtimedwait(&set, NULL, &tick) == SIGUSR1)
			_exit(check_workers());
	}
}

/* The tids of @pid, sorted, as a string. */
static void task_list(pid_t pid, char *buf, size_t size)
{
	int tids[64], n = 0;
	char path[64];
	struct dirent *de;
	DIR *dir;
	size_t len = 0;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return;
	while ((de = readdir(dir)) && n < 64)
		if (atoi(de->d_name) > 0)
			tids[n++] = atoi(de->d_name);
	closedir(dir);
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (tids[j] < tids[i]) {
				int t = tids[i];

				tids[i] = tids[j];
				tids[j] = t;
			}
	for (int i = 0; i < n && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%d ", tids[i]);
}

int main(void)
{
	char tmp[256], img[PATH_MAX], pidstr[32], before[512], after[512];
	const char *dump[] = { "dump", "-t", pidstr, "-D", img, "-o", "dump.log", "-v4", NULL };
	const char *restore[] = { "restore", "-D", img, "-d", "-o", "restore.log", "-v4", NULL };
	int failures = 0, status;
	pid_t pid = 0;

	if (geteuid() != 0) {
		printf("SKIP: needs root\n");
		return TEST_SKIP;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) || test_mkdtemp(tmp, sizeof(tmp), "restore-threads"))
		return TEST_FAIL;
	snprintf(img, sizeof(img), "%s/img", tmp);
	if (mkdir(img, 0700) || rtest_start_child(&pid, child_main)) {
		fprintf(stderr, "can't start the child\n");
		failures++;
		goto out;
	}
	task_list(pid, before, sizeof(before));
	snprintf(pidstr, sizeof(pidstr), "%d", pid);
	if (rtest_dump(tmp, dump, pid, &failures))
		goto out;
	if (rtest_restore(tmp, restore, &failures))
		goto out;
	task_list(pid, after, sizeof(after));
	expect(&failures, !strcmp(before, after), "threads before the dump: %s, after the restore: %s", before, after);
	printf("threads: %s\n", after);
	kill(pid, SIGUSR1);
	status = rchild_wait(pid, 5000);
	expect(&failures, status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "the restored child ended with status %#x (exit %d: a worker stalled, %d: TLS or mask lost)", status,
	       EXIT_STALLED, EXIT_BAD_STATE);
	if (status < 0)
		rchild_kill(pid);
out:
	if (failures) {
		rtest_print_log(img, "dump.log");
		rtest_print_log(img, "restore.log");
	}
	test_rm_rf(tmp);
	printf("%s\n", failures ? "FAIL" : "PASS");
	return failures ? TEST_FAIL : TEST_PASS;
}
