/*
 * sigaction00: signal dispositions survive: handlers with SA_SIGINFO,
 * SA_RESTART, SA_NODEFER, SA_RESETHAND, SA_ONSTACK, their masks, ignored
 * signals. Afterwards every disposition is compared and two handlers are run
 * to show the handler and its restorer still work.
 */
#include <signal.h>
#include <string.h>

#include "zdtmtst.h"

static volatile sig_atomic_t info_calls, info_signo, plain_calls;

static void info_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	info_calls++;
	info_signo = si->si_signo;
}

static void plain_handler(int sig)
{
	(void)sig;
	plain_calls++;
}

struct disposition {
	int sig;
	bool siginfo;
	void (*handler)(int);
	int flags;
	int mask_sig; /* one signal blocked during the handler, or 0 */
};

static int install(const struct disposition *d)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	if (d->siginfo)
		sa.sa_sigaction = info_handler;
	else
		sa.sa_handler = d->handler;
	sa.sa_flags = d->flags;
	sigemptyset(&sa.sa_mask);
	if (d->mask_sig)
		sigaddset(&sa.sa_mask, d->mask_sig);
	return sigaction(d->sig, &sa, NULL);
}

static bool same_action(const struct sigaction *a, const struct sigaction *b)
{
	if (a->sa_handler != b->sa_handler || a->sa_flags != b->sa_flags)
		return false;
	for (int sig = 1; sig <= SIGRTMAX; sig++)
		if (sigismember(&a->sa_mask, sig) != sigismember(&b->sa_mask, sig))
			return false;
	return true;
}

int main(int argc, char **argv)
{
	const struct disposition disp[] = {
		{ SIGUSR1, true, NULL, SA_SIGINFO | SA_RESTART, SIGUSR2 },
		{ SIGUSR2, false, plain_handler, SA_NODEFER | SA_RESETHAND, 0 },
		{ SIGHUP, false, SIG_IGN, 0, 0 },
		{ SIGALRM, false, plain_handler, SA_ONSTACK, SIGINT },
		{ SIGCHLD, false, SIG_DFL, SA_NOCLDSTOP, 0 },
		{ SIGRTMIN + 4, true, NULL, SA_SIGINFO | SA_RESTART, SIGQUIT },
		{ SIGRTMAX - 1, false, SIG_IGN, 0, 0 },
	};
	struct sigaction before[SIGRTMAX + 1], after;
	int ret = 0;

	test_init(argc, argv);
	for (size_t i = 0; i < sizeof(disp) / sizeof(disp[0]); i++) {
		if (install(&disp[i])) {
			fail("sigaction(%d)", disp[i].sig);
			return 1;
		}
	}
	memset(before, 0, sizeof(before));
	for (int sig = 1; sig <= SIGRTMAX; sig++)
		if (sig != SIGKILL && sig != SIGSTOP && sigaction(sig, NULL, &before[sig]))
			before[sig].sa_flags = -1;

	test_daemon();
	test_waitsig();

	for (int sig = 1; sig <= SIGRTMAX; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP || before[sig].sa_flags == -1)
			continue;
		memset(&after, 0, sizeof(after));
		if (sigaction(sig, NULL, &after)) {
			fail("sigaction(%d)", sig);
			ret = 1;
		} else if (!same_action(&before[sig], &after)) {
			fail("disposition of signal %d changed: handler %p flags %#x, was %p flags %#x", sig,
			     (void *)after.sa_handler, after.sa_flags, (void *)before[sig].sa_handler,
			     before[sig].sa_flags);
			ret = 1;
		}
	}

	/* the handlers still run, and SA_RESETHAND still resets */
	if (raise(SIGUSR1) || raise(SIGUSR2)) {
		fail("raise");
		return 1;
	}
	if (info_calls != 1 || info_signo != SIGUSR1) {
		fail("SIGUSR1 handler: %d calls, signo %d", info_calls, info_signo);
		ret = 1;
	}
	if (plain_calls != 1) {
		fail("SIGUSR2 handler: %d calls", plain_calls);
		ret = 1;
	}
	if (sigaction(SIGUSR2, NULL, &after) || after.sa_handler != SIG_DFL) {
		fail("SIGUSR2 handler not reset by SA_RESETHAND");
		ret = 1;
	}
	if (!ret)
		pass();
	return ret;
}
