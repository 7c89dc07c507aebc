/*
 * Helpers for the criu dump tests (dump-*.c): a child process to dump, with
 * three threads (one keeps a known value in vector register 7) and a region of anonymous memory whose pages carry a known
 * pattern (every third page left untouched, the last ones PROT_NONE), that
 * checks its own memory on SIGUSR1 and blocks SIGUSR2 (sent to it, it stays
 * pending); running `criu dump` on it; decoding the images with crit.
 * The test is the child's parent and reaps it itself. The child holds no pipe
 * nor terminal a dump would refuse: its stdio is /dev/null and it answers
 * through a named FIFO it opens only to write an answer.
 */
#ifndef CRIU_NG_TEST_DUMP_TEST_H
#define CRIU_NG_TEST_DUMP_TEST_H

#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>

#include "criu-test.h"
#include "ngutil.h"

#define CRIT CRIT_PATH /* crit/crit of this tree (criu/Makefile) */
#define PYTHON "/usr/bin/python3"

#define DUMP_REGION_PAGES 96
#define DUMP_CHILD_THREADS 3 /* the main thread and two more */
#define DUMP_PATTERN_MAGIC 0x5eed5eed00000000ull
/* The last pages of the region are made PROT_NONE once filled: only /proc/PID/mem reads them. */
#define DUMP_PROTNONE_PAGES 12

struct dump_child {
	pid_t pid;
	int result_fd; /* the child answers 'O' (memory intact) or 'F' on it (a FIFO) */
	char fifo_dir[256];
	char fifo[300];
	uint64_t region; /* address of the pattern region in the child */
	size_t page_size;
};

static inline bool dump_page_touched(size_t idx)
{
	return idx % 3 != 2;
}

/* The contents of touched page @idx of the region. */
static inline void dump_fill_page(unsigned char *page, size_t page_size, size_t idx)
{
	uint64_t magic = DUMP_PATTERN_MAGIC | idx;

	memset(page, (int)(idx * 13 + 7) & 0xff, page_size);
	memcpy(page, &magic, sizeof(magic));
	memcpy(page + page_size - sizeof(magic), &magic, sizeof(magic));
}

static inline bool dump_region_intact(unsigned char *region, size_t page_size)
{
	unsigned char *none = region + (DUMP_REGION_PAGES - DUMP_PROTNONE_PAGES) * page_size;
	unsigned char *expect = malloc(page_size);
	bool ok = expect != NULL;

	if (mprotect(none, DUMP_PROTNONE_PAGES * page_size, PROT_READ))
		ok = false;

	for (size_t i = 0; ok && i < DUMP_REGION_PAGES; i++) {
		if (!dump_page_touched(i))
			continue;
		dump_fill_page(expect, page_size, i);
		ok = !memcmp(region + i * page_size, expect, page_size);
	}
	free(expect);
	if (mprotect(none, DUMP_PROTNONE_PAGES * page_size, PROT_NONE))
		ok = false;
	return ok;
}

/* What the FPU thread keeps in zmm7/ymm7/xmm7 (as much of it as the CPU has): byte i is 0xa0 + i. */
static inline void dump_fpu_pattern(unsigned char pattern[64])
{
	for (int i = 0; i < 64; i++)
		pattern[i] = (unsigned char)(0xa0 + i);
}

/* How many bytes of the pattern the FPU thread holds: 64 (AVX-512), 32 (AVX) or 16 (SSE). */
static inline int dump_fpu_width(void)
{
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f"))
		return 64;
	return __builtin_cpu_supports("avx") ? 32 : 16;
}

/* Loads the pattern into vector register 7, then sleeps in pause(2) forever without touching it. */
static inline void *dump_child_fpu_thread(void *arg)
{
	unsigned char pattern[64];
	int width = dump_fpu_width();

	(void)arg;
	dump_fpu_pattern(pattern);
	if (width == 64)
		__asm__ volatile("vmovdqu64 (%0), %%zmm7" : : "r"(pattern) : "xmm7", "memory");
	else if (width == 32)
		__asm__ volatile("vmovdqu (%0), %%ymm7" : : "r"(pattern) : "xmm7", "memory");
	else
		__asm__ volatile("movdqu (%0), %%xmm7" : : "r"(pattern) : "xmm7", "memory");
	for (;;)
		__asm__ volatile("syscall" : : "a"(SYS_pause) : "rcx", "r11", "memory");
	return NULL;
}

static inline void *dump_child_thread(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

/*
 * Points stdin, stdout and stderr of a test child at /dev/null and closes every
 * other fd it inherited but @keep_fd, so that a dump doesn't meet a pipe or a tty;
 * puts it in a session of its own, as a daemon (a dump refuses a process in the
 * test's session without --shell-job).
 */
static inline void dump_child_quiet_stdio(int keep_fd)
{
	int fd = open("/dev/null", O_RDWR);

	if (setsid() < 0)
		_exit(2);

	if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		_exit(2);
	if (keep_fd > 3 && close_range(3, (unsigned int)keep_fd - 1, 0))
		_exit(2);
	if (close_range(keep_fd >= 3 ? (unsigned int)keep_fd + 1 : 3, ~0u, 0))
		_exit(2);
}

/* Writes @answer to the FIFO @fifo, opened just for that. */
static inline int dump_child_answer(const char *fifo, char answer)
{
	int fd = open(fifo, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, &answer, 1);
	close(fd);
	return n == 1 ? 0 : -1;
}

static inline void __attribute__((noreturn)) dump_child_main(int ready_fd, const char *fifo, bool grandchild)
{
	size_t ps = (size_t)sysconf(_SC_PAGESIZE);
	unsigned char *region;
	sigset_t set;
	uint64_t addr;

	dump_child_quiet_stdio(ready_fd);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2); /* stays pending when the test sends it */
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		_exit(2);
	sigdelset(&set, SIGUSR2);
	region = mmap(NULL, DUMP_REGION_PAGES * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED)
		_exit(2);
	for (size_t i = 0; i < DUMP_REGION_PAGES; i++)
		if (dump_page_touched(i))
			dump_fill_page(region + i * ps, ps, i);
	if (mprotect(region + (DUMP_REGION_PAGES - DUMP_PROTNONE_PAGES) * ps, DUMP_PROTNONE_PAGES * ps, PROT_NONE))
		_exit(2);
	if (grandchild) {
		pid_t pid = fork();

		if (pid < 0)
			_exit(2);
		if (pid == 0) {
			close(ready_fd); /* the test waits for the end of file on it */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			for (;;)
				pause();
		}
	}
	for (int i = 1; i < DUMP_CHILD_THREADS; i++) {
		pthread_t th;

		if (pthread_create(&th, NULL, i == 1 ? dump_child_fpu_thread : dump_child_thread, NULL))
			_exit(2);
	}
	addr = (uint64_t)(uintptr_t)region;
	if (write(ready_fd, &addr, sizeof(addr)) != sizeof(addr))
		_exit(2);
	close(ready_fd);
	for (;;) {
		char answer;

		if (sigwaitinfo(&set, NULL) < 0)
			continue;
		answer = dump_region_intact(region, ps) ? 'O' : 'F';
		if (dump_child_answer(fifo, answer))
			_exit(2);
	}
}

/* Starts the child and waits until its memory and threads are ready. */
static inline int dump_child_start(struct dump_child *c, bool grandchild)
{
	int ready[2], ret;
	ssize_t n;
	char eof;

	ret = test_mkdtemp(c->fifo_dir, sizeof(c->fifo_dir), "child");
	if (ret)
		return ret;
	snprintf(c->fifo, sizeof(c->fifo), "%s/answer", c->fifo_dir);
	/* Read-write: the child's open never blocks, and its closes never make us see an end of file. */
	if (mkfifo(c->fifo, 0600) || (c->result_fd = open(c->fifo, O_RDWR | O_CLOEXEC)) < 0)
		return -errno;
	if (pipe2(ready, O_CLOEXEC))
		return -errno;
	c->page_size = (size_t)sysconf(_SC_PAGESIZE);
	c->pid = fork();
	if (c->pid < 0)
		return -errno;
	if (c->pid == 0) {
		close(ready[0]);
		close(c->result_fd);
		dump_child_main(ready[1], c->fifo, grandchild);
	}
	close(ready[1]);
	n = read(ready[0], &c->region, sizeof(c->region));
	/* Then the end of file: the child closed its end, which a dump would refuse as a pipe. */
	if (n == sizeof(c->region) && read(ready[0], &eof, 1) != 0)
		n = -1;
	close(ready[0]);
	return n == sizeof(c->region) ? 0 : -EIO;
}

/* Asks the child to check its memory: 0 if intact, -EIO if not, -ETIMEDOUT if it doesn't answer. */
static inline int dump_child_check_memory(struct dump_child *c)
{
	struct pollfd pfd = { .fd = c->result_fd, .events = POLLIN };
	char answer;

	if (kill(c->pid, SIGUSR1))
		return -errno;
	if (poll(&pfd, 1, 5000) != 1)
		return -ETIMEDOUT;
	if (read(c->result_fd, &answer, 1) != 1)
		return -EIO;
	return answer == 'O' ? 0 : -EIO;
}

/* State letter of /proc/PID/task/TID/stat; '?' when it can't be read. */
static inline char dump_thread_state(pid_t pid, pid_t tid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return '?';
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return '?';
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

/*
 * True when the child runs on untraced with all its threads, none of them in a
 * stop. Fills @tids (at least DUMP_CHILD_THREADS + 1 slots) with its threads.
 */
static inline bool dump_child_running(const struct dump_child *c, pid_t *tids, size_t *nr)
{
	char path[64], *status, *tracer;
	struct dirent *de;
	bool ok = true;
	DIR *dir;

	*nr = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", c->pid);
	status = test_read_file(path);
	if (!status)
		return false;
	tracer = strstr(status, "TracerPid:");
	if (!tracer || atoi(tracer + 10) != 0) {
		fprintf(stderr, "child %d is still traced\n", c->pid);
		ok = false;
	}
	free(status);
	snprintf(path, sizeof(path), "/proc/%d/task", c->pid);
	dir = opendir(path);
	if (!dir)
		return false;
	while ((de = readdir(dir))) {
		pid_t tid = atoi(de->d_name);
		char st;

		if (tid <= 0)
			continue;
		st = dump_thread_state(c->pid, tid);
		if (st != 'S' && st != 'R') {
			fprintf(stderr, "thread %d of child %d is in state %c\n", tid, c->pid, st);
			ok = false;
		}
		if (*nr <= DUMP_CHILD_THREADS)
			tids[(*nr)++] = tid;
	}
	closedir(dir);
	return ok && *nr == DUMP_CHILD_THREADS;
}

/* Waits up to @ms for the child to end; returns its wait status, or -1 if it didn't. */
static inline int dump_child_wait(struct dump_child *c, int ms)
{
	for (int waited = 0; waited <= ms; waited += 10) {
		int status;
		pid_t r = waitpid(c->pid, &status, WNOHANG);

		if (r == c->pid) {
			c->pid = 0;
			return status;
		}
		if (r < 0)
			return -1;
		usleep(10000);
	}
	return -1;
}

static inline void dump_child_stop(struct dump_child *c)
{
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
		c->pid = 0;
	}
	if (c->result_fd > 0)
		close(c->result_fd);
	c->result_fd = -1;
	if (c->fifo[0]) {
		unlink(c->fifo);
		rmdir(c->fifo_dir);
		c->fifo[0] = '\0';
	}
}

static inline void dump_sleep_us(long us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = us % 1000000 * 1000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static inline int64_t dump_now_us(void)
{
	return (int64_t)ng_now_us();
}

/* The pid of a child of ours other than the @nr_keep of @keep, 0 if there is none. */
static inline pid_t dump_other_child(const pid_t *keep, size_t nr_keep)
{
	pid_t self = getpid(), found = 0;
	struct dirent *de;
	DIR *dir = opendir("/proc");

	if (!dir)
		return -1;
	while (!found && (de = readdir(dir))) {
		pid_t pid = atoi(de->d_name), ppid;
		char path[64], buf[512], *p;
		bool kept = false;
		ssize_t n;
		int fd;

		for (size_t i = 0; i < nr_keep; i++)
			kept = kept || keep[i] == pid;
		if (pid <= 0 || kept)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		p = strrchr(buf, ')');
		if (p && sscanf(p + 1, " %*c %d", &ppid) == 1 && ppid == self)
			found = pid;
	}
	closedir(dir);
	return found;
}

/*
 * Waits up to @wait_ms for whatever criu left behind (the test is a child
 * subreaper: it is ours) to end: any child but the @nr_keep of @keep; one that
 * doesn't end is killed. Returns how many processes there were, -1 if one did
 * not end in time.
 */
static inline int dump_reap_leftovers(const pid_t *keep, size_t nr_keep, int wait_ms)
{
	int64_t deadline = dump_now_us() + wait_ms * 1000L;
	int nr = 0;
	pid_t pid;

	while ((pid = dump_other_child(keep, nr_keep)) > 0) {
		int status;

		while (waitpid(pid, &status, WNOHANG) == 0) {
			if (dump_now_us() > deadline) {
				fprintf(stderr, "process %d that criu left did not end within %d ms\n", pid, wait_ms);
				kill(pid, SIGKILL);
				waitpid(pid, NULL, 0);
				return -1;
			}
			dump_sleep_us(200);
		}
		nr++;
	}
	return nr;
}

/* Waits until @path holds @marker; false after @wait_ms. */
static inline bool dump_wait_marker(const char *path, const char *marker, int wait_ms)
{
	int64_t deadline = dump_now_us() + wait_ms * 1000L;

	while (dump_now_us() < deadline) {
		char *text = test_read_file(path);
		bool found = text && strstr(text, marker);

		free(text);
		if (found)
			return true;
		dump_sleep_us(50);
	}
	return false;
}

/* Prints the timestamp of the first log line holding each of @markers. */
static inline void dump_show_timeline(const char *text, const char *const *markers, size_t nr)
{
	for (size_t i = 0; text && i < nr; i++) {
		const char *p = strstr(text, markers[i]), *line = p;

		while (line && line > text && line[-1] != '\n')
			line--;
		if (line && line[0] == '(')
			fprintf(stderr, "  %.*s %s\n", (int)(strchr(line, ')') - line + 1), line, markers[i]);
	}
}

/*
 * Starts criu with @args (NULL-terminated, after the binary) in a process group
 * of its own, its output in @tmp/criu.out; its pid, or -1.
 */
static inline pid_t criu_start(const char *tmp, const char *const *args)
{
	char criu[PATH_MAX], out[PATH_MAX];
	char *argv[24] = { criu };
	int n = 1;
	pid_t c;

	if (test_criu_bin(criu))
		return -1;
	snprintf(out, sizeof(out), "%s/criu.out", tmp);
	for (int i = 0; args[i] && n < 23; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	c = fork();
	if (c == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (setpgid(0, 0) || fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		execv(criu, argv);
		_exit(127);
	}
	if (c > 0)
		setpgid(c, c); /* also here: the group must exist when we kill it */
	return c;
}

/* Starts `criu dump -t PID -D DIR -o dump.log -v4 [extra...]` (@extra NULL-terminated, or NULL) with criu_start(). */
static inline pid_t dump_start_criu(const char *tmp, const char *dir, pid_t pid, const char *const *extra)
{
	char pidstr[32];
	const char *args[24] = { "dump", "-t", pidstr, "-D", dir, "-o", "dump.log", "-v4" };
	int n = 8;

	snprintf(pidstr, sizeof(pidstr), "%d", pid);
	for (int i = 0; extra && extra[i] && n < 23; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	return criu_start(tmp, args);
}

/*
 * Runs `criu dump -t PID -D DIR -o LOG -v4 [EXTRA...]` from @tmp (its scratch files land there);
 * @extra is NULL-terminated, at most 8 options.
 */
static inline int dump_run_criu_args(struct run_result *r, const char *tmp, pid_t pid, const char *dir, const char *log,
				     const char *const *extra)
{
	char criu[PATH_MAX], pidstr[32];
	char *argv[20];
	int n = 0;

	if (test_criu_bin(criu))
		return -ENOENT;
	snprintf(pidstr, sizeof(pidstr), "%d", pid);
	argv[n++] = criu;
	argv[n++] = "dump";
	argv[n++] = "-t";
	argv[n++] = pidstr;
	argv[n++] = (char *)"-D";
	argv[n++] = (char *)dir;
	argv[n++] = "-o";
	argv[n++] = (char *)log;
	argv[n++] = "-v4";
	for (int i = 0; extra && extra[i] && i < 8; i++)
		argv[n++] = (char *)extra[i];
	argv[n] = NULL;
	return test_run(r, tmp, NULL, argv, NULL);
}

/* The same with one option or none. */
static inline int dump_run_criu(struct run_result *r, const char *tmp, pid_t pid, const char *dir, const char *log,
				const char *extra)
{
	const char *const extras[] = { extra, NULL };

	return dump_run_criu_args(r, tmp, pid, dir, log, extras);
}

/* The process sleeps on (state S), traced by nobody. */
static inline bool dump_runs_untraced(pid_t pid)
{
	return test_untraced(pid) && dump_thread_state(pid, pid) == 'S';
}

/*
 * Runs `criu dump --leave-running [OPT]` of @pid into @tmp/@what, which must exit @want_exit with
 * @msg (when not NULL) in its log; counts what is not so in *@failures.
 */
static inline void dump_expect_exit_code(int *failures, const char *tmp, pid_t pid, const char *what, const char *opt,
					 int want_exit, const char *msg)
{
	const char *extra[] = { "--leave-running", opt, NULL };
	char dir[512], log[PATH_MAX], *text;
	struct run_result r;
	int ret;

	snprintf(dir, sizeof(dir), "%s/%s", tmp, what);
	if (mkdir(dir, 0700)) {
		expect(failures, 0, "%s: mkdir", what);
		return;
	}
	ret = dump_run_criu_args(&r, tmp, pid, dir, "dump.log", extra);
	expect(failures, !ret && r.exit_code == want_exit, "%s: criu dump: %s, exit %d (not %d)", what, strerror(-ret),
	       ret ? -1 : r.exit_code, want_exit);
	if (!ret)
		test_run_free(&r);
	snprintf(log, sizeof(log), "%s/dump.log", dir);
	text = test_read_file(log);
	expect(failures, text && (!msg || strstr(text, msg)), "%s: the log lacks '%s': %s", what, msg,
	       text ?: "(no log)");
	free(text);
}

/* dump_expect_exit_code(), and then @pid must be sleeping on untraced. */
static inline void dump_expect_exit(int *failures, const char *tmp, pid_t pid, const char *what, const char *opt,
				    int want_exit, const char *msg)
{
	dump_expect_exit_code(failures, tmp, pid, what, opt, want_exit, msg);
	usleep(20000);
	expect(failures, dump_runs_untraced(pid), "%s: the child doesn't run on untraced", what);
}

static inline bool dump_crit_usable(void)
{
	return !access(CRIT, R_OK) && !access(PYTHON, X_OK);
}

#endif /* CRIU_NG_TEST_DUMP_TEST_H */
