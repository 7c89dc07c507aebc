/*
 * timer00: POSIX timers. An armed timer far in the future keeps its id,
 * interval and (less) remaining time; a disarmed one stays disarmed; a
 * periodic 20 ms timer keeps firing its signal with its sigval afterwards.
 */
#include <signal.h>
#include <string.h>
#include <time.h>

#include "zdtmtst.h"

#define SIG_FAR (SIGRTMIN + 1)
#define SIG_TICK (SIGRTMIN + 2)
#define TICK_COOKIE 0x71c4

static volatile sig_atomic_t ticks, bad_cookie;

static void tick_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (si->si_value.sival_int != TICK_COOKIE)
		bad_cookie = 1;
	ticks++;
}

static int timer_new(clockid_t clock, int sig, int cookie, timer_t *id)
{
	struct sigevent sev;

	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = sig;
	sev.sigev_value.sival_int = cookie;
	return timer_create(clock, &sev, id);
}

static long long ts_ns(const struct timespec *ts)
{
	return ts->tv_sec * 1000000000ll + ts->tv_nsec;
}

/* Sleeps about ms milliseconds of wall time, signals or not. */
static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts))
		;
}

int main(int argc, char **argv)
{
	const struct itimerspec far_set = { { 100, 5000 }, { 3000, 0 } };
	const struct itimerspec tick_set = { { 0, 20000000 }, { 0, 20000000 } };
	struct itimerspec far_before, now;
	timer_t far, off, tick;
	struct sigaction sa;
	int ret = 0, seen;

	test_init(argc, argv);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = tick_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIG_TICK, &sa, NULL)) {
		fail("sigaction");
		return 1;
	}
	if (timer_new(CLOCK_MONOTONIC, SIG_FAR, 1, &far) || timer_new(CLOCK_REALTIME, SIGUSR2, 2, &off) ||
	    timer_new(CLOCK_MONOTONIC, SIG_TICK, TICK_COOKIE, &tick)) {
		fail("timer_create");
		return 1;
	}
	if (timer_settime(far, 0, &far_set, NULL) || timer_settime(tick, 0, &tick_set, NULL) ||
	    timer_gettime(far, &far_before)) {
		fail("timer_settime");
		return 1;
	}

	test_daemon();
	test_waitsig();

	if (timer_gettime(far, &now)) {
		fail("the armed timer %p is gone", far);
		return 1;
	}
	if (ts_ns(&now.it_interval) != ts_ns(&far_before.it_interval) || ts_ns(&now.it_value) <= 0 ||
	    ts_ns(&now.it_value) > ts_ns(&far_before.it_value)) {
		fail("armed timer: interval %lld ns value %lld ns, was %lld ns and %lld ns", ts_ns(&now.it_interval),
		     ts_ns(&now.it_value), ts_ns(&far_before.it_interval), ts_ns(&far_before.it_value));
		ret = 1;
	}
	if (timer_gettime(off, &now)) {
		fail("the disarmed timer %p is gone", off);
		return 1;
	}
	if (ts_ns(&now.it_value) || ts_ns(&now.it_interval)) {
		fail("the disarmed timer is armed: value %lld ns", ts_ns(&now.it_value));
		ret = 1;
	}
	seen = ticks;
	sleep_ms(300);
	if (ticks - seen < 3) {
		fail("periodic timer fired %d times in 300 ms", ticks - seen);
		ret = 1;
	}
	if (bad_cookie) {
		fail("periodic timer signal carried the wrong sigval");
		ret = 1;
	}
	if (!ret)
		pass();
	return ret;
}
