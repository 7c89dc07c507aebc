/*
 * criu dump records the file owner of an fd (F_SETOWN) with the uid and euid of
 * whoever set it, as the kernel keeps them (F_GETOWNER_UIDS), not the process's
 * own: the child sets the owner of an fd as root, then becomes nobody.
 * Checked with crit in files.img.
 */
#include <sys/fsuid.h>

#include "dump-test.h"

#define NOBODY 65534

/* Lines: "fown PID UID EUID" for every regular file entry with an owner. */
static const char fown_py[] = "import json, sys\n"
			      "for e in json.load(sys.stdin)['entries']:\n"
			      "    f = e.get('reg', {}).get('fown', {})\n"
			      "    if f.get('pid', 0):\n"
			      "        print('fown', f['pid'], f['uid'], f['euid'])\n";

static pid_t start_child(void)
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
		fd = open("/dev/null", O_RDONLY);
		if (fd < 0 || fcntl(fd, F_SETOWN, getpid()) < 0)
			_exit(2);
		if (setresgid(NOBODY, NOBODY, NOBODY) || setresuid(NOBODY, NOBODY, NOBODY))
			_exit(2);
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
	char tmp[256], dir[512], script[PATH_MAX], cmd[PATH_MAX * 3], line[256];
	unsigned int opid, uid, euid;
	int failures = 0, found = 0, ret;
	struct run_result r;
	pid_t pid;
	FILE *p;

	if (!dump_crit_usable()) {
		fprintf(stderr, "SKIP: crit (crit/crit) is not usable\n");
		return TEST_SKIP;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: needs root to change the child's uid\n");
		return TEST_SKIP;
	}
	if (test_mkdtemp(tmp, sizeof(tmp), "dump-fown")) {
		perror("mkdtemp");
		return TEST_FAIL;
	}
	snprintf(dir, sizeof(dir), "%s/images", tmp);
	snprintf(script, sizeof(script), "%s/fown.py", tmp);
	if (mkdir(dir, 0700) || test_write_file(script, fown_py, strlen(fown_py)) || (pid = start_child()) < 0) {
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
		if (sscanf(line, "fown %u %u %u", &opid, &uid, &euid) != 3)
			continue;
		found++;
		fprintf(stderr, "owner %u set by uid %u euid %u\n", opid, uid, euid);
		expect(&failures, opid == (unsigned int)pid, "owner pid %u, not %d", opid, pid);
		expect(&failures, uid == 0 && euid == 0, "owner uids %u/%u, not 0/0 (root set the owner)", uid, euid);
	}
	if (p)
		pclose(p);
	expect(&failures, found == 1, "%d file entries with an owner, not 1", found);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (!failures)
		test_rm_rf(tmp);
	else
		fprintf(stderr, "images kept in %s\n", dir);
	fprintf(stderr, "dump-fown: %s\n", failures ? "FAILED" : "all passed");
	return failures ? TEST_FAIL : TEST_PASS;
}
