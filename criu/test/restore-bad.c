/*
 * criu restore refuses, before touching anything: a dump (--leave-running) of
 * a child that still runs can't be restored over it (its pid is in use: the
 * error says so and the child runs on untraced with its memory intact); and
 * once the pid is free, images with a bad magic (mm-PID.img), a truncated
 * entry (core-PID.img), missing page contents (pages-1.img) or a pipe whose
 * queued bytes exceed its size or are given twice (pipes-data.img) or a process
 * listed twice (pstree.img) are refused with an error naming the file, and no process is created.
 * Exit 0 pass, 1 fail, 77 skip.
 * timeout: 120
 */
#include <dirent.h>

#include "restore-test.h"

/* Copies the regular files of @from into the new directory @to. */
static int copy_dir(const char *from, const char *to)
{
	struct dirent *de;
	DIR *dir;
	int ret = 0;

	if (mkdir(to, 0700) || !(dir = opendir(from)))
		return -errno;
	while (!ret && (de = readdir(dir))) {
		char src[PATH_MAX], dst[PATH_MAX], *data;
		struct stat st;

		if (de->d_name[0] == '.' ||
		    (size_t)snprintf(src, sizeof(src), "%s/%s", from, de->d_name) >= sizeof(src) ||
		    (size_t)snprintf(dst, sizeof(dst), "%s/%s", to, de->d_name) >= sizeof(dst))
			continue;
		if (stat(src, &st) || !S_ISREG(st.st_mode))
			continue;
		data = test_read_file(src);
		ret = data ? test_write_file(dst, data, (size_t)st.st_size) : -EIO;
		free(data);
	}
	closedir(dir);
	return ret;
}

static int truncate_to(const char *path, double fraction, off_t minus)
{
	struct stat st;

	if (stat(path, &st))
		return -errno;
	return truncate(path, (off_t)((double)st.st_size * fraction) - minus) ? -errno : 0;
}

static int flip_byte(const char *path, off_t off)
{
	unsigned char b;
	int fd = open(path, O_RDWR | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (pread(fd, &b, 1, off) != 1)
		ret = -EIO;
	b ^= 0xff;
	if (!ret && pwrite(fd, &b, 1, off) != 1)
		ret = -EIO;
	close(fd);
	return ret;
}

/* Restores from @dir and expects a refusal mentioning @what, with no process left at @pid. */
static void expect_refused(int *failures, const char *tmp, const char *dir, pid_t pid, const char *what)
{
	char pidfile[PATH_MAX];
	const char *args[] = { "restore", "-D", dir, "-d", "--pidfile", pidfile, NULL };
	struct run_result r;

	if ((size_t)snprintf(pidfile, sizeof(pidfile), "%s/bad.pid", tmp) >= sizeof(pidfile) ||
	    rcriu_run(&r, tmp, args)) {
		expect(failures, 0, "can't run criu restore");
		return;
	}
	expect(failures, r.exit_code == 1, "restore from %s exited with %d", dir, r.exit_code);
	expect(failures, strstr(r.err, what) != NULL, "the error doesn't name %s:\n%s", what, r.err);
	expect(failures, kill(pid, 0) < 0 && errno == ESRCH, "a process %d exists after a refused restore", pid);
	expect(failures, access(pidfile, F_OK) < 0, "a refused restore wrote the pidfile");
	printf("refused (%s): %s", what, r.err);
	test_run_free(&r);
	if (kill(pid, 0) == 0)
		rchild_kill(pid);
}

static void pid_in_use(int *failures, const char *tmp, const char *img, const struct rchild *c)
{
	char pidstr[32];
	const char *dump[] = { "dump", "-t", pidstr, "-D", img, "-o", "dump.log", "--leave-running", NULL };
	const char *restore[] = { "restore", "-D", img, "-d", NULL };
	struct run_result r;
	int status;

	snprintf(pidstr, sizeof(pidstr), "%d", c->pid);
	kill(c->pid, SIGUSR2);
	usleep(20000);
	if (rcriu_run(&r, tmp, dump))
		return;
	expect(failures, r.exit_code == 0, "criu dump --leave-running exited with %d: %s", r.exit_code, r.err);
	test_run_free(&r);
	if (rcriu_run(&r, tmp, restore))
		return;
	expect(failures, r.exit_code == 1, "restore over a live pid exited with %d", r.exit_code);
	expect(failures, strstr(r.err, "is in use") != NULL, "the error doesn't say the pid is in use:\n%s", r.err);
	printf("refused (pid in use): %s", r.err);
	test_run_free(&r);
	/* The child must not have been touched: it still answers, with its memory intact. */
	expect(failures, rchild_read_counter(c->pid) > 0, "the child doesn't count any more");
	kill(c->pid, SIGUSR1);
	status = rchild_wait(c->pid, 5000);
	expect(failures, status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == RCHILD_OK,
	       "the child ended with status %#x after the refused restore", status);
	if (status < 0)
		rchild_kill(c->pid);
}

/* pipes-data.img holding one entry: pipe 7, 5000 bytes queued in a pipe of 4096. */
static int write_bad_pipes(const char *path)
{
	static const unsigned char img[] = {
		0x19, 0x43, 0x56, 0x54, /* IMG_COMMON_MAGIC */
		0x09, 0x37, 0x45, 0x56, /* PIPES_DATA_MAGIC */
		8,    0,    0,	  0,	/* the entry's size */
		0x08, 7,		/* pipe_id 7 */
		0x10, 0x88, 0x27,	/* bytes 5000 */
		0x18, 0x80, 0x20,	/* size 4096 */
	};

	return test_write_file(path, (const char *)img, sizeof(img));
}

/* Appends the entries of pstree.img at @path (all after its 8 magic bytes) to it again. */
static int repeat_pstree(const char *path)
{
	char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDWR | O_APPEND), ret = 0;

	if (fd < 0)
		return -errno;
	n = pread(fd, buf, sizeof(buf), 0);
	if (n <= 8 || n == (ssize_t)sizeof(buf) || write(fd, buf + 8, (size_t)n - 8) != n - 8)
		ret = -EIO;
	close(fd);
	return ret;
}

static void corrupted(int *failures, const char *tmp, const char *img, pid_t pid)
{
	char dir[512], path[PATH_MAX], name[64];

	if ((size_t)snprintf(dir, sizeof(dir), "%s/bad-magic", tmp) < sizeof(dir) && !copy_dir(img, dir)) {
		snprintf(name, sizeof(name), "mm-%d.img", pid);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		expect(failures, flip_byte(path, 5) == 0, "can't corrupt %s", path);
		expect_refused(failures, tmp, dir, pid, name);
	}
	if ((size_t)snprintf(dir, sizeof(dir), "%s/bad-core", tmp) < sizeof(dir) && !copy_dir(img, dir)) {
		snprintf(name, sizeof(name), "core-%d.img", pid);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		expect(failures, truncate_to(path, 0.5, 0) == 0, "can't truncate %s", path);
		expect_refused(failures, tmp, dir, pid, name);
	}
	if ((size_t)snprintf(dir, sizeof(dir), "%s/bad-pages", tmp) < sizeof(dir) && !copy_dir(img, dir)) {
		snprintf(path, sizeof(path), "%s/pages-1.img", dir);
		expect(failures, truncate_to(path, 1.0, 4096) == 0, "can't truncate %s", path);
		expect_refused(failures, tmp, dir, pid, "pages-1.img");
	}
	if ((size_t)snprintf(dir, sizeof(dir), "%s/bad-pipes", tmp) < sizeof(dir) && !copy_dir(img, dir)) {
		snprintf(path, sizeof(path), "%s/pipes-data.img", dir);
		expect(failures, write_bad_pipes(path) == 0, "can't write %s", path);
		expect_refused(failures, tmp, dir, pid, "pipes-data.img");
	}
	if ((size_t)snprintf(dir, sizeof(dir), "%s/twice-pipes", tmp) < sizeof(dir) && !copy_dir(img, dir)) {
		snprintf(path, sizeof(path), "%s/pipes-data.img", dir);
		expect(failures, test_write_pipe_queue_twice(path) == 0, "can't write %s", path);
		expect_refused(failures, tmp, dir, pid, "pipe 7 appears twice");
	}
	if ((size_t)snprintf(dir, sizeof(dir), "%s/bad-pstree", tmp) < sizeof(dir) && !copy_dir(img, dir)) {
		snprintf(path, sizeof(path), "%s/pstree.img", dir);
		expect(failures, repeat_pstree(path) == 0, "can't repeat the entries of %s", path);
		expect_refused(failures, tmp, dir, pid, "is listed twice");
	}
}

int main(void)
{
	char tmp[256], img[PATH_MAX];
	struct rchild c;
	int failures = 0;

	if (geteuid() != 0) {
		printf("SKIP: needs root\n");
		return TEST_SKIP;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) || test_mkdtemp(tmp, sizeof(tmp), "restore-bad"))
		return TEST_FAIL;
	snprintf(img, sizeof(img), "%s/img", tmp);
	if (mkdir(img, 0700) || rchild_start(&c, tmp)) {
		fprintf(stderr, "can't start the child\n");
		test_rm_rf(tmp);
		return TEST_FAIL;
	}
	pid_in_use(&failures, tmp, img, &c);
	corrupted(&failures, tmp, img, c.pid);
	test_rm_rf(tmp);
	printf("%s\n", failures ? "FAIL" : "PASS");
	return failures ? TEST_FAIL : TEST_PASS;
}
