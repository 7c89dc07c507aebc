/*
 * sigpending00: pending signals survive. A blocked standard signal raised
 * once (pending on the thread: raise() is tgkill()), and a blocked real-time
 * signal queued three times with different values (pending on the process:
 * sigqueue() to the pid), are still pending afterwards and are delivered in
 * order with their values.
 */
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zdtmtst.h"

#define SIG_STD SIGUSR1
#define SIG_RT (SIGRTMIN + 3)
#define NR_QUEUED 3
#define VALUE_BASE 0x5160

static int take(int sig, siginfo_t *si)
{
	const struct timespec zero = { 0, 0 };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, sig);
	return sigtimedwait(&set, si, &zero);
}

int main(int argc, char **argv)
{
	sigset_t block, pending;
	siginfo_t si;
	int ret = 0;

	test_init(argc, argv);
	sigemptyset(&block);
	sigaddset(&block, SIG_STD);
	sigaddset(&block, SIG_RT);
	if (sigprocmask(SIG_BLOCK, &block, NULL) || raise(SIG_STD)) {
		fail("sigprocmask/raise");
		return 1;
	}
	for (int i = 0; i < NR_QUEUED; i++) {
		union sigval val = { .sival_int = VALUE_BASE + i };

		if (sigqueue(getpid(), SIG_RT, val)) {
			fail("sigqueue");
			return 1;
		}
	}

	test_daemon();
	test_waitsig();

	if (sigpending(&pending) || !sigismember(&pending, SIG_STD) || !sigismember(&pending, SIG_RT)) {
		fail("signals %d and %d are no longer pending", SIG_STD, SIG_RT);
		return 1;
	}
	if (take(SIG_STD, &si) != SIG_STD) {
		fail("signal %d not delivered", SIG_STD);
		ret = 1;
	}
	for (int i = 0; i < NR_QUEUED; i++) {
		memset(&si, 0, sizeof(si));
		if (take(SIG_RT, &si) != SIG_RT) {
			fail("queued signal %d of %d not delivered", i + 1, NR_QUEUED);
			return 1;
		}
		if (si.si_code != SI_QUEUE || si.si_value.sival_int != VALUE_BASE + i || si.si_pid != getpid()) {
			fail("queued signal %d: code %d value %#x pid %d", i + 1, si.si_code, si.si_value.sival_int,
			     si.si_pid);
			ret = 1;
		}
	}
	if (take(SIG_RT, &si) >= 0) {
		fail("more than %d signals %d were pending", NR_QUEUED, SIG_RT);
		ret = 1;
	}
	if (!ret)
		pass();
	return ret;
}
