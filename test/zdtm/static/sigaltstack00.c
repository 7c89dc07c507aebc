/*
 * sigaltstack00: the alternate signal stack survives, and a SA_ONSTACK
 * handler still runs on it afterwards.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "zdtmtst.h"

#define ALT_BYTES (64 * 1024)

static volatile uintptr_t handler_sp;

static void onstack_handler(int sig)
{
	volatile int local = sig;

	handler_sp = (uintptr_t)&local;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	stack_t ss, now;
	uintptr_t base;

	test_init(argc, argv);
	ss.ss_sp = malloc(ALT_BYTES);
	ss.ss_size = ALT_BYTES;
	ss.ss_flags = 0;
	if (!ss.ss_sp || sigaltstack(&ss, NULL)) {
		fail("sigaltstack");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = onstack_handler;
	sa.sa_flags = SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL)) {
		fail("sigaction");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (sigaltstack(NULL, &now)) {
		fail("sigaltstack");
		return 1;
	}
	if (now.ss_sp != ss.ss_sp || now.ss_size != ss.ss_size || now.ss_flags != 0) {
		fail("alternate stack is %p+%zu flags %#x, expected %p+%zu", now.ss_sp, now.ss_size, now.ss_flags,
		     ss.ss_sp, ss.ss_size);
		return 1;
	}
	if (raise(SIGUSR1)) {
		fail("raise");
		return 1;
	}
	base = (uintptr_t)ss.ss_sp;
	if (handler_sp < base || handler_sp >= base + ALT_BYTES) {
		fail("the handler ran at %#lx, outside the alternate stack", (unsigned long)handler_sp);
		return 1;
	}
	pass();
	return 0;
}
