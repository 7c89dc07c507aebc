/*
 * signal.c: waiting for the runner's SIGTERM. The handler only raises a flag;
 * test_waitsig() blocks SIGTERM while it looks at the flag and sleeps in
 * sigsuspend() with the caller's own mask, so no signal is lost and the mask a
 * checkpoint sees while the test waits is the one the test set up.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "zdtmtst.h"
#include "zdtmtst-internal.h"

static volatile sig_atomic_t test_stop;

static void sigterm_handler(int sig)
{
	(void)sig;
	test_stop = 1;
}

int test_signals_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sigterm_handler;
	if (sigemptyset(&sa.sa_mask) || sigaction(SIGTERM, &sa, NULL)) {
		fprintf(stderr, "can't install the SIGTERM handler: %s\n", strerror(errno));
		return -errno;
	}
	return 0;
}

bool test_go(void)
{
	return !test_stop;
}

void test_waitsig(void)
{
	sigset_t term, old, wait;

	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &term, &old)) {
		fail("sigprocmask");
		return;
	}
	wait = old;
	sigdelset(&wait, SIGTERM);
	while (!test_stop)
		sigsuspend(&wait);
	if (sigprocmask(SIG_SETMASK, &old, NULL))
		fail("sigprocmask");
	errno = 0; /* sigsuspend's EINTR says nothing about the test */
}
