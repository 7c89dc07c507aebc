/*
 * sigmask00: the blocked signal mask survives, standard and real-time
 * signals alike.
 */
#include <signal.h>

#include "zdtmtst.h"

int main(int argc, char **argv)
{
	const int blocked[] = { SIGHUP, SIGUSR1, SIGUSR2, SIGPIPE, SIGALRM, SIGCHLD, SIGWINCH };
	sigset_t want, now;
	int ret = 0;

	test_init(argc, argv);
	sigemptyset(&want);
	for (size_t i = 0; i < sizeof(blocked) / sizeof(blocked[0]); i++)
		sigaddset(&want, blocked[i]);
	sigaddset(&want, SIGRTMIN + 2);
	sigaddset(&want, SIGRTMAX);
	if (sigprocmask(SIG_SETMASK, &want, NULL)) {
		fail("sigprocmask");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (sigprocmask(SIG_BLOCK, NULL, &now)) {
		fail("sigprocmask");
		return 1;
	}
	for (int sig = 1; sig <= SIGRTMAX; sig++) {
		if (sigismember(&want, sig) != sigismember(&now, sig)) {
			fail("signal %d is %sblocked, it was %sblocked", sig, sigismember(&now, sig) ? "" : "not ",
			     sigismember(&want, sig) ? "" : "not ");
			ret = 1;
		}
	}
	if (!ret)
		pass();
	return ret;
}
