/*
 * shell_job00: a process checkpointed and restored with --shell-job (see
 * shell_job00.desc), as CRIU does for a job of an interactive shell: it leads
 * its own session and group when dumped; restored, it has joined the session
 * criu restore ran in (the runner's, its parent's once criu restore -d is
 * gone) and still leads a process group of its own.
 */
#include <unistd.h>

#include "zdtmtst.h"

int main(int argc, char **argv)
{
	pid_t pid, sid;

	test_init(argc, argv);
	pid = getpid();
	sid = getsid(0);
	if (sid != pid || getpgid(0) != pid) {
		fail("the test doesn't lead its session and group: session %d, group %d", sid, getpgid(0));
		return 1;
	}
	test_daemon();
	test_waitsig();
	if (getpid() != pid) {
		fail("pid changed from %d to %d", pid, getpid());
		return 1;
	}
	if (getpgid(0) != pid) {
		fail("the shell job lost its process group: group %d, not %d", getpgid(0), pid);
		return 1;
	}
	/* Dumped with --leave-running it never left its session; restored, it is in criu's (our parent's). */
	if (getsid(0) != pid && getsid(0) != getsid(getppid())) {
		fail("the shell job is in session %d: neither its own %d nor criu's %d", getsid(0), pid,
		     getsid(getppid()));
		return 1;
	}
	pass();
	return 0;
}
