/*
 * Helpers for the criu restore tests (restore-*.c): a single-threaded child to
 * dump and restore, which keeps a counter going and a known pattern in its
 * heap, in an anonymous mapping (partly PROT_READ) and in a TLS variable, with
 * SIGUSR1 and SIGUSR2 blocked. On SIGUSR1 it checks all of that, and that a
 * SIGUSR2 the test sent before the dump is still pending, writes a line to its
 * result file and exits with a RCHILD_* code. Its stdio is /dev/null and its
 * only other fd the result file, so our dump takes it as it is.
 *
 * The test makes itself a child subreaper: a process restored with -d is
 * criu's child, and when criu exits it becomes the test's, which reaps it.
 * Being a fork of the test, the child has the test's addresses: the test reads
 * its counter at &rchild_counter through /proc/PID/mem.
 */
#ifndef CRIU_NG_TEST_RESTORE_TEST_H
#define CRIU_NG_TEST_RESTORE_TEST_H

#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>

#include "criu-test.h"

#define RCHILD_PAGES 64
#define RCHILD_RO_PAGES 8 /* the last pages of the mapping are made read-only */
#define RCHILD_HEAP_BLOCKS 16
#define RCHILD_HEAP_BLOCK 3000 /* small: malloc takes them from the brk heap */
#define RCHILD_TLS_MAGIC 0x7151da7a5eedull

/* Exit codes of the child after SIGUSR1. */
#define RCHILD_OK 0
#define RCHILD_BAD_MEMORY 10
#define RCHILD_NO_PENDING 11
#define RCHILD_BAD_TLS 12
#define RCHILD_SETUP 13

static volatile uint64_t rchild_counter;
static __thread uint64_t rchild_tls = RCHILD_TLS_MAGIC;

struct rchild {
	pid_t pid;
	char result[PATH_MAX]; /* the child's result file */
};

static inline unsigned char rchild_byte(size_t i, unsigned int salt)
{
	return (unsigned char)((i * 31 + salt * 7 + (i >> 12)) & 0xff);
}

static inline void rchild_fill(unsigned char *p, size_t len, unsigned int salt)
{
	for (size_t i = 0; i < len; i++)
		p[i] = rchild_byte(i, salt);
}

static inline bool rchild_intact(const unsigned char *p, size_t len, unsigned int salt)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != rchild_byte(i, salt))
			return false;
	return true;
}

static inline int rchild_check(unsigned char *region, unsigned char **heap, size_t ps, int result_fd)
{
	sigset_t pending;
	bool mem = rchild_intact(region, RCHILD_PAGES * ps, 1);
	char line[160];
	int n, code;

	for (int i = 0; i < RCHILD_HEAP_BLOCKS; i++)
		mem = mem && rchild_intact(heap[i], RCHILD_HEAP_BLOCK, 100 + i);
	if (sigpending(&pending))
		return RCHILD_SETUP;
	code = !mem			       ? RCHILD_BAD_MEMORY :
	       !sigismember(&pending, SIGUSR2) ? RCHILD_NO_PENDING :
	       rchild_tls != RCHILD_TLS_MAGIC  ? RCHILD_BAD_TLS :
						 RCHILD_OK;
	n = snprintf(line, sizeof(line), "pid %d counter %llu memory %s usr2 %s tls %#llx\n", getpid(),
		     (unsigned long long)rchild_counter, mem ? "intact" : "BROKEN",
		     sigismember(&pending, SIGUSR2) ? "pending" : "LOST", (unsigned long long)rchild_tls);
	if (write(result_fd, line, (size_t)n) != n)
		return RCHILD_SETUP;
	return code;
}

static inline void __attribute__((noreturn)) rchild_main(int ready_fd, int result_fd)
{
	size_t ps = (size_t)sysconf(_SC_PAGESIZE);
	struct timespec tick = { 0, 1000000 };
	unsigned char *region, *heap[RCHILD_HEAP_BLOCKS];
	int null_fd = open("/dev/null", O_RDWR);
	sigset_t set;

	if (setsid() < 0 || null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0 || dup2(null_fd, 2) < 0)
		_exit(RCHILD_SETUP);
	for (int fd = 3; fd < 1024; fd++)
		if (fd != ready_fd && fd != result_fd)
			close(fd);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		_exit(RCHILD_SETUP);
	sigdelset(&set, SIGUSR2);
	region = mmap(NULL, RCHILD_PAGES * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED)
		_exit(RCHILD_SETUP);
	rchild_fill(region, RCHILD_PAGES * ps, 1);
	if (mprotect(region + (RCHILD_PAGES - RCHILD_RO_PAGES) * ps, RCHILD_RO_PAGES * ps, PROT_READ))
		_exit(RCHILD_SETUP);
	for (int i = 0; i < RCHILD_HEAP_BLOCKS; i++) {
		heap[i] = malloc(RCHILD_HEAP_BLOCK);
		if (!heap[i])
			_exit(RCHILD_SETUP);
		rchild_fill(heap[i], RCHILD_HEAP_BLOCK, 100 + i);
	}
	rchild_tls = RCHILD_TLS_MAGIC;
	if (write(ready_fd, "R", 1) != 1)
		_exit(RCHILD_SETUP);
	close(ready_fd); /* pipes are not restored: the child keeps none */
	for (;;) {
		siginfo_t info;

		rchild_counter++;
		if (sigtimedwait(&set, &info, &tick) == SIGUSR1)
			_exit(rchild_check(region, heap, ps, result_fd));
	}
}

/* Starts the child, its result file in @dir, and waits until it is ready. */
static inline int rchild_start(struct rchild *c, const char *dir)
{
	int ready[2], result_fd;
	char b;

	if ((size_t)snprintf(c->result, sizeof(c->result), "%s/result.txt", dir) >= sizeof(c->result))
		return -ENAMETOOLONG;
	result_fd = open(c->result, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (result_fd < 0 || pipe2(ready, O_CLOEXEC))
		return -errno;
	c->pid = fork();
	if (c->pid < 0)
		return -errno;
	if (c->pid == 0) {
		close(ready[0]);
		rchild_main(ready[1], result_fd);
	}
	close(ready[1]);
	close(result_fd);
	/* Ready, and the pipe closed on its side (EOF): pipes would stop a dump. */
	if (read(ready[0], &b, 1) != 1 || read(ready[0], &b, 1) != 0) {
		close(ready[0]);
		return -EIO;
	}
	close(ready[0]);
	return 0;
}

/* The child's counter, read through /proc/PID/mem; 0 when it can't be read. */
static inline uint64_t rchild_read_counter(pid_t pid)
{
	char path[64];
	uint64_t v = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (pread(fd, &v, sizeof(v), (off_t)(uintptr_t)&rchild_counter) != sizeof(v))
		v = 0;
	close(fd);
	return v;
}

/* Waits up to @ms for @pid (a child of ours) to end; its wait status, or -1. */
static inline int rchild_wait(pid_t pid, int ms)
{
	for (int waited = 0; waited <= ms; waited += 5) {
		int status;
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		if (r < 0)
			return -1;
		usleep(5000);
	}
	return -1;
}

static inline void rchild_kill(pid_t pid)
{
	if (pid > 0 && !kill(pid, SIGKILL))
		rchild_wait(pid, 5000);
}

/* Runs criu with @args (NULL-terminated, after the binary) from @tmp. */
static inline int rcriu_run(struct run_result *r, const char *tmp, const char *const *args)
{
	char criu[PATH_MAX];
	char *argv[24];
	int n = 0;

	if (test_criu_bin(criu))
		return -ENOENT;
	argv[n++] = criu;
	for (int i = 0; args[i] && n < 23; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	return test_run(r, tmp, NULL, argv, NULL);
}

/*
 * Forks a child running @child(ready_fd); returns once the child wrote one
 * byte and closed the pipe, so that it holds no pipe when it is dumped.
 */
static inline int rtest_start_child(pid_t *pid, void (*child)(int ready_fd))
{
	int ready[2];
	char b;
	bool ok;

	if (pipe2(ready, O_CLOEXEC))
		return -errno;
	*pid = fork();
	if (*pid < 0)
		return -errno;
	if (*pid == 0) {
		close(ready[0]);
		child(ready[1]);
		_exit(1);
	}
	close(ready[1]);
	ok = read(ready[0], &b, 1) == 1 && read(ready[0], &b, 1) == 0;
	close(ready[0]);
	return ok ? 0 : -EIO;
}

/*
 * criu dump with @args from @tmp; the dumped child @pid must die of it. A failed
 * dump kills the child and returns -1; what went wrong is counted in *failures.
 */
static inline int rtest_dump(const char *tmp, const char *const *args, pid_t pid, int *failures)
{
	struct run_result r;
	int status;

	if (rcriu_run(&r, tmp, args) || r.exit_code != 0) {
		fprintf(stderr, "criu dump failed: %s\n", r.err ? r.err : "");
		rchild_kill(pid);
		(*failures)++;
		return -1;
	}
	test_run_free(&r);
	status = rchild_wait(pid, 5000);
	expect(failures, status >= 0 && WIFSIGNALED(status), "the dumped child was not killed");
	return 0;
}

/* criu restore with @args from @tmp: -1 if it could not run, else 0 (a bad exit is counted). */
static inline int rtest_restore(const char *tmp, const char *const *args, int *failures)
{
	struct run_result r;

	if (rcriu_run(&r, tmp, args)) {
		(*failures)++;
		return -1;
	}
	expect(failures, r.exit_code == 0, "criu restore exited with %d: %s", r.exit_code, r.err);
	test_run_free(&r);
	return 0;
}

/* State letter of /proc/PID/stat, '?' if it can't be read. */
static inline char rchild_state(pid_t pid)
{
	char path[64], *buf, *p, st = '?';

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	buf = test_read_file(path);
	if (!buf)
		return st;
	p = strrchr(buf, ')');
	if (p && p[1] == ' ')
		st = p[2];
	free(buf);
	return st;
}

/* Prints @dir/@name (a criu log) on stderr, for a failed test. */
static inline void rtest_print_log(const char *dir, const char *name)
{
	char path[PATH_MAX], *text = NULL;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) < sizeof(path))
		text = test_read_file(path);
	fprintf(stderr, "---- %s ----\n%s\n", name, text ? text : "(none)");
	free(text);
}

#endif /* CRIU_NG_TEST_RESTORE_TEST_H */
