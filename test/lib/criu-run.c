/*
 * criu-run.c: running the criu binary from the benchmarks and end-to-end tests (see criu-run.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "criu-run.h"
#include "testutil.h"

int tree_bin_path(const char *rel, char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;
	int k;

	if (n < 0)
		return -errno;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	/* test/DIR/program -> the top of the tree is two levels up */
	k = snprintf(buf, len, "%s/../../%s", self, rel);
	if (k < 0 || (size_t)k >= len)
		return -ENAMETOOLONG;
	if (access(buf, X_OK))
		return -errno;
	return 0;
}

int criu_bin_path(char *buf, size_t len)
{
	const char *env = getenv("CRIU_BIN");
	int k;

	if (!env || !*env)
		return tree_bin_path("criu/criu", buf, len);
	k = snprintf(buf, len, "%s", env);
	if (k < 0 || (size_t)k >= len)
		return -ENAMETOOLONG;
	return access(buf, X_OK) ? -errno : 0;
}

static __attribute__((noreturn)) void exec_child(char *const argv[], const struct criu_cmd *cmd)
{
	int fd;

	if (cmd->netns) {
		fd = open(cmd->netns, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET))
			_exit(126);
		close(fd);
	}
	fd = open("/dev/null", O_RDONLY);
	if (fd < 0 || dup2(fd, STDIN_FILENO) < 0)
		_exit(126);
	close(fd);
	if (cmd->out) {
		fd = open(cmd->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
			_exit(126);
		close(fd);
	}
	if (syscall(SYS_close_range, 3, ~0U, 0))
		_exit(126);
	execvp(argv[0], argv);
	_exit(127);
}

int criu_exec(char *const argv[], struct criu_cmd *cmd)
{
	uint64_t t0 = test_now_ns();
	struct rusage ru;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		exec_child(argv, cmd);
	while (wait4(pid, &cmd->status, 0, &ru) < 0)
		if (errno != EINTR)
			return -errno;
	cmd->wall_ms = (double)(test_now_ns() - t0) / 1e6;
	cmd->maxrss_kib = ru.ru_maxrss;
	return WIFEXITED(cmd->status) && WEXITSTATUS(cmd->status) == 0 ? 0 : -ECHILD;
}

double criu_stat_ms(const char *out, const char *label)
{
	char line[512];
	double ms = -1;
	FILE *f = fopen(out, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, label);

		if (p && p[strlen(label)] == ':')
			ms = strtod(p + strlen(label) + 1, NULL) / 1e3;
	}
	fclose(f);
	return ms;
}

/* stats-dump's frozen_time (us), decoded with the tree's crit, in ms; -1 if unavailable. */
static double frozen_from_image(const char *dir)
{
	char cmd[2 * PATH_MAX + 128], crit[PATH_MAX], line[256];
	double us = -1;
	FILE *f;

	if (tree_bin_path("crit/crit", crit, sizeof(crit)))
		return -1;
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s decode -i %s/stats-dump 2>/dev/null", crit, dir);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "\"frozen_time\":");

		if (p)
			us = strtod(p + strlen("\"frozen_time\":"), NULL);
	}
	if (pclose(f))
		return -1;
	return us < 0 ? -1 : us / 1e3;
}

double criu_frozen_ms(const char *out, const char *dir)
{
	double ms = out ? criu_stat_ms(out, "frozen time") : -1;

	return ms >= 0 ? ms : frozen_from_image(dir);
}

/* A log line without its "(00.012345) Error (criu/file.c:12): " prefix. */
static const char *log_text(const char *line)
{
	const char *p = strstr(line, "Error (");

	if (p)
		p = strstr(p, "): ");
	return p ? p + 3 : line;
}

int criu_refusal(const char *const paths[], char *why, size_t len)
{
	static const char *const marks[] = { "not supported yet", "not supported by criu-ng yet",
					     "unknown or ambiguous option" };
	char line[1024];

	for (; *paths; paths++) {
		FILE *f = fopen(*paths, "re");

		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			for (size_t k = 0; k < sizeof(marks) / sizeof(marks[0]); k++) {
				if (!strstr(line, marks[k]))
					continue;
				line[strcspn(line, "\n")] = '\0';
				snprintf(why, len, "%s", log_text(line));
				fclose(f);
				return 1;
			}
		}
		fclose(f);
	}
	return 0;
}

void criu_print_block(const char *path, const char *pfx, const char *indent)
{
	char line[512];
	int in = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, pfx))
			in = 1;
		else if (in && line[0] != ' ')
			in = 0;
		if (in)
			printf("%s%s", indent, line);
	}
	fclose(f);
}

int floor_file_io(const char *dir, size_t bytes, double *write_ms, double *read_ms)
{
	size_t len = bytes ? bytes : 1, done;
	char path[PATH_MAX];
	unsigned char *buf;
	uint64_t t0;
	int fd, ret = 0;

	buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return -errno;
	memset(buf, 0x5a, len);
	snprintf(path, sizeof(path), "%s/floor.img", dir);
	fd = open(path, O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		goto out_unmap;
	}
	t0 = test_now_ns();
	for (done = 0; done < len && !ret;) {
		ssize_t n = write(fd, buf + done, len - done);

		ret = n > 0 ? 0 : n < 0 ? -errno : -EIO;
		done += n > 0 ? (size_t)n : 0;
	}
	*write_ms = (double)(test_now_ns() - t0) / 1e6;
	t0 = test_now_ns();
	for (done = 0; done < len && !ret;) {
		ssize_t n = pread(fd, buf + done, len - done, (off_t)done);

		ret = n > 0 ? 0 : n < 0 ? -errno : -EIO;
		done += n > 0 ? (size_t)n : 0;
	}
	*read_ms = (double)(test_now_ns() - t0) / 1e6;
	close(fd);
	if (unlink(path) && !ret)
		ret = -errno;
out_unmap:
	munmap(buf, len);
	return ret;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int rm_tree(const char *dir)
{
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) ? -errno : 0;
}
