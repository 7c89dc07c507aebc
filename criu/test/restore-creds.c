/*
 * criu restore gives the process back its credentials: a child switches to
 * uids 2000/2001/2002, gids 2100/2200/2300, groups 7 and 8, keeps only
 * CAP_CHOWN and CAP_NET_RAW (permitted), CAP_NET_RAW (effective), CAP_CHOWN
 * (inheritable), and drops CAP_SYS_MODULE from its bounding set. After dump
 * and restore -d, the Uid, Gid, Groups and Cap* lines of /proc/PID/status must
 * read as they did before the dump, and the process must run on.
 * Exit 0 pass, 1 fail, 77 skip.
 * timeout: 120
 */
#include <grp.h>
#include <sys/syscall.h>
#include <linux/capability.h>

#include "restore-test.h"

static const char *const fields[] = { "Uid:", "Gid:", "Groups:", "CapInh:", "CapPrm:", "CapEff:", "CapBnd:" };

static void __attribute__((noreturn)) child_main(int ready_fd)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { { 0 } };
	gid_t groups[] = { 7, 8 };
	int null_fd = open("/dev/null", O_RDWR);

	if (setsid() < 0 || null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0 || dup2(null_fd, 2) < 0)
		_exit(RCHILD_SETUP);
	for (int fd = 3; fd < 1024; fd++)
		if (fd != ready_fd)
			close(fd);
	data[0].permitted = (1u << CAP_CHOWN) | (1u << CAP_NET_RAW);
	data[0].effective = 1u << CAP_NET_RAW;
	data[0].inheritable = 1u << CAP_CHOWN;
	if (prctl(PR_CAPBSET_DROP, CAP_SYS_MODULE, 0, 0, 0) || setgroups(2, groups) || setresgid(2100, 2200, 2300) ||
	    prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) || setresuid(2000, 2001, 2002) || prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) ||
	    syscall(SYS_capset, &hdr, data))
		_exit(RCHILD_SETUP);
	if (write(ready_fd, "R", 1) != 1)
		_exit(RCHILD_SETUP);
	close(ready_fd);
	for (;;) {
		rchild_counter++;
		usleep(1000);
	}
}

/* The credential lines of /proc/PID/status, one after the other. */
static char *creds_of(pid_t pid)
{
	char path[64], *status, *out;
	size_t len = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	status = test_read_file(path);
	out = calloc(1, 4096);
	if (!status || !out) {
		free(status);
		free(out);
		return NULL;
	}
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		char *line = strstr(status, fields[i]);
		size_t n = line ? strcspn(line, "\n") + 1 : 0;

		if (line && len + n < 4096) {
			memcpy(out + len, line, n);
			len += n;
		}
	}
	free(status);
	return out;
}

int main(void)
{
	char tmp[256], img[PATH_MAX], pidstr[32], *before = NULL, *after = NULL;
	const char *dump[] = { "dump", "-t", pidstr, "-D", img, "-o", "dump.log", "-v4", NULL };
	const char *restore[] = { "restore", "-D", img, "-d", "-o", "restore.log", "-v4", NULL };
	int failures = 0;
	uint64_t c1;
	pid_t pid = 0;

	if (geteuid() != 0) {
		printf("SKIP: needs root\n");
		return TEST_SKIP;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) || test_mkdtemp(tmp, sizeof(tmp), "restore-creds"))
		return TEST_FAIL;
	snprintf(img, sizeof(img), "%s/img", tmp);
	if (mkdir(img, 0700) || rtest_start_child(&pid, child_main)) {
		fprintf(stderr, "can't start the child\n");
		failures++;
		goto out;
	}
	before = creds_of(pid);
	snprintf(pidstr, sizeof(pidstr), "%d", pid);
	if (rtest_dump(tmp, dump, pid, &failures))
		goto out;
	if (rtest_restore(tmp, restore, &failures))
		goto out;
	after = creds_of(pid);
	expect(&failures, before && after && !strcmp(before, after), "credentials before the dump:\n%safter:\n%s",
	       before ? before : "?", after ? after : "?");
	printf("credentials after the restore:\n%s", after ? after : "?\n");
	c1 = rchild_read_counter(pid);
	usleep(50000);
	expect(&failures, rchild_read_counter(pid) > c1, "the restored child doesn't run");
	rchild_kill(pid);
out:
	if (failures) {
		rtest_print_log(img, "dump.log");
		rtest_print_log(img, "restore.log");
	}
	free(before);
	free(after);
	test_rm_rf(tmp);
	printf("%s\n", failures ? "FAIL" : "PASS");
	return failures ? TEST_FAIL : TEST_PASS;
}
