/*
 * itimer00: the three interval timers (real, virtual, profiling) stay armed
 * with their intervals, and their remaining time only went down. They are set
 * far in the future so they never fire during the test.
 */
#include <signal.h>
#include <sys/time.h>

#include "zdtmtst.h"

struct itimer_case {
	int which;
	const char *name;
	struct itimerval set;
	long max_elapsed_sec; /* how much of the value may be used up */
};

static long long tv_usec(const struct timeval *tv)
{
	return tv->tv_sec * 1000000ll + tv->tv_usec;
}

static int check_itimer(const struct itimer_case *c, const struct itimerval *before)
{
	struct itimerval now;
	long long used;

	if (getitimer(c->which, &now)) {
		fail("getitimer(%s)", c->name);
		return -1;
	}
	if (tv_usec(&now.it_interval) != tv_usec(&before->it_interval)) {
		fail("%s: interval %lld us, expected %lld us", c->name, tv_usec(&now.it_interval),
		     tv_usec(&before->it_interval));
		return -1;
	}
	used = tv_usec(&before->it_value) - tv_usec(&now.it_value);
	if (tv_usec(&now.it_value) <= 0 || used < 0 || used > c->max_elapsed_sec * 1000000ll) {
		fail("%s: value %lld us, it was %lld us", c->name, tv_usec(&now.it_value), tv_usec(&before->it_value));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const struct itimer_case cases[] = {
		{ ITIMER_REAL, "ITIMER_REAL", { { 1000, 250000 }, { 3000, 500000 } }, 600 },
		{ ITIMER_VIRTUAL, "ITIMER_VIRTUAL", { { 900, 0 }, { 2000, 125000 } }, 60 },
		{ ITIMER_PROF, "ITIMER_PROF", { { 800, 500 }, { 2500, 0 } }, 60 },
	};
	struct itimerval before[3];
	int ret = 0;

	test_init(argc, argv);
	for (int i = 0; i < 3; i++) {
		if (setitimer(cases[i].which, &cases[i].set, NULL)) {
			fail("setitimer(%s)", cases[i].name);
			return 1;
		}
	}
	for (int i = 0; i < 3; i++) {
		if (getitimer(cases[i].which, &before[i])) {
			fail("getitimer(%s)", cases[i].name);
			return 1;
		}
	}

	test_daemon();
	test_waitsig();

	for (int i = 0; i < 3; i++)
		if (check_itimer(&cases[i], &before[i]))
			ret = 1;
	if (!ret)
		pass();
	return ret;
}
