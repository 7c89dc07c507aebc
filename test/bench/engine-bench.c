/*
 * engine-bench.c: wall time of `criu dump` and `criu restore` for a process with 1, 64 and
 * 1024 MiB of touched memory and 1, 16 and 64 threads, and the time the process stayed frozen
 * during the dump (stats-dump's frozen_time). Each restore is verified: the restored process
 * checks its whole memory pattern and exits 0. Images go to a tmpfs (/dev/shm).
 *
 * In the same run, the floor each size is compared with: writing the same bytes to a file on
 * the same tmpfs and reading them back (what moving the pages through an image costs at least).
 *
 * `engine-bench MIB...` runs only the given sizes (CRIU_BIN names another criu binary, for an
 * A/B comparison in one run).
 *
 * Output, one line per configuration (median of the repetitions); threads_ms is the restore's
 * "threads restore time" (--display-stats: threads, signals, timers, registers):
 *   engine-bench mem_mib=M threads=T dump_ms=X restore_ms=X frozen_ms=X threads_ms=X
 *   engine-bench-floor mem_mib=M write_ms=X read_ms=X
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "criu-run.h"
#include "testutil.h"

#define REPS 3
#define MIB (1024UL * 1024)

struct run {
	char dir[PATH_MAX];
	char criu[PATH_MAX];
	double dump_ms, restore_ms, frozen_ms, threads_ms;
};

static unsigned char pattern_byte(size_t off)
{
	return (unsigned char)(off * 31 + (off >> 12) * 7 + 0x5a);
}

static void *idle_thread(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

/* The benchmarked process: memory with a pattern, threads, then wait for SIGUSR1 and check. */
static __attribute__((noreturn)) void child_main(size_t mib, unsigned int threads, int ready_fd)
{
	size_t len = mib * MIB;
	unsigned char *mem;
	sigset_t set;
	int sig, null_fd;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL) || setsid() < 0)
		_exit(2);
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		_exit(2);
	for (size_t off = 0; off < len; off++)
		mem[off] = pattern_byte(off);
	for (unsigned int i = 1; i < threads; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, idle_thread, NULL))
			_exit(2);
	}
	null_fd = open("/dev/null", O_RDWR);
	if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0 || dup2(null_fd, 2) < 0)
		_exit(2);
	close(null_fd);
	/* the dump refuses pipes: close everything inherited, ready_fd too (the parent sees EOF) */
	if (ready_fd < 3 || syscall(SYS_close_range, 3, ~0U, 0))
		_exit(2);
	if (sigwait(&set, &sig))
		_exit(2);
	for (size_t off = 0; off < len; off++)
		if (mem[off] != pattern_byte(off))
			_exit(1);
	_exit(0);
}

static int start_child(size_t mib, unsigned int threads, pid_t *pidp)
{
	int p[2];
	char c;
	pid_t pid;

	if (pipe(p))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		close(p[0]);
		child_main(mib, threads, p[1]);
	}
	close(p[1]);
	/* end of file: the child closed its end once its memory and threads were ready */
	if (read(p[0], &c, 1) != 0) {
		close(p[0]);
		return -EIO;
	}
	close(p[0]);
	*pidp = pid;
	return 0;
}

/* One dump and restore, verified; the restored process is our child (we are its subreaper). */
static int bench_once(struct run *r, size_t mib, unsigned int threads)
{
	char pid_s[16], pidfile[PATH_MAX + 16], out[PATH_MAX + 16];
	pid_t pid = -1, restored;
	int status, ret;
	FILE *f;

	ret = start_child(mib, threads, &pid);
	if (ret)
		return ret;
	snprintf(pid_s, sizeof(pid_s), "%d", pid);
	snprintf(pidfile, sizeof(pidfile), "%s/restored.pid", r->dir);
	{
		char *dump[] = { r->criu, "dump", "-t", pid_s, "-D", r->dir, "-o", "dump.log", NULL };

		struct criu_cmd cmd = { 0 };

		ret = criu_exec(dump, &cmd);
		r->dump_ms = cmd.wall_ms;
	}
	if (ret)
		kill(pid, SIGKILL);
	if (waitpid(pid, &status, 0) < 0 || ret) {
		test_msg("mem_mib=%zu threads=%u: dump failed (see %s/dump.log)", mib, threads, r->dir);
		return ret ? ret : -errno;
	}
	r->frozen_ms = criu_frozen_ms(NULL, r->dir);
	{
		char *restore[] = { r->criu,	   "restore",	      "-D", r->dir, "-d", "--pidfile", pidfile, "-o",
				    "restore.log", "--display-stats", NULL };

		struct criu_cmd cmd = { .out = out };

		snprintf(out, sizeof(out), "%s/restore.out", r->dir);
		ret = criu_exec(restore, &cmd);
		r->restore_ms = cmd.wall_ms;
		r->threads_ms = criu_stat_ms(out, "threads restore time");
	}
	f = ret ? NULL : fopen(pidfile, "r");
	if (!f || fscanf(f, "%d", &restored) != 1 || restored != pid) {
		test_msg("mem_mib=%zu threads=%u: restore failed (see %s/restore.log)", mib, threads, r->dir);
		if (f)
			fclose(f);
		return -ECHILD;
	}
	fclose(f);
	if (kill(restored, SIGUSR1) || waitpid(restored, &status, 0) < 0)
		return -errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		test_msg("mem_mib=%zu threads=%u: the restored process found its memory changed", mib, threads);
		return -EIO;
	}
	return 0;
}

static int bench_config(struct run *r, size_t mib, unsigned int threads)
{
	double dump[REPS], restore[REPS], frozen[REPS], thr[REPS];

	for (int k = 0; k < REPS; k++) {
		int ret;

		if (!mkdtemp(strcpy(r->dir, "/dev/shm/engine-bench-XXXXXX")))
			return -errno;
		ret = bench_once(r, mib, threads);
		if (ret)
			return ret; /* the images and logs stay for a look */
		if (rm_tree(r->dir))
			test_msg("could not remove %s", r->dir);
		dump[k] = r->dump_ms;
		restore[k] = r->restore_ms;
		frozen[k] = r->frozen_ms;
		thr[k] = r->threads_ms;
	}
	printf("engine-bench mem_mib=%zu threads=%u dump_ms=%.1f restore_ms=%.1f frozen_ms=%.1f threads_ms=%.1f\n", mib,
	       threads, test_median(dump, REPS), test_median(restore, REPS), test_median(frozen, REPS),
	       test_median(thr, REPS));
	fflush(stdout);
	return 0;
}

static int bench_floor(size_t mib)
{
	double w[REPS], rd[REPS];
	char dir[] = "/dev/shm/engine-bench-XXXXXX";

	if (!mkdtemp(dir))
		return -errno;
	for (int k = 0; k < REPS; k++) {
		int ret = floor_file_io(dir, mib * MIB, &w[k], &rd[k]);

		if (ret) {
			rmdir(dir);
			return ret;
		}
	}
	rmdir(dir);
	printf("engine-bench-floor mem_mib=%zu write_ms=%.1f read_ms=%.1f\n", mib, test_median(w, REPS),
	       test_median(rd, REPS));
	fflush(stdout);
	return 0;
}

/* No arguments: every size; else only the sizes (MiB) given. */
static int size_wanted(int argc, char **argv, size_t mib)
{
	if (argc < 2)
		return 1;
	for (int i = 1; i < argc; i++)
		if (strtoul(argv[i], NULL, 10) == mib)
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 1, 64, 1024 };
	static const unsigned int nthreads[] = { 1, 16, 64 };
	struct run r = { 0 };
	int ret = 0;

	test_init("engine-bench");
	ret = criu_bin_path(r.criu, sizeof(r.criu));
	if (ret)
		return test_fail("the criu binary of this tree: %s", strerror(-ret));
	/* restored processes are reparented to us when criu exits: we reap them */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1))
		return test_fail("PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]) && !ret; i++) {
		if (!size_wanted(argc, argv, sizes[i]))
			continue;
		ret = bench_floor(sizes[i]);
		for (size_t j = 0; j < sizeof(nthreads) / sizeof(nthreads[0]) && !ret; j++)
			ret = bench_config(&r, sizes[i], nthreads[j]);
	}
	if (ret)
		return test_fail("%s", strerror(-ret));
	return TEST_PASS;
}
