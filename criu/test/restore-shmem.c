/*
 * criu restore brings back shared anonymous memory with its sharing: a child
 * maps 32 shared anonymous pages, fills them with a pattern, makes a second
 * view of the same object elsewhere (mremap with old size 0) and a read-only
 * third view of its second half. After dump and restore -d, on SIGUSR1 it
 * checks the pattern through every view, then writes through the first view
 * and must read the change through the other two (one object, not copies).
 * Exit 0 pass, 1 fail, 77 skip.
 * timeout: 120
 */
#include "restore-test.h"

#define SHM_PAGES 32
#define EXIT_BAD_PATTERN 30
#define EXIT_NOT_SHARED 31

static void __attribute__((noreturn)) child_main(int ready_fd)
{
	size_t ps = (size_t)sysconf(_SC_PAGESIZE), len = SHM_PAGES * ps;
	struct timespec tick = { 0, 1000000 };
	unsigned char *a, *b, *c;
	int null_fd = open("/dev/null", O_RDWR);
	sigset_t set;

	if (setsid() < 0 || null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0 || dup2(null_fd, 2) < 0)
		_exit(RCHILD_SETUP);
	for (int fd = 3; fd < 1024; fd++)
		if (fd != ready_fd)
			close(fd);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED || sigprocmask(SIG_BLOCK, &set, NULL))
		_exit(RCHILD_SETUP);
	rchild_fill(a, len, 3);
	b = mremap(a, 0, len, MREMAP_MAYMOVE);
	c = mremap(a + len / 2, 0, len / 2, MREMAP_MAYMOVE);
	if (b == MAP_FAILED || c == MAP_FAILED || mprotect(c, len / 2, PROT_READ))
		_exit(RCHILD_SETUP);
	if (write(ready_fd, "R", 1) != 1)
		_exit(RCHILD_SETUP);
	close(ready_fd);
	for (;;) {
		rchild_counter++;
		if (sigtimedwait(&set, NULL, &tick) != SIGUSR1)
			continue;
		if (!rchild_intact(a, len, 3) || !rchild_intact(b, len, 3) || memcmp(c, a + len / 2, len / 2))
			_exit(EXIT_BAD_PATTERN);
		a[len / 2 + 5] ^= 0xff;
		a[7] ^= 0xff;
		_exit(b[7] == a[7] && c[5] == a[len / 2 + 5] ? 0 : EXIT_NOT_SHARED);
	}
}

int main(void)
{
	char tmp[256], img[PATH_MAX], pidstr[32];
	const char *dump[] = { "dump", "-t", pidstr, "-D", img, "-o", "dump.log", "-v4", NULL };
	const char *restore[] = { "restore", "-D", img, "-d", "-o", "restore.log", "-v4", NULL };
	int failures = 0, status;
	pid_t pid = 0;

	if (geteuid() != 0) {
		printf("SKIP: needs root\n");
		return TEST_SKIP;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) || test_mkdtemp(tmp, sizeof(tmp), "restore-shmem"))
		return TEST_FAIL;
	snprintf(img, sizeof(img), "%s/img", tmp);
	if (mkdir(img, 0700) || rtest_start_child(&pid, child_main)) {
		fprintf(stderr, "can't start the child\n");
		failures++;
		goto out;
	}
	snprintf(pidstr, sizeof(pidstr), "%d", pid);
	if (rtest_dump(tmp, dump, pid, &failures))
		goto out;
	if (rtest_restore(tmp, restore, &failures))
		goto out;
	kill(pid, SIGUSR1);
	status = rchild_wait(pid, 5000);
	expect(&failures, status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "the restored child ended with status %#x (exit %d: pattern lost, %d: views not shared)", status,
	       EXIT_BAD_PATTERN, EXIT_NOT_SHARED);
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
