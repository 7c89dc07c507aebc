/*
 * daemon.c: test_init() and test_daemon(). test_init() parses the options,
 * points stdout and stderr at the outfile and forks. The parent (the process
 * the runner started) waits on a pipe: when the child calls test_daemon() it
 * writes its pid to the pidfile and closes its end of the pipe, and the parent
 * exits 0; if the child dies first, the parent exits 1, or 77 when the test
 * skipped itself. The child runs in a session
 * of its own, so it can be checkpointed without --shell-job. The pidfile is
 * written relative to its directory, opened by test_init(), so a test may
 * chroot() before test_daemon(). Helper processes a test starts outside its
 * own tree are declared in PIDFILE.helpers, beside the pidfile.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtmtst.h"
#include "zdtmtst-internal.h"

/* Set by test_init() before the test can start threads. */
static char pidfile_path[PATH_MAX];
static int pidfile_dir_fd = -1; /* the pidfile's directory, until test_daemon() */
static const char *pidfile_base;
static int ready_fd = -1;

/* Makes path absolute, so a test may chdir() before test_daemon(). */
static int path_absolute(const char *path, char *out, size_t size)
{
	char cwd[PATH_MAX];
	int n;

	if (path[0] == '/')
		n = snprintf(out, size, "%s", path);
	else if (!getcwd(cwd, sizeof(cwd)))
		return -errno;
	else
		n = snprintf(out, size, "%s/%s", cwd, path);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* Opens the directory of pidfile_path (absolute) and points pidfile_base at the name in it. */
static int pidfile_dir_open(void)
{
	char *slash = strrchr(pidfile_path, '/');

	*slash = '\0';
	pidfile_dir_fd = open(slash == pidfile_path ? "/" : pidfile_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	*slash = '/';
	if (pidfile_dir_fd < 0)
		return -errno;
	pidfile_base = slash + 1;
	return 0;
}

static int redirect_stdio(const char *outfile)
{
	int null_fd, out_fd;

	null_fd = open("/dev/null", O_RDONLY);
	if (null_fd < 0)
		return -errno;
	if (dup2(null_fd, 0) < 0) {
		close(null_fd);
		return -errno;
	}
	if (null_fd != 0)
		close(null_fd);
	if (!outfile)
		return 0;
	out_fd = open(outfile, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (out_fd < 0)
		return -errno;
	if (dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0) {
		close(out_fd);
		return -errno;
	}
	if (out_fd > 2)
		close(out_fd);
	setvbuf(stdout, NULL, _IOLBF, 0);
	return 0;
}

/*
 * The launching parent: wait for the end of file on the pipe. The child closes
 * its end once the pidfile is written (so nothing of the pipe is left in it
 * when the runner dumps it): then it is alive; else it died.
 */
static void __attribute__((noreturn)) parent_wait(pid_t child, int rd)
{
	pid_t reaped;
	char byte;
	ssize_t n;
	int status;

	do
		n = read(rd, &byte, 1);
	while (n < 0 && errno == EINTR);
	reaped = n == 0 ? waitpid(child, &status, WNOHANG) : 0;
	if (n == 0 && reaped == 0)
		_exit(0);
	if (reaped != child && waitpid(child, &status, 0) < 0)
		fprintf(stderr, "test %d: waitpid: %s\n", child, strerror(errno));
	else if (WIFEXITED(status) && WEXITSTATUS(status) == TEST_SKIP_EXIT)
		_exit(TEST_SKIP_EXIT); /* the test said why in the outfile */
	else if (WIFEXITED(status))
		fprintf(stderr, "test %d exited with %d before it was ready\n", child, WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		fprintf(stderr, "test %d was killed by signal %d before it was ready\n", child, WTERMSIG(status));
	_exit(1);
}

void test_init(int argc, char **argv)
{
	const char *pidfile = NULL, *outfile = NULL;
	struct test_opt out_opt = {
		.name = "outfile",
		.type = TEST_OPT_STRING,
		.value = &outfile,
		.doc = "where messages and the verdict go",
	};
	struct test_opt pid_opt = {
		.name = "pidfile",
		.type = TEST_OPT_STRING,
		.value = &pidfile,
		.doc = "where the test's pid goes once it is ready",
		.next = &out_opt,
	};
	int pipefd[2], ret;
	pid_t pid;

	if (test_opts_parse(argc, argv, &pid_opt))
		exit(1);
	ret = redirect_stdio(outfile);
	if (ret) {
		fprintf(stderr, "can't open the outfile %s: %s\n", outfile, strerror(-ret));
		exit(1);
	}
	if (test_signals_init())
		exit(1);
	if (!pidfile)
		return; /* run in the foreground, for debugging */
	ret = path_absolute(pidfile, pidfile_path, sizeof(pidfile_path));
	if (ret) {
		fprintf(stderr, "bad pidfile %s: %s\n", pidfile, strerror(-ret));
		exit(1);
	}
	ret = pidfile_dir_open();
	if (ret) {
		fprintf(stderr, "can't open the directory of the pidfile %s: %s\n", pidfile_path, strerror(-ret));
		exit(1);
	}
	if (pipe2(pipefd, O_CLOEXEC)) {
		fprintf(stderr, "pipe: %s\n", strerror(errno));
		exit(1);
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "fork: %s\n", strerror(errno));
		exit(1);
	}
	if (pid) {
		close(pipefd[1]);
		parent_wait(pid, pipefd[0]);
	}
	close(pipefd[0]);
	ready_fd = pipefd[1];
	if (setsid() < 0) {
		fprintf(stderr, "setsid: %s\n", strerror(errno));
		exit(1);
	}
}

static int pidfile_write(void)
{
	char tmp[PATH_MAX + 8], buf[32];
	int fd, len, n, ret = 0;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp", pidfile_base);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = openat(pidfile_dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	len = snprintf(buf, sizeof(buf), "%d\n", getpid());
	if (write(fd, buf, len) != len)
		ret = errno ? -errno : -EIO;
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && renameat(pidfile_dir_fd, tmp, pidfile_dir_fd, pidfile_base))
		ret = -errno;
	if (ret)
		unlinkat(pidfile_dir_fd, tmp, 0);
	return ret;
}

int test_helper_declare(pid_t pid)
{
	char name[PATH_MAX + 16], line[32];
	int fd, len, n, ret = 0;

	if (!pidfile_path[0])
		return 0; /* in the foreground: no runner to tell */
	if (pidfile_dir_fd < 0)
		return -EBADF; /* after test_daemon() */
	n = snprintf(name, sizeof(name), "%s.helpers", pidfile_base);
	if (n < 0 || (size_t)n >= sizeof(name))
		return -ENAMETOOLONG;
	fd = openat(pidfile_dir_fd, name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	len = snprintf(line, sizeof(line), "%d\n", pid);
	if (write(fd, line, len) != len)
		ret = errno ? -errno : -EIO;
	if (close(fd) && !ret)
		ret = -errno;
	return ret;
}

void test_forked(void)
{
	/* Only the test's own process writes the pidfile and tells the launcher. */
	if (ready_fd >= 0)
		close(ready_fd);
	if (pidfile_dir_fd >= 0)
		close(pidfile_dir_fd);
	ready_fd = -1;
	pidfile_dir_fd = -1;
}

void test_daemon(void)
{
	int ret;

	if (ready_fd < 0)
		return;
	ret = pidfile_write();
	/* nothing of the runner's directory stays open in the test */
	if (close(pidfile_dir_fd) && !ret)
		ret = -errno;
	pidfile_dir_fd = -1;
	if (ret) {
		fprintf(stderr, "can't write the pidfile %s: %s\n", pidfile_path, strerror(-ret));
		exit(1);
	}
	/* the end of file tells the parent we are ready */
	if (close(ready_fd)) {
		fprintf(stderr, "can't tell the parent we are ready: %s\n", strerror(errno));
		exit(1);
	}
	ready_fd = -1;
}
