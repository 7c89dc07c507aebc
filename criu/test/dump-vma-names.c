/*
 * criu dump names a mapped file by its real path even when the path holds a
 * newline, which /proc/PID/smaps shows escaped as \012: the files.img entry of
 * the mapping must name the file itself. Checked with crit.
 */
#include "dump-test.h"

/* Prints the name of every regular file entry as JSON, one a line. */
static const char names_py[] = "import json, sys\n"
			       "for e in json.load(sys.stdin)['entries']:\n"
			       "    if 'reg' in e:\n"
			       "        print(json.dumps(e['reg']['name']))\n";

static pid_t start_child(const char *file)
{
	int ready[2];
	pid_t pid;
	char c;

	if (pipe2(ready, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0) {
		int fd;

		dump_child_quiet_stdio(ready[1]);
		fd = open(file, O_RDONLY);
		if (fd < 0 || mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED)
			_exit(2);
		close(fd);
		if (write(ready[1], "R", 1) != 1)
			_exit(2);
		close(ready[1]);
		for (;;)
			pause();
	}
	close(ready[1]);
	if (pid > 0 && (read(ready[0], &c, 1) != 1 || read(ready[0], &c, 1) != 0)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(ready[0]);
	return pid;
}

int main(void)
{
	char tmp[256], dir[512], file[512], script[PATH_MAX], cmd[PATH_MAX * 3], line[PATH_MAX], want[PATH_MAX];
	int failures = 0, found = 0, ret;
	struct run_result r;
	pid_t pid;
	FILE *p;

	if (!dump_crit_usable()) {
		fprintf(stderr, "SKIP: crit (crit/crit) is not usable\n");
		return TEST_SKIP;
	}
	if (test_mkdtemp(tmp, sizeof(tmp), "dump-vma-names")) {
		perror("mkdtemp");
		return TEST_FAIL;
	}
	snprintf(dir, sizeof(dir), "%s/images", tmp);
	snprintf(file, sizeof(file), "%s/new\nline", tmp);
	snprintf(script, sizeof(script), "%s/names.py", tmp);
	/* How json.dumps writes the path: the temporary directory holds no character it escapes. */
	snprintf(want, sizeof(want), "\"%s/new\\nline\"\n", tmp);
	if (mkdir(dir, 0700) || test_write_file(file, "x", 1) || test_write_file(script, names_py, strlen(names_py)) ||
	    (pid = start_child(file)) < 0) {
		fprintf(stderr, "FAIL: can't set up\n");
		return TEST_FAIL;
	}
	ret = dump_run_criu(&r, tmp, pid, dir, "dump.log", "--leave-running");
	expect(&failures, !ret && r.exit_code == 0, "criu dump failed (%d, exit %d)", ret, ret ? -1 : r.exit_code);
	if (!ret)
		test_run_free(&r);
	snprintf(cmd, sizeof(cmd), "%s %s decode -i %s/files.img | %s %s", PYTHON, CRIT, dir, PYTHON, script);
	p = popen(cmd, "r");
	while (p && fgets(line, sizeof(line), p)) {
		if (strstr(line, "line\""))
			fprintf(stderr, "entry %s", line);
		found += !strcmp(line, want);
	}
	if (p)
		pclose(p);
	expect(&failures, found == 1, "no files.img entry names %s", want);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (!failures)
		test_rm_rf(tmp);
	else
		fprintf(stderr, "images kept in %s\n", dir);
	fprintf(stderr, "dump-vma-names: %s\n", failures ? "FAILED" : "all passed");
	return failures ? TEST_FAIL : TEST_PASS;
}
