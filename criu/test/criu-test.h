/*
 * Helpers for the criu tool's test binaries (test/NAME.test): results with the
 * 0 pass / 1 fail / 77 skip convention, running the criu binary and capturing
 * what it prints, temporary directories and files.
 */
#ifndef CRIU_NG_TEST_CRIU_TEST_H
#define CRIU_NG_TEST_CRIU_TEST_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TEST_PASS 0
#define TEST_FAIL 1
#define TEST_SKIP 77

/* A failed expectation: reported, counted, and the test goes on. */
#define expect(failures, cond, fmt, ...)                                                             \
	do {                                                                                         \
		if (!(cond)) {                                                                       \
			fprintf(stderr, "FAIL %s:%d: " fmt "\n", __FILE__, __LINE__, ##__VA_ARGS__); \
			(*(failures))++;                                                             \
		}                                                                                    \
	} while (0)

struct run_result {
	int exit_code; /* -1 when killed by a signal */
	char *out;
	char *err;
};

/* Reads a whole file into a NUL-terminated string; NULL on error. */
static inline char *test_read_file(const char *path)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	for (;;) {
		if (cap - len < 4097) {
			char *nbuf = realloc(buf, cap + 65536);

			if (!nbuf) {
				free(buf);
				close(fd);
				return NULL;
			}
			buf = nbuf;
			cap += 65536;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

/* True when process @pid has no tracer (TracerPid 0 in its status). */
static inline bool test_untraced(pid_t pid)
{
	char path[64], *status, *tracer;
	bool ok;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	status = test_read_file(path);
	if (!status)
		return false;
	tracer = strstr(status, "TracerPid:");
	ok = tracer && atoi(tracer + 10) == 0;
	free(status);
	return ok;
}

static inline int test_write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, data, len);
	if (close(fd) < 0 || n != (ssize_t)len)
		return -EIO;
	return 0;
}

/* Writes at @path a pipes-data.img that gives pipe 7's queue twice (empty, in a pipe of 4096 bytes). */
static inline int test_write_pipe_queue_twice(const char *path)
{
	static const unsigned char img[] = {
		0x19, 0x43, 0x56, 0x54,					    /* IMG_COMMON_MAGIC */
		0x09, 0x37, 0x45, 0x56,					    /* PIPES_DATA_MAGIC */
		7,    0,    0,	  0,	0x08, 7, 0x10, 0, 0x18, 0x80, 0x20, /* pipe 7, 0 bytes, size 4096 */
		7,    0,    0,	  0,	0x08, 7, 0x10, 0, 0x18, 0x80, 0x20, /* the same again */
	};

	return test_write_file(path, img, sizeof(img));
}

static inline int test_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static inline void test_rm_rf(const char *dir)
{
	nftw(dir, test_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Creates a fresh directory under /tmp (or $TMPDIR) in @buf of @size bytes. */
static inline int test_mkdtemp(char *buf, size_t size, const char *name)
{
	const char *base = getenv("TMPDIR");

	if ((size_t)snprintf(buf, size, "%s/criu-ng-%s-XXXXXX", base && *base ? base : "/tmp", name) >= size)
		return -ENAMETOOLONG;
	return mkdtemp(buf) ? 0 : -errno;
}

/* The criu binary next to the test directory: <dir of this test>/../criu. */
static inline int test_criu_bin(char *buf)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n < 0)
		return -errno;
	exe[n] = '\0';
	snprintf(buf, PATH_MAX, "%s/../criu", dirname(exe));
	return access(buf, X_OK) ? -errno : 0;
}

/*
 * Runs @argv in @cwd with extra environment @env (NULL-terminated "K=V" strings or
 * NULL), stdout and stderr captured through files in @tmpdir.
 */
static inline int test_run(struct run_result *r, const char *tmpdir, const char *cwd, char *const argv[],
			   char *const env[])
{
	char out_path[PATH_MAX], err_path[PATH_MAX];
	int status;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	snprintf(out_path, sizeof(out_path), "%s/.stdout", tmpdir);
	snprintf(err_path, sizeof(err_path), "%s/.stderr", tmpdir);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (out < 0 || err < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
			_exit(126);
		if (cwd && chdir(cwd))
			_exit(126);
		for (int i = 0; env && env[i]; i++)
			putenv(env[i]);
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	r->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	r->out = test_read_file(out_path);
	r->err = test_read_file(err_path);
	if (!r->out || !r->err)
		return -EIO;
	return 0;
}

static inline void test_run_free(struct run_result *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

/* True when @text has @line as a whole line. */
static inline bool test_has_line(const char *text, const char *line)
{
	size_t len = strlen(line);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, line, len) && (p[len] == '\n' || p[len] == '\0'))
			return true;
	return false;
}

/* Copies file @from to @to (created with @mode). Returns 0 or -errno. */
static inline int test_copy_file(const char *from, const char *to, mode_t mode)
{
	char buf[65536];
	int in, out, ret = 0;

	in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (out < 0) {
		ret = -errno;
		goto out_close_in;
	}
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : 0;
			break;
		}
		if (write(out, buf, n) != n) {
			ret = -EIO;
			break;
		}
	}
	if (close(out) < 0 && !ret)
		ret = -errno;
out_close_in:
	close(in);
	return ret;
}

/* Copies the files of directory @from into a new directory @to (not recursive). Returns 0 or -errno. */
static inline int test_copy_dir(const char *from, const char *to)
{
	struct dirent *de;
	int ret = 0;
	DIR *d;

	if (mkdir(to, 0700) < 0)
		return -errno;
	d = opendir(from);
	if (!d)
		return -errno;
	while (!ret && (de = readdir(d))) {
		char src[PATH_MAX], dst[PATH_MAX];

		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(src, sizeof(src), "%s/%s", from, de->d_name) >= sizeof(src) ||
		    (size_t)snprintf(dst, sizeof(dst), "%s/%s", to, de->d_name) >= sizeof(dst))
			ret = -ENAMETOOLONG;
		else
			ret = test_copy_file(src, dst, 0600);
	}
	closedir(d);
	return ret;
}

#endif /* CRIU_NG_TEST_CRIU_TEST_H */
