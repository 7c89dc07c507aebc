/*
 * criu dump of threads stopped inside syscalls records the registers the way
 * CRIU does, never the kernel's internal restart codes: a thread in pause(2)
 * (-ERESTARTNOHAND) gets rax back to the syscall number and rip back on the
 * syscall instruction, one in clock_nanosleep(2) (-ERESTART_RESTARTBLOCK) gets
 * -EINTR in rax. Checked with crit; the two bytes at the recorded rip
 * are read from the child's memory.
 */
#include "dump-test.h"

/* Lines: "regs TID AX ORIG_AX IP" for every core image. */
static const char regs_py[] = "import glob, json, os, subprocess, sys\n"
			      "for f in sorted(glob.glob(os.path.join(sys.argv[1], 'core-*.img'))):\n"
			      "    out = subprocess.run([sys.executable, '" CRIT "', 'decode', '-i', f],\n"
			      "                         capture_output=True, text=True, check=True)\n"
			      "    g = json.loads(out.stdout)['entries'][0]['thread_info']['gpregs']\n"
			      "    tid = os.path.basename(f)[5:-4]\n"
			      "    print('regs', tid, g['ax'], g['orig_ax'], g['ip'])\n";

struct regs_fact {
	pid_t tid;
	uint64_t ax, orig_ax, ip;
};

static void *sleeper(void *arg)
{
	struct timespec ts = { .tv_sec = 100000 };

	(void)arg;
	for (;;)
		syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &ts, NULL);
	return NULL;
}

static void __attribute__((noreturn)) child_main(int ready_fd)
{
	pthread_t th;

	dump_child_quiet_stdio(ready_fd);
	if (pthread_create(&th, NULL, sleeper, NULL))
		_exit(2);
	if (write(ready_fd, "R", 1) != 1)
		_exit(2);
	close(ready_fd);
	for (;;)
		syscall(SYS_pause);
}

static pid_t start_child(void)
{
	int ready[2];
	pid_t pid;
	char c;

	if (pipe2(ready, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0)
		child_main(ready[1]);
	close(ready[1]);
	if (pid > 0 && read(ready[0], &c, 1) != 1)
		pid = -1;
	close(ready[0]);
	return pid;
}

/* True when both threads of @pid sleep in their syscall. */
static bool both_asleep(pid_t pid)
{
	char path[64];
	struct dirent *de;
	int asleep = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return false;
	while ((de = readdir(dir)))
		if (atoi(de->d_name) > 0 && dump_thread_state(pid, atoi(de->d_name)) == 'S')
			asleep++;
	closedir(dir);
	return asleep == 2;
}

static size_t decode(const char *tmp, const char *dir, struct regs_fact *f, size_t max, int *failures)
{
	char script[PATH_MAX];
	char *argv[] = { PYTHON, script, (char *)dir, NULL };
	struct run_result r;
	size_t n = 0;

	snprintf(script, sizeof(script), "%s/regs.py", tmp);
	if (test_write_file(script, regs_py, strlen(regs_py)) || test_run(&r, tmp, NULL, argv, NULL)) {
		expect(failures, 0, "can't run the decoder");
		return 0;
	}
	expect(failures, r.exit_code == 0, "decoder exit %d: %s", r.exit_code, r.err);
	for (char *line = strtok(r.out, "\n"); line && n < max; line = strtok(NULL, "\n"))
		if (sscanf(line, "regs %d %lu %lu %lu", &f[n].tid, &f[n].ax, &f[n].orig_ax, &f[n].ip) == 4)
			n++;
	test_run_free(&r);
	return n;
}

static void check_thread(pid_t pid, const struct regs_fact *f, int *failures)
{
	unsigned char insn[2] = { 0 };
	char path[64];
	int fd;

	fprintf(stderr, "thread %d: ax %#lx orig_ax %ld ip %#lx\n", f->tid, f->ax, (long)f->orig_ax, f->ip);
	expect(failures, (int64_t)f->ax > -512 || (int64_t)f->ax < -516, "thread %d: restart code %ld in ax", f->tid,
	       (long)f->ax);
	if (f->orig_ax == SYS_pause) {
		expect(failures, f->ax == SYS_pause, "thread %d in pause: ax %#lx, not the syscall number", f->tid,
		       f->ax);
		snprintf(path, sizeof(path), "/proc/%d/mem", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		expect(failures, fd >= 0 && pread(fd, insn, 2, (off_t)f->ip) == 2, "can't read the child's memory");
		if (fd >= 0)
			close(fd);
		expect(failures, insn[0] == 0x0f && insn[1] == 0x05,
		       "thread %d: ip %#lx is not on a syscall (%02x %02x)", f->tid, f->ip, insn[0], insn[1]);
	} else {
		expect(failures, f->orig_ax == SYS_clock_nanosleep, "thread %d: in syscall %ld", f->tid,
		       (long)f->orig_ax);
		expect(failures, (int64_t)f->ax == -EINTR, "thread %d in clock_nanosleep: ax %ld, not -EINTR", f->tid,
		       (long)f->ax);
	}
}

int main(void)
{
	char tmp[256], dir[512];
	struct regs_fact facts[8];
	struct run_result r;
	int failures = 0, ret;
	size_t n;
	pid_t pid;

	if (!dump_crit_usable()) {
		fprintf(stderr, "SKIP: crit (crit/crit) is not usable\n");
		return TEST_SKIP;
	}
	if (test_mkdtemp(tmp, sizeof(tmp), "dump-regs")) {
		perror("mkdtemp");
		return TEST_FAIL;
	}
	snprintf(dir, sizeof(dir), "%s/images", tmp);
	if (mkdir(dir, 0700)) {
		perror("mkdir");
		return TEST_FAIL;
	}
	pid = start_child();
	if (pid < 0) {
		fprintf(stderr, "FAIL: can't start the child\n");
		return TEST_FAIL;
	}
	for (int i = 0; i < 5000 && !both_asleep(pid); i++)
		usleep(1000);
	usleep(50000);

	ret = dump_run_criu(&r, tmp, pid, dir, "dump.log", "--leave-running");
	expect(&failures, !ret && r.exit_code == 0, "criu dump failed (%d, exit %d): %s", ret, ret ? -1 : r.exit_code,
	       ret ? "" : r.err);
	if (!ret)
		test_run_free(&r);
	n = decode(tmp, dir, facts, 8, &failures);
	expect(&failures, n == 2, "%zu core images decoded, not 2", n);
	for (size_t i = 0; i < n; i++)
		check_thread(pid, &facts[i], &failures);

	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (!failures)
		test_rm_rf(tmp);
	else
		fprintf(stderr, "images kept in %s\n", dir);
	fprintf(stderr, "dump-regs: %s\n", failures ? "FAILED" : "all passed");
	return failures ? TEST_FAIL : TEST_PASS;
}
