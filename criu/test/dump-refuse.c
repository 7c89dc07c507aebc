/*
 * What criu dump does not record yet it refuses clearly, and the process runs
 * on untraced: a process in a UTS namespace of its own (the images hold no
 * namespaces); a process in the test's session and process group, unless
 * --shell-job says it is a shell job (then it dumps); a process whose main
 * thread exited while another thread runs on (CRIU's pthread02); a process
 * blocked in vfork() (CRIU's vfork00) with --leave-running, which can't end that vfork()
 * (without it the dump ends it last: zdtm vfork_ng00), refused at once, not at the freeze's
 * timeout. And auxv, which the kernel
 * shows longer (AT_NULL included) than the 44 words CRIU's images hold, is cut
 * to those 44 words as CRIU's dump does, checked with crit. An inotify watch on
 * an unlinked file that only a process outside the dump holds open: no ghost of
 * it is made, so it could not be watched again. A mapping of a file on a
 * mounted hugetlbfs (anonymous hugetlb memory and hugetlb memfds are dumped),
 * and an area with guard regions (MADV_GUARD_INSTALL).
 */
#include <sched.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/vfs.h>

#include "dump-test.h"

enum child_kind {
	CHILD_OWN_SESSION,
	CHILD_OUR_SESSION,
	CHILD_OWN_UTS_NS,
	CHILD_DEAD_LEADER,
	CHILD_UNLINKED_WATCH,
	CHILD_VFORK,
	CHILD_HUGETLBFS_FILE,
	CHILD_GUARD_REGION,
};

#define MADV_GUARD_INSTALL_NG 102 /* Linux 6.13 */

/*
 * A mapping whose middle page is a guard region, kept (@keep, in the child) or
 * unmapped (a probe: the test's later children must not inherit it); 0, or
 * -errno if the kernel has no guard regions.
 */
static int guard_region(bool keep)
{
	long page = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, 3 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int ret = 0;

	if (p == MAP_FAILED)
		return -errno;
	p[0] = 1;
	if (madvise(p + page, (size_t)page, MADV_GUARD_INSTALL_NG))
		ret = -errno;
	if (ret || !keep)
		munmap(p, 3 * (size_t)page);
	return ret;
}

static void *pause_forever(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static const char auxv_py[] = "import json, sys\n"
			      "print(' '.join(str(w) for w in json.load(sys.stdin)['entries'][0]['mm_saved_auxv']))\n";

/* The file the test holds open for CHILD_UNLINKED_WATCH, named after the test's pid. */
static void watched_path(char *path, size_t size, pid_t test_pid)
{
	snprintf(path, size, "/tmp/criu-ng-dump-refuse-watch.%d", (int)test_pid);
}

/* An inotify instance on fd 0 (the fds above 2 are closed) watching the test's file, unlinked. */
static int watch_unlinked(void)
{
	char path[64];
	int ifd = inotify_init1(0);

	watched_path(path, sizeof(path), getppid());
	if (ifd < 0 || inotify_add_watch(ifd, path, IN_MODIFY) < 0 || unlink(path) || dup2(ifd, 0) < 0)
		return -1;
	return 0;
}

/* The hugetlbfs the test mounts for CHILD_HUGETLBFS_FILE, named after the test's pid. */
static void hugetlbfs_dir(char *path, size_t size, pid_t test_pid)
{
	snprintf(path, size, "/tmp/criu-ng-dump-refuse-huge.%d", (int)test_pid);
}

/* Maps one huge page of a file of the test's hugetlbfs, written, its fd closed. */
static int map_hugetlbfs_file(void)
{
	char path[96];
	struct statfs sfs;
	char *p;
	int fd;

	hugetlbfs_dir(path, sizeof(path) - 8, getppid());
	strcat(path, "/file");
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || fstatfs(fd, &sfs))
		return -1;
	p = mmap(NULL, (size_t)sfs.f_bsize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -1;
	p[0] = 1;
	return 0;
}

static pid_t start_child(enum child_kind kind)
{
	int ready[2];
	pid_t pid;
	char c;

	if (pipe2(ready, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);

		if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(2);
		if (kind != CHILD_OUR_SESSION && setsid() < 0)
			_exit(2);
		if (kind == CHILD_OWN_UTS_NS && unshare(CLONE_NEWUTS))
			_exit(2);
		if (kind == CHILD_UNLINKED_WATCH && watch_unlinked())
			_exit(2);
		if (kind == CHILD_HUGETLBFS_FILE && map_hugetlbfs_file())
			_exit(2);
		if (kind == CHILD_GUARD_REGION && guard_region(true))
			_exit(2);
		if (write(ready[1], "R", 1) != 1)
			_exit(2);
		if (close_range(3, ~0u, 0))
			_exit(2);
		if (kind == CHILD_DEAD_LEADER) {
			pthread_t th;

			if (pthread_create(&th, NULL, pause_forever, NULL))
				_exit(2);
			syscall(SYS_exit, 0); /* this thread only: the process lives on in the other */
		}
		/* Its child never execs nor exits: it waits in vfork() (uninterruptibly) for good. */
		if (kind == CHILD_VFORK && vfork() == 0)
			for (;;)
				syscall(SYS_pause);
		for (;;)
			pause();
	}
	close(ready[1]);
	/* Ready, then the end of file once the child closed its end. */
	if (pid > 0 && (read(ready[0], &c, 1) != 1 || read(ready[0], &c, 1) != 0)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(ready[0]);
	return pid;
}

static void stop_child(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Runs a dump of a child of @kind that must be refused with @msg in its log. */
static void check_refused(int *failures, const char *tmp, enum child_kind kind, const char *what, const char *msg)
{
	pid_t pid = start_child(kind);

	if (pid < 0) {
		expect(failures, 0, "%s: can't set up", what);
		return;
	}
	dump_expect_exit(failures, tmp, pid, what, NULL, 1, msg);
	stop_child(pid);
}

/* The main thread exited, the other runs on: refused, and the thread keeps running untraced. */
static void check_dead_leader(int *failures, const char *tmp)
{
	pid_t pid = start_child(CHILD_DEAD_LEADER);
	char dir[320];
	pid_t tid = 0;
	DIR *d;

	for (int i = 0; pid > 0 && i < 500 && dump_thread_state(pid, pid) != 'Z'; i++)
		usleep(10000);
	if (pid < 0 || dump_thread_state(pid, pid) != 'Z') {
		expect(failures, 0, "dead-leader: can't set up");
		if (pid > 0)
			stop_child(pid);
		return;
	}
	dump_expect_exit_code(failures, tmp, pid, "dead-leader", NULL, 1, "has exited while its other threads run on");
	usleep(20000);
	snprintf(dir, sizeof(dir), "/proc/%d/task", pid);
	d = opendir(dir);
	for (struct dirent *de; d && (de = readdir(d));)
		if (atoi(de->d_name) > 0 && atoi(de->d_name) != pid)
			tid = atoi(de->d_name);
	if (d)
		closedir(d);
	expect(failures, tid > 0 && dump_thread_state(pid, tid) == 'S' && test_untraced(tid),
	       "dead-leader: the live thread %d is in state %c, or traced", tid,
	       tid > 0 ? dump_thread_state(pid, tid) : '?');
	stop_child(pid);
}

/*
 * A process blocked in vfork() is refused within a second (not at the 10 s freeze timeout), naming
 * the thread and its child, and left untraced; its child (in its session, group @pid) is ended too.
 */
static void check_vfork(int *failures, const char *tmp)
{
	pid_t pid = start_child(CHILD_VFORK);
	struct timespec t0, t1;
	long ms;

	for (int i = 0; pid > 0 && i < 500 && dump_thread_state(pid, pid) != 'D'; i++)
		usleep(10000);
	if (pid < 0 || dump_thread_state(pid, pid) != 'D') {
		expect(failures, 0, "vfork: can't set up");
		if (pid > 0)
			kill(-pid, SIGKILL);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	dump_expect_exit_code(failures, tmp, pid, "vfork", NULL, 1, "is blocked in vfork() until its child");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	expect(failures, ms < 5000, "vfork: the refusal took %ld ms", ms);
	expect(failures, test_untraced(pid) && dump_thread_state(pid, pid) == 'D',
	       "vfork: the process is traced, or no longer waits in vfork() (state %c)", dump_thread_state(pid, pid));
	kill(-pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* The words of /proc/@pid/auxv into @w (at most @max); how many. */
static size_t proc_auxv(pid_t pid, uint64_t *w, size_t max)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/auxv", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, w, max * sizeof(*w));
	close(fd);
	return n > 0 ? (size_t)n / sizeof(*w) : 0;
}

static void check_auxv(int *failures, const char *tmp, const char *dir, pid_t pid)
{
	char script[PATH_MAX], cmd[PATH_MAX * 3];
	uint64_t kernel[128], dumped[128];
	size_t nk, nd = 0;
	FILE *p;

	nk = proc_auxv(pid, kernel, 128);
	snprintf(script, sizeof(script), "%s/auxv.py", tmp);
	if (test_write_file(script, auxv_py, strlen(auxv_py))) {
		expect(failures, 0, "can't write %s", script);
		return;
	}
	snprintf(cmd, sizeof(cmd), "%s %s decode -i %s/mm-%d.img | %s %s", PYTHON, CRIT, dir, pid, PYTHON, script);
	p = popen(cmd, "r");
	if (!p) {
		expect(failures, 0, "can't run crit");
		return;
	}
	while (nd < 128 && fscanf(p, "%lu", &dumped[nd]) == 1)
		nd++;
	pclose(p);
	fprintf(stderr, "auxv: %zu words in /proc, %zu in the image\n", nk, nd);
	expect(failures, nd > 0 && nd <= 44, "%zu auxv words in the image, not 1 to 44", nd);
	expect(failures, nd == (nk < 44 ? nk : 44), "%zu auxv words in the image for %zu in /proc", nd, nk);
	expect(failures, nd <= nk && !memcmp(dumped, kernel, nd * sizeof(*dumped)), "the image's auxv differs");
}

static void check_shell_job(int *failures, const char *tmp)
{
	char dir[512], criu[PATH_MAX], pidstr[32];
	char *argv[] = { criu,		"dump", "-t", pidstr, "-D", dir, "-o", "dump.log", "-v4", "--leave-running",
			 "--shell-job", NULL };
	struct run_result r;
	pid_t pid;
	int ret;

	snprintf(dir, sizeof(dir), "%s/shell-job", tmp);
	if (mkdir(dir, 0700) || (pid = start_child(CHILD_OUR_SESSION)) < 0) {
		expect(failures, 0, "shell job: can't set up");
		return;
	}
	snprintf(pidstr, sizeof(pidstr), "%d", pid);
	ret = test_criu_bin(criu) ? -ENOENT : test_run(&r, tmp, NULL, argv, NULL);
	expect(failures, !ret && r.exit_code == 0, "--shell-job: criu dump: %s, exit %d", strerror(-ret),
	       ret ? -1 : r.exit_code);
	if (!ret)
		test_run_free(&r);
	usleep(20000);
	expect(failures, dump_runs_untraced(pid), "--shell-job: the child doesn't run on untraced");
	check_auxv(failures, tmp, dir, pid);
	stop_child(pid);
}

/* The test holds the file open (and out of the dump): the child's watch on it, unlinked, is refused. */
static void check_unlinked_watch(int *failures, const char *tmp)
{
	char path[64];
	int fd;

	watched_path(path, sizeof(path), getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		expect(failures, 0, "unlinked-watch: can't create %s", path);
		return;
	}
	check_refused(failures, tmp, CHILD_UNLINKED_WATCH, "unlinked-watch", "which no dumped fd or mapping holds");
	unlink(path);
	close(fd);
}

/* HugePages_Free of /proc/meminfo, or -1. */
static long free_hugepages(void)
{
	char line[128];
	long n = -1;
	FILE *f = fopen("/proc/meminfo", "re");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "HugePages_Free: %ld", &n) == 1)
			break;
	if (f)
		fclose(f);
	return n;
}

/* A file of a mounted hugetlbfs mapped: refused. Left out, saying so, without a free huge page. */
static void check_hugetlbfs_file(int *failures, const char *tmp)
{
	char dir[64], file[80];
	int fd;

	hugetlbfs_dir(dir, sizeof(dir), getpid());
	snprintf(file, sizeof(file), "%s/file", dir);
	if (mkdir(dir, 0700) || mount("none", dir, "hugetlbfs", 0, NULL)) {
		expect(failures, 0, "hugetlbfs: can't mount one on %s: %s", dir, strerror(errno));
		rmdir(dir);
		return;
	}
	fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		expect(failures, 0, "hugetlbfs: can't create %s", file);
	} else {
		close(fd);
		if (free_hugepages() < 1)
			fprintf(stderr, "dump-refuse: hugetlbfs case left out: no free huge page (vm.nr_hugepages)\n");
		else
			check_refused(failures, tmp, CHILD_HUGETLBFS_FILE, "hugetlbfs", "is a hugetlbfs file mapping");
		unlink(file);
	}
	if (umount2(dir, MNT_DETACH))
		expect(failures, 0, "hugetlbfs: can't unmount %s", dir);
	rmdir(dir);
}

int main(void)
{
	int failures = 0;
	char tmp[256];

	if (!dump_crit_usable()) {
		fprintf(stderr, "SKIP: crit (crit/crit) is not usable\n");
		return TEST_SKIP;
	}
	if (test_mkdtemp(tmp, sizeof(tmp), "dump-refuse")) {
		perror("mkdtemp");
		return TEST_FAIL;
	}
	check_refused(&failures, tmp, CHILD_OWN_UTS_NS, "uts-ns", "is in a uts namespace of its own");
	check_refused(&failures, tmp, CHILD_OUR_SESSION, "session", "dump it with --shell-job (-j)");
	check_dead_leader(&failures, tmp);
	check_vfork(&failures, tmp);
	check_unlinked_watch(&failures, tmp);
	check_hugetlbfs_file(&failures, tmp);
	if (guard_region(false) == -EINVAL)
		fprintf(stderr, "dump-refuse: guard region case left out: no MADV_GUARD_INSTALL (Linux 6.13)\n");
	else
		check_refused(&failures, tmp, CHILD_GUARD_REGION, "guard-region", "with guard regions");
	check_shell_job(&failures, tmp);
	if (!failures)
		test_rm_rf(tmp);
	else
		fprintf(stderr, "images kept in %s\n", tmp);
	fprintf(stderr, "dump-refuse: %s\n", failures ? "FAILED" : "all passed");
	return failures ? TEST_FAIL : TEST_PASS;
}
