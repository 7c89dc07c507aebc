/*
 * env00: the simplest test. A process that only waits must survive a
 * checkpoint and restore with its pid.
 */
#include <unistd.h>

#include "zdtmtst.h"

int main(int argc, char **argv)
{
	pid_t pid;

	test_init(argc, argv);
	pid = getpid();
	test_daemon();
	test_waitsig();
	if (getpid() != pid) {
		fail("pid changed from %d to %d", pid, getpid());
		return 1;
	}
	pass();
	return 0;
}
