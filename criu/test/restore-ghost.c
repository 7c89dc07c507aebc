/*
 * criu restore brings back an unlinked file the process holds open: the child
 * writes 10000 bytes of pattern to a file in the test's directory, leaves its
 * offset at 1234, unlinks it, and holds a second read-only fd on it. After dump
 * and restore -d the path must still be free; on SIGUSR1 the child checks both
 * fds see one unlinked file (nlink 0, same inode) with the contents, the offset
 * and the name as before, and exits 0.
 * Exit 0 pass, 1 fail, 77 skip.
 * timeout: 120
 */
#include "restore-test.h"

#define GHOST_SIZE 10000
#define GHOST_POS 1234
#define GHOST_FD 7
#define GHOST_RO_FD 8

static void __attribute__((noreturn)) child_main(int ready_fd, const char *path)
{
	static unsigned char buf[GHOST_SIZE], back[GHOST_SIZE];
	struct timespec tick = { 0, 1000000 };
	int null_fd = open("/dev/null", O_RDWR), fd, ro;
	struct stat a, b;
	char link[PATH_MAX], want[PATH_MAX + 16];
	ssize_t n;
	sigset_t set;

	if (setsid() < 0 || null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0 || dup2(null_fd, 2) < 0)
		_exit(RCHILD_SETUP);
	for (int i = 3; i < 1024; i++)
		if (i != ready_fd)
			close(i);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0640);
	rchild_fill(buf, sizeof(buf), 9);
	if (fd < 0 || write(fd, buf, sizeof(buf)) != sizeof(buf) || lseek(fd, GHOST_POS, SEEK_SET) != GHOST_POS ||
	    dup2(fd, GHOST_FD) < 0 || close(fd) || (ro = open(path, O_RDONLY)) < 0 || dup2(ro, GHOST_RO_FD) < 0 ||
	    close(ro) || unlink(path) || sigprocmask(SIG_BLOCK, &set, NULL))
		_exit(RCHILD_SETUP);
	if (write(ready_fd, "R", 1) != 1)
		_exit(RCHILD_SETUP);
	close(ready_fd);
	for (;;) {
		rchild_counter++;
		if (sigtimedwait(&set, NULL, &tick) != SIGUSR1)
			continue;
		snprintf(want, sizeof(want), "%s (deleted)", path);
		n = readlink("/proc/self/fd/7", link, sizeof(link) - 1);
		link[n > 0 ? n : 0] = '\0';
		if (fstat(GHOST_FD, &a) || fstat(GHOST_RO_FD, &b) || a.st_nlink || a.st_ino != b.st_ino ||
		    a.st_size != GHOST_SIZE || (a.st_mode & 07777) != 0640 || strcmp(link, want))
			_exit(40);
		if (lseek(GHOST_FD, 0, SEEK_CUR) != GHOST_POS || lseek(GHOST_RO_FD, 0, SEEK_CUR) != 0)
			_exit(41);
		if (pread(GHOST_RO_FD, back, sizeof(back), 0) != sizeof(back) || memcmp(back, buf, sizeof(buf)))
			_exit(42);
		_exit(0);
	}
}

static int start_child(pid_t *pid, const char *path)
{
	int ready[2];
	char b;
	bool ok;

	if (pipe2(ready, O_CLOEXEC))
		return -errno;
	*pid = fork();
	if (*pid < 0)
		return -errno;
	if (*pid == 0) {
		close(ready[0]);
		child_main(ready[1], path);
	}
	close(ready[1]);
	ok = read(ready[0], &b, 1) == 1 && read(ready[0], &b, 1) == 0; /* ready, and the pipe closed */
	close(ready[0]);
	return ok ? 0 : -EIO;
}

int main(void)
{
	char tmp[256], img[PATH_MAX], pidstr[32], path[PATH_MAX];
	const char *dump[] = { "dump", "-t", pidstr, "-D", img, "-o", "dump.log", "-v4", NULL };
	const char *restore[] = { "restore", "-D", img, "-d", "-o", "restore.log", "-v4", NULL };
	int failures = 0, status;
	pid_t pid = 0;

	if (geteuid() != 0) {
		printf("SKIP: needs root\n");
		return TEST_SKIP;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) || test_mkdtemp(tmp, sizeof(tmp), "restore-ghost"))
		return TEST_FAIL;
	snprintf(img, sizeof(img), "%s/img", tmp);
	snprintf(path, sizeof(path), "%s/ghost.data", tmp);
	if (mkdir(img, 0700) || start_child(&pid, path)) {
		fprintf(stderr, "can't start the child\n");
		failures++;
		goto out;
	}
	snprintf(pidstr, sizeof(pidstr), "%d", pid);
	if (rtest_dump(tmp, dump, pid, &failures))
		goto out;
	if (rtest_restore(tmp, restore, &failures))
		goto out;
	expect(&failures, access(path, F_OK) < 0, "%s exists after the restore", path);
	kill(pid, SIGUSR1);
	status = rchild_wait(pid, 5000);
	expect(&failures, status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "the restored child ended with status %#x (exit 40: file, 41: offsets, 42: contents)", status);
	if (status < 0)
		rchild_kill(pid);
out:
	if (failures) {
		rtest_print_log(img, "dump.log");
		rtest_print_log(img, "restore.log");
	}
	test_rm_rf(tmp);
	printf("%s\n", failures ? "FAIL" : "PASS");
	return failures ? TEST_FAIL : TEST_PASS;
}
