/*
 * creds_dumpable00: the dumpable flag and the rlimits of processes that gave up
 * root survive. The kernel clears the flag whenever a process's uids change,
 * and then /proc/PID belongs to root: a restore that sets the credentials has
 * to set the flag again afterwards. A process that is no longer root can't
 * raise a hard limit, so its limits have to be set before its credentials.
 *
 * Two children take uid and gid 18943: one makes itself dumpable again and
 * lowers its limits (soft and hard), the other stays as the uid change left
 * it (not dumpable). The root process itself turns its flag off.
 */
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tree.h"
#include "zdtmtst.h"

#define TEST_UID 18943
#define TEST_GID 18943

struct limit_change {
	int resource;
	rlim_t soft;
	rlim_t hard;
};

static const struct limit_change changes[] = {
	{ RLIMIT_CORE, 1 << 20, 2 << 20 }, { RLIMIT_NOFILE, 333, 444 },		{ RLIMIT_CPU, 36000, 72000 },
	{ RLIMIT_SIGPENDING, 1234, 2345 }, { RLIMIT_STACK, 4 << 20, 64 << 20 },
};

#define NR_CHANGES (sizeof(changes) / sizeof(changes[0]))

static int drop_root(void)
{
	const gid_t group = TEST_GID;

	if (setgroups(1, &group) || setresgid(TEST_GID, TEST_GID, TEST_GID) ||
	    setresuid(TEST_UID, TEST_UID, TEST_UID)) {
		fail("can't become uid %d", TEST_UID);
		return -1;
	}
	return 0;
}

static int lower_limits(void)
{
	for (size_t i = 0; i < NR_CHANGES; i++) {
		struct rlimit rl = { .rlim_cur = changes[i].soft, .rlim_max = changes[i].hard };

		if (setrlimit(changes[i].resource, &rl)) {
			fail("setrlimit(%d)", changes[i].resource);
			return -1;
		}
	}
	return 0;
}

static bool limits_kept(void)
{
	for (size_t i = 0; i < NR_CHANGES; i++) {
		struct rlimit rl;

		if (getrlimit(changes[i].resource, &rl)) {
			fail("getrlimit(%d)", changes[i].resource);
			return false;
		}
		if (rl.rlim_cur != changes[i].soft || rl.rlim_max != changes[i].hard) {
			fail("limit %d is %llu/%llu, expected %llu/%llu", changes[i].resource,
			     (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max,
			     (unsigned long long)changes[i].soft, (unsigned long long)changes[i].hard);
			return false;
		}
	}
	return true;
}

/* Who owns the files of /proc/self (not the directory), and whether the process may read its environment. */
static bool proc_as_expected(uid_t owner, bool readable)
{
	struct stat st;
	int fd;

	if (stat("/proc/self/environ", &st)) {
		fail("stat /proc/self/environ");
		return false;
	}
	if (st.st_uid != owner) {
		fail("/proc/self/environ belongs to uid %u, expected %u", st.st_uid, owner);
		return false;
	}
	fd = open("/proc/self/environ", O_RDONLY);
	if (fd >= 0)
		close(fd);
	if ((fd >= 0) != readable) {
		fail("/proc/self/environ %s be opened", readable ? "can't" : "can");
		return false;
	}
	return true;
}

static bool dumpable_is(int want)
{
	int now = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);

	if (now != want) {
		fail("the dumpable flag is %d, expected %d", now, want);
		return false;
	}
	return true;
}

/* Child @i: uid 18943, made dumpable again (the first) or not; tells @ready when it is set. */
static void __attribute__((noreturn)) child_main(int i, int ready)
{
	bool dumpable = i == 0;

	if (drop_root() || (dumpable && lower_limits()))
		_exit(2);
	if (dumpable && prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)) {
		fail("PR_SET_DUMPABLE");
		_exit(2);
	}
	if (!dumpable_is(dumpable) || !proc_as_expected(dumpable ? TEST_UID : 0, dumpable))
		_exit(2);
	if (write(ready, "R", 1) != 1)
		_exit(2);
	close(ready);
	test_waitsig();
	if (!dumpable_is(dumpable) || !proc_as_expected(dumpable ? TEST_UID : 0, dumpable))
		_exit(1);
	if (dumpable && !limits_kept())
		_exit(1);
	_exit(0);
}

int main(int argc, char **argv)
{
	pid_t children[2];

	test_init(argc, argv);
	if (tree_fork_ready(children, 2, child_main))
		return 1;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)) {
		fail("PR_SET_DUMPABLE 0");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (!dumpable_is(0))
		return 1;
	if (!tree_end_child(children[0], SIGTERM, "the dumpable child") ||
	    !tree_end_child(children[1], SIGTERM, "the child left not dumpable"))
		return 1;
	pass();
	return 0;
}
