/*
 * rseq00: the thread's rseq registration (done by glibc at start) survives.
 * The kernel keeps the cpu_id field of a registered area up to date on every
 * return to user space after a signal, so the test scribbles over the field,
 * takes a signal, and checks the kernel wrote a real CPU number back.
 */
#include <signal.h>
#include <string.h>
#include <sys/rseq.h>
#include <unistd.h>

#include "zdtmtst.h"

#define SCRIBBLE 0xdead0000u

static void nop_handler(int sig)
{
	(void)sig;
}

static struct rseq *rseq_area(void)
{
	return (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
}

/* 0 when the kernel still updates the area, -1 otherwise. */
static int rseq_check(const char *when)
{
	volatile struct rseq *rs = rseq_area();
	long nr_cpus = sysconf(_SC_NPROCESSORS_CONF);
	uint32_t cpu;

	rs->cpu_id = SCRIBBLE;
	if (raise(SIGUSR1)) {
		fail("raise");
		return -1;
	}
	cpu = rs->cpu_id;
	if (cpu == SCRIBBLE || (long)cpu >= nr_cpus) {
		fail("rseq cpu_id is %#x %s: the area is not registered", cpu, when);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa;

	test_init(argc, argv);
	if (__rseq_size == 0) {
		fail("glibc did not register rseq (GLIBC_TUNABLES=glibc.pthread.rseq=0?)");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = nop_handler;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL)) {
		fail("sigaction");
		return 1;
	}
	if (rseq_check("before the checkpoint"))
		return 1;

	test_daemon();
	test_waitsig();

	if (rseq_check("after the restore"))
		return 1;
	pass();
	return 0;
}
