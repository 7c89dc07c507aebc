/*
 * creds_fsid_ng: a child that left uid 0 keeps fs ids that differ from its
 * effective ones: its fsgid is none of its gids (only root could set it, before
 * it changed uids), its fsuid is its real uid, not its effective one.
 *
 * After restore: the child's real, effective, saved and fs uids and gids are
 * the same as before (each read back in the child, which reports by its exit
 * code), and its parent's, root, are untouched.
 */
#include <grp.h>
#include <signal.h>
#include <sys/fsuid.h>
#include <unistd.h>

#include "tree.h"
#include "zdtmtst.h"

#define RUID 2000
#define EUID 2001
#define SUID 2002
#define RGID 2100
#define EGID 2101
#define SGID 2102
#define FSGID 2103

/* 0 when every id is as set, else the first that is not (1-8). */
static int check_ids(void)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;

	if (getresuid(&r, &e, &s) || getresgid(&rg, &eg, &sg))
		return 9;
	if (r != RUID || e != EUID || s != SUID)
		return r != RUID ? 1 : e != EUID ? 2 : 3;
	if (rg != RGID || eg != EGID || sg != SGID)
		return rg != RGID ? 4 : eg != EGID ? 5 : 6;
	/* setfs*id(-1) changes nothing and returns the current one */
	if ((uid_t)setfsuid(-1) != RUID)
		return 7;
	if ((gid_t)setfsgid(-1) != FSGID)
		return 8;
	return 0;
}

static int child_ids(int ready)
{
	const gid_t none[1] = { RGID };
	char c = 'r';

	if (setgroups(1, none) || setresgid(RGID, EGID, SGID))
		return 10;
	setfsgid(FSGID); /* still root: any value */
	if (setresuid(RUID, EUID, SUID))
		return 11;
	setfsuid(RUID); /* one of its uids: allowed without privileges */
	if (check_ids())
		return 12;
	if (write(ready, &c, 1) != 1)
		return 13;
	close(ready);
	test_waitsig();
	return check_ids();
}

/* The child: its exit code is child_ids()'s. */
static void __attribute__((noreturn)) child_main(int i, int ready)
{
	(void)i;
	_exit(child_ids(ready));
}

int main(int argc, char **argv)
{
	pid_t child;

	test_init(argc, argv);
	if (tree_fork_ready(&child, 1, child_main))
		return 1;

	test_daemon();
	test_waitsig();

	if (getuid() != 0 || geteuid() != 0 || getgid() != 0 || getegid() != 0) {
		fail("the parent's ids changed");
		return 1;
	}
	if (!tree_end_child(child, SIGTERM, "child with its fs ids"))
		return 1;
	pass();
	return 0;
}
