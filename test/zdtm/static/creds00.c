/*
 * creds00: credentials survive: real, effective and saved uids and gids and
 * the supplementary groups. The effective uid stays 0 so the test can still
 * write its pidfile in the runner's directory.
 */
#include <grp.h>
#include <unistd.h>

#include "zdtmtst.h"

#define NR_GROUPS 3

int main(int argc, char **argv)
{
	const gid_t groups[NR_GROUPS] = { 5, 600, 70000 };
	const uid_t ruid = 2000, euid = 0, suid = 3000;
	const gid_t rgid = 2100, egid = 2200, sgid = 2300;
	uid_t r, e, s;
	gid_t rg, eg, sg, now[NR_GROUPS + 1];
	int n;

	test_init(argc, argv);
	if (setgroups(NR_GROUPS, groups) || setresgid(rgid, egid, sgid) || setresuid(ruid, euid, suid)) {
		fail("setgroups/setresgid/setresuid");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (getresuid(&r, &e, &s) || r != ruid || e != euid || s != suid) {
		fail("uids are %u/%u/%u, expected %u/%u/%u", r, e, s, ruid, euid, suid);
		return 1;
	}
	if (getresgid(&rg, &eg, &sg) || rg != rgid || eg != egid || sg != sgid) {
		fail("gids are %u/%u/%u, expected %u/%u/%u", rg, eg, sg, rgid, egid, sgid);
		return 1;
	}
	n = getgroups(NR_GROUPS + 1, now);
	if (n != NR_GROUPS) {
		fail("%d supplementary groups, expected %d", n, NR_GROUPS);
		return 1;
	}
	for (int i = 0; i < NR_GROUPS; i++) {
		if (now[i] != groups[i]) {
			fail("supplementary group %d is %u, expected %u", i, now[i], groups[i]);
			return 1;
		}
	}
	pass();
	return 0;
}
